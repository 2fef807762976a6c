"""What the HTML page draws of each escalation: its timeline, observed on the audit's replay.

:class:`TimelineObserver` keeps, per escalation, what a reader wants to see over time: its
severity, owner and involvement, each obligation from the moment it was expected to its due
time, and the facts. It reads the policy's terms and the engine's state, never the handbook's
names. The violations it draws are the audit's own (:class:`~escalation_policy.AuditReport`).
"""

import datetime as dt
import enum
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._audit import (
    AuditCalendar,
    AuditObserver,
    AuditReport,
    Replayed,
    audit_end,
    missed_obligations,
    replay,
)
from escalation_policy._convert import shared_converter
from escalation_policy.engine import EngineName, PolicyEngine
from escalation_policy.errors import InputError
from escalation_policy.model import (
    Action,
    AssignOwner,
    EscalationFact,
    Fact,
    Reminder,
    SetInvolvement,
    Violation,
)
from escalation_policy.policy import Policy
from escalation_policy.render import describe, label, timestamp
from escalation_policy.state import EscalationState, Fulfilment

__all__ = [
    "ENDED",
    "LATE",
    "MET",
    "MISSED",
    "OPEN",
    "OUTCOMES",
    "EscalationTimeline",
    "Mark",
    "ObligationSpan",
    "SeverityBand",
    "TimelineObserver",
    "audit_with_timelines",
    "owner_name",
    "shown_in",
    "text_of",
    "timelines",
    "when",
]

MET = "met on time"
LATE = "met late"
MISSED = "missed"
ENDED = "no longer required"
OPEN = "still open"
OUTCOMES = (MET, LATE, MISSED, ENDED, OPEN)
"""What became of an obligation, in the order the legend lists them."""


@attrs.frozen(kw_only=True)
class SeverityBand:
    """The escalation stood at ``severity`` (a value of the policy's severities) from
    ``start`` to ``end``."""

    severity: str
    start: dt.datetime
    end: dt.datetime


@attrs.frozen(kw_only=True)
class Mark:
    """Something that happened at one time: ``title`` in a word or two, ``details`` as lines."""

    at: dt.datetime
    title: str
    details: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ObligationSpan:
    """One obligation, from when it was expected (``created``) to when it fell due.

    ``outcome`` is one of :data:`OUTCOMES`; ``settled_at`` when it was met, reported missed or
    dropped (``None``: still open at the end). A missed period of a periodic obligation is a
    span of its own.
    """

    obligation: str
    key: str | None
    rule: str
    cites: str
    created: dt.datetime
    due: dt.datetime
    outcome: str
    settled_at: dt.datetime | None

    @property
    def lane(self) -> str:
        """The row of the timeline it is drawn on: the obligation, and its key if it has one."""
        return _lane(self.obligation, self.key)


def _lane(obligation: str, key: object) -> str:
    return obligation if key is None else f"{obligation} ({text_of(key)})"


@attrs.frozen(kw_only=True)
class EscalationTimeline:
    """What one escalation went through, from its opening to its closing (or the end)."""

    escalation_id: str
    customer: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    end: dt.datetime
    """The closing, or the end of the history (its last fact, or ``as_of``)."""
    calendar: AuditCalendar | None
    """The calendar its clocks counted on (``None``: calendar time)."""
    severities: tuple[SeverityBand, ...]
    owners: tuple[Mark, ...]
    involvement: tuple[Mark, ...]
    obligations: tuple[ObligationSpan, ...]
    reminders: Mapping[str, tuple[Mark, ...]]
    """Reminders sent, by the lane of the obligation they are about."""
    facts: Mapping[str, tuple[Mark, ...]]
    """The facts about the escalation, by fact type, in the policy's order."""
    owner: str = "-"
    """Who owned it last: the person, where the owner is a team the escalation names a person
    of (the TAM's name for the TAM team), else the team's label; ``-`` for none."""


