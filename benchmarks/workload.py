"""Deterministic workloads for the benchmarks: a team that mostly follows the handbook.

``realistic_mix`` (objects, a backlog and a timed stream) and ``history_lines`` (JSON lines, a
long history for the audit) come from one simulation. Escalations open over time, mostly in
business hours, in several customers' time zones; each is worked as the handbook asks, with
some lateness: its created post linking the escalation document within two business hours,
its TAM informed (Support-owned) or assigned (High and Critical without one), daily updates
in the channel for High and Critical, meetings and messages to the customer at its cadence,
the executive summary updated after each change of status, severity changes, waits on the
customer, account issues, enhancement requests, a change of issue type, now and then a
tracking post in the channel (misuse), then risk reduced or closed with their posts (now and
then the closing post a few minutes before the closing is recorded). Ticks every 15 minutes.
Every fact type the handbook's policy declares occurs (``fact_types``).

Every late or skipped step is drawn with a small probability, so violations exist and are a
minority (``quick`` modes print the mix per code). Nothing here looks at the library's
engine: the owner of an escalation is read from the loaded policy's table, as a host would
read its handbook.
"""

import datetime as dt
import functools
import heapq
import json
import random
import zoneinfo
from collections.abc import Iterator
from typing import Any, NamedTuple

# The handbook's terms by the package's front door, so that the same harness runs on earlier
# releases too (instructions on equal work, docs/performance.md).
from escalation_policy import Fact, Tick, decide, default_policy, make_converter
from escalation_policy.rules import (
    Closed,
    Opened,
    Posted,
    PostPurpose,
    Segment,
    Severity,
    Team,
)

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
CHANNEL = default_policy().channel
SEVERITIES = list(Severity)
UTC = dt.timezone.utc

DOCUMENT = "https://docs.example.com/escalation-tracker"
"""The escalation document the created, risk-reduced and closed posts link."""


def fact_types() -> list[str]:
    """Every fact type the handbook's policy takes, as the loaded policy declares them, and
    the engine's ``tick``."""
    return [*default_policy().terms.facts, "tick"]


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


# ------------------------------------------------------------------------- the team's days
ZONES = (None, None, None, None, None, None, "Europe/Berlin", "America/New_York", "Asia/Tokyo")
"""Customers' time zones: most in the policy's default (UTC), some in their own."""
TAMS = ("Alex", "Rita", "Sam", "Noor", "Kenji")
KINDS = ("delayed_response", "open_actions", "non_compliant_installation")
ISSUE_TYPES = ("security", "defect")
OPENS, CLOSES = 9 * 60, 17 * 60  # the team's business hours, local minutes


@functools.cache
def _zone(name: str | None) -> dt.tzinfo:
    return UTC if name is None else zoneinfo.ZoneInfo(name)


def _local(day: dt.date, minute: int, zone: str | None) -> dt.datetime:
    wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    return wall.replace(tzinfo=_zone(zone)).astimezone(UTC)


def _workday(day: dt.date) -> bool:
    return day.weekday() < 5


def _add_business(at: dt.datetime, minutes: float, zone: str | None) -> dt.datetime:
    """``minutes`` of the team's working time after ``at`` (weekdays, 09:00 to 17:00 local)."""
    local = at.astimezone(_zone(zone))
    day = local.date()
    cursor = local.hour * 60 + local.minute + local.second / 60
    left = minutes
    while True:
        if _workday(day):
            begin = max(cursor, OPENS)
            if begin < CLOSES:
                if begin + left <= CLOSES:
                    return _local(day, 0, zone) + dt.timedelta(minutes=begin + left)
                left -= CLOSES - begin
        day += dt.timedelta(days=1)
        cursor = 0


def _moment(rng: random.Random, day: dt.date, zone: str | None) -> dt.datetime:
    """A random whole minute of the working hours of ``day``, local to the customer."""
    return _local(day, rng.randrange(OPENS, CLOSES - 10), zone)


def _severity_rank(severity: Severity) -> int:
    return SEVERITIES.index(severity)


_LIFE = {Severity.CRITICAL: 6, Severity.HIGH: 10, Severity.MEDIUM: 18, Severity.LOW: 20}
"""Mean business days an escalation of each severity stays open."""
MEAN_LIFE = 15.3  # business days, over the severities' mix below
_SEVERITY_WEIGHTS = (0.10, 0.25, 0.40, 0.25)


