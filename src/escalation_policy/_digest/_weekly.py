"""The weekly digest: what a replay of a history, or a store, says of one week.

:func:`digest` observes the same replay as the audit (``escalation_policy._audit.replay``),
with an observer of its own, or reads a :class:`~escalation_policy.Service`'s states and
outbox; both feed one tracker per escalation, so they count alike.
"""

import datetime as dt
import enum
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._audit import AuditCalendar, Replayed, audit_end, replay
from escalation_policy._convert import shared_converter
from escalation_policy._language.wording import label
from escalation_policy.engine import EngineName, PolicyEngine
from escalation_policy.errors import InputError
from escalation_policy.model import (
    AWAITING_OPENING,
    CLOSED,
    Action,
    AssignOwner,
    EscalationFact,
    Fact,
    OutOfScope,
    Tick,
    Violation,
    parse_timestamp,
)
from escalation_policy.policy import Policy
from escalation_policy.service import Service
from escalation_policy.state import EscalationState, Fulfilment

__all__ = [
    "AGES",
    "Digest",
    "DueObligation",
    "MissedObligation",
    "OpenEscalation",
    "WeekFigures",
    "digest",
]

AGES = ("under 1 week", "1\u20132 weeks", "2\u20134 weeks", "4 weeks or more")
"""How long the open escalations have been open, as the digest groups them."""
_AGE_LIMITS = (dt.timedelta(weeks=1), dt.timedelta(weeks=2), dt.timedelta(weeks=4))
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")
MAX_WEEKS = 52
"""The most weeks the trend goes back."""


# ------------------------------------------------------------------------------------ the digest
@attrs.frozen(kw_only=True)
class OpenEscalation:
    """An escalation open at the digest's time: its owner as people know them (the team and,
    where the escalation names one, the person: ``TAM (Priya Raman)``), how long it has been
    open, and its violations so far."""

    escalation_id: str
    customer: str
    severity: str
    owner: str
    opened_at: dt.datetime
    age: dt.timedelta
    violations: int


@attrs.frozen(kw_only=True)
class DueObligation:
    """An obligation still to meet, due before the week ends. ``overdue``: its due time has
    passed (a store whose due scan has not run yet reports it so)."""

    escalation_id: str
    customer: str
    obligation: str
    due: dt.datetime
    owner: str
    overdue: bool = False


@attrs.frozen(kw_only=True)
class MissedObligation:
    """An obligation missed in the week: the violation, and who owned the escalation then."""

    escalation_id: str
    customer: str
    code: str
    detail: str
    due: dt.datetime
    detected_at: dt.datetime
    owner: str
    periods: int = 1


@attrs.frozen(kw_only=True)
class WeekFigures:
    """One ISO week of the trend: the obligations that fell due in it (met or missed), how many
    were met on time, how many missed, and the share met on time. From a store, which keeps
    no facts and so no fulfilments, ``due`` and ``on_time`` are ``None``: only the misses are
    known."""

    week: str
    start: dt.datetime
    due: int | None
    on_time: int | None
    missed: int

    @property
    def on_time_share(self) -> float | None:
        if not self.due or self.on_time is None:
            return None
        return round(self.on_time / self.due, 4)


@attrs.frozen(kw_only=True)
class Digest:
    """The weekly digest for Customer Success leadership: the escalations open at ``as_of``
    by severity and age, the obligations due before the week ends, those missed in the week
    and by whose escalation, and the compliance of the last weeks (``trend``, oldest first,
    the digest's week last). Weeks are ISO weeks, Monday 00:00 UTC to Monday.

    :func:`~escalation_policy.digest_markdown`, :func:`~escalation_policy.digest_html` and
    :func:`~escalation_policy.digest_slack` write it for people."""

    policy: str
    week: str
    week_start: dt.datetime
    week_end: dt.datetime
    as_of: dt.datetime
    source: str
    """``history`` or ``store``."""
    severities: tuple[str, ...]
    """The policy's severities, most severe first (the rows of ``open_by_severity``)."""
    open_by_severity: Mapping[str, Mapping[str, int]]
    """For each severity, how many escalations are open by age (:data:`AGES`)."""
    open: tuple[OpenEscalation, ...]
    """Most severe first, then the oldest first."""
    due: tuple[DueObligation, ...]
    missed: tuple[MissedObligation, ...]
    missed_by_owner: Mapping[str, int]
    """How many obligations each owner missed in the week, the most first."""
    trend: tuple[WeekFigures, ...]

    def to_json(self) -> dict[str, Any]:
        """The digest as JSON objects (times as ISO-8601, durations in seconds)."""
        data: dict[str, Any] = shared_converter().unstructure(self)
        data["trend"] = [
            {**week, "on_time_share": figures.on_time_share}
            for week, figures in zip(data["trend"], self.trend, strict=True)
        ]
        return data


