"""``escalation-policy audit``: check a recorded history against the policy and report
compliance."""

import argparse
import bisect
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import attrs

from escalation_policy._audit import AuditReport, audit_end
from escalation_policy._audit._stream import StreamedAudit, spooled_audit, write_json
from escalation_policy._language.context import scalar
from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_CANNOT_WRITE,
    EXIT_OK,
    EXIT_VIOLATIONS,
    Exit,
    Output,
    ReadCount,
    chosen_policy,
    display_name,
    read_items,
    report_refused,
    stopped,
    stream_kind,
    total_bytes,
)
from escalation_policy.cli._files import checked_output, chosen_format, write_report
from escalation_policy.cli._parsers import REPORT_FORMATS
from escalation_policy.cli._terminal import Progress
from escalation_policy.errors import InputError, did_you_mean
from escalation_policy.model import Fact, parse_timestamp
from escalation_policy.policy import Policy
from escalation_policy.render import iter_audit_lines, iter_audit_markdown

if TYPE_CHECKING:  # the page's module is loaded only for a page (it takes a while to load)
    from escalation_policy import _html


class _Origins:
    """Which file and line each item of the stream came from, by its position (1-based).

    Kept as runs of consecutive lines, so a history of millions of facts costs one entry per
    file and per blank line, not one per fact.
    """

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._runs: list[tuple[str, int]] = []
        self._expected: tuple[str, int] | None = None

    def add(self, position: int, name: str, number: int) -> None:
        if (name, number) != self._expected:
            self.start(position, name, number)
        self._expected = (name, number + 1)

    def start(self, position: int, name: str, number: int) -> None:
        """A run starts at ``position``: a reader that tells where runs break itself."""
        self._starts.append(position)
        self._runs.append((name, number))

    def __getitem__(self, position: int) -> tuple[str, int]:
        index = bisect.bisect_right(self._starts, position) - 1
        name, number = self._runs[index]
        return name, number + position - self._starts[index]


def _failing_codes(codes: Sequence[str] | None, policy: Policy) -> frozenset[str]:
    """The codes ``--fail-on`` names, checked against the policy's violation codes."""
    if not codes:
        return frozenset()
    known = list(policy.violation_codes)
    if codes == ("any",):
        return frozenset(known)
    for code in codes:
        if code not in known:
            raise Exit(
                EXIT_BAD_INPUT,
                f"--fail-on: unknown violation code {code!r}{did_you_mean(code, known)}; "
                f"expected 'any' or some of {', '.join(known)}",
            )
    return frozenset(codes)


def run(args: argparse.Namespace, out: Output) -> int:
    output = None if args.output in (None, "-") else args.output
    terminal = output is None and out.isatty()
    fmt = chosen_format(args.format, output, "text" if terminal else "json", formats=REPORT_FORMATS)
    if fmt == "html" and args.only_violations:
        raise Exit(
            EXIT_BAD_INPUT,
            "--only-violations is for the text, markdown and json formats, not html",
        )
    if output is not None:
        checked_output(output, args.files)
    as_of = None
    if args.as_of is not None:
        try:
            as_of = parse_timestamp(args.as_of)
        except ValueError as error:
            raise Exit(EXIT_BAD_INPUT, f"--as-of: {error}") from None
    # Loaded here: it reads files with the command line's readers, whose package loads this.
    from escalation_policy import _partitioned

    partitioned = (
        args.jobs > 1 or args.dask is not None or any(map(_partitioned.is_parquet, args.files))
    )
    if partitioned and fmt == "html":
        raise Exit(
            EXIT_BAD_INPUT,
            "--jobs, --dask and Parquet files are for the text, markdown "
            "and json formats, not html",
        )
    if args.workers is not None and args.dask is None:
        raise Exit(EXIT_BAD_INPUT, "--workers is for --dask; for local processes use --jobs")
    origins = _Origins()
    policy = chosen_policy(args)
    failing_codes = _failing_codes(args.fail_on, policy)
    total = total_bytes(args.files)
    read = ReadCount()
    bar = Progress("auditing", total, unit="bytes" if total is not None else "facts")
    page_bar: list[Progress] = []  # made when the page's size is known

    def building(done: int, total: int) -> None:
        if not page_bar:
            page_bar.append(Progress("building the page", total, unit="escalations").__enter__())
        page_bar[0].update(done, force=done == total)

    def items() -> Iterator[Fact | InputError]:
        # The bytes read are counted only for a bar that is shown.
        counted = read if bar.shown else None
        enumerated = enumerate(read_items(args.files, policy, counted), start=1)
        last_name, following = "", 0  # the file and number of the line after the last
        for position, (name, number, item) in enumerated:
            if number != following or name != last_name:
                origins.start(position, name, number)
                last_name = name
            following = number + 1
            if bar.shown:
                bar.update(position if total is None else read.bytes)
            yield item

    def located(report: AuditReport) -> AuditReport:
        return attrs.evolve(
            report,
            refused=tuple(
                attrs.evolve(item, file=name, line=number)
                for item in report.refused
                for name, number in [origins[item.line]]
            ),
        )

    timelines: tuple[_html.EscalationTimeline, ...] = ()
    streamed: StreamedAudit | None = None
    try:
        with bar:
            if partitioned:
                streamed = _in_parts(args, as_of, json=fmt == "json")
                report = streamed.report
            elif fmt == "html":  # the audit and the timelines, observed on one replay
                from escalation_policy._html import audit_with_timelines

                report, timelines = audit_with_timelines(
                    items(),
                    policy,
                    as_of=as_of,
                    engine=args.engine,
                    keep_going=args.keep_going,
                )
                report = located(report)
            else:  # the escalations kept on disk once settled, and written from there
                streamed = spooled_audit(
                    items(),
                    policy=policy,
                    as_of=as_of,
                    engine=args.engine,
                    keep_going=args.keep_going,
                    refusals=located,
                    as_json=fmt == "json",
                )
                report = streamed.report
    except InputError as error:
        if error.path == "as_of":
            raise Exit(EXIT_BAD_INPUT, f"--as-of: {error.reason}") from None
        if error.line is None:
            if partitioned:  # a part's message names its file and line
                raise Exit(EXIT_BAD_INPUT, str(error)) from None
            raise
        name, number = origins[error.line]
        raise stopped(name, error.at_line(number, name)) from None
    if streamed is None:
        codes = {scalar(v.code) for v in report.violations}
        text = _html_page(report, timelines, policy, building, page_bar)
        if output is None:
            out.write(text)
        else:
            write_report(output, text)
    else:
        try:
            codes = set(streamed.codes)
            _write_streamed(streamed, fmt, args.only_violations, out, output)
        finally:
            streamed.close()
    if report.refused:
        report_refused(len(report.refused), report.facts, args.files)
        return EXIT_BAD_INPUT
    return EXIT_VIOLATIONS if codes & failing_codes else EXIT_OK