class _Script:
    """One escalation's facts, as the team makes them (JSON form, in time order)."""

    def __init__(self, rng: random.Random, number: int, opened_at: dt.datetime) -> None:
        self.rng = rng
        # Drawn apart, so that the rest of the history is the same with or without it.
        self.early = random.Random(number)
        self.id = f"ESC-{number}"
        self.facts: list[tuple[dt.datetime, dict[str, Any]]] = []
        self.write(rng, number, opened_at)

    def add(self, at: dt.datetime, body: dict[str, Any]) -> None:
        at = at.replace(microsecond=0)
        self.facts.append((at, {"type": body.pop("type"), "escalation_id": self.id, **body}))

    def post(self, at: dt.datetime, purpose: str, by: Team, url: str | None = None) -> None:
        body = {"type": "posted", "channel": CHANNEL, "purpose": purpose, "by": by.value}
        if url is not None:
            body["url"] = url
        self.add(at, body)

    def respond(self, at: dt.datetime, zone: str | None, within: float) -> dt.datetime | None:
        """When a step due ``within`` business minutes of ``at`` is taken: mostly on time,
        sometimes late, now and then never."""
        roll = self.rng.random()
        if roll < 0.93:
            return _add_business(at, self.rng.uniform(0.05, 0.9) * within, zone)
        if roll < 0.97:
            return _add_business(at, self.rng.uniform(1.1, 2.5) * within, zone)
        return None

    def write(self, rng: random.Random, number: int, at: dt.datetime) -> None:
        segment = rng.choices(("enterprise", "commercial", "smb"), (0.8, 0.12, 0.08))[0]
        partnership = segment != "enterprise" and rng.random() < 0.6
        broad = rng.random() < 0.03
        severity = rng.choices(SEVERITIES, _SEVERITY_WEIGHTS)[0]
        tam = rng.choice(TAMS) if rng.random() < (0.7 if segment == "enterprise" else 0.3) else None
        zone = rng.choice(ZONES)
        opened_by = tam if tam is not None and rng.random() < 0.15 else rng.choice((None, "Jo"))
        initiated = (
            "support_engineering"
            if severity in (Severity.LOW, Severity.MEDIUM) and rng.random() < 0.7
            else rng.choice(("customer_success", "tam", "other"))
        )
        body: dict[str, Any] = {
            "type": "opened",
            "customer": f"Customer {number % 5003}",
            "segment": segment,
            "severity": severity.value,
            "strategic_partnership": partnership,
            "broad_impact": broad,
            "initiated_by": initiated,
            "opened_by": opened_by,
            "tam": tam,
        }
        if rng.random() < 0.1:
            body["issue_type"] = rng.choice(("defect", "security", "performance"))
        if zone is not None:
            body["time_zone"] = zone
        self.add(at, body)
        if segment != "enterprise" and not partnership and not broad:
            # Out of scope: the team still works it, the policy asks nothing of it.
            self.add(_add_business(at, rng.uniform(60, 3_000), zone), {"type": "closed"})
            return
        self.opened_work(at, severity, tam, opened_by, broad, zone)

    def opened_work(
        self,
        at: dt.datetime,
        severity: Severity,
        tam: str | None,
        opened_by: str | None,
        broad: bool,
        zone: str | None,
    ) -> None:
        rng = self.rng
        high = (Severity.CRITICAL, Severity.HIGH)
        assigned_at: dt.datetime | None = None
        if severity in high and tam is None and not broad:
            assigned_at = self.respond(at, zone, 480)
            if assigned_at is not None:
                tam = rng.choice(TAMS)
                self.add(assigned_at, {"type": "tam_assigned", "tam": tam})
        elif tam is not None and severity not in high and opened_by != tam:
            informed = self.respond(at, zone, 120)
            if informed is not None:
                by = rng.choice(("support_engineering", "support_engineering", "customer_success"))
                self.add(informed, {"type": "tam_informed", "by": by})
        created = self.respond(at, zone, 120)
        if created is not None:
            who = owner(severity, tam if assigned_at is None or assigned_at <= created else None)
            if rng.random() < 0.01:
                who = Team.OTHER  # posted by someone else: wrong poster
            self.post(created, "created", who, DOCUMENT if rng.random() < 0.98 else None)
        life = max(2, round(rng.expovariate(1 / _LIFE[severity])))
        day = at.astimezone(_zone(zone)).date()
        days = 0
        waiting_until: dt.date | None = None
        changed = rng.random() < 0.12
        change_day = rng.randint(1, life)
        retyped = rng.randint(1, life) if rng.random() < 0.05 else None
        end = rng.random()
        while True:
            day += dt.timedelta(days=1)
            if not _workday(day):
                continue
            days += 1
            if days >= life:
                break
            who = owner(severity, tam)
            if waiting_until is not None:
                if day >= waiting_until:
                    self.add(_moment(rng, day, zone), {"type": "customer_responded"})
                    waiting_until = None
            elif rng.random() < 0.02:
                self.add(_moment(rng, day, zone), {"type": "waiting_on_customer"})
                waiting_until = day + dt.timedelta(days=rng.randint(1, 5))
            paused = waiting_until is not None
            if rng.random() < (0.96 if severity in high else 0.03):
                when = _moment(rng, day, zone)
                early = assigned_at is not None and when < assigned_at  # before the TAM came
                self.post(when, "update", owner(severity, None) if early else who)
            if not paused:
                self.cadence(day, severity, zone, broad)
            if rng.random() < 0.05:
                when = _moment(rng, day, zone)
                self.add(when, {"type": "status_changed", "status": rng.choice(("blocked",
                                "fix in review", "patch deployed", "monitoring"))})  # fmt: skip
                self.summary(when, zone)
            if rng.random() < 0.01:
                kind = rng.choice(KINDS)
                self.add(_moment(rng, day, zone), {"type": "account_issue", "kind": kind})
            if rng.random() < 0.01:
                self.add(
                    _moment(rng, day, zone),
                    {"type": "enhancement_requested", "summary": "bulk export of audit events"},
                )
            if rng.random() < 0.004:
                self.post(_moment(rng, day, zone), rng.choice(("tracking", "initiation")), who)
            if retyped == days:
                retype = {"type": "issue_type_changed", "issue_type": rng.choice(ISSUE_TYPES)}
                self.add(_moment(rng, day, zone), retype)
            if changed and change_day == days:
                before = severity
                severity = rng.choice([s for s in SEVERITIES if s is not before])
                when = _moment(rng, day, zone) + dt.timedelta(minutes=5)
                self.add(when, {"type": "severity_changed", "severity": severity.value})
                self.summary(when, zone)
                raised = _severity_rank(severity) < _severity_rank(before)
                if severity in high and tam is None and not broad:
                    assigned = self.respond(when, zone, 480)
                    if assigned is not None:
                        tam = rng.choice(TAMS)
                        self.add(assigned, {"type": "tam_assigned", "tam": tam})
                if raised and severity in high:
                    posted = self.respond(when, zone, 120)
                    if posted is not None:
                        self.post(posted, "update", owner(severity, tam))
        who = owner(severity, tam)
        when = _moment(rng, day, zone)
        if waiting_until is not None:
            self.add(when, {"type": "customer_responded"})
            when += dt.timedelta(minutes=1)
        if end < 0.35:
            self.add(when, {"type": "risk_reduced"})
            self.summary(when, zone)
            posted = self.respond(when, zone, 480)
            if posted is not None:
                self.post(posted, "risk_reduced", who, DOCUMENT if rng.random() < 0.98 else None)
            closing = _add_business(when, rng.uniform(2, 5) * 480, zone)
            self.close(closing, None)
        else:
            self.close(when, (who, zone))

    def cadence(self, day: dt.date, severity: Severity, zone: str | None, broad: bool) -> None:
        """Meetings and messages to the customer, as often as the severity's cadence asks."""
        rng = self.rng
        weekday = day.weekday()
        if severity is Severity.CRITICAL:
            meet = rng.random() < 0.95
        elif severity is Severity.HIGH:
            meet = weekday in (1, 3) and rng.random() < 0.96
        elif severity is Severity.MEDIUM:
            meet = weekday == 2 and rng.random() < 0.85
        else:
            meet = rng.random() < 0.05
        if meet:
            audience = "customer" if rng.random() < 0.9 else "executive"
            self.add(_moment(rng, day, zone), {"type": "meeting_held", "audience": audience})
        if rng.random() < (0.3 if severity is Severity.CRITICAL else 0.1):
            self.add(_moment(rng, day, zone), {"type": "meeting_held", "audience": "internal"})
        if rng.random() < 0.2:
            by = rng.choice(("tam", "support_engineering", "customer_success"))
            self.add(_moment(rng, day, zone), {"type": "customer_contacted", "by": by})

    def summary(self, at: dt.datetime, zone: str | None) -> None:
        """The executive summary updated after a change of status (due in a business day)."""
        when = self.respond(at, zone, 480)
        if when is not None:
            self.add(when, {"type": "executive_summary_updated"})

    def close(self, at: dt.datetime, posted_by: tuple[Team, str | None] | None) -> None:
        """Closed, with its closing post unless risk reduced announced the end; the script
        is cut there (an escalation closed takes no fact but its posts)."""
        self.facts.sort(key=lambda pair: pair[0])
        self.facts = [pair for pair in self.facts if pair[0] < at]
        self.add(at, {"type": "closed"})
        if posted_by is not None:
            posted = self.respond(at, posted_by[1], 480)
            if posted is not None and self.early.random() < 0.15:
                # Posted first, the closing recorded in the CRM minutes later: it counts.
                posted = at - dt.timedelta(minutes=self.early.uniform(1, 30))
            if posted is not None:
                url = DOCUMENT if self.rng.random() < 0.98 else None
                self.post(posted, "closed", posted_by[0], url)


