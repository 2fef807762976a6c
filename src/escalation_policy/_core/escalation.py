"""The pure core: one escalation's record and one fact in, the record changed and actions out.

No I/O, no clock but the facts' own times, no globals. Which table rows and reactions match is
asked of a :class:`Matcher`, so that the same core runs on every engine.
"""

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import attrs

from escalation_policy import vocabulary as vocab
from escalation_policy._core.matching import Matcher, Plan
from escalation_policy._language.context import Situation
from escalation_policy._language.typed import LATEST
from escalation_policy.errors import (
    DuplicateEscalationError,
    EscalationClosedError,
    InvalidFactError,
    StaleFactError,
    UnknownEscalationError,
)
from escalation_policy.model import (
    ACTIVE,
    CLOSED,
    Action,
    AssignOwner,
    EscalationFact,
    Fact,
    OutOfScope,
    Reminder,
    SetCadence,
    SetInvolvement,
    Violation,
)
from escalation_policy.policy import Announce, CompiledObligation, Emitter, Policy
from escalation_policy.policy.outputs import (
    CADENCE,
    EXTRA_INVOLVEMENT,
    IN_SCOPE,
    INVOLVEMENT,
    OUT_OF_SCOPE_REASON,
    OWNER,
)
from escalation_policy.policy.record import Record
from escalation_policy.state import (
    Decision,
    Fulfilment,
    PendingObligation,
)

_NOTHING_BEFORE: dict[str, object] = {}
"""The ``previous`` of a fact that sets no attribute (shared, never changed)."""

_A = TypeVar("_A", bound=Action)


def _text(value: object) -> str:
    """A key as text: an enumeration's value (not its ``str()``, a Python-level call)."""
    if type(value) is str:
        return value
    return str(value._value_ if isinstance(value, enum.Enum) else value)


def _moved(pending: PendingObligation, due: dt.datetime, overdue: bool) -> PendingObligation:
    """``pending`` with a new due time and overdue flag (an unrolled ``attrs.evolve``)."""
    return PendingObligation(
        obligation=pending.obligation,
        due=due,
        rule=pending.rule,
        cites=pending.cites,
        key=pending.key,
        every=pending.every,
        overdue=overdue,
        remind_before=pending.remind_before,
    )


def _plan_inputs(policy: Policy, source: Record | EscalationFact) -> dict[str, object]:
    """The attributes the decision tables read, from a record or an ``opened`` fact."""
    return {field: getattr(source, field) for field in policy.plan_inputs}


# ---------------------------------------------------------------------------------------- checks
def check_time(policy: Policy, at: dt.datetime, path: str) -> None:
    """Refuse a time the policy cannot schedule from: what it schedules must stay within the
    range of timestamps the library supports."""
    latest = policy.latest
    if at >= latest:
        raise InvalidFactError(
            f"got {at.isoformat()}, expected a time before {latest.isoformat()} (the policy "
            f"schedules up to {policy.horizon} ahead, and times end at {LATEST.isoformat()})",
            path=path,
        )


def check(policy: Policy, record: Record | None, fact: Fact) -> None:
    """Raise the input error this fact would cause for this escalation, if any."""
    if not isinstance(fact, EscalationFact):
        raise InvalidFactError(
            f"got a {fact.TYPE!r} fact, expected a fact about one escalation", path="$.type"
        )
    if fact.OPENS:
        if record is not None and not record.settled:
            raise DuplicateEscalationError(
                f"escalation {fact.escalation_id!r} is already open (opened "
                f"{record.opened_at.isoformat()}); expected a new escalation_id",
                path="$.escalation_id",
            )
        return
    if record is None:
        raise UnknownEscalationError(
            f"no open escalation {fact.escalation_id!r}; expected an "
            f"{policy.terms.opening.TYPE!r} fact first",
            path="$.escalation_id",
        )
    if fact.at < record.clock:
        raise StaleFactError(
            f"got {fact.at.isoformat()}, older than the escalation's last fact at "
            f"{record.clock.isoformat()}; facts must arrive in time order",
            path="$.at",
        )
    if record.status == CLOSED and not fact.AFTER_CLOSING:
        after = sorted(policy.terms.after_closing)
        raise EscalationClosedError(
            f"escalation {fact.escalation_id!r} is closed; got a {fact.TYPE!r} fact, expected "
            + (f"only {', '.join(after)} facts (what its closing requires)" if after else "none"),
            path="$.type",
        )


