"""``escalation-policy impact``: what a change of policy would have done differently over a
recorded history, escalation by escalation; in parallel processes with ``--jobs``."""

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

import attrs

from escalation_policy._audit import AuditRefusal, part_of
from escalation_policy._impact import Comparison, ImpactReport
from escalation_policy._impact._compare import order, time_of
from escalation_policy._impact._render import impact_html, impact_markdown, impact_text
from escalation_policy._impact._report import totals_of
from escalation_policy._impact._sources import PolicySource, base_source
from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_CANNOT_WRITE,
    EXIT_DIFFERENT,
    EXIT_OK,
    FILES_HELP,
    KEEP_GOING_HELP,
    Commands,
    Exit,
    Output,
    add_command,
    display_name,
    positive,
    read_json_items,
    report_refused,
)
from escalation_policy.cli._terminal import Progress
from escalation_policy.cli.audit import _unwritable, _write_report
from escalation_policy.engine import ENGINES, EngineName
from escalation_policy.errors import InputError
from escalation_policy.model import parse_timestamp
from escalation_policy.policy import Policy


def register(commands: Commands) -> None:
    parser = add_command(
        commands,
        "impact",
        help="what a change of policy would have done differently over a recorded history",
        description="Replay a recorded history (JSON-lines facts in time order) under the "
        "base policy (--base) and under the policy (--policy, with any --setting; by default "
        "the handbook's), and report per escalation the actions and violations added, removed "
        "and changed, then totals by rule, action type and violation code. A rule renamed with "
        "replaces= is no change. Facts the base does not know are listed and skipped for it. "
        "Exit status 1 when anything differs, 0 when nothing does.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    parser.add_argument(
        "--base",
        required=True,
        metavar="POLICY",
        help="the policy to compare with: 'handbook', a package (module name or folder), or "
        "git:REV, the package --policy names (by default the handbook's) as the git revision "
        "REV had it (git:REV:PACKAGE for another). Loading a package runs its Python code, "
        "with this command's rights: name only packages you would run",
    )
    parser.add_argument(
        "--format",
        choices=("text", "markdown", "json", "html"),
        help="text (default on a terminal), markdown (for a merge request's comment), json "
        "(default otherwise), or html: one self-contained page",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the report to FILE instead of standard output (- is standard output)",
    )
    parser.add_argument(
        "--as-of",
        metavar="TIME",
        help="end the history at TIME (ISO-8601 with a timezone) under both policies",
    )
    parser.add_argument(
        "--jobs",
        type=positive,
        default=1,
        metavar="N",
        help="replay N partitions of the escalations in parallel processes (default 1); the "
        "report is the same",
    )
    parser.add_argument("--keep-going", action="store_true", help=KEEP_GOING_HELP)
    parser.add_argument(
        "--engine", choices=ENGINES, default="native", help="the rule engine (default: native)"
    )
    parser.set_defaults(run=run)


@attrs.frozen(kw_only=True)
class _Task:
    """One partition's replay, as a process is given it."""

    paths: tuple[str, ...]
    names: tuple[str, ...]
    """How each path is named in messages (standard input spooled to a file keeps its name)."""
    policy: PolicySource
    base: PolicySource
    jobs: int
    keep_going: bool
    as_of: dt.datetime | None
    engine: EngineName


@attrs.frozen
class _Stopped:
    """A partition stopped at a refused line: its position in the history and the message."""

    position: int
    message: str


def _partition_of(data: Any, jobs: int) -> int | None:
    """Which partition a line's escalation falls in (``None``: every one, a tick)."""
    escalation_id = data.get("escalation_id") if isinstance(data, dict) else None
    if not isinstance(escalation_id, str):
        return None
    return part_of(escalation_id, jobs)  # the audit's parts: one partitioning


_COUNTS: Any = None
"""In a process of ``--jobs``: the lines each partition has read, shared with the process that
shows the progress."""


def _share_counts(counts: Any) -> None:
    global _COUNTS
    _COUNTS = counts


def _partition(
    task: _Task,
    index: int,
    loaded: "tuple[Policy, Policy] | None" = None,
    progress: Callable[[int], None] | None = None,
) -> ImpactReport | _Stopped:
    """Replay one partition of the history: the escalations whose id falls in it, and the
    time of every other fact, so that its clock is the whole history's."""
    policy, base = loaded or (task.policy.load(), task.base.load())
    comparison = Comparison(policy, base, engine=task.engine, keep_going=task.keep_going)
    origins: list[tuple[str, int]] = []
    counts = _COUNTS
    try:
        for position, (name, number, item) in enumerate(read_json_items(task.paths, task.names), 1):
            origins.append((name, number))
            mine = task.jobs == 1 or _partition_of(item, task.jobs) in (None, index)
            if mine:
                comparison.feed(item)
            else:
                comparison.skip(time_of(item))
            if position % 10_000 == 0:
                if counts is not None:
                    counts[index] = position
                if progress is not None:
                    progress(position)
        report = comparison.report(task.as_of)
    except InputError as error:
        if error.path == "as_of":
            return _Stopped(0, f"--as-of: {error.reason}")
        if error.line is None:
            raise
        name, number = origins[error.line - 1]
        return _Stopped(error.line, f"{name}: {error.at_line(number)}")

    def located(item: AuditRefusal) -> AuditRefusal:
        name, number = origins[item.line - 1]
        return attrs.evolve(item, file=name, line=number)

    return attrs.evolve(
        report,
        refused=tuple(located(item) for item in report.refused),
        skipped_by_base=tuple(located(item) for item in report.skipped_by_base),
    )