def _events(
    seed: int, open_at_once: int, backlog_from: dt.datetime
) -> Iterator[tuple[dt.datetime, dict[str, Any]]]:
    """The facts of a team with about ``open_at_once`` escalations open, in time order,
    without end: the first ``open_at_once`` open during the business day from
    ``backlog_from``, the others arrive from ``START`` at the rate that keeps the count."""
    rng = random.Random(seed)
    queue: list[tuple[dt.datetime, int, dict[str, Any]]] = []
    serial = 0
    order = 0

    def opened(number: int, at: dt.datetime) -> None:
        nonlocal order
        for when, body in _Script(rng, number, at).facts:
            order += 1
            heapq.heappush(queue, (when, order, body))

    for number in range(1, open_at_once + 1):
        at = _add_business(backlog_from, 480 * (number - 1) / open_at_once, None)
        opened(number, at)
    serial = open_at_once
    per_minute = open_at_once / MEAN_LIFE / 480  # arrivals a business minute, steady state
    arrival = _add_business(START, rng.expovariate(per_minute), None).replace(microsecond=0)
    tick = START
    while True:
        head = queue[0][0] if queue else arrival
        if tick <= head and tick <= arrival:
            yield tick, {"type": "tick"}
            tick += dt.timedelta(minutes=15)
            continue
        if arrival < head:
            serial += 1
            late = rng.random() < 0.1  # some open after hours
            at = arrival + dt.timedelta(hours=rng.uniform(8, 14)) if late else arrival
            opened(serial, at)
            gap = rng.expovariate(per_minute)
            arrival = _add_business(arrival, gap, None).replace(microsecond=0)
            continue
        when, _, body = heapq.heappop(queue)
        yield when, body


