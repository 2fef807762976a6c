"""``escalation-policy replan``: plan the open escalations again, on today's calendars and, once
the policy changed, under the new policy."""

import argparse
import datetime as dt
import json
from typing import Any

from escalation_policy._convert import shared_converter
from escalation_policy.cli._common import (
    EXIT_OK,
    Output,
    given_time,
    open_service,
)
from escalation_policy.render import plain
from escalation_policy.state import PendingObligation, Replanned


def run(args: argparse.Namespace, out: Output) -> int:
    now = given_time(args.now) or dt.datetime.now(dt.timezone.utc)  # the clock, at the edge
    with open_service(args, create=False, replan=True) as service:
        replanned = service.replan(now, dry_run=args.dry_run)
        unstructure = shared_converter(service.policy).unstructure
    for item in replanned:
        if args.format == "text":
            for line in _text(item, applied=not args.dry_run):
                out.line(line)
            continue
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
            "plan": [
                {"field": change.field, "before": change.before, "after": change.after}
                for change in item.plan
            ],
            "added": [unstructure(pending, PendingObligation) for pending in item.added],
            "removed": [unstructure(pending, PendingObligation) for pending in item.removed],
            "changed": [
                {
                    "obligation": change.obligation,
                    "key": change.key,
                    "before": unstructure(change.before, PendingObligation),
                    "after": unstructure(change.after, PendingObligation),
                }
                for change in item.changed
            ],
            "applied": not args.dry_run,
        }
        out.write(json.dumps(record) + "\n")
    return EXIT_OK


def _text(item: Replanned, *, applied: bool) -> list[str]:
    """What re-planning changed of one escalation, as lines for people."""
    lines = [plain(f"{item.escalation_id}: {'re-planned' if applied else 'would re-plan'}")]
    if item.calendar is not None:
        lines.append(plain(f"  calendar {item.calendar}: {item.before} -> {item.after}"))
    for moved in item.moved:
        lines.append(
            plain(
                f"  moved    {_named(moved.obligation, moved.key)}: due "
                f"{moved.before.isoformat()} -> {moved.after.isoformat()}"
            )
        )
    for planned in item.plan:
        lines.append(
            plain(f"  {planned.field}: {_value(planned.before)} -> {_value(planned.after)}")
        )
    for pending in item.added:
        lines.append(plain(f"  added    {_pending(pending)}"))
    for pending in item.removed:
        lines.append(plain(f"  removed  {_pending(pending)}"))
    for change in item.changed:
        lines.append(plain(f"  changed  {_pending(change.before)}"))
        lines.append(plain(f"       ->  {_pending(change.after)}"))
    return lines


def _named(obligation: str, key: str | None) -> str:
    return obligation if key is None else f"{obligation} ({key})"


def _pending(pending: PendingObligation) -> str:
    every = pending.period or (str(pending.every) if pending.every is not None else None)
    period = f", {every}" if every is not None and every != "business time" else ""
    return (
        f"{_named(pending.obligation, pending.key)}: due {pending.due.isoformat()}{period} "
        f"[{pending.rule}]"
    )


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(value) or "none"
    return json.dumps(value)
