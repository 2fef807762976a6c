"""``escalation-policy refused``: the lines ``run --keep-going`` refused and read past, until
they are acknowledged."""

import argparse
import datetime as dt
import json

from escalation_policy.cli._common import (
    EXIT_OK,
    STORE_HELP,
    Commands,
    Output,
    add_command,
    open_service,
    source_name,
    source_shown,
    write_error,
)


def register(commands: Commands) -> None:
    parser = add_command(
        commands,
        "refused",
        help="list the lines run refused and read past, and acknowledge them",
        description="List, one JSON line each, the lines `run --keep-going` refused and read "
        "past that are not acknowledged yet (`run` reports them, and exits with status 2, "
        "until they are). With --acknowledge, acknowledge those listed: fix or replay them "
        "first, since `run` does not read them again.",
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="only the lines refused in these files (default: every source)",
    )
    parser.add_argument("--store", metavar="URL", help=STORE_HELP)
    parser.add_argument(
        "--source",
        metavar="NAME",
        action="append",
        help="only the lines refused in the input read under this name (repeatable)",
    )
    parser.add_argument(
        "--acknowledge",
        action="store_true",
        help="acknowledge the refusals listed: run reports them no more",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Output) -> int:
    names = [source_name(path) for path in args.files] + list(args.source or ())
    sources = set(names) if names else None
    with open_service(args, create=False, replan=True) as service:
        if args.acknowledge:
            # The wall clock, at the edge: when they were acknowledged.
            listed = service.acknowledge_refusals(dt.datetime.now(dt.timezone.utc), sources=sources)
        else:
            listed = service.refusals(sources=sources)
    for refusal in listed:
        record = {
            "type": "refused",
            "file": source_shown(refusal.source),
            "source": refusal.source,
            "line": refusal.position,
            "code": refusal.code,
            "path": refusal.path,
            "reason": refusal.reason,
            "fact_id": refusal.fact_id,
            "refused_at": refusal.at.isoformat() if refusal.at is not None else None,
        }
        out.write(json.dumps(record) + "\n")
    if args.acknowledge:
        lines = "line" if len(listed) == 1 else "lines"
        write_error(f"acknowledged {len(listed)} refused {lines}")
    return EXIT_OK
