"""``escalation-policy run``: handle facts through a durable store and print the actions, with
their ids."""

import argparse
import datetime as dt
import json

from escalation_policy._convert import shared_converter
from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Exit,
    Output,
    display_name,
    open_service,
    read_items,
    refusal_record,
    refused_line,
    report_refused,
    source_name,
    source_shown,
    stopped,
    write_error,
    write_timeline,
)
from escalation_policy.errors import InputError
from escalation_policy.model import Fact
from escalation_policy.service import Delivery, Refusal, Service
from escalation_policy.service._results import delivery_json

_EARLIER_SHOWN = 20
"""How many refusals of earlier runs ``run`` names one by one before it only counts them."""


def run(args: argparse.Namespace, out: Output) -> int:
    service = open_service(args, catch_up=not args.no_catch_up)
    fmt = args.format or ("table" if out.isatty() else "json")
    if args.source is not None and len(args.files) != 1:
        raise Exit(EXIT_BAD_INPUT, "--source names one input: give one FILE with it")
    read = refused = 0
    with service:
        sources = {args.source or source_name(path) for path in args.files} - {None}
        earlier = service.refusals(sources=sources) if sources else []
        for path in args.files:
            source = args.source or source_name(path)
            done = service.position(source) if source is not None else 0
            batch: list[Fact | InputError] = []
            lines: list[int] = []
            last = 0
            # With --keep-going, a last line still being written is left for the next run,
            # rather than refused and read past for good (an input without a name has none).
            unfinished: list[int] | None = [] if args.keep_going and source else None
            for _, number, item in read_items([path], service.policy, unfinished=unfinished):
                read += 1
                last = number
                if number <= done:
                    continue  # committed before: a run that stopped is resumed after it
                lines.append(number)
                batch.append(item)
                if len(batch) >= args.batch:
                    refused += _run_batch(service, args, out, fmt, path, source, batch, lines)
                    batch, lines = [], []
            if batch:
                refused += _run_batch(service, args, out, fmt, path, source, batch, lines)
            if unfinished:
                last = unfinished[0]
                write_error(
                    f"{display_name(path)}: line {last} has no newline at its end and is not "
                    "a fact: left unread, as a line still being written; the next run reads it"
                )
            if last < done:
                raise _shorter(path, source, last, done)
    if earlier:
        _report_earlier(earlier)
    if refused:
        report_refused(refused, read)
    return EXIT_BAD_INPUT if refused or earlier else EXIT_OK


def _shorter(path: str, source: str | None, last: int, done: int) -> Exit:
    """A file, or standard input, that ends before the lines read under its name: a file
    replaced or rotated, or a new stream, that would otherwise be skipped in silence."""
    return Exit(
        EXIT_BAD_INPUT,
        f"{display_name(path)}: ends at line {last}, but lines up to {done} were read under "
        f"the name {source_shown(source)} before: a new or rotated input is not read under "
        "an old name; read it under a new one, --source NEW-NAME",
    )


def _report_earlier(earlier: list[Refusal]) -> None:
    """Name the lines refused by earlier runs of these sources and not acknowledged: a run
    resumed after them does not read them again, so each run reports them until they are."""
    for kept in earlier[:_EARLIER_SHOWN]:
        where = source_shown(kept.source)
        line = f": line {kept.position}" if kept.position is not None else ""
        field = f" @ {kept.path}" if kept.path else ""
        when = f" at {kept.at.isoformat()}" if kept.at is not None else ""
        write_error(f"{where}{line}: {kept.reason}{field} (refused{when}, not acknowledged)")
    more = len(earlier) - _EARLIER_SHOWN
    lines = "line" if len(earlier) == 1 else "lines"
    write_error(
        f"{len(earlier)} {lines} refused by an earlier run not acknowledged"
        + (f" ({more} not named above)" if more > 0 else "")
        + "; `escalation-policy refused` lists them, `escalation-policy refused --acknowledge` "
        "acknowledges them"
    )


def _run_batch(
    service: Service,
    args: argparse.Namespace,
    out: Output,
    fmt: str,
    path: str,
    source: str | None,
    batch: list[Fact | InputError],
    lines: list[int],
) -> int:
    """Handle one batch in one transaction and print what it emitted; returns how many of
    its lines were refused (with --keep-going; without it, a refused line stops the run)."""
    skipped, results = service._handle_many(
        batch,
        keep_going=args.keep_going,
        source=source,
        positions=lines,
        now=dt.datetime.now(dt.timezone.utc),  # the wall clock, at the edge: when refused
    )
    refused = 0
    # Lines another run of the same source handled meanwhile are skipped, and have no result.
    for number, result in zip(lines[skipped:], results, strict=False):
        if isinstance(result, InputError):
            result.at_line(number)
            if not args.keep_going:
                raise stopped(display_name(path), result)
            refused += 1
            _print_refused(out, fmt, service, display_name(path), number, result)
        elif not result.duplicate:
            for delivery in result.deliveries:
                _print_delivery(out, fmt, service, delivery)
    out.flush()
    return refused


def _print_refused(
    out: Output, fmt: str, service: Service, name: str, number: int, error: InputError
) -> None:
    record = refusal_record(name, number, error)
    if fmt == "json":
        body = shared_converter(service.policy).unstructure(record)
        out.write(json.dumps({"type": "refused", **body}) + "\n")
    else:
        out.line(refused_line(record), "refused")


def _print_delivery(out: Output, fmt: str, service: Service, delivery: Delivery) -> None:
    if fmt == "json":
        out.write(delivery_json(delivery, service.policy) + "\n")
    else:
        write_timeline(out, delivery.action, after=f"  {delivery.id}")