# ------------------------------------------------------------------------------------ weeks
def iso_week(at: dt.datetime) -> str:
    year, week, _ = at.astimezone(dt.timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def week_start(at: dt.datetime) -> dt.datetime:
    day = at.astimezone(dt.timezone.utc).date()
    monday = day - dt.timedelta(days=day.weekday())
    return dt.datetime.combine(monday, dt.time(0), tzinfo=dt.timezone.utc)


def parse_week(text: str) -> dt.datetime:
    """The Monday (00:00 UTC) of the ISO week ``text`` names (``2026-W10``), or an
    ``InputError`` naming ``week``."""
    match = _WEEK.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is not None:
        try:
            day = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            day = None
        if day is not None:
            return dt.datetime.combine(day, dt.time(0), tzinfo=dt.timezone.utc)
    raise InputError(f"got {text!r}, expected an ISO week such as '2026-W10'", path="week")


# ------------------------------------------------------------------------------ the observer
def _text(value: object) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)


class _Book:
    """What the digest needs of the policy: its wording, its severities, which obligation
    each violation code reports, what an obligation is called."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.severity = tuple(_text(member) for member in policy.terms.severity)
        self.severity_label = {_text(member): label(member) for member in policy.terms.severity}
        self.missable = frozenset(_text(o.violation) for o in policy.obligations.values())
        """The violation codes that report a missed obligation (not conduct)."""
        self.wording: dict[str, str] = {}
        for values in policy.contract.values:
            for member in values:
                self.wording.setdefault(_text(member), label(member))

    def word(self, value: object) -> str:
        if value is None:
            return "-"
        text = _text(value)
        return self.wording.get(text, text.replace("_", " ").capitalize())


class _Tracker:
    """What the digest keeps about one escalation: its customer, its owner as it changes, its
    violations (with the owner then), and its obligations met, by the time they were due."""

    __slots__ = (
        "book",
        "customer",
        "escalation_id",
        "fields",
        "in_scope",
        "met",
        "open_violations",
        "opened_at",
        "owner",
        "violations",
    )

    def __init__(
        self,
        book: _Book,
        escalation_id: str,
        customer: str,
        opened_at: dt.datetime | None,
        fields: Mapping[str, object],
    ) -> None:
        self.book = book
        self.escalation_id = escalation_id
        self.customer = customer
        self.opened_at = opened_at
        self.fields = fields
        self.in_scope = True
        self.owner: str | None = None
        self.violations: list[tuple[Violation, dt.datetime, str | None]] = []
        self.met: list[Fulfilment] = []
        """The obligations met, but for those met late (counted as missed)."""
        self.open_violations: set[tuple[str, dt.datetime]] = set()

    # -- what the replay (or the outbox) tells
    def action(self, action: Action) -> None:
        if isinstance(action, AssignOwner):
            self.owner = _text(action.owner)
        elif isinstance(action, OutOfScope):
            self.in_scope = False
        elif (
            isinstance(action, Violation)
            and action.due is not None
            and _text(action.code) in self.book.missable
        ):
            self.violations.append((action, action.due, self.owner))
            self.open_violations.add((action.rule, action.due))

    def fulfilled(self, fulfilment: Fulfilment) -> None:
        # As the audit counts: an obligation met after its violation was reported is counted
        # once, as missed.
        key = (fulfilment.rule, fulfilment.due)
        if key in self.open_violations:
            self.open_violations.discard(key)
        else:
            self.met.append(fulfilment)

    def fact(self, fact: EscalationFact, fulfilled: Sequence[Fulfilment]) -> None:
        """The digest reads the facts' effects from the actions and the fulfilments."""

    def state(self, state: EscalationState | None, at: dt.datetime) -> None:
        """The digest asks the engine for the states at the end, once."""

    def owner_name(self, owner: str | None, state: EscalationState | None) -> str:
        """The owner as people know them: the team's wording and, when the escalation has an
        attribute named after the team holding a name (the handbook's ``tam``), the person."""
        if owner is None:
            return "-"
        team = self.book.word(owner)
        person = None
        if state is not None and owner in state.ATTRIBUTES:
            person = getattr(state, owner)
        elif owner in self.fields:
            person = self.fields[owner]
        if isinstance(person, str) and person.strip() and person.strip() != team:
            return f"{team} ({person.strip()})"
        return team


