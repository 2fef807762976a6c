"""Deterministic workloads for the benchmarks: realistic fact mixes and large histories."""

import datetime as dt
import functools
import json
import random
from collections.abc import Iterator
from typing import Any, NamedTuple

# The handbook's terms by the package's front door, so that the same harness runs on earlier
# releases too (instructions on equal work, docs/performance.md).
from escalation_policy import Fact, Tick, decide, default_policy
from escalation_policy.rules import (
    Closed,
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
)

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
CHANNEL = default_policy().channel
SEVERITIES = list(Severity)


DOCUMENT = "https://docs.example.com/escalation-tracker"
"""The escalation document the created and closed posts link."""


@functools.cache
def owner(severity: Severity, tam: str | None = "Alex") -> Team:
    """Who the policy makes the owner of an Enterprise escalation of this severity."""
    opened = Opened(
        at=START,
        escalation_id="E",
        customer="Acme",
        segment=Segment.ENTERPRISE,
        severity=severity,
        tam=tam,
    )
    state = decide(None, opened).state
    return state.owner if state is not None and state.owner is not None else Team.OTHER


def _tam(severity: Severity) -> str | None:
    """A TAM for the High and Critical escalations the benchmarks open announced (they need
    one), none for the others (so that no one is to be informed)."""
    return "Alex" if severity in (Severity.CRITICAL, Severity.HIGH) else None


def open_announced(at: dt.datetime, escalation_id: str, severity: Severity) -> list[Fact]:
    """An Enterprise escalation opened, and its "created" post made by its owner."""
    return [
        Opened(
            at=at,
            escalation_id=escalation_id,
            customer="Acme",
            segment=Segment.ENTERPRISE,
            severity=severity,
            tam=_tam(severity),
        ),
        Posted(
            at=at,
            escalation_id=escalation_id,
            channel=CHANNEL,
            purpose=PostPurpose.CREATED,
            by=owner(severity, _tam(severity)),
            url=DOCUMENT,
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
            by=owner(severity, _tam(severity)),
            url=DOCUMENT,
        ),
    ]


class Mix(NamedTuple):
    """A realistic stream, and the backlog of open escalations a host holds before it starts."""

    backlog: list[Fact]
    facts: list[Fact]


def realistic_mix(escalations: int, open_at_once: int, seed: int = 7) -> Mix:
    """Opened, severity changes, posts, meetings, ticks and closes across many escalations,
    with about ``open_at_once`` escalations open throughout.

    The backlog opens ``open_at_once`` escalations (each with its "created" post), all at
    the start. Then the stream: roughly 10% opened (``escalations`` in all), 5% severity
    changes, 40% posts, 20% meetings, 10% ticks, 10% closes (each with its closing post; only
    while more than ``open_at_once`` are open, so the count stays in the thousands), 5% TAM
    informed. Time moves on by up to 12 seconds a fact, so that each open escalation sees a
    few facts a day, as in a service with thousands open; it ends when the last escalation
    has been opened.
    """
    rng = random.Random(seed)
    now = START
    backlog: list[Fact] = []
    facts: list[Fact] = []
    open_ids: list[str] = []
    owners: dict[str, Team] = {}
    tams: dict[str, str | None] = {}

    def opened(number: int, target: list[Fact]) -> None:
        escalation_id = f"ESC-{number}"
        severity = rng.choice(SEVERITIES)
        tams[escalation_id] = "Alex" if number % 3 else None
        owners[escalation_id] = owner(severity, tams[escalation_id])
        target.append(
            Opened(
                at=now,
                escalation_id=escalation_id,
                customer=f"Customer {number % 997}",
                segment=Segment.ENTERPRISE,
                severity=severity,
                tam=tams[escalation_id],
            )
        )
        open_ids.append(escalation_id)

    for number in range(1, open_at_once + 1):
        opened(number, backlog)
        backlog.append(
            Posted(
                at=now,
                escalation_id=f"ESC-{number}",
                channel=CHANNEL,
                purpose=PostPurpose.CREATED,
                by=owners[f"ESC-{number}"],
                url=DOCUMENT,
            )
        )
    serial = open_at_once
    while serial < open_at_once + escalations:
        now += dt.timedelta(seconds=rng.randint(0, 12))
        roll = rng.random()
        if roll < 0.10 or not open_ids:
            serial += 1
            opened(serial, facts)
            continue
        escalation_id = open_ids[rng.randrange(len(open_ids))]
        if roll < 0.15:
            severity = rng.choice(SEVERITIES)
            owners[escalation_id] = owner(severity, tams[escalation_id])
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
                    url=DOCUMENT if purpose is PostPurpose.CREATED else None,
                )
            )
        elif roll < 0.75:
            facts.append(
                MeetingHeld(at=now, escalation_id=escalation_id, audience=MeetingAudience.CUSTOMER)
            )
        elif roll < 0.85:
            facts.append(Tick(at=now))
        elif roll < 0.95 and len(open_ids) > open_at_once:
            open_ids.remove(escalation_id)
            facts.append(Closed(at=now, escalation_id=escalation_id))
            facts.append(
                Posted(
                    at=now,
                    escalation_id=escalation_id,
                    channel=CHANNEL,
                    purpose=PostPurpose.CLOSED,
                    by=owners[escalation_id],
                    url=DOCUMENT,
                )
            )
        else:
            facts.append(TamInformed(at=now, escalation_id=escalation_id))
    return Mix(backlog, facts)


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
