"""The pure core: one escalation's record and one fact in, the record changed and actions out.

No I/O, no clock but the facts' own times, no globals. Which table rows and reactions match is
asked of a :class:`Matcher`, so that the same core runs on every engine.
"""

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, cast

import attrs

from escalation_policy import vocabulary as vocab
from escalation_policy._core.effects import HANDLERS, Work
from escalation_policy._core.matching import Matcher, Plan
from escalation_policy._core.obligations import (
    changed,
    detail_text,
    in_bucket,
    missing_parts,
    moved,
    on_clock,
    overdue,
    overdue_violation,
    period_of,
    text_of,
    tier_time,
)
from escalation_policy._language.context import Situation
from escalation_policy._language.frozen import builder_of
from escalation_policy._language.typed import LATEST
from escalation_policy._language.wording import DetailFields
from escalation_policy.errors import (
    DuplicateEscalationError,
    EscalationClosedError,
    InputError,
    InvalidFactError,
    PolicyDefinitionError,
    StaleFactError,
    UnknownEscalationError,
)
from escalation_policy.model import (
    AWAITING_OPENING,
    CLOSED,
    Action,
    EscalationFact,
    Fact,
    OverdueNotice,
    Reminder,
    Violation,
)
from escalation_policy.periods import Bucket, Period
from escalation_policy.policy import Announce, CompiledObligation, Policy
from escalation_policy.policy.outputs import (
    CADENCE,
    IN_SCOPE,
    OWNER,
)
from escalation_policy.policy.record import Record
from escalation_policy.state import (
    NOTHING_RARE,
    Decision,
    PendingObligation,
)

_NOTHING_BEFORE: dict[str, object] = {}
"""The ``previous`` of a fact that sets no attribute (shared, never changed)."""

new_decision = builder_of(Decision)
"""Builds a :class:`~escalation_policy.state.Decision`, as ``Decision(...)`` does, quicker."""

MAX_HELD = 16
"""How many facts one escalation not opened yet holds for its opening: more are decided at
once, as without a grace (a stream of posts about an id that never opens costs each fact the
same, not more and more)."""