def _in_parts(args: argparse.Namespace, as_of: dt.datetime | None, *, json: bool) -> StreamedAudit:
    """The audit in parts, in local processes or on Dask, merged as it is written."""
    from escalation_policy._partitioned import (  # see run()
        PartTask,
        dask_client,
        in_processes,
        on_dask,
        run_partitioned,
    )

    names = tuple(display_name(path) for path in args.files)
    if "-" in args.files:
        raise Exit(
            EXIT_BAD_INPUT, "--jobs, --dask and Parquet files read files, not standard input"
        )
    for path, name in zip(args.files, names, strict=True):
        kind = stream_kind(path)
        if kind is not None:  # each part would read it from its start: it has one reader
            raise Exit(
                EXIT_BAD_INPUT,
                f"--jobs, --dask and Parquet files read files, not pipes or devices: "
                f"{name} is {kind}",
            )
    parts = args.jobs if args.dask is None else (args.workers or 2)
    tasks = [
        PartTask(
            paths=tuple(args.files),
            names=names,
            package=args.policy,
            settings=tuple(args.setting or ()),
            part=index,
            parts=parts,
            as_of=audit_end(as_of),
            engine=args.engine,
            keep_going=args.keep_going,
            json=json,
        )
        for index in range(parts)
    ]
    if args.dask is None:
        return run_partitioned(tasks, in_processes(parts))
    with dask_client(args.dask, parts) as client:
        # A local cluster's workers write where this process reads; others send theirs back.
        return run_partitioned(tasks, on_dask(client), shared=args.dask == "local")


def _html_page(
    report: AuditReport,
    timelines: "tuple[_html.EscalationTimeline, ...]",
    policy: Policy,
    building: Callable[[int, int], None],
    page_bar: list[Progress],
) -> str:
    """The HTML page holds every escalation's timeline: it is made whole, in memory."""
    from escalation_policy._html import audit_page

    try:
        return audit_page(report, timelines, policy, progress=building)
    finally:
        for bar_shown in page_bar:
            bar_shown.__exit__(None, None, None)


def _write_streamed(
    streamed: StreamedAudit, fmt: str, only: bool, out: Output, output: str | None
) -> None:
    """Write the report an escalation at a time, to standard output or to ``output``."""
    head, listing = streamed.report, streamed._listing
    if output is None and fmt == "text":  # on a terminal, in its colours
        for line, style in iter_audit_lines(head, listing, only_violations=only):
            out.line(line, style)
        return
    try:
        file = None if output is None else open(output, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        raise Exit(EXIT_CANNOT_WRITE, f"cannot write {output}: {error.strerror or error}") from None
    write = out.write if file is None else file.write
    try:
        if fmt == "json":
            escalations = listing.listed(only) if streamed._texts is None else streamed._texts(only)
            write_json(head, escalations, write, only_violations=only)
        elif fmt == "markdown":
            for line in iter_audit_markdown(head, listing, only_violations=only):
                write(line + "\n")
        else:
            for line, _ in iter_audit_lines(head, listing, only_violations=only):
                write(line + "\n")
    except OSError as error:
        raise Exit(EXIT_CANNOT_WRITE, f"cannot write {output}: {error.strerror or error}") from None
    finally:
        if file is not None:
            file.close()
