"""``escalation-policy status``: what a store holds, for monitoring."""

import argparse
import datetime as dt
import json

from escalation_policy.cli._common import Output, open_service


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
