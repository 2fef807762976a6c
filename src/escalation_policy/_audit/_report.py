"""The compliance audit: what the replay of a recorded history says of each escalation.

``audit(facts)`` replays the facts (any iterable, in time order) and reports, per escalation
and in total, every violation with what was due and what happened instead, the compliance
figures, and how often each rule fired (rule coverage). With ``keep_going=True`` the facts the
policy refuses are reported too, instead of raised. The report converts to JSON with the
library's converter (shape in ``docs/audit.md``).
"""

import datetime as dt
import enum
import fractions
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._audit._coverage import RuleCoverage
from escalation_policy._audit._replay import AuditCalendar, AuditRefusal, Replayed
from escalation_policy._convert import shared_converter
from escalation_policy._language.frozen import quick_init
from escalation_policy._language.typed import FieldProblem, to_instant
from escalation_policy.errors import InputError
from escalation_policy.model import (
    ACTIVE,
    CLOSED,
    Action,
    EscalationFact,
    OutOfScope,
    Violation,
)
from escalation_policy.policy import Policy
from escalation_policy.policy.terms import status_condition
from escalation_policy.state import EscalationState, Fulfilment
from escalation_policy.vocabulary import Require

__all__ = [
    "AuditCalendar",
    "AuditObserver",
    "AuditPart",
    "AuditRefusal",
    "AuditReport",
    "AuditTotals",
    "AuditViolation",
    "EscalationAudit",
    "ObligationFigures",
    "ObligationTotals",
    "audit_end",
]


@quick_init
@attrs.frozen(kw_only=True)
class AuditViolation:
    """One violation, and what happened instead.

    ``due`` is when the missed obligation was due (``None`` for conduct such as channel
    misuse); ``fulfilled_at`` when it was done after all (``None``: not done); ``late_by`` how
    late it was done, or for a one-off obligation never done, how late it stood when closing
    ended it or at the audit's end. A missed periodic update or meeting has no ``late_by``:
    the next period is an obligation of its own. ``periods`` counts the consecutive periods
    one violation reports (``last_due`` is the last one's due time). It is one violation in
    every count; its periods are counted in the obligation's figures.
    """

    escalation_id: str
    code: str
    rule: str
    cites: str
    detail: str
    detected_at: dt.datetime
    due: dt.datetime | None = None
    fulfilled_at: dt.datetime | None = None
    late_by: dt.timedelta | None = None
    periods: int = 1
    last_due: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class ObligationFigures:
    """How one escalation kept one of the policy's obligations: how many instances (or
    periods) fell due or were met, how many were met on time, and how long after opening it
    was first met."""

    due: int = 0
    on_time: int = 0
    first_met_after: dt.timedelta | None = None


@attrs.frozen(kw_only=True)
class EscalationAudit:
    escalation_id: str
    customer: str
    in_scope: bool
    severity: str
    """The severity at the end of the audit (or at closing)."""
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    calendar: AuditCalendar | None = None
    """The calendar its clocks counted on, whose zone its times are shown in to people
    (``None``: calendar time, shown in UTC; the policy declares no calendars)."""
    violations: tuple[AuditViolation, ...]
    obligations: Mapping[str, ObligationFigures]
    """Each obligation of the policy that fell due or was met, by name (``channel_post``)."""
    time_at_severity: Mapping[str, dt.timedelta]
    severity_changes: int
    time_to_closure: dt.timedelta | None


@attrs.frozen(kw_only=True)
class ObligationTotals:
    """One obligation over every escalation: due, met on time, the share on time, and the
    mean time from opening to its first fulfilment."""

    due: int
    on_time: int
    on_time_share: float | None
    mean_first_met_after: dt.timedelta | None


@attrs.frozen(kw_only=True)
class AuditTotals:
    escalations: int
    in_scope: int
    closed: int
    violations: int
    violations_by_code: Mapping[str, int]
    obligations: Mapping[str, ObligationTotals]
    """Every obligation of the policy, in the order the policy declares them."""
    mean_time_to_closure: dt.timedelta | None
    time_at_severity: Mapping[str, dt.timedelta]
    severity_changes: int
    refused: int
    """Facts refused, with ``keep_going``; without it, a refusal stops the audit."""
    redelivered: int = 0
    """Facts delivered again (the same fact under an ``id`` taken before for its escalation),
    each taken once; in the JSON form only when there are any."""


