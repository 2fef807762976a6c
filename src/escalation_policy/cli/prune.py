"""``escalation-policy prune``: forget old fact ids and delivered actions."""

import argparse
import datetime as dt
import json

from escalation_policy._language.typed import EARLIEST, LATEST
from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    STORE_HELP,
    Commands,
    Exit,
    Output,
    add_command,
    duration,
    given_time,
    open_service,
)
from escalation_policy.errors import InputError


def register(commands: Commands) -> None:
    parser = add_command(
        commands,
        "prune",
        help="forget old fact ids and delivered actions",
        description="Forget the ids of facts older than a duration (a redelivery of such a "
        "fact is then handled as a new fact: keep them longer than any source may redeliver) "
        "and drop the actions delivered longer ago than a duration, measured back from the "
        "wall clock. Undelivered actions and the escalations' states are never pruned. Prints "
        "how many of each went, as one JSON object.",
    )
    parser.add_argument("--store", metavar="URL", help=STORE_HELP)
    parser.add_argument(
        "--facts-older-than",
        type=duration,
        metavar="DURATION",
        help="forget the ids of facts whose time is older than this (90s, 5m, 2h, 30d)",
    )
    parser.add_argument(
        "--delivered-older-than",
        type=duration,
        metavar="DURATION",
        help="drop the actions delivered longer ago than this",
    )
    parser.add_argument(
        "--now", metavar="TIME", help="measure back from TIME (ISO-8601) instead of the clock"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Output) -> int:
    if args.facts_older_than is None and args.delivered_older_than is None:
        raise Exit(
            EXIT_BAD_INPUT, "say what to prune: --facts-older-than, --delivered-older-than or both"
        )
    now = given_time(args.now) or dt.datetime.now(dt.timezone.utc)  # the clock, at the edge
    try:
        facts_before = now - args.facts_older_than if args.facts_older_than is not None else None
        delivered_before = (
            now - args.delivered_older_than if args.delivered_older_than is not None else None
        )
    except OverflowError:
        raise Exit(EXIT_BAD_INPUT, "a duration reaches back before the year 1") from None
    with open_service(args, create=False, replan=True) as service:
        try:
            pruned = service.prune(facts_before=facts_before, delivered_before=delivered_before)
        except InputError:
            raise Exit(
                EXIT_BAD_INPUT,
                "a duration reaches outside the times the policy supports "
                f"({EARLIEST.isoformat()} to {LATEST.isoformat()})",
            ) from None
    report = {
        "facts": pruned.facts,
        "facts_before": facts_before.isoformat() if facts_before is not None else None,
        "actions": pruned.actions,
        "delivered_before": delivered_before.isoformat() if delivered_before is not None else None,
    }
    out.write(json.dumps(report) + "\n")
    return EXIT_OK