def _line(at: dt.datetime, body: dict[str, Any]) -> str:
    return json.dumps({**body, "at": at.isoformat()})


class Mix(NamedTuple):
    """A realistic stream, and the backlog of open escalations a host holds before it starts."""

    backlog: list[Fact]
    facts: list[Fact]


def realistic_lines(escalations: int, open_at_once: int, seed: int = 7) -> tuple[list[str], int]:
    """The JSON lines of :func:`realistic_mix`, and how many of them are the backlog."""
    backlog: list[str] = []
    lines: list[str] = []
    opened = 0
    backlog_from = START - dt.timedelta(days=3)  # the Friday before
    for at, body in _events(seed, open_at_once, backlog_from):
        if at < START:
            backlog.append(_line(at, body))
            continue
        if body["type"] == "opened":
            opened += 1
            if opened > escalations:
                break
        lines.append(_line(at, body))
    return backlog + lines, len(backlog)


def realistic_mix(escalations: int, open_at_once: int, seed: int = 7) -> Mix:
    """A team with about ``open_at_once`` escalations open: the backlog (the facts of the
    ``open_at_once`` escalations opened the Friday before ``START``, handled before timing),
    then the stream from ``START`` until ``escalations`` more have opened (see the module's
    description for what the team does)."""
    lines, cut = realistic_lines(escalations, open_at_once, seed)
    converter = make_converter()
    facts = [converter.structure(json.loads(line), Fact) for line in lines]  # type: ignore[arg-type]
    return Mix(facts[:cut], facts[cut:])


def history_lines(facts: int, seed: int = 11) -> Iterator[str]:
    """``facts`` JSON lines of a long history: the same team as :func:`realistic_mix`, about
    600 escalations open at a time, each opened, worked and closed, from ``START``."""
    if facts <= 0:
        return
    for written, (at, body) in enumerate(_events(seed, 600, START), 1):
        yield _line(at, body)
        if written >= facts:
            return


__all__ = [
    "CHANNEL",
    "DOCUMENT",
    "START",
    "Mix",
    "Tick",
    "close_announced",
    "fact_types",
    "history_lines",
    "open_announced",
    "owner",
    "realistic_lines",
    "realistic_mix",
]