def _opening_fields(fact: EscalationFact) -> dict[str, object]:
    return {field.name: getattr(fact, field.name) for field in attrs.fields(type(fact))}


class DigestObserver:
    """The digest as an observer of the audit's replay: a tracker per escalation."""

    needs_state = False

    def __init__(self, policy: Policy) -> None:
        self.book = _Book(policy)
        self.escalations: tuple[_Tracker, ...] = ()

    def opened(self, fact: EscalationFact, calendar: AuditCalendar | None) -> _Tracker:
        fields = _opening_fields(fact)
        customer = str(fields.get("customer") or "")
        return _Tracker(self.book, fact.escalation_id, customer, fact.at, fields)

    def unopened(self, action: Action) -> None:
        """About an escalation never opened: no owner, no customer; not in the digest."""

    def ended(self, escalations: Sequence[_Tracker], replayed: Replayed) -> None:
        self.escalations = tuple(escalations)


# ------------------------------------------------------------------------------ the figures
def _build(
    book: _Book,
    trackers: Sequence[_Tracker],
    states: Mapping[str, EscalationState | None],
    *,
    start: dt.datetime,
    as_of: dt.datetime,
    weeks: int,
    source: str,
    fulfilments_known: bool,
) -> Digest:
    end = start + dt.timedelta(weeks=1)
    severities = book.severity
    rank = {severity: index for index, severity in enumerate(severities)}
    grid = {book.severity_label[s]: dict.fromkeys(AGES, 0) for s in severities}
    open_: list[OpenEscalation] = []
    due: list[DueObligation] = []
    missed: list[MissedObligation] = []
    first_week = start - dt.timedelta(weeks=weeks - 1)
    counts = {
        first_week + dt.timedelta(weeks=n): {"due": 0, "on_time": 0, "missed": 0}
        for n in range(weeks)
    }
    for tracker in trackers:
        state = states.get(tracker.escalation_id)
        customer = tracker.customer or _customer(state) or tracker.escalation_id
        owner_now = tracker.owner_name(_owner_of(state, tracker), state)
        if (
            state is not None
            and tracker.in_scope
            and state.in_scope
            and state.status not in (CLOSED, AWAITING_OPENING)
        ):
            severity = _text(state.attributes.get("severity"))
            age = max(as_of - state.opened_at, dt.timedelta(0))
            grid[book.severity_label.get(severity, severity)][_age(age)] += 1
            open_.append(
                OpenEscalation(
                    escalation_id=tracker.escalation_id,
                    customer=customer,
                    severity=book.severity_label.get(severity, severity),
                    owner=owner_now,
                    opened_at=state.opened_at,
                    age=age,
                    violations=sum(1 for v, _, _ in tracker.violations if v.at <= as_of),
                )
            )
        for pending in state.pending if state is not None else ():
            if pending.paused_left is not None or pending.overdue or pending.due >= end:
                continue
            name = pending.obligation.replace("_", " ")
            if pending.key:
                name += f" ({book.word(pending.key)})"
            due.append(
                DueObligation(
                    escalation_id=tracker.escalation_id,
                    customer=customer,
                    obligation=name,
                    due=pending.due,
                    owner=owner_now,
                    overdue=pending.due <= as_of,
                )
            )
        for violation, was_due, owner in tracker.violations:
            if violation.at > as_of:
                continue
            if start <= was_due < end:
                missed.append(
                    MissedObligation(
                        escalation_id=tracker.escalation_id,
                        customer=customer,
                        code=_text(violation.code),
                        detail=violation.detail,
                        due=was_due,
                        detected_at=violation.at,
                        owner=tracker.owner_name(owner, state),
                        periods=violation.periods,
                    )
                )
            week = counts.get(week_start(was_due))
            if week is not None:
                week["due"] += violation.periods
                week["missed"] += violation.periods
        for fulfilment in tracker.met:
            if fulfilment.at > as_of:
                continue
            week = counts.get(week_start(fulfilment.due))
            if week is not None:
                week["due"] += 1
                week["on_time"] += not fulfilment.late
    open_.sort(key=lambda e: (rank.get(_key(book, e.severity), len(rank)), e.opened_at))
    due.sort(key=lambda d: (d.due, d.escalation_id))
    missed.sort(key=lambda m: (m.due, m.escalation_id))
    by_owner: dict[str, int] = {}
    for item in missed:
        by_owner[item.owner] = by_owner.get(item.owner, 0) + 1
    return Digest(
        policy=book.policy.identity,
        week=iso_week(start),
        week_start=start,
        week_end=end,
        as_of=as_of,
        source=source,
        severities=tuple(book.severity_label[s] for s in severities),
        open_by_severity=grid,
        open=tuple(open_),
        due=tuple(due),
        missed=tuple(missed),
        missed_by_owner=dict(sorted(by_owner.items(), key=lambda kv: (-kv[1], kv[0]))),
        trend=tuple(
            WeekFigures(
                week=iso_week(monday),
                start=monday,
                due=figures["due"] if fulfilments_known else None,
                on_time=figures["on_time"] if fulfilments_known else None,
                missed=figures["missed"],
            )
            for monday, figures in counts.items()
        ),
    )


