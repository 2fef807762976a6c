"""``escalation-policy replan``: plan the open escalations again on today's calendars."""

import argparse
import datetime as dt
import json

from escalation_policy.cli._common import (
    EXIT_OK,
    STORE_HELP,
    Commands,
    Output,
    add_command,
    given_time,
    open_service,
)


def register(commands: Commands) -> None:
    parser = add_command(
        commands,
        "replan",
        help="plan open escalations again after a calendar changed",
        description="An escalation counts on the calendar it was opened under until it is "
        "re-planned: a change of a calendar's hours, holidays or zone in the policy moves no "
        "due time by itself. This plans every open escalation whose calendar the policy now "
        "declares otherwise on the calendar it declares now (a deadline keeps the open time it "
        "had left; a period of business days or weeks ends with the same day or week) and "
        "prints one JSON object per escalation: its calendar, the identities before and after, "
        "and each due time that moved.",
    )
    parser.add_argument("--store", metavar="URL", help=STORE_HELP)
    parser.add_argument(
        "--now", metavar="TIME", help="count open time left from TIME (ISO-8601), not the clock"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would move, and change nothing"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Output) -> int:
    now = given_time(args.now) or dt.datetime.now(dt.timezone.utc)  # the clock, at the edge
    with open_service(args, create=False) as service:
        replanned = service.replan(now, dry_run=args.dry_run)
    for item in replanned:
        record = {
            "escalation_id": item.escalation_id,
            "calendar": item.calendar,
            "before": item.before,
            "after": item.after,
            "moved": [
                {
                    "obligation": moved.obligation,
                    "key": moved.key,
                    "before": moved.before.isoformat(),
                    "after": moved.after.isoformat(),
                }
                for moved in item.moved
            ],
            "applied": not args.dry_run,
        }
        out.write(json.dumps(record) + "\n")
    return EXIT_OK