class _Span:
    """An obligation while the history is replayed (its outcome may still change)."""

    __slots__ = ("at", "cites", "created", "due", "every", "key", "obligation", "outcome", "rule")

    def __init__(
        self,
        *,
        obligation: str,
        key: str | None,
        rule: str,
        cites: str,
        created: dt.datetime,
        due: dt.datetime,
        every: dt.timedelta | None = None,
    ) -> None:
        self.obligation = obligation
        self.key = key
        self.rule = rule
        self.cites = cites
        self.created = min(created, due)
        self.due = due
        self.every = every
        self.outcome: str | None = None
        self.at: dt.datetime | None = None

    def settle(self, outcome: str, at: dt.datetime) -> None:
        self.outcome = outcome
        self.at = at

    def frozen(self) -> ObligationSpan:
        return ObligationSpan(
            obligation=self.obligation,
            key=self.key,
            rule=self.rule,
            cites=self.cites,
            created=self.created,
            due=self.due,
            outcome=self.outcome or OPEN,
            settled_at=self.at,
        )


_Identity = tuple[str, str | None, str, dt.datetime]
"""A pending obligation as the engine keeps it: (obligation, key, rule, due)."""


class _Builder:
    """What the timeline keeps about one escalation while the history is replayed."""

    def __init__(self, fact: Any, policy: Policy, calendar: AuditCalendar | None) -> None:
        self.policy = policy
        self.calendar = calendar
        self.zone = shown_in(calendar)
        self.escalation_id: str = fact.escalation_id
        self.customer = str(fact.customer)
        self.opened_at: dt.datetime = fact.at
        self.closed_at: dt.datetime | None = None
        self.severity = text_of(fact.severity)  # every policy's opening fact has one
        self.since: dt.datetime = fact.at
        self.bands: list[SeverityBand] = []
        self.owners: list[Mark] = []
        self.owner_team: str | None = None
        self.owner = "-"
        self.involvement: list[Mark] = []
        self.spans: list[_Span] = []
        self.pending: dict[_Identity, _Span] = {}
        self.reminders: dict[str, list[Mark]] = {}
        self.facts: dict[str, list[Mark]] = {}
        self.missed = missed_obligations(policy)

    # -- what the engine said
    def action(self, action: Action) -> None:
        if isinstance(action, AssignOwner):
            self.owner_team = text_of(action.owner)
            self.owner = label(action.owner)
            self.owners.append(_action_mark(action, self.owner, self.zone))
        elif isinstance(action, SetInvolvement):
            self.involvement.append(_action_mark(action, f"{len(action.roles)} roles", self.zone))
        elif isinstance(action, Reminder):
            lane = _lane(action.obligation, action.key)
            self.reminders.setdefault(lane, []).append(_action_mark(action, "reminder", self.zone))
        elif isinstance(action, Violation):
            self._missed(action)

    def _missed(self, violation: Violation) -> None:
        obligation = self.missed(violation.code, violation.rule)
        if violation.due is None or obligation is None:
            return  # conduct, not a missed obligation: a mark, not a span
        span = self._find(violation.rule, violation.due, obligation)
        if span is None:
            span = self._add(obligation, None, violation.rule, violation.cites, violation.due)
        span.settle(MISSED, violation.at)
        # Consecutive missed periods reported as one violation: each period is a span.
        if span.every is not None:
            for period in range(1, violation.periods):
                due = violation.due + period * span.every
                extra = self._add(
                    span.obligation, span.key, span.rule, span.cites, due, due - span.every
                )
                extra.every = span.every
                extra.settle(MISSED, violation.at)

    def fulfilled(self, fulfilment: Fulfilment) -> None:
        key = None if fulfilment.key is None else text_of(fulfilment.key)
        span = self._find(fulfilment.rule, fulfilment.due, fulfilment.obligation, key)
        if span is None:  # expected and met within one fact: never seen pending
            rule = self.policy.rules.get(fulfilment.rule)
            span = self._add(
                fulfilment.obligation,
                key,
                fulfilment.rule,
                rule.cites if rule is not None else "",
                fulfilment.due,
            )
        span.settle(LATE if fulfilment.late else MET, fulfilment.at)

    def _find(
        self,
        rule: str,
        due: dt.datetime,
        obligation: str | None = None,
        key: str | None = None,
    ) -> _Span | None:
        for (name, span_key, span_rule, span_due), span in self.pending.items():
            if span_rule != rule or span_due != due or span.outcome not in (None, MISSED):
                continue
            if obligation is not None and name != obligation:
                continue
            if key is not None and span_key is not None and key != span_key:
                continue
            return span
        return None

    def _add(
        self,
        obligation: str,
        key: str | None,
        rule: str,
        cites: str,
        due: dt.datetime,
        created: dt.datetime | None = None,
    ) -> _Span:
        if created is None:
            created = self._previous_end(obligation, key, rule)
        span = _Span(
            obligation=obligation, key=key, rule=rule, cites=cites, created=created, due=due
        )
        self.spans.append(span)
        return span

    def _previous_end(self, obligation: str, key: str | None, rule: str) -> dt.datetime:
        """When the period after the last one of this obligation began: it was met, or missed."""
        for span in reversed(self.spans):
            if (span.obligation, span.key, span.rule) == (obligation, key, rule):
                return span.at if span.outcome in (MET, LATE) and span.at else span.due
        return self.opened_at

    # -- what the escalation now is
    def state(self, state: EscalationState | None, at: dt.datetime) -> None:
        """Bring the pending obligations and the severity up to the engine's ``state``
        (``None``: settled and forgotten)."""
        now: dict[_Identity, Any] = {}
        if state is not None:
            for pending in state.pending:
                key = None if pending.key is None else text_of(pending.key)
                now[(pending.obligation, key, pending.rule, pending.due)] = pending
            self.severity_now(text_of(getattr(state, "severity", self.severity)), at)
            self.owner_now(state, at)
            if state.closed_at is not None and self.closed_at is None:
                self.closed_at = state.closed_at
        for identity, span in list(self.pending.items()):
            if identity not in now:
                if span.outcome is None:
                    span.settle(ENDED, at)
                del self.pending[identity]
        for identity, pending in now.items():
            if identity in self.pending:
                continue
            created = at if pending.every is None else pending.due - pending.every
            span = _Span(
                obligation=pending.obligation,
                key=identity[1],
                rule=pending.rule,
                cites=pending.cites,
                created=max(created, self.opened_at),
                due=pending.due,
                every=pending.every,
            )
            self.spans.append(span)
            self.pending[identity] = span

    def owner_now(self, state: EscalationState, at: dt.datetime) -> None:
        """Name the owner as a person where the state names one (the TAM's name when the TAM
        team owns it): retitle the owner just assigned, or mark the person who took over."""
        if state.owner is None or text_of(state.owner) != self.owner_team:
            return
        name = owner_name(state)
        if name == self.owner:
            return
        self.owner = name
        last = self.owners[-1] if self.owners else None
        if last is not None and last.at == at:
            self.owners[-1] = attrs.evolve(last, title=name)
        else:
            team = label(state.owner)
            self.owners.append(Mark(at=at, title=name, details=(f"the {team} is now {name}",)))

    def severity_now(self, severity: str, at: dt.datetime) -> None:
        if severity == self.severity or self.closed_at is not None:
            return
        if at > self.since:
            self.bands.append(SeverityBand(severity=self.severity, start=self.since, end=at))
        self.severity = severity
        self.since = max(at, self.since)

    def fact(self, fact: EscalationFact, fulfilled: Sequence[Fulfilment]) -> None:
        data = shared_converter(self.policy).unstructure(fact, Fact)
        details = [
            f"{name}: {_json_text(value)}"
            for name, value in data.items()
            if name not in ("type", "at", "escalation_id", "id")
        ]
        for fulfilment in fulfilled:
            if fulfilment.escalation_id == self.escalation_id:
                what = fulfilment.obligation + (f" ({fulfilment.key})" if fulfilment.key else "")
                timing = "late" if fulfilment.late else "on time"
                details.append(f"meets {what}, due {when(fulfilment.due, self.zone)}: {timing}")
        self.facts.setdefault(fact.TYPE, []).append(
            Mark(at=fact.at, title=fact.TYPE, details=tuple(details))
        )

    def finish(self, end: dt.datetime) -> EscalationTimeline:
        stop = self.closed_at or end
        self.bands.append(
            SeverityBand(severity=self.severity, start=self.since, end=max(stop, self.since))
        )
        fact_order = {name: index for index, name in enumerate(self.policy.terms.facts)}
        order = {name: index for index, name in enumerate(self.policy.obligations)}
        spans = sorted(
            (span.frozen() for span in self.spans),
            key=lambda s: (order.get(s.obligation, len(order)), s.key or "", s.created, s.due),
        )
        return EscalationTimeline(
            escalation_id=self.escalation_id,
            customer=self.customer,
            opened_at=self.opened_at,
            closed_at=self.closed_at,
            end=max(stop, self.opened_at),
            calendar=self.calendar,
            severities=tuple(self.bands),
            owners=tuple(self.owners),
            involvement=tuple(self.involvement),
            obligations=tuple(spans),
            reminders={lane: tuple(marks) for lane, marks in self.reminders.items()},
            facts={
                name: tuple(self.facts[name])
                for name in sorted(self.facts, key=lambda n: fact_order.get(n, len(fact_order)))
            },
            owner=self.owner,
        )