@attrs.frozen(kw_only=True)
class AuditPart:
    """What the audit of one part of a history keeps to be merged with the others
    (:func:`~escalation_policy.merge_audits`); not part of the report's JSON form.

    ``refused_at``: the position of each refusal in the history (its ``line`` may be a file's);
    ``owned_refusals``: those of this part's escalations; ``moved_clock``: those of them whose
    time would have moved the clock, had they been taken; ``not_taken``: the positions whose
    time this part did not let pass; ``unopened_keys``: where each violation about an
    escalation never opened falls in the whole history."""

    part: int
    parts: int
    not_taken: frozenset[int] = frozenset()
    refused_at: tuple[int, ...] = ()
    owned_refusals: tuple[int, ...] = ()
    moved_clock: tuple[int, ...] = ()
    unopened_keys: tuple[tuple[int, int, dt.datetime, str, int], ...] = ()
    rules: int = 0
    """How many of the coverage's rules are the policy's (the others: named by actions)."""
    obligations: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class AuditReport:
    """The audit of a history: per escalation (in order of opening) and in total."""

    policy: str
    """The identity of the policy audited against (:attr:`Policy.identity
    <escalation_policy.Policy.identity>`)."""
    facts: int
    """Facts read, refused ones included."""
    started_at: dt.datetime | None
    as_of: dt.datetime | None
    """The end of the audit: ``--as-of``, or the time of the last fact."""
    escalations: tuple[EscalationAudit, ...]
    totals: AuditTotals
    refused: tuple[AuditRefusal, ...]
    """With ``keep_going``: the facts refused, in the order read."""
    unopened: tuple[AuditViolation, ...] = ()
    """Violations about escalations the history never opened (a post to the escalation
    channel about one is misuse), which no escalation lists."""
    coverage: Mapping[str, RuleCoverage] = attrs.field(factory=dict)
    """Rule coverage of the history: every rule of the policy (a table's row or a reaction,
    in the policy's order), how many facts it matched and how many actions it produced,
    zero for a rule the history never reached."""
    part: AuditPart | None = attrs.field(default=None, repr=False)
    """For the audit of one part of a history (``audit(..., part=...)``): what merging it
    with the others needs; ``None`` for the audit of a whole history."""

    @property
    def violations(self) -> tuple[AuditViolation, ...]:
        """Every escalation's violations, escalation by escalation, then those about
        escalations never opened."""
        return (
            *(v for escalation in self.escalations for v in escalation.violations),
            *self.unopened,
        )

    def to_json(self) -> dict[str, Any]:
        """The report's JSON form (``docs/audit.md``); ``unopened`` only when there are any."""
        data: dict[str, Any] = shared_converter().unstructure(attrs.evolve(self, part=None))
        del data["part"]
        if not self.unopened:
            del data["unopened"]
        if not self.totals.redelivered:
            del data["totals"]["redelivered"]
        return data


def missed_obligations(policy: Policy) -> Callable[[object, str], str | None]:
    """Which obligation a violation reports missed, from its code and rule (``None``: a
    violation of conduct). Obligations may share a code (the handbook's required posts all
    report ``post_overdue``): the one the rule requires with that code, else the first the
    policy declares with it (a periodic obligation's violation names the table row)."""
    by_code: dict[str, str] = {}
    for name, compiled in policy.obligations.items():
        by_code.setdefault(_code(compiled.violation), name)
    by_rule: dict[tuple[str, str], str] = {}
    for reaction in policy.reactions:
        for effect in reaction.reaction.then:
            if isinstance(effect, Require):
                name = effect.obligation.id
                code = _code(policy.obligations[name].violation)
                by_rule.setdefault((code, reaction.reaction.id), name)

    def missed(code: object, rule: str) -> str | None:
        text = _code(code)
        return by_rule.get((text, rule)) or by_code.get(text)

    return missed


def _code(value: object) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)


class _Book:
    """What the audit needs to know of the policy: which obligation each violation
    reports, which obligations are periodic, how facts move the status and the severity."""

    def __init__(self, policy: Policy) -> None:
        terms = policy.terms
        self.obligations = tuple(policy.obligations)
        self.missed = missed_obligations(policy)
        self.periodic = frozenset(
            effect.obligation.id
            for compiled in policy.reactions
            for effect in compiled.reaction.then
            if isinstance(effect, Require) and effect.every is not None
        )
        self.order = {member.value: index for index, member in enumerate(terms.severity)}
        self.severity_field = {
            tag: field
            for tag, pairs in terms.sets.items()
            for name, field in pairs
            if name == "severity"
        }
        self.moves = terms.moves
        self.move_when = {
            tag: condition
            for tag in terms.move_when
            if (condition := status_condition(terms, tag)) is not None
        }