def choose_calendar(policy: Policy, fact: EscalationFact) -> str | None:
    """The name of the calendar an escalation opened by ``fact`` counts on, or the input error
    its zone field causes."""
    chosen = policy.calendars
    if chosen is None:
        return None
    calendar = chosen.default
    if chosen.by is not None:
        value = getattr(fact, chosen.by)
        calendar = chosen.choose.get(value, chosen.choose.get(text_of(value), calendar))
    name = calendar.name
    zone = getattr(fact, chosen.zone_from) if chosen.zone_from is not None else None
    if zone:
        name = f"{name}@{zone}"
        try:
            policy.calendar(name)
        except PolicyDefinitionError:
            raise InvalidFactError(
                f"got {zone!r}, expected an IANA time zone such as 'Europe/Berlin'",
                path=f"$.{chosen.zone_from}",
            ) from None
    return name


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
            if record.status == CLOSED and record.closed_at is not None and record.pending:
                owed = min(record.pending, key=lambda pending: pending.due)
                waits = (
                    f"reported overdue, and a late one is still taken until "
                    f"{record.retain_until.isoformat()}"
                    if all(p.overdue for p in record.pending) and record.retain_until
                    else f"due {owed.due.isoformat()}"
                )
                raise DuplicateEscalationError(
                    f"escalation {fact.escalation_id!r} was closed at "
                    f"{record.closed_at.isoformat()} and its id is kept for what its closing "
                    f"asked for ({owed.obligation!r}, {waits}); expected a new escalation_id",
                    path="$.escalation_id",
                )
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
def advance(policy: Policy, matcher: Matcher, record: Record, to: dt.datetime) -> list[Action]:
    """Let time pass up to ``to`` on ``record`` (changed in place): report each obligation that
    falls due unmet, once. The caller forgets the record if it is then ``settled``.

    The work is bounded by the number of obligations, however far ``to`` lies: consecutive
    missed periods of a periodic obligation are one violation that counts them.
    """
    next_due = record.next_due
    if next_due is None or next_due >= to:
        return []
    if record.status == AWAITING_OPENING:
        return _expire(policy, matcher, record, to)
    pending = record.pending
    obligations = policy.obligations
    actions: list[Action] = []
    announced: list[tuple[Announce, PendingObligation]] = []
    late = sorted(
        (p.due, i)
        for i, p in enumerate(pending)
        if not p.overdue and p.due < to and p.paused_left is None
    )
    runs = {index: _missed_run(policy, record, pending[index], to) for _, index in late}
    covered = _covered(obligations, pending, late, runs) if len(late) > 1 else ()
    for _, index in late:
        missed = pending[index]
        declared = obligations[missed.obligation]
        period, periods, last_due, upcoming = runs[index]
        if period is None and missed.every is None:  # a one-off
            if index not in covered:
                actions.append(overdue_violation(record.escalation_id, declared, missed, to))
            pending[index] = overdue(policy, record, missed)
            continue
        if index not in covered:
            missing = missing_parts(declared, missed) if period is not None else ""
            actions.append(
                overdue_violation(
                    record.escalation_id, declared, missed, to, periods, last_due, missing
                )
            )
        following = (
            in_bucket(missed, upcoming)
            if period is not None
            else moved(missed, last_due + cast(dt.timedelta, missed.every), overdue=False)
        )
        pending[index] = on_clock(policy, record, following)
        if declared.announce is not None:
            announced.append((declared.announce, pending[index]))
    for announce, next_period in announced:  # the next due times, after what was missed
        actions.append(announce(record.escalation_id, to, next_period, record.owner, record))
    # What stays unmet past its due time, with tiers to go: tell the next people, in order.
    chased = [
        (when, i)
        for i, p in enumerate(pending)
        if p._rarely is not NOTHING_RARE  # type: ignore[attr-defined]  # else: no tier to go
        and (when := p.next_tier_at) is not None
        and when < to
    ]
    chased.sort()
    for _, index in chased:
        actions.extend(_chase(policy, record, index, to))
    # What falls due soon (at or after ``to``) and asked for a reminder: nudge the owner, once.
    soon = [
        (remind_at, i)
        for i, p in enumerate(pending)
        if p._rarely is not NOTHING_RARE  # type: ignore[attr-defined]  # else: no reminder asked
        and p.remind_before is not None
        and (remind_at := p.remind_at) is not None
        and remind_at < to
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
        pending[index] = changed(due, reminded=True)
    if record.status == CLOSED and record.retain_until is None and any(p.overdue for p in pending):
        record.retain_until = (
            max(p.due for p in pending if p.overdue) + policy.late_fulfilment_window
        )
    if to > record.clock:
        record.clock = to
    record.refresh()
    return actions


def release(policy: Policy, matcher: Matcher, record: Record) -> list[Action]:
    """Decide every fact ``record`` holds for its opening now, as facts about an escalation
    that is not open: the history has ended, and its opening will not come."""
    if record.status != AWAITING_OPENING:
        return []
    return _expire(policy, matcher, record, None)


def _chase(policy: Policy, record: Record, index: int, to: dt.datetime) -> list[Action]:
    """The tiers of the overdue ``record.pending[index]`` that fall before ``to``, each once;
    the obligation keeps when its next tier falls, if one is left."""
    late = record.pending[index]
    tiers = policy.obligations[late.obligation].tiers
    sent = late.tier
    notices: list[Action] = []
    next_at: dt.datetime | None = None
    while sent < len(tiers):
        next_at = tier_time(policy, record, late, tiers[sent].after)
        if next_at >= to:
            break
        sent += 1
        next_at = None
        notices.append(
            OverdueNotice(
                escalation_id=record.escalation_id,
                at=to,
                rule=late.rule,
                cites=late.cites,
                obligation=late.obligation,
                due=late.due,
                tier=sent,
                notify=tiers[sent - 1].notify,
                owner=record.owner,
                key=late.key,
            )
        )
    record.pending[index] = changed(late, tier=sent, next_tier_at=next_at)
    return notices


_Run = tuple[Period | None, int, dt.datetime, Any]
"""What a late instance missed before a time: its period (``None``: a one-off, or periodic
every ``every``), how many due times, the last of them, and its next bucket (periods only)."""


def _missed_run(policy: Policy, record: Record, missed: PendingObligation, to: dt.datetime) -> _Run:
    """The due times a late instance missed before ``to``: its violation counts them."""
    every = missed.every
    if missed.period is not None or (policy.obligations[missed.obligation].parts and every):
        period = period_of(missed)
        if period is not None:
            calendar = policy.calendar(record.calendar, record.calendar_identity)
            bucket = Bucket(missed.due, missed.since, missed.required)
            periods, last_due, upcoming = period.missed(calendar, bucket, to)
            return period, periods, last_due, upcoming
    if every is None:
        return None, 1, missed.due, None
    periods = -((missed.due - to) // every)  # due times before ``to``: ceil(gap / every)
    return None, periods, missed.due + (periods - 1) * every, None


def _covered(
    obligations: Mapping[str, CompiledObligation],
    pending: list[PendingObligation],
    late: list[tuple[dt.datetime, int]],
    runs: Mapping[int, _Run],
) -> set[int]:
    """The indexes, among ``late``, of the instances whose miss another one's violation
    reports: a late instance of an obligation they are ``covered_by``, due at the same
    instant, or periodic and counting their due time among the due times it missed (however
    often time was told to pass: a periodic one reported before has moved on to its next due
    time)."""
    covered = set()
    for due, index in late:
        names = obligations[pending[index].obligation].covered_by
        if names and any(
            pending[other].obligation in names and other_due <= due <= runs[other][2]
            for other_due, other in late
            if other != index
        ):
            covered.add(index)
    return covered


# ---------------------------------------------------------------------------------------- decide
def changes_in_place(record: Record | None, fact: EscalationFact) -> bool:
    """Whether :func:`decide` refuses ``fact`` about ``record`` before it changes anything, so
    that the caller may pass the record it holds rather than a copy: a fact about an open
    escalation (or a closed one with nothing due before the fact), which no time passing
    can settle, and which opens nothing. Every input error it may cause is then the one
    :func:`check` finds; none comes later."""
    if record is None or fact.OPENS:
        return False
    status = record.status
    if status == AWAITING_OPENING:
        return False
    if status == CLOSED:
        next_due = record.next_due
        return next_due is None or next_due >= fact.at
    return True


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
    take. Where :func:`changes_in_place` says so, the fact is checked in full before anything
    changes, and a refused fact leaves ``record`` as it was; elsewhere the record may be
    half-changed after an error: callers pass a copy they own and keep it only when this
    returns.
    """
    at = fact.at
    opens = fact.OPENS
    if (
        record is not None
        and not opens
        and record.status != CLOSED
        and record.status != AWAITING_OPENING
        and (record.next_due is None or record.next_due >= at)
    ):
        # The common case, a fact about an open escalation with nothing due before it: the
        # branches below all fall through, and check() can only find it stale.
        if at < record.clock:
            check(policy, record, fact)
        generated = matcher.generated(fact.TYPE)
        if generated is not None and generated.step is not None:
            return generated.step(policy, matcher, record, fact)
        return _apply(policy, matcher, record, fact)
    if record is None and opens and isinstance(fact, EscalationFact):
        # An opening with no record: nothing to check, no time to pass, nothing held.
        generated = matcher.generated(fact.TYPE)
        if generated is not None and generated.opening is not None:
            return generated.opening(policy, matcher, fact)
        return _apply(policy, matcher, None, fact)
    checked = changes_in_place(record, fact)
    if checked:
        check(policy, record, fact)  # refused before anything changes
    earlier: list[Action] = []
    if record is not None and record.next_due is not None and record.next_due < at:
        # Time passes first, for this escalation as for every other: what fell due before
        # the fact is reported, and an escalation that this settles is forgotten.
        earlier = advance(policy, matcher, record, at)
        if record.settled:
            if not opens and fact.TYPE not in policy.about_unknown and record.status == CLOSED:
                raise UnknownEscalationError(
                    f"escalation {fact.escalation_id!r} was closed and settled before "
                    f"{at.isoformat()}; expected an {policy.terms.opening.TYPE!r} fact first",
                    path="$.escalation_id",
                )
            record = None  # what time reported stands: the new escalation follows it
    waiting: Record | None = None
    if record is not None and record.status == AWAITING_OPENING:
        waiting, record = record, None
        if opens and waiting.held and isinstance(fact, EscalationFact):
            # Held for whichever calendar the escalation would count on: its own decides.
            earlier.extend(_expired_at_opening(policy, matcher, waiting, fact))
    if record is None and not opens and fact.TYPE in policy.about_unknown:
        decision = _about_unknown(policy, matcher, fact, earlier)
        if not policy.holds_for_opening or (waiting is not None and len(waiting.held) >= MAX_HELD):
            return waiting, decision
        # Held for the opening, which may be a moment behind (another feed).
        waiting = waiting or policy.terms.record.awaiting(fact)
        waiting.held = (*waiting.held, fact)
        waiting.clock = max(waiting.clock, at)
        waiting.retain_until = policy.held_until(waiting.held[0].at)
        waiting.refresh()
        return waiting, Decision(fact=fact, actions=tuple(earlier))
    if not checked:
        check(policy, record, fact)
    return _apply(policy, matcher, record, fact, earlier, waiting)


def _apply(
    policy: Policy,
    matcher: Matcher,
    record: Record | None,
    fact: EscalationFact,
    earlier: list[Action] | None = None,
    waiting: Record | None = None,
) -> tuple[Record | None, Decision]:
    """:func:`decide` once the fact is checked and time has passed for its escalation:
    ``earlier``, what fell due before it; ``waiting``, the record that held facts for an
    opening."""
    at = fact.at
    opens = fact.OPENS
    plan: Plan | None = None
    if opens:
        plan = matcher.plan(_plan_inputs(policy, fact))
        record = policy.terms.record.open(fact, bool(plan.values[IN_SCOPE]))
        record.calendar = choose_calendar(policy, fact)
        if record.calendar is not None:
            record.calendar_identity = policy.calendar(record.calendar).identity
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
    work = Work(policy, record, fact, plan)
    matched = list(plan.rows) if plan is not None else []
    generated = matcher.generated(fact.TYPE)
    if generated is not None:
        generated.react(work, status_before, previous, owner, cadence, matched)
    else:
        situation = Situation(policy, record, fact, status_before, previous, owner, cadence)
        reactions = policy.reactions
        for index in matcher.reactions_for(fact.TYPE, situation):
            compiled = reactions[index]
            rule, cites = compiled.reaction.id, compiled.reaction.cites
            matched.append(rule)
            for effect, prepared in compiled.then:
                HANDLERS[type(effect)](work, effect, prepared, rule, cites)
    work.finish()
    record.refresh()
    if earlier:  # None or empty in the common case
        if not opens:
            # A next period announced while time passed, then cancelled by this very fact
            # (closing, risk reduced), was never really due: do not announce it.
            earlier = [action for action in earlier if _still_due(policy, record, action)]
        work.actions[:0] = earlier
    settled = record.status == CLOSED and record.settled
    decided: Record | None = None if settled else record
    decision = new_decision(
        fact=fact,
        actions=tuple(work.actions),
        fulfilled=tuple(work.fulfilled),
        matched=tuple(matched),
    )
    if waiting is not None and opens:
        return _after_opening(policy, matcher, decided, decision, waiting.held)
    return decided, decision


def _after_opening(
    policy: Policy,
    matcher: Matcher,
    record: Record | None,
    opening: Decision,
    held: tuple[Fact, ...],
) -> tuple[Record | None, Decision]:
    """The facts held for an escalation's opening, applied after it in order, each at its own
    time or the opening's, whichever is later: one decision for the opening and them all. A
    held fact the opened escalation cannot take is decided as it would have been without it.
    What the opening announced and a held fact already did (the created post, made a minute
    early) is not announced: the host would do it twice."""
    actions: list[Action] = []
    fulfilled = list(opening.fulfilled)
    matched = list(opening.matched)
    at = opening.fact.at
    for fact in held:
        assert isinstance(fact, EscalationFact)  # only facts about an escalation are held
        late = fact if fact.at >= at else attrs.evolve(fact, at=at)
        try:
            if record is None:
                raise UnknownEscalationError("settled at its opening", path="$.escalation_id")
            after, decision = decide(policy, matcher, record.copy(), late)
        except InputError:
            try:
                decision = _about_unknown(policy, matcher, fact, [])
            except InputError:
                continue  # the policy no longer takes it at all
        else:
            record = after
        actions.extend(decision.actions)
        fulfilled.extend(decision.fulfilled)
        matched.extend(decision.matched)
    done = {(f.obligation, f.key, f.due) for f in fulfilled[len(opening.fulfilled) :]}
    announced = [a for a in opening.actions if not _announces_one_of(policy, a, done)]
    return record, Decision(
        fact=opening.fact,
        actions=(*announced, *actions),
        fulfilled=tuple(fulfilled),
        matched=tuple(matched),
    )


def _announces_one_of(
    policy: Policy, action: Action, done: set[tuple[str, str | None, dt.datetime]]
) -> bool:
    """Whether ``action`` announces an obligation instance among ``done`` (obligation, key,
    due time)."""
    due = getattr(action, "due", None)
    if not done or due is None:
        return False
    for name, compiled in policy.obligations.items():
        announce = compiled.obligation.announce
        if announce is None or not isinstance(action, announce):
            continue
        key_field = compiled.obligation.key
        key = getattr(action, key_field, None) if key_field is not None else None
        if (name, None if key is None else text_of(key), due) in done:
            return True
    return False


def _expired_at_opening(
    policy: Policy, matcher: Matcher, waiting: Record, opening: EscalationFact
) -> list[Action]:
    """The held facts whose grace, on the calendar the escalation opens on, ran out before its
    opening: decided as facts about an escalation that is not open, as time passing decides
    them (an opening whose zone is refused is refused by it, as before)."""
    try:
        calendar = choose_calendar(policy, opening)
    except InputError:
        return []
    return _expire(policy, matcher, waiting, opening.at, lambda at: policy.grace_ends(at, calendar))


def _expire(
    policy: Policy,
    matcher: Matcher,
    record: Record,
    to: dt.datetime | None,
    ends: Callable[[dt.datetime], dt.datetime] | None = None,
) -> list[Action]:
    """Time passes up to ``to`` for an escalation awaiting its opening: each held fact whose
    grace ran out before ``to`` (``None``: every one) is decided as a fact about an escalation
    that is not open. The grace ends as the policy holds such a fact
    (:meth:`Policy.held_until`), or as ``ends`` says (on the calendar it opens on)."""
    grace_end = policy.held_until if ends is None else ends
    actions: list[Action] = []
    kept: list[Fact] = []
    for fact in record.held:
        if to is not None and grace_end(fact.at) >= to:
            kept.append(fact)
            continue
        assert isinstance(fact, EscalationFact)  # only facts about an escalation are held
        try:
            actions.extend(_about_unknown(policy, matcher, fact, []).actions)
        except InputError:
            continue  # the policy no longer takes it at all
    record.held = tuple(kept)
    record.retain_until = policy.held_until(kept[0].at) if kept else None
    record.refresh()
    return actions


def _about_unknown(
    policy: Policy, matcher: Matcher, fact: EscalationFact, earlier: list[Action]
) -> Decision:
    """A fact about an escalation the engine does not know (never opened, or settled and
    forgotten), which some reaction takes: matched on the fact's own fields, its violations
    reported; nothing is kept."""
    context = policy.context
    situation = Situation(
        policy, policy.terms.record.blank(), fact, "", _NOTHING_BEFORE, None, None
    )
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
        compiled = reactions[index]
        reaction = compiled.reaction
        matched.append(reaction.id)
        for effect, prepared in compiled.then:
            if isinstance(effect, vocab.Accept):
                continue  # taken, nothing to report
            assert isinstance(effect, vocab.Violation)  # the kinds ABOUT_UNKNOWN, at load time
            detail = detail_text(effect.detail, cast("DetailFields | None", prepared), None, fact)
            actions.append(
                Violation(
                    escalation_id=fact.escalation_id,
                    at=fact.at,
                    rule=reaction.id,
                    cites=reaction.cites,
                    code=effect.code,  # type: ignore[arg-type]  # one of the policy's codes
                    detail=detail,
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
    when: Callable[[object, object], bool] | None,
) -> dict[str, object]:
    """The fact's own changes to the record, before any rule runs: the attributes it sets
    and the status it moves to (``when``: only for the change of severity it allows).
    Returns the attributes it set, as they were before."""
    previous = _NOTHING_BEFORE
    if sets:
        previous = {}
        changed = False
        for attribute, field in sets:
            if field != "at":
                before = previous[attribute] = getattr(record, attribute)
                value = getattr(fact, field)
                changed = changed or value != before
                setattr(record, attribute, value)
        # An attribute set from the fact's time is when the others changed: set only if one
        # did, or if there are none (a re-sync of the same severity changes nothing).
        for attribute, field in sets:
            if field == "at":
                previous[attribute] = getattr(record, attribute)
                if changed or all(other == "at" for _, other in sets):
                    setattr(record, attribute, fact.at)
    after = moves.get(record.status)
    if after is not None and (
        when is None or when(previous["severity"], getattr(record, "severity"))  # noqa: B009
    ):
        record.status = after
        if after == CLOSED:
            record.closed_at = fact.at
    return previous
