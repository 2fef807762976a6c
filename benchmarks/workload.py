"""Deterministic workloads for the benchmarks: realistic fact mixes and large histories."""

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

from escalation_policy.model import (
    Closed,
    Fact,
    MeetingAudience,
    MeetingHeld,
    Opened,
    Posted,
    PostPurpose,
    Segment,
    Severity,
    SeverityChanged,
    TamInformed,
    Team,
    Tick,
)

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
CHANNEL = "#escalated_customers"
SEVERITIES = list(Severity)


def owner(severity: Severity) -> Team:
    return Team.TAM if severity in (Severity.CRITICAL, Severity.HIGH) else Team.SUPPORT_ENGINEERING


def open_announced(at: dt.datetime, escalation_id: str, severity: Severity) -> list[Fact]:
    """An Enterprise escalation opened, and its "created" post made by its owner."""
    return [
        Opened(
            at=at,
            escalation_id=escalation_id,
            customer="Acme",
            segment=Segment.ENTERPRISE,
            severity=severity,
        ),
        Posted(
            at=at,
            escalation_id=escalation_id,
            channel=CHANNEL,
            purpose=PostPurpose.CREATED,
            by=owner(severity),
        ),
    ]


def close_announced(at: dt.datetime, escalation_id: str, severity: Severity) -> list[Fact]:
    """An escalation closed, and its closing post made by its owner: it is settled."""
    return [
        Closed(at=at, escalation_id=escalation_id),
        Posted(
            at=at,
            escalation_id=escalation_id,
            channel=CHANNEL,
            purpose=PostPurpose.CLOSED,
            by=owner(severity),
        ),
    ]


def realistic_mix(escalations: int, seed: int = 7) -> list[Fact]:
    """Opened, severity changes, posts, meetings, ticks and closes across many escalations.

    Roughly: 10% opened, 5% severity changes, 40% posts, 20% meetings, 10% ticks, 10% closes
    (each with its closing post), 5% TAM informed; time moves on by up to two minutes a fact.
    """
    rng = random.Random(seed)
    now = START
    facts: list[Fact] = []
    open_ids: list[str] = []
    owners: dict[str, Team] = {}
    opened = 0
    while opened < escalations or open_ids:
        now += dt.timedelta(seconds=rng.randint(0, 120))
        roll = rng.random()
        if (roll < 0.10 and opened < escalations) or not open_ids:
            if opened >= escalations:
                break
            opened += 1
            escalation_id = f"ESC-{opened}"
            severity = rng.choice(SEVERITIES)
            owners[escalation_id] = owner(severity)
            facts.append(
                Opened(
                    at=now,
                    escalation_id=escalation_id,
                    customer=f"Customer {opened % 997}",
                    segment=Segment.ENTERPRISE,
                    severity=severity,
                    tam="Alex" if opened % 3 else None,
                )
            )
            open_ids.append(escalation_id)
            continue
        escalation_id = rng.choice(open_ids)
        if roll < 0.15:
            severity = rng.choice(SEVERITIES)
            owners[escalation_id] = owner(severity)
            facts.append(SeverityChanged(at=now, escalation_id=escalation_id, severity=severity))
        elif roll < 0.55:
            purpose = PostPurpose.CREATED if rng.random() < 0.3 else PostPurpose.UPDATE
            facts.append(
                Posted(
                    at=now,
                    escalation_id=escalation_id,
                    channel=CHANNEL,
                    purpose=purpose,
                    by=owners[escalation_id],
                )
            )
        elif roll < 0.75:
            facts.append(
                MeetingHeld(at=now, escalation_id=escalation_id, audience=MeetingAudience.CUSTOMER)
            )
        elif roll < 0.85:
            facts.append(Tick(at=now))
        elif roll < 0.95 and (len(open_ids) > 50 or opened >= escalations):
            open_ids.remove(escalation_id)
            facts.append(Closed(at=now, escalation_id=escalation_id))
            facts.append(
                Posted(
                    at=now,
                    escalation_id=escalation_id,
                    channel=CHANNEL,
                    purpose=PostPurpose.CLOSED,
                    by=owners[escalation_id],
                )
            )
        else:
            facts.append(TamInformed(at=now, escalation_id=escalation_id))
    return facts


def history_lines(facts: int, seed: int = 11) -> Iterator[str]:
    """``facts`` JSON lines of a long history: many escalations, each opened, worked, closed.

    About 12 facts an escalation, 600 open at a time, a tick every 50 facts; some escalations
    miss updates, meetings or their closing post, so the audit has violations to report.
    """
    rng = random.Random(seed)
    now = START
    written = 0
    serial = 0
    live: dict[str, dict[str, Any]] = {}

    def line(body: dict[str, Any]) -> str:
        return json.dumps({**body, "at": now.isoformat()})

    while written < facts:
        now += dt.timedelta(seconds=rng.randint(5, 90))
        if written % 50 == 49:
            yield line({"type": "tick"})
            written += 1
            continue
        if len(live) < 600 and rng.random() < 0.12:
            serial += 1
            escalation_id = f"ESC-{serial}"
            severity = rng.choice(SEVERITIES)
            live[escalation_id] = {"owner": owner(severity).value, "left": rng.randint(6, 18)}
            yield line(
                {
                    "type": "opened",
                    "escalation_id": escalation_id,
                    "customer": f"Customer {serial % 5003}",
                    "segment": "enterprise",
                    "severity": severity.value,
                    "tam": "Alex" if serial % 3 else None,
                }
            )
            written += 1
            continue
        if not live:
            continue
        escalation_id = rng.choice(list(live)) if len(live) < 64 else _pick(rng, live)
        item = live[escalation_id]
        item["left"] -= 1
        common = {"escalation_id": escalation_id}
        if item["left"] <= 0:
            del live[escalation_id]
            yield line({"type": "closed", **common})
            written += 1
            if rng.random() < 0.9 and written < facts:
                now += dt.timedelta(minutes=5)
                yield line(
                    {
                        "type": "posted",
                        **common,
                        "channel": CHANNEL,
                        "purpose": "closed",
                        "by": item["owner"],
                    }
                )
                written += 1
            continue
        roll = rng.random()
        if roll < 0.45:
            purpose = "update" if rng.random() < 0.8 else "created"
            yield line(
                {
                    "type": "posted",
                    **common,
                    "channel": CHANNEL,
                    "purpose": purpose,
                    "by": item["owner"],
                }
            )
        elif roll < 0.75:
            yield line({"type": "meeting_held", **common, "audience": "customer"})
        elif roll < 0.85:
            yield line({"type": "status_changed", **common, "status": "in progress"})
        elif roll < 0.95:
            yield line({"type": "executive_summary_updated", **common})
        else:
            severity = rng.choice(SEVERITIES)
            item["owner"] = owner(severity).value
            yield line({"type": "severity_changed", **common, "severity": severity.value})
        written += 1


def _pick(rng: random.Random, live: dict[str, Any]) -> str:
    # Choosing from a list of the keys is O(n); sampling a few keys by position is enough.
    keys = iter(live)
    skip = rng.randint(0, min(len(live) - 1, 63))
    for _ in range(skip):
        next(keys)
    return next(keys)