class _Tracker:
    """What the audit keeps about one escalation while the history is replayed."""

    __slots__ = (
        "book",
        "calendar",
        "closed_at",
        "customer",
        "escalation_id",
        "figures",
        "in_scope",
        "open_violations",
        "opened_at",
        "severity",
        "severity_changes",
        "since",
        "status",
        "time_at",
        "violations",
    )

    def __init__(self, fact: Any, book: _Book, calendar: AuditCalendar | None) -> None:
        self.book = book
        self.calendar = calendar
        self.escalation_id = fact.escalation_id
        self.customer = fact.customer
        self.in_scope = True
        self.opened_at = fact.at
        self.closed_at: dt.datetime | None = None
        self.severity = _value(fact.severity)
        self.status = ACTIVE
        self.since = fact.at
        self.time_at: dict[str, dt.timedelta] = {}
        self.severity_changes = 0
        self.violations: list[dict[str, Any]] = []
        self.open_violations: dict[tuple[str, dt.datetime], dict[str, Any] | None] = {}
        self.figures: dict[str, dict[str, Any]] = {}

    def __getstate__(self) -> tuple[Any, ...]:
        """Kept on disk while the report is written (the policy's book stays behind): the
        calendar as its name and zone, then the values of ``_KEPT``, in order."""
        calendar = self.calendar
        return (None if calendar is None else (calendar.name, calendar.zone), *_kept(self))

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        calendar, *values = state
        for name, value in zip(_KEPT, values, strict=True):
            setattr(self, name, value)
        self.calendar = (
            None if calendar is None else AuditCalendar(name=calendar[0], zone=calendar[1])
        )

    def figure(self, obligation: str) -> dict[str, Any]:
        found = self.figures.get(obligation)
        if found is None:
            found = self.figures[obligation] = {"due": 0, "on_time": 0, "first_met_after": None}
        return found

    def spend(self, until: dt.datetime) -> None:
        key = self.severity
        self.time_at[key] = self.time_at.get(key, dt.timedelta(0)) + (until - self.since)
        self.since = until

    # -- what the replay tells
    def action(self, action: Any) -> None:
        if isinstance(action, OutOfScope):
            self.in_scope = False
        elif isinstance(action, Violation):
            item = _violation(action)
            self.violations.append(item)
            if action.due is not None:
                self.open_violations[(action.rule, action.due)] = item
                missed = self.book.missed(action.code, action.rule)
                if missed is not None:
                    self.figure(missed)["due"] += action.periods

    def fulfilled(self, fulfilment: Fulfilment) -> None:
        figure = self.figures.get(fulfilment.obligation)
        if figure is None:
            figure = self.figure(fulfilment.obligation)
        if figure["first_met_after"] is None:
            figure["first_met_after"] = fulfilment.at - self.opened_at
        late_item = self.open_violations.pop((fulfilment.rule, fulfilment.due), None)
        if late_item is not None:
            late_item["fulfilled_at"] = fulfilment.at
            late_item["late_by"] = fulfilment.at - fulfilment.due
            return
        figure["due"] += 1
        figure["on_time"] += not fulfilment.late

    def fact(self, fact: EscalationFact, fulfilled: Sequence[Fulfilment]) -> None:
        book = self.book
        field = book.severity_field.get(fact.TYPE)
        before = self.severity
        if field is not None:
            severity = _value(getattr(fact, field))
            if severity != self.severity:
                self.spend(fact.at)
                self.severity = severity
                self.severity_changes += 1
        moves = book.moves.get(fact.TYPE)
        after = None if moves is None else moves.get(self.status)
        when = book.move_when.get(fact.TYPE) if after is not None else None
        if after is not None and (when is None or when(before, self.severity)):
            self.status = after
            if after == CLOSED and self.closed_at is None:
                self.spend(fact.at)
                self.closed_at = fact.at

    def state(self, state: EscalationState | None, at: dt.datetime) -> None:
        """The audit keeps its own figures: it does not ask the engine's state."""

    def finish(self, end: dt.datetime | None) -> EscalationAudit:
        book = self.book
        stop = self.closed_at or end or self.since
        if self.closed_at is None:
            self.spend(max(stop, self.since))
        violations = []
        for item in self.violations:
            # A missed period is missed: the next one is an obligation of its own. A one-off
            # obligation never met stood late until closing ended it, or until the end.
            unmet = item["fulfilled_at"] is None and item["due"] is not None
            if (
                unmet
                and end is not None
                and book.missed(item["code"], item["rule"]) not in book.periodic
            ):
                stop = end
                if self.closed_at is not None and item["detected_at"] <= self.closed_at:
                    stop = self.closed_at  # closing ends every obligation but its own post
                item = {**item, "late_by": max(stop - item["due"], dt.timedelta(0))}
            violations.append(AuditViolation(**item))
        return EscalationAudit(
            escalation_id=self.escalation_id,
            customer=self.customer,
            in_scope=self.in_scope,
            severity=self.severity,
            opened_at=self.opened_at,
            closed_at=self.closed_at,
            calendar=self.calendar,
            violations=tuple(violations),
            obligations={
                name: ObligationFigures(**self.figures[name])
                for name in book.obligations
                if name in self.figures
            },
            time_at_severity=dict(sorted(self.time_at.items(), key=lambda kv: book.order[kv[0]])),
            severity_changes=self.severity_changes,
            time_to_closure=self.closed_at - self.opened_at if self.closed_at else None,
        )