def _key(book: _Book, severity_label: str) -> str:
    for key, shown in book.severity_label.items():
        if shown == severity_label:
            return key
    return severity_label


def _age(age: dt.timedelta) -> str:
    for limit, name in zip(_AGE_LIMITS, AGES, strict=False):
        if age < limit:
            return name
    return AGES[-1]


def _customer(state: EscalationState | None) -> str:
    if state is None:
        return ""
    return str(state.attributes.get("customer") or "")


def _owner_of(state: EscalationState | None, tracker: _Tracker) -> str | None:
    if state is not None and state.owner is not None:
        return _text(state.owner)
    return tracker.owner


# ------------------------------------------------------------------------------ the entry point
def digest(
    source: "Iterable[Fact | Mapping[str, Any] | InputError] | Service",
    *,
    policy: Policy | None = None,
    week: str | None = None,
    as_of: dt.datetime | None = None,
    weeks: int = 6,
    engine: EngineName = "native",
    now: dt.datetime | None = None,
) -> Digest:
    """The weekly digest of a recorded history (facts in time order, as for
    :func:`~escalation_policy.audit`) or of a :class:`~escalation_policy.Service`'s store.

    ``week`` chooses the ISO week (``"2026-W10"``): the digest is as of its end, or of the
    history's end if that comes first. ``as_of`` chooses the time instead (its week is the
    digest's); a history is replayed up to it, and past its last fact time passes until then.
    Without either: a history's end, or for a store ``now`` (by default, the clock's time).
    ``weeks`` is how many weeks the trend shows, the digest's week last (1 to 52).

    A history is replayed once, as the audit replays it, and counts as the audit does: an
    obligation met late counts as missed in the week it was due. A store keeps no facts: its
    digest reads the escalations' states and the outbox's violations (actions pruned from the
    outbox are gone), so its trend has the misses but not the obligations met; and its open
    escalations are as the store holds them now, whatever the week.

    Raises :class:`~escalation_policy.errors.InputError` for a fact the policy refuses (its
    ``line`` set), and for a bad ``week``, ``as_of`` or ``weeks`` (its ``path`` names it).
    """
    if week is not None and as_of is not None:
        raise InputError(
            f"got both week {week!r} and as_of {as_of.isoformat()}, expected one of them",
            path="week",
        )
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        raise InputError(
            f"got {weeks!r}, expected a whole number from 1 to {MAX_WEEKS}", path="weeks"
        )
    start = parse_week(week) if week is not None else None
    instant = audit_end(as_of)
    if isinstance(source, Service):
        return _from_store(source, start, instant, weeks, now)
    return _from_history(source, policy, start, instant, weeks, engine)


