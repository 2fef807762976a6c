"""``escalation-policy impact``: what a change of policy would have done differently over a
recorded history, escalation by escalation; in parallel processes with ``--jobs``, on a Dask
cluster with ``--dask``."""

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO

from escalation_policy._impact import ImpactReport
from escalation_policy._impact._render import impact_html, impact_markdown, impact_text
from escalation_policy._impact._sources import PolicySource, base_source
from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_DIFFERENT,
    EXIT_OK,
    Exit,
    Output,
    display_name,
    report_refused,
    stream_kind,
)
from escalation_policy.cli._files import checked_output, chosen_format, write_report
from escalation_policy.cli._parsers import REPORT_FORMATS
from escalation_policy.cli._terminal import Progress
from escalation_policy.errors import InputError
from escalation_policy.model import parse_timestamp


@contextlib.contextmanager
def _readable(paths: Sequence[str], jobs: int) -> Iterator[tuple[str, ...]]:
    """The paths each process reads: standard input, a pipe or a device, with several (each
    reads every file from its start), copied to a file first."""
    once = [path == "-" or stream_kind(path) is not None for path in paths]
    if jobs == 1 or not any(once):
        yield tuple(paths)
        return
    with tempfile.TemporaryDirectory(prefix="escalation-policy-impact-") as folder:
        copies: dict[str, str] = {}
        for index, path in enumerate(paths):
            if once[index] and path not in copies:
                copies[path] = _copied(path, folder, index)
        yield tuple(copies.get(path, path) for path in paths)


def _copied(path: str, folder: str, index: int) -> str:
    """A copy of standard input (``-``), a pipe or a device in ``folder``: its path, whose
    extension is the original's (which tells Parquet from JSON lines)."""
    if path == "-":
        if sys.stdin is None:
            raise InputError("cannot read standard input: it is closed")
        copy = os.path.join(folder, "stdin.jsonl")
        with open(copy, "wb") as out:
            source: IO[bytes] = sys.stdin.buffer
            shutil.copyfileobj(source, out)
        return copy
    copy = os.path.join(folder, f"{index}-{os.path.basename(path)}")
    try:
        with open(path, "rb") as stream, open(copy, "wb") as out:
            shutil.copyfileobj(stream, out)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    return copy


def run(args: argparse.Namespace, out: Output) -> int:
    output = None if args.output in (None, "-") else args.output
    terminal = output is None and out.isatty()
    fmt = chosen_format(args.format, output, "text" if terminal else "json", formats=REPORT_FORMATS)
    if output is not None:
        checked_output(output, args.files)
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

    if args.workers is not None and args.dask is None:
        raise Exit(EXIT_BAD_INPUT, "--workers is for --dask; for local processes use --jobs")
    if args.dask not in (None, "local"):
        if "-" in args.files:
            raise Exit(
                EXIT_BAD_INPUT, "--dask with a scheduler's address reads files, not standard input"
            )
        for path in args.files:
            kind = stream_kind(path)
            if kind is not None:  # its workers read the files themselves
                raise Exit(
                    EXIT_BAD_INPUT,
                    "--dask with a scheduler's address reads files, not pipes or devices: "
                    f"{path} is {kind}",
                )
    jobs = args.jobs if args.dask is None else (args.workers or 2)
    # Loaded here: it reads files with the command line's readers, whose package loads this.
    from escalation_policy._impact import _parallel
    from escalation_policy._partitioned import dask_client

    try:
        with base_source(args.base, args.policy) as base:
            base_policy = base.load()
            with _readable(args.files, jobs) as paths:
                task = _parallel.PartitionTask(
                    paths=paths,
                    names=tuple(display_name(path) for path in args.files),
                    policy=new,
                    base=base,
                    jobs=jobs,
                    keep_going=args.keep_going,
                    as_of=as_of,
                    engine=args.engine,
                )
                with bar:
                    if args.dask is not None:
                        with dask_client(args.dask, jobs) as client:
                            results = _parallel.on_dask(client, task)
                    elif jobs == 1:
                        loaded = (policy, base_policy)
                        results = [_parallel.run_partition(task, loaded, progress)]
                    else:
                        results = _parallel.in_processes(task, shown=progress)
    except InputError as error:
        if error.path == "base":
            raise Exit(EXIT_BAD_INPUT, f"--base {args.base}: {error.reason}") from None
        raise
    stopped = [result for result in results if isinstance(result, _parallel.PartitionStopped)]
    if stopped:
        raise Exit(EXIT_BAD_INPUT, min(stopped, key=lambda s: s.position).message)
    reports = [result for result in results if isinstance(result, ImpactReport)]
    report = _parallel.merged(reports, task.names)
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
        write_report(output, text)
    if report.refused:
        report_refused(len(report.refused), report.facts, args.files)
        return EXIT_BAD_INPUT
    return EXIT_DIFFERENT if report.different else EXIT_OK