_KEPT = tuple(name for name in _Tracker.__slots__ if name not in ("book", "calendar"))
"""What a tracker keeps on disk beside its calendar (its book stays behind)."""
_kept = operator.attrgetter(*_KEPT)


def _violation(action: Violation) -> dict[str, Any]:
    return {
        "escalation_id": action.escalation_id,
        "code": action.code,
        "rule": action.rule,
        "cites": action.cites,
        "detail": action.detail,
        "detected_at": action.at,
        "due": action.due,
        "fulfilled_at": None,
        "late_by": None,
        "periods": action.periods,
        "last_due": action.last_due,
    }


class AuditObserver:
    """The audit as an observer of the replay: a tracker per escalation, then the report."""

    needs_state = False

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.book = _Book(policy)
        self.about_unopened: list[AuditViolation] = []
        self.unopened_calls: list[int] = []
        """For each violation about an escalation never opened: which call of
        :meth:`unopened` told it (0 for the first)."""
        self._calls = 0
        self.escalations: tuple[EscalationAudit, ...] = ()

    def opened(self, fact: EscalationFact, calendar: AuditCalendar | None) -> _Tracker:
        return _Tracker(fact, self.book, calendar)

    def unopened(self, action: Action) -> None:
        if isinstance(action, Violation):
            self.about_unopened.append(AuditViolation(**_violation(action)))
            self.unopened_calls.append(self._calls)
        self._calls += 1

    def ended(self, escalations: Sequence[_Tracker], replayed: Replayed) -> None:
        self.escalations = tuple(tracker.finish(replayed.end) for tracker in escalations)

    def report(
        self, replayed: Replayed, coverage: Mapping[str, RuleCoverage] | None = None
    ) -> "AuditReport":
        """The audit of the history ``replayed``, once it has ended (``coverage``: what a
        :class:`CoverageObserver` of the same replay counted)."""
        unopened = tuple(self.about_unopened)
        return AuditReport(
            policy=self.policy.identity,
            facts=replayed.facts,
            started_at=replayed.started_at,
            as_of=replayed.end,
            escalations=self.escalations,
            totals=_totals(
                self.escalations,
                unopened,
                self.book,
                refused=len(replayed.refused),
                redelivered=replayed.redelivered,
            ),
            refused=replayed.refused,
            unopened=unopened,
            coverage=dict(coverage or {}),
        )


def _value(value: object) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)


def audit_end(as_of: dt.datetime | None) -> dt.datetime | None:
    """``as_of`` as an instant, or an ``InputError`` naming ``as_of``."""
    if as_of is None:
        return None
    try:
        return to_instant(as_of)
    except FieldProblem as problem:
        raise InputError(str(problem), path="as_of") from None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(total: int, count: int) -> dt.timedelta | None:
    """The mean of ``count`` durations adding up to ``total`` microseconds, to the second
    (half to even): exact, whatever the order they were added in."""
    if not count:
        return None
    return dt.timedelta(seconds=round(fractions.Fraction(total, count * 1_000_000)))