def _merged(reports: Sequence[ImpactReport], names: Sequence[str]) -> ImpactReport:
    """The partitions' reports as one: what each found, in the order one replay gives."""
    if len(reports) == 1:
        return reports[0]
    files = {name: index for index, name in reversed(list(enumerate(names)))}

    def listed(items: Sequence[AuditRefusal]) -> tuple[AuditRefusal, ...]:
        once = {(item.file, item.line): item for item in items}  # a tick: in every partition
        return tuple(sorted(once.values(), key=lambda i: (files.get(i.file or "", 0), i.line)))

    escalations = sorted((e for r in reports for e in r.escalations), key=order)
    first = reports[0]
    return attrs.evolve(
        first,
        escalations=tuple(escalations),
        totals=totals_of(escalations, sum(r.totals.escalations for r in reports)),
        refused=listed([i for r in reports for i in r.refused]),
        skipped_by_base=listed([i for r in reports for i in r.skipped_by_base]),
    )


def _in_processes(task: _Task, bar: Progress) -> list[ImpactReport | _Stopped]:
    context = multiprocessing.get_context("spawn")
    counts = context.Array("q", task.jobs, lock=False)
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=task.jobs,
        mp_context=context,
        initializer=_share_counts,
        initargs=(counts,),
    ) as pool:
        futures = [pool.submit(_partition, task, index) for index in range(task.jobs)]
        while True:
            _done, waiting = concurrent.futures.wait(futures, timeout=0.5)
            bar.update(min(counts))
            if not waiting:
                break
        return [future.result() for future in futures]


@contextlib.contextmanager
def _readable(paths: Sequence[str], jobs: int) -> Iterator[tuple[str, ...]]:
    """The paths each process reads: standard input, with several, spooled to a file first."""
    if jobs == 1 or "-" not in paths:
        yield tuple(paths)
        return
    if sys.stdin is None:
        raise InputError("cannot read standard input: it is closed")
    with tempfile.TemporaryDirectory(prefix="escalation-policy-impact-") as folder:
        spooled = os.path.join(folder, "stdin.jsonl")
        with open(spooled, "wb") as copy:
            source: IO[bytes] = sys.stdin.buffer
            shutil.copyfileobj(source, copy)
        yield tuple(spooled if path == "-" else path for path in paths)


def run(args: argparse.Namespace, out: Output) -> int:
    output = None if args.output in (None, "-") else args.output
    fmt = args.format or ("text" if output is None and out.isatty() else "json")
    if output is not None:
        problem = _unwritable(output)
        if problem is not None:
            raise Exit(EXIT_CANNOT_WRITE, f"cannot write {output}: {problem}")
    as_of = None
    if args.as_of is not None:
        try:
            as_of = parse_timestamp(args.as_of)
        except ValueError as error:
            raise Exit(EXIT_BAD_INPUT, f"--as-of: {error}") from None
    settings = tuple(args.setting or ())
    new = PolicySource(package=args.policy, settings=settings)
    policy = new.load()  # a mistake in it is said before anything is read
    bar = Progress("comparing", None, unit="facts")

    def progress(count: int) -> None:
        bar.update(count)

    try:
        with base_source(args.base, args.policy) as base:
            base_policy = base.load()
            with _readable(args.files, args.jobs) as paths:
                task = _Task(
                    paths=paths,
                    names=tuple(display_name(path) for path in args.files),
                    policy=new,
                    base=base,
                    jobs=args.jobs,
                    keep_going=args.keep_going,
                    as_of=as_of,
                    engine=args.engine,
                )
                with bar:
                    if args.jobs == 1:
                        results = [_partition(task, 0, (policy, base_policy), progress)]
                    else:
                        results = _in_processes(task, bar)
    except InputError as error:
        if error.path == "base":
            raise Exit(EXIT_BAD_INPUT, f"--base {args.base}: {error.reason}") from None
        raise
    stopped = [result for result in results if isinstance(result, _Stopped)]
    if stopped:
        raise Exit(EXIT_BAD_INPUT, min(stopped, key=lambda s: s.position).message)
    reports = [result for result in results if isinstance(result, ImpactReport)]
    report = _merged(reports, task.names)
    if fmt == "json":
        text = json.dumps(report.to_json(), indent=2) + "\n"
    elif fmt == "markdown":
        text = impact_markdown(report)
    elif fmt == "html":
        text = impact_html(report)
    else:
        text = impact_text(report)
    if output is None:
        out.write(text)
    else:
        _write_report(output, text)
    if report.refused:
        report_refused(len(report.refused), report.facts)
        return EXIT_BAD_INPUT
    return EXIT_DIFFERENT if report.different else EXIT_OK
