"""``escalation-policy prune``: forget old fact ids and delivered actions."""

import argparse
import datetime as dt
import json

from escalation_policy._language.typed import EARLIEST, LATEST
from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Exit,
    Output,
    given_time,
    open_service,
)
from escalation_policy.errors import InputError


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