def _from_history(
    facts: Iterable[Fact | Mapping[str, Any] | InputError],
    policy: Policy | None,
    start: dt.datetime | None,
    as_of: dt.datetime | None,
    weeks: int,
    engine: EngineName,
) -> Digest:
    policy_engine = PolicyEngine(policy, engine=engine)
    observer = DigestObserver(policy_engine.policy)
    week_end = start + dt.timedelta(weeks=1) if start is not None else None
    cut: list[bool] = []
    if as_of is not None:  # the history up to as_of, then time passes until as_of
        replayed = replay(_until(facts, as_of, cut), policy_engine, [observer], as_of=as_of)
    else:  # the history up to the week's end: time passes until then if it goes on after
        replayed = replay(_until(facts, week_end, cut, tick=True), policy_engine, [observer])
    end = replayed.end
    if end is None:
        expected = "expected facts up to the end of the week" if cut else "expected facts"
        raise InputError(f"the history has no fact before the digest's end, {expected}", path="$")
    chosen = start if start is not None else week_start(end)
    states = {
        tracker.escalation_id: policy_engine.escalation(tracker.escalation_id)
        for tracker in observer.escalations
    }
    return _build(
        observer.book,
        observer.escalations,
        states,
        start=chosen,
        as_of=end,
        weeks=weeks,
        source="history",
        fulfilments_known=True,
    )


def _until(
    facts: Iterable[Fact | Mapping[str, Any] | InputError],
    limit: dt.datetime | None,
    cut: list[bool],
    *,
    tick: bool = False,
) -> Iterator[Fact | Mapping[str, Any] | InputError]:
    """The facts up to ``limit`` (facts come in time order): the first one after it ends the
    history there (``cut`` says so), and with ``tick`` time passes until ``limit``."""
    for item in facts:
        if limit is not None:
            at = _time_of(item)
            if at is not None and at > limit:
                cut.append(True)
                if tick:
                    yield Tick(at=limit)
                return
        yield item


def _time_of(item: object) -> dt.datetime | None:
    if isinstance(item, Fact):
        return item.at
    if isinstance(item, Mapping):
        try:
            return parse_timestamp(item.get("at"))
        except ValueError:
            return None  # the policy refuses it, with its reason
    return None


def _from_store(
    service: Service,
    start: dt.datetime | None,
    as_of: dt.datetime | None,
    weeks: int,
    now: dt.datetime | None,
) -> Digest:
    book = _Book(service.policy)
    moment = as_of or audit_end(now) or dt.datetime.now(dt.timezone.utc)
    if start is not None and as_of is None:
        moment = min(moment, start + dt.timedelta(weeks=1))
    states = {state.escalation_id: state for state in service.escalations()}
    trackers: dict[str, _Tracker] = {
        key: _Tracker(book, key, _customer(state), state.opened_at, {})
        for key, state in sorted(states.items(), key=lambda kv: (kv[1].opened_at, kv[0]))
    }
    for delivery in service.outbox():
        action = delivery.action
        tracker = trackers.get(action.escalation_id)
        if tracker is None:  # settled and forgotten: only its actions are left
            tracker = trackers[action.escalation_id] = _Tracker(
                book, action.escalation_id, "", None, {}
            )
        tracker.action(action)
    return _build(
        book,
        list(trackers.values()),
        states,
        start=start if start is not None else week_start(moment),
        as_of=moment,
        weeks=weeks,
        source="store",
        fulfilments_known=False,
    )
