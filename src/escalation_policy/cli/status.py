"""``escalation-policy status``: what a store holds, for monitoring."""

import argparse
import datetime as dt
import json

from escalation_policy.cli._common import STORE_HELP, Commands, Output, add_command, open_service


def register(commands: Commands) -> None:
    parser = add_command(
        commands,
        "status",
        help="what a store holds: escalations, undelivered actions, dead letters, refusals",
        description="Print, as one JSON object, what a store holds for monitoring: the open "
        "escalations (those awaiting their opening, with facts held for it, counted apart as "
        "awaiting_opening), the actions waiting for delivery, the dead letters (actions set "
        "aside as undeliverable; `dead-letters` lists them), the refused lines not acknowledged "
        "(`refused` lists them), and when the next due scan and the next delivery have "
        "something to do. A store that is not there is an error (exit status 5).",
    )
    parser.add_argument("--store", metavar="URL", help=STORE_HELP)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Output) -> int:
    with open_service(args, create=False, replan=True) as service:
        status = service.status()
    out.write(
        json.dumps(
            {
                "escalations": status.escalations,
                "awaiting_opening": status.awaiting_opening,
                "undelivered": status.undelivered,
                "dead_letters": status.dead_letters,
                "refused": status.refused,
                "next_wakeup": _time(status.next_wakeup),
                "next_delivery": _time(status.next_delivery),
            }
        )
        + "\n"
    )
    return 0


def _time(at: dt.datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