def _microseconds(value: dt.timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


class TotalsSum:
    """The totals of an audit, added up an escalation at a time in any order (a report
    written as it goes, the parts of a partitioned audit): the same totals as from every
    escalation at once."""

    def __init__(self, obligations: Sequence[str], severities: Sequence[str]) -> None:
        self.order = {severity: index for index, severity in enumerate(severities)}
        self.escalations = 0
        self.in_scope = 0
        self.closed = 0
        self.severity_changes = 0
        self.by_code: dict[str, int] = {}
        self.time_at: dict[str, dt.timedelta] = {}
        self.obligations: dict[str, list[int]] = {name: [0, 0, 0, 0] for name in obligations}
        """Per obligation: due, on time, the sum of the first fulfilments' delays (in
        microseconds) and how many there are."""
        self.closure = [0, 0]

    def add(self, escalation: EscalationAudit) -> None:
        self.escalations += 1
        self.in_scope += escalation.in_scope
        self.severity_changes += escalation.severity_changes
        if escalation.closed_at is not None:
            self.closed += 1
        if escalation.time_to_closure is not None:
            self.closure[0] += _microseconds(escalation.time_to_closure)
            self.closure[1] += 1
        for violation in escalation.violations:
            self.violation(violation)
        time_at = self.time_at
        for key, spent in escalation.time_at_severity.items():
            time_at[key] = time_at.get(key, dt.timedelta(0)) + spent
        for name, figures in escalation.obligations.items():
            sums = self.obligations.get(name)
            if sums is None:
                continue
            sums[0] += figures.due
            sums[1] += figures.on_time
            if figures.first_met_after is not None:
                sums[2] += _microseconds(figures.first_met_after)
                sums[3] += 1

    def extend(self, other: "TotalsSum") -> None:
        """Add what ``other`` added up (another part's escalations)."""
        self.escalations += other.escalations
        self.in_scope += other.in_scope
        self.closed += other.closed
        self.severity_changes += other.severity_changes
        for code, count in other.by_code.items():
            self.by_code[code] = self.by_code.get(code, 0) + count
        for key, spent in other.time_at.items():
            self.time_at[key] = self.time_at.get(key, dt.timedelta(0)) + spent
        for name, figures in other.obligations.items():
            sums = self.obligations.get(name)
            if sums is not None:
                self.obligations[name] = [a + b for a, b in zip(sums, figures, strict=True)]
        self.closure = [a + b for a, b in zip(self.closure, other.closure, strict=True)]

    def violation(self, violation: AuditViolation) -> None:
        """A violation counted (one, however many periods): an escalation's, or one about an
        escalation never opened."""
        code = _value(violation.code)
        self.by_code[code] = self.by_code.get(code, 0) + 1

    def totals(self, *, refused: int, redelivered: int = 0) -> AuditTotals:
        order = self.order
        return AuditTotals(
            escalations=self.escalations,
            in_scope=self.in_scope,
            closed=self.closed,
            violations=sum(self.by_code.values()),
            violations_by_code=dict(sorted(self.by_code.items())),
            obligations={
                name: ObligationTotals(
                    due=due,
                    on_time=on_time,
                    on_time_share=_share(on_time, due),
                    mean_first_met_after=_mean(total, count),
                )
                for name, (due, on_time, total, count) in self.obligations.items()
            },
            mean_time_to_closure=_mean(*self.closure),
            time_at_severity=dict(sorted(self.time_at.items(), key=lambda kv: order[kv[0]])),
            severity_changes=self.severity_changes,
            refused=refused,
            redelivered=redelivered,
        )


def _totals(
    escalations: Iterable[EscalationAudit],
    unopened: Iterable[AuditViolation],
    book: _Book,
    *,
    refused: int,
    redelivered: int = 0,
) -> AuditTotals:
    sums = TotalsSum(book.obligations, list(book.order))
    for escalation in escalations:
        sums.add(escalation)
    for violation in unopened:
        sums.violation(violation)
    return sums.totals(refused=refused, redelivered=redelivered)


@attrs.frozen(kw_only=True)
class AuditListing:
    """What the rendering of an audit reads of its escalations, so that they can come from
    elsewhere than a report in memory (a report written as it goes reads them back from disk):
    how many there are, how many have violations, the width of the longest violation code,
    and ``listed(only_violations)``, a fresh iterator over them in order of opening each time
    it is called."""

    count: int
    with_violations: int
    code_width: int
    listed: Callable[[bool], Iterator[EscalationAudit]]

    @classmethod
    def of(cls, report: "AuditReport") -> "AuditListing":
        escalations = report.escalations

        def listed(only_violations: bool) -> Iterator[EscalationAudit]:
            return (e for e in escalations if e.violations or not only_violations)

        return cls(
            count=len(escalations),
            with_violations=sum(1 for e in escalations if e.violations),
            code_width=max((len(_value(v.code)) for v in report.violations), default=0),
            listed=listed,
        )