def _action_mark(action: Action, title: str, zone: dt.tzinfo | None) -> Mark:
    return Mark(
        at=action.at,
        title=title,
        details=(describe(action, zone), f"rule: {action.rule}", f"cites: {action.cites}"),
    )


def owner_name(state: EscalationState) -> str:
    """The escalation's owner as people name it: the person, where the owning team's value is
    also an attribute of the escalation that names someone (the handbook's ``tam``, for the
    TAM team), else the team's label."""
    if state.owner is None:
        return "-"
    team = text_of(state.owner)
    if team in state.ATTRIBUTES:
        person = getattr(state, team)
        if isinstance(person, str) and person.strip():
            return person
    return label(state.owner)


def text_of(value: object) -> str:
    """A value as text: an enumeration's value, anything else as ``str`` has it."""
    return str(value.value if isinstance(value, enum.Enum) else value)


def _json_text(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_json_text(item) for item in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "-" if value is None else str(value)


def when(value: dt.datetime, zone: dt.tzinfo | None = None) -> str:
    """A time to the minute, as the page shows times: in UTC (``2026-03-09 08:00 UTC``), or
    in ``zone`` with its offset there (``2026-03-09 17:00 +09:00``)."""
    if zone is None:
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return timestamp(value.astimezone(zone))


def shown_in(calendar: AuditCalendar | None) -> dt.tzinfo | None:
    """The zone the page shows an escalation's times in: its calendar's, unless that is UTC
    (``None``: UTC)."""
    if calendar is None or calendar.zone == "UTC":
        return None
    return calendar.tzinfo


class TimelineObserver:
    """The timelines as an observer of the replay: a builder per escalation."""

    needs_state = True

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.timelines: tuple[EscalationTimeline, ...] = ()

    def opened(self, fact: EscalationFact, calendar: AuditCalendar | None) -> _Builder:
        return _Builder(fact, self.policy, calendar)

    def unopened(self, action: Action) -> None:
        """An escalation never opened has no timeline: the audit lists its violations."""

    def ended(self, escalations: Sequence[_Builder], replayed: Replayed) -> None:
        self.timelines = tuple(
            builder.finish(replayed.end or builder.opened_at) for builder in escalations
        )


def timelines(
    facts: Iterable[Fact | Mapping[str, Any] | InputError],
    policy: Policy | None = None,
    *,
    as_of: dt.datetime | None = None,
    engine: EngineName = "native",
) -> tuple[EscalationTimeline, ...]:
    """Replay ``facts`` (in time order, as :func:`~escalation_policy.audit` takes them) and
    return each escalation's timeline, in order of opening.

    A fact the policy refuses, or an ``InputError`` among the facts, is skipped: the engine is
    as if it had never arrived, as in an audit with ``keep_going``. ``as_of`` ends the history
    later than its last fact, as the audit's ``as_of`` does.
    """
    policy_engine = PolicyEngine(policy, engine=engine)
    observer = TimelineObserver(policy_engine.policy)
    replay(facts, policy_engine, [observer], as_of=audit_end(as_of), keep_going=True)
    return observer.timelines


def audit_with_timelines(
    facts: Iterable[Fact | Mapping[str, Any] | InputError],
    policy: Policy | None = None,
    *,
    as_of: dt.datetime | None = None,
    engine: EngineName = "native",
    keep_going: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[AuditReport, tuple[EscalationTimeline, ...]]:
    """The audit of ``facts`` and each escalation's timeline, observed on one replay (as
    :func:`~escalation_policy.audit` takes its arguments), so that they never count apart."""
    policy_engine = PolicyEngine(policy, engine=engine)
    audited = AuditObserver(policy_engine.policy)
    drawn = TimelineObserver(policy_engine.policy)
    replayed = replay(
        facts,
        policy_engine,
        [audited, drawn],
        as_of=audit_end(as_of),
        keep_going=keep_going,
        progress=progress,
    )
    return audited.report(replayed), drawn.timelines