# --------------------------------------------------------------------------------------- advance
def advance(policy: Policy, record: Record, to: dt.datetime) -> list[Action]:
    """Let time pass up to ``to`` on ``record`` (changed in place): report each obligation that
    falls due unmet, once. The caller forgets the record if it is then ``settled``.

    The work is bounded by the number of obligations, however far ``to`` lies: consecutive
    missed periods of a periodic obligation are one violation that counts them.
    """
    next_due = record.next_due
    if next_due is None or next_due >= to:
        return []
    pending = record.pending
    obligations = policy.obligations
    actions: list[Action] = []
    announced: list[tuple[Announce, PendingObligation]] = []
    late = sorted((p.due, i) for i, p in enumerate(pending) if not p.overdue and p.due < to)
    for _, index in late:
        missed = pending[index]
        declared = obligations[missed.obligation]
        every = missed.every
        if every is None:
            actions.append(_overdue(record.escalation_id, declared, missed, to))
            pending[index] = _moved(missed, missed.due, overdue=True)
            continue
        periods = -((missed.due - to) // every)  # due times before ``to``: ceil(gap / every)
        last_due = missed.due + (periods - 1) * every
        actions.append(_overdue(record.escalation_id, declared, missed, to, periods, last_due))
        pending[index] = _moved(missed, last_due + every, overdue=False)
        if declared.announce is not None:
            announced.append((declared.announce, pending[index]))
    for announce, next_period in announced:  # the next due times, after what was missed
        actions.append(announce(record.escalation_id, to, next_period, record.owner, record))
    # What falls due soon (at or after ``to``) and asked for a reminder: nudge the owner, once.
    soon = [
        (remind_at, i)
        for i, p in enumerate(pending)
        if p.remind_before is not None and (remind_at := p.remind_at) is not None and remind_at < to
    ]
    soon.sort()
    for _, index in soon:
        due = pending[index]
        actions.append(
            Reminder(
                escalation_id=record.escalation_id,
                at=to,
                rule=due.rule,
                cites=due.cites,
                obligation=due.obligation,
                due=due.due,
                owner=record.owner,
                key=due.key,
            )
        )
        pending[index] = attrs.evolve(due, reminded=True)
    if record.status == CLOSED and record.retain_until is None and any(p.overdue for p in pending):
        record.retain_until = (
            max(p.due for p in pending if p.overdue) + policy.late_fulfilment_window
        )
    if to > record.clock:
        record.clock = to
    record.refresh()
    return actions


def _overdue(
    escalation_id: str,
    declared: CompiledObligation,
    missed: PendingObligation,
    at: dt.datetime,
    periods: int = 1,
    last_due: dt.datetime | None = None,
) -> Violation:
    due = missed.due.isoformat()
    if periods > 1 and last_due is not None:
        due = f"{due} nor by any of the {periods - 1} later due times to {last_due.isoformat()}"
    return Violation(
        escalation_id=escalation_id,
        at=at,
        rule=missed.rule,
        cites=missed.cites,
        code=declared.violation,
        detail=declared.missed(due, missed.key),
        due=missed.due,
        periods=periods,
        last_due=last_due if periods > 1 else None,
    )


# ---------------------------------------------------------------------------------------- decide
def decide(
    policy: Policy,
    matcher: Matcher,
    record: Record | None,
    fact: EscalationFact,
) -> tuple[Record | None, Decision]:
    """Apply ``fact`` to the escalation's ``record`` (``None`` for ``opened``), in place; the
    record it returns is ``None`` once the escalation is settled (forget it). The caller has
    checked the fact's time (:func:`check_time`).

    Raises an :class:`~escalation_policy.errors.InputError` for a fact the escalation cannot
    take. The record may be half-changed after an error: callers pass a copy they own and
    keep it only when this returns.
    """
    at = fact.at
    opens = fact.OPENS
    earlier: list[Action] = []
    if record is not None and record.next_due is not None and record.next_due < at:
        # Time passes first, for this escalation as for every other: what fell due before
        # the fact is reported, and an escalation that this settles is forgotten.
        earlier = advance(policy, record, at)
        if record.settled:
            if not opens:
                raise UnknownEscalationError(
                    f"escalation {fact.escalation_id!r} was closed and settled before "
                    f"{at.isoformat()}; expected an {policy.terms.opening.TYPE!r} fact first",
                    path="$.escalation_id",
                )
            record = None  # what time reported stands: the new escalation follows it
    if record is None and not opens and fact.TYPE in policy.about_unknown:
        return None, _about_unknown(policy, matcher, fact, earlier)
    check(policy, record, fact)
    plan: Plan | None = None
    if opens:
        plan = matcher.plan(_plan_inputs(policy, fact))
        record = policy.terms.record.open(fact, bool(plan.values[IN_SCOPE]))
        status_before = record.status
        previous: dict[str, object] = _NOTHING_BEFORE
    else:
        assert record is not None  # check() guarantees it
        status_before = record.status
        record.clock = at
        change = policy.changes.get(fact.TYPE)
        previous = _NOTHING_BEFORE if change is None else _change(record, fact, *change)
        if fact.TYPE in policy.planning:
            plan = matcher.plan(_plan_inputs(policy, record))
            in_scope = bool(plan.values[IN_SCOPE])
            if in_scope != record.in_scope:
                # Scope follows the plan: an escalation that leaves it owes nothing more; one
                # that enters it gets its plan from this fact's reactions.
                record.in_scope = in_scope
                if not in_scope:
                    record.pending = []
    if plan is not None and record.in_scope:
        owner, cadence = plan.values[OWNER], plan.values[CADENCE]  # as planned
    else:
        owner, cadence = record.owner, record.cadence
    situation = Situation(record, fact, status_before, previous, owner, cadence)
    work = _Work(policy, record, fact, plan)
    matched = list(plan.rows) if plan is not None else []
    reactions = policy.reactions
    for index in matcher.reactions_for(fact.TYPE, situation):
        compiled = reactions[index]
        rule, cites = compiled.reaction.id, compiled.reaction.cites
        matched.append(rule)
        for effect, prepared in compiled.then:
            _HANDLERS[type(effect)](work, effect, prepared, rule, cites)
    record.refresh()
    if earlier:
        if not opens:
            # A next period announced while time passed, then cancelled by this very fact
            # (closing, risk reduced), was never really due: do not announce it.
            earlier = [action for action in earlier if _still_due(policy, record, action)]
        work.actions[:0] = earlier
    settled = record.status == CLOSED and record.settled
    return None if settled else record, Decision(
        fact=fact,
        actions=tuple(work.actions),
        fulfilled=tuple(work.fulfilled),
        matched=tuple(matched),
    )


def _about_unknown(
    policy: Policy, matcher: Matcher, fact: EscalationFact, earlier: list[Action]
) -> Decision:
    """A fact about an escalation the engine does not know (never opened, or settled and
    forgotten), which some reaction takes: matched on the fact's own fields, its violations
    reported; nothing is kept."""
    context = policy.context
    situation = Situation(policy.terms.record.blank(), fact, "", _NOTHING_BEFORE, None, None)
    fields: dict[str, object] = {}
    for name in context.fields_for(fact.TYPE):
        field = context.by_name[name]
        if field.facts is not None and fact.TYPE in field.facts:
            value = field.reader(situation)
            if value is not None:
                fields[name] = value
    actions = list(earlier)
    matched = []
    reactions = policy.reactions
    for index in matcher.reactions_about_unknown(fact.TYPE, fields):
        reaction = reactions[index].reaction
        matched.append(reaction.id)
        for effect in reaction.then:
            assert isinstance(effect, vocab.Violation)  # the one kind ABOUT_UNKNOWN, at load time
            actions.append(
                Violation(
                    escalation_id=fact.escalation_id,
                    at=fact.at,
                    rule=reaction.id,
                    cites=reaction.cites,
                    code=effect.code,  # type: ignore[arg-type]  # one of the policy's codes
                    detail=effect.detail,
                )
            )
    if not matched:
        check(policy, None, fact)  # no reaction takes it after all: the usual input error
    return Decision(fact=fact, actions=tuple(actions), matched=tuple(matched))


def _still_due(policy: Policy, record: Record, action: Action) -> bool:
    """Whether ``action``, if it announces a periodic obligation's next period, still stands."""
    periodic = policy.announces_period.get(type(action))
    if periodic is None:
        return True
    due = getattr(action, "due", None)
    return any(p.due == due and p.obligation in periodic for p in record.pending)


def _change(
    record: Record,
    fact: EscalationFact,
    sets: tuple[tuple[str, str], ...],
    moves: Mapping[str, str],
) -> dict[str, object]:
    """The fact's own changes to the record, before any rule runs: the attributes it sets
    and the status it moves to. Returns the attributes it set, as they were before."""
    previous = _NOTHING_BEFORE
    if sets:
        previous = {}
        for attribute, field in sets:
            previous[attribute] = getattr(record, attribute)
            setattr(record, attribute, getattr(fact, field))
    after = moves.get(record.status)
    if after is not None:
        record.status = after
        if after == CLOSED:
            record.closed_at = fact.at
    return previous


Handler = Callable[["_Work", Any, Any, str, str], None]
"""Applies one effect: (work, the effect, what the loader compiled of it, rule, cites)."""


class _Work:
    """The effects of one fact, applied to the escalation's record in place.

    Each kind of effect has one method, named after the kind (``_`` and ``Effect.NAME``):
    :data:`_HANDLERS` finds it for every kind, and dispatch is one dictionary lookup per
    effect.
    """

    __slots__ = ("actions", "at", "escalation_id", "fact", "fulfilled", "plan", "policy", "record")

    def __init__(
        self, policy: Policy, record: Record, fact: EscalationFact, plan: Plan | None
    ) -> None:
        self.policy = policy
        self.record = record
        self.fact = fact
        self.at = fact.at
        self.escalation_id = record.escalation_id
        self.plan = plan
        self.actions: list[Action] = []
        self.fulfilled: list[Fulfilment] = []

    def _find(self, obligation: str, key: object = None) -> int | None:
        """The pending instance of ``obligation`` (with ``key``, if one is given)."""
        for index, pending in enumerate(self.record.pending):
            if pending.obligation == obligation and (key is None or pending.key == key):
                return index
        return None

    def _announce(self, declared: CompiledObligation, pending: PendingObligation) -> None:
        """Tell the host of ``pending``, if its obligation is announced at all."""
        announce = declared.announce
        if announce is None:
            return
        owner = self.record.owner
        if owner is None and self.plan is not None:
            owner = self.plan.values[OWNER]
        self.actions.append(announce(self.escalation_id, self.at, pending, owner, self.record))

    # ------------------------------------------------------------------------------- effects
    def _require(self, effect: vocab.Require, _prepared: None, rule: str, cites: str) -> None:
        if effect.every is not None:
            self._schedule(effect)
            return
        declared = self.policy.obligations[effect.obligation.id]
        name = declared.id
        key = effect.key
        if declared.key_from is not None:
            key = getattr(self.record, declared.key_from)
            if key is None:
                return  # nothing to key it by (no TAM assigned): nothing is required
        key = None if key is None else _text(key)
        if declared.once_per_key and self.record.done.get(name) == key:
            return
        index = self._find(name, None if declared.one_at_a_time else key)
        if index is not None:
            pending = self.record.pending[index]
            if pending.key == key and not (declared.renew_when_overdue and pending.overdue):
                return
            del self.record.pending[index]  # renewed, or replaced by one for a new key
        # Checked at load time, where the policy's settings took their values.
        within = cast(dt.timedelta, effect.within)
        pending = PendingObligation(
            obligation=name,
            due=self.at + within,
            rule=rule,
            cites=cites,
            key=key,
            remind_before=cast("dt.timedelta | None", effect.remind_before),
        )
        self.record.pending.append(pending)
        self._announce(declared, pending)

    def _fulfil(self, effect: vocab.Fulfil, _prepared: None, _rule: str, _cites: str) -> None:
        declared = self.policy.obligations[effect.obligation.id]
        name = declared.id
        key = None
        if effect.key is not None:
            key = _text(getattr(self.fact, effect.key))
        index = self._find(name, key)
        if declared.once_per_key:
            if index is not None:
                done = self.record.pending[index].key
            else:
                done = (
                    None if declared.key_from is None else getattr(self.record, declared.key_from)
                )
            if done is not None:
                self.record.done = {**self.record.done, name: _text(done)}
        if index is None:
            return
        at = self.at
        pending = self.record.pending[index]
        self.fulfilled.append(
            Fulfilment(
                escalation_id=self.escalation_id,
                obligation=name,
                rule=pending.rule,
                due=pending.due,
                at=at,
                key=pending.key,
            )
        )
        if pending.every is None:
            del self.record.pending[index]
            return
        self.record.pending[index] = _moved(pending, at + pending.every, overdue=False)
        self._announce(declared, self.record.pending[index])

    def _cancel(self, effect: vocab.Cancel, _prepared: None, _rule: str, _cites: str) -> None:
        names = {obligation.id for obligation in effect.obligations}
        self.record.pending = [p for p in self.record.pending if p.obligation not in names]

    def _violation(self, effect: vocab.Violation, _prepared: None, rule: str, cites: str) -> None:
        self.actions.append(
            Violation(
                escalation_id=self.escalation_id,
                at=self.at,
                rule=rule,
                cites=cites,
                code=effect.code,  # type: ignore[arg-type]  # one of the policy's codes
                detail=effect.detail,
            )
        )

    def _out_of_scope(
        self, _effect: vocab.OutOfScope, _prepared: None, rule: str, cites: str
    ) -> None:
        reason = self.plan.values.get(OUT_OF_SCOPE_REASON) if self.plan else None
        self.actions.append(
            OutOfScope(
                escalation_id=self.escalation_id,
                at=self.at,
                rule=rule,
                cites=cites,
                reason=reason or "outside the policy's scope",
            )
        )

    def _emit(self, _effect: vocab.Emit, emit: Emitter, rule: str, cites: str) -> None:
        self.actions.append(emit(self.escalation_id, self.at, rule, cites, self.record, self.fact))

    def _apply_plan(
        self, _effect: vocab.ApplyPlan, _prepared: None, _rule: str, _cites: str
    ) -> None:
        assert self.plan is not None  # ApplyPlan runs on opened and severity_changed only
        values, sources = self.plan.values, self.plan.sources
        owner = values[OWNER]
        if owner != self.record.owner:  # a restored owner is its text: compare values
            self.record.owner = owner
            self.actions.append(self._from_plan(AssignOwner, sources[OWNER], owner=owner))
            obligations = self.policy.obligations
            for pending in self.record.pending:
                declared = obligations[pending.obligation]
                if declared.announce_again_on_new_owner and not pending.overdue:
                    self._announce(declared, pending)
        roles: list[object] = []
        for role in tuple(values[INVOLVEMENT]) + tuple(values.get(EXTRA_INVOLVEMENT, ())):
            if role not in roles:
                roles.append(role)
        current = self.record.involvement
        if tuple(roles) != current:
            self.record.involvement = tuple(roles)
            self.actions.append(
                self._from_plan(
                    SetInvolvement,
                    sources[INVOLVEMENT],
                    roles=tuple(roles),
                    added=tuple(r for r in roles if r not in current),
                    removed=tuple(r for r in current if r not in roles),
                )
            )
        cadence = values[CADENCE]
        if cadence != self.record.cadence:
            self.record.cadence = cadence
            self.actions.append(self._from_plan(SetCadence, sources[CADENCE], cadence=cadence))

    def _from_plan(self, cls: type[_A], row: str, **fields: Any) -> _A:
        """An action produced by a table row: it cites the row's table."""
        cites = self.policy.rules[row].cites
        return cls(escalation_id=self.escalation_id, at=self.at, rule=row, cites=cites, **fields)

    def _schedule(self, effect: vocab.Require) -> None:
        """Keep, start, re-plan or stop a periodic obligation from the plan's period."""
        assert self.plan is not None
        assert effect.every is not None
        declared = self.policy.obligations[effect.obligation.id]
        name = declared.id
        every: dt.timedelta | None = self.plan.values[effect.every]
        rule = self.plan.sources.get(effect.every)
        if self.record.status != ACTIVE:
            every = None
        index = self._find(name)
        if every is None or rule is None:
            if index is not None:
                del self.record.pending[index]
            return
        if index is not None and self.record.pending[index].every == every:
            return
        key = effect.key
        pending = PendingObligation(
            obligation=name,
            due=self.at + every,
            rule=rule,
            cites=self.policy.rules[rule].cites,
            key=None if key is None else _text(key),
            every=every,
            remind_before=cast("dt.timedelta | None", effect.remind_before),
        )
        if index is None:
            self.record.pending.append(pending)
        else:
            self.record.pending[index] = pending
        self._announce(declared, pending)


_HANDLERS: Mapping[type[vocab.Effect], Handler] = {
    kind: getattr(_Work, f"_{kind.NAME}") for kind in vocab.EFFECTS
}
"""The handler of each kind of effect, found by its name: a kind without one fails here."""
