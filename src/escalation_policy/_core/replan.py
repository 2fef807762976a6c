"""Re-planning an open escalation when the host asks: on the calendar its policy declares now
(the due times it has pending move as the new calendar counts them), and, once the policy
itself changed, under the new policy (its plan and periodic obligations derived again)."""

import datetime as dt

import attrs

from escalation_policy import vocabulary as vocab
from escalation_policy._core.effects import HANDLERS, Work
from escalation_policy._core.matching import Matcher
from escalation_policy._core.obligations import ON_CALENDAR, on_clock, text_of, tier_time
from escalation_policy._language.context import Situation
from escalation_policy.model import CLOSED
from escalation_policy.periods import Bucket, parse_period
from escalation_policy.policy import Policy
from escalation_policy.policy.obligations import one_off_of_rule
from escalation_policy.policy.outputs import CADENCE, IN_SCOPE, OWNER
from escalation_policy.policy.record import Record
from escalation_policy.state import (
    ChangedObligation,
    EarlyWork,
    MovedDue,
    PendingObligation,
    PlanChange,
    Replanned,
)

__all__ = ["mended", "replan"]

_NOTHING_BEFORE: dict[str, object] = {}

_PLANNED_FIELDS = ("in_scope", "owner", "cadence", "involvement")
"""The fields of a record the decision tables give (see :class:`PlanChange`)."""


def replan(
    policy: Policy, matcher: Matcher, record: Record, at: dt.datetime, *, rederive: bool = False
) -> Replanned | None:
    """Plan ``record`` (changed in place) again at ``at``: on its calendar as the policy
    declares it now, and, with ``rederive`` (the escalation was planned under another
    policy), under the policy's tables and reactions (:func:`rederive`). ``None`` if nothing
    changes."""
    moved = _recalendar(policy, record, at)
    changes: tuple[tuple[PlanChange, ...], list[PendingObligation], list[PendingObligation]]
    changes = ((), [], [])
    if rederive:
        changes = _rederive(policy, matcher, record, at)
    plan, before, after = changes
    if moved is None and not rederive:
        return None
    keys = {(p.obligation, p.key) for p in before} | {(p.obligation, p.key) for p in after}
    was = {(p.obligation, p.key): p for p in before}
    now = {(p.obligation, p.key): p for p in after}
    added = tuple(now[k] for k in sorted(keys, key=_order) if k not in was)
    removed = tuple(was[k] for k in sorted(keys, key=_order) if k not in now)
    changed = tuple(
        ChangedObligation(obligation=k[0], key=k[1], before=was[k], after=now[k])
        for k in sorted(keys, key=_order)
        if k in was and k in now and was[k] != now[k]
    )
    if moved is None and not (plan or added or removed or changed):
        return None
    calendar, pinned_before, pinned_after, moved_dues = moved or (None, None, None, ())
    return Replanned(
        escalation_id=record.escalation_id,
        calendar=calendar,
        before=pinned_before,
        after=pinned_after,
        moved=moved_dues,
        plan=plan,
        added=added,
        removed=removed,
        changed=changed,
    )


def _order(key: tuple[str, str | None]) -> tuple[str, str]:
    return key[0], key[1] or ""


def _recalendar(
    policy: Policy, record: Record, at: dt.datetime
) -> tuple[str, str | None, str, tuple[MovedDue, ...]] | None:
    """Plan ``record`` again at ``at`` on its calendar as the policy declares it now, if that
    is not the calendar it is pinned to: (the calendar's name, the identities before and
    after, the due times that moved); ``None`` otherwise.

    A deadline counted on the calendar keeps the open time it had left at ``at``; a period of
    business days ends with the same business day, and a period of weeks with the same week, as
    the new calendar has them. Due times already passed, overdue obligations and clocks that are
    paused keep their times (a paused clock resumes on the new calendar); reminders and tiers
    follow their due times.
    """
    name = record.calendar
    if name is None:
        return None
    new = policy.calendar(name)
    before = record.calendar_identity
    if before == new.identity:
        return None
    old = policy.calendar(name, before)
    moved: list[MovedDue] = []
    pending: list[PendingObligation] = []
    for obligation in record.pending:
        due = obligation.due
        if (
            obligation.period is not None
            and obligation.paused_left is None
            and not obligation.overdue
            and due > at
        ):
            if obligation.period == ON_CALENDAR:
                due = new.add(at, old.elapsed(at, due))
            elif (period := parse_period(obligation.period)) is not None:
                bucket = Bucket(due, obligation.since, obligation.required)
                due = period.replanned(old, new, bucket, at).due
        if due != obligation.due:
            moved.append(
                MovedDue(
                    obligation=obligation.obligation,
                    key=obligation.key,
                    before=obligation.due,
                    after=due,
                )
            )
            obligation = attrs.evolve(obligation, due=due, reminder_at=None)
        pending.append(obligation)
    record.calendar_identity = new.identity
    record.pending = [
        _retimed(policy, record, obligation)
        if obligation.obligation in policy.obligations
        else obligation  # the policy no longer has it: re-deriving drops it
        for obligation in pending
    ]
    record.refresh()
    return name, before, new.identity, tuple(moved)


def _rederive(
    policy: Policy, matcher: Matcher, record: Record, at: dt.datetime
) -> tuple[tuple[PlanChange, ...], list[PendingObligation], list[PendingObligation]]:
    """Plan ``record`` (changed in place) again under ``policy``, which it was not planned
    under, at ``at``; return what its tables give otherwise, and its pending obligations before
    and after.

    The tables are evaluated again on the escalation's attributes as they are now; the
    reactions to the policy's opening fact that apply the plan and require periodic
    obligations run again, as if the escalation opened at ``at`` with these attributes (the
    one-off obligations an opening requires are not required again: their facts are past).
    A one-off obligation whose rule now requires another one is that one (its due time and key
    kept). A pending obligation, or a rule it cites, that the policy no longer has is dropped,
    as is a periodic obligation no reaction requires any longer; one whose period changed
    starts afresh at ``at``, as on a change of severity. The others keep their due times
    (overdue ones too), with the citation, reminder and tiers the policy gives them now.
    """
    before = list(record.pending)
    was = {name: _planned_text(getattr(record, name)) for name in _PLANNED_FIELDS}
    obligations, rules = policy.obligations, policy.rules
    record.done = {name: key for name, key in record.done.items() if name in obligations}
    if record.early_work:
        record.early_work = _early_work_kept(policy, record.early_work)
    one_off = one_off_of_rule(policy.reactions)
    kept: list[PendingObligation] = []
    for pending in record.pending:
        now = one_off.get(pending.rule)
        if (
            now is not None
            and now != pending.obligation
            and not _periodic(pending)
            and (obligations[now].obligation.key is None) == (pending.key is None)
        ):
            pending = attrs.evolve(pending, obligation=now)
        if pending.obligation not in obligations or pending.rule not in rules:
            continue
        cites = rules[pending.rule].cites
        if cites != pending.cites:
            pending = attrs.evolve(pending, cites=cites)
        kept.append(_retimed(policy, record, pending))
    record.pending = kept
    plan = matcher.plan({field: getattr(record, field) for field in policy.plan_inputs})
    in_scope = bool(plan.values[IN_SCOPE])
    if in_scope != record.in_scope:
        record.in_scope = in_scope
        if not in_scope:
            record.pending = []  # as when a fact takes it out of scope: it owes nothing more
    if record.in_scope and record.status != CLOSED:
        opening = policy.terms.opening
        attributes = set(policy.terms.record.attributes)
        fact = opening(
            escalation_id=record.escalation_id,
            at=at,
            **{
                field.name: getattr(record, field.name)
                for field in attrs.fields(opening)
                if field.name in attributes
            },
        )
        situation = Situation(
            policy,
            record,
            fact,
            record.status,
            _NOTHING_BEFORE,
            plan.values[OWNER],
            plan.values[CADENCE],
        )
        work = Work(policy, record, fact, plan)
        scheduled: set[str] = set()
        reactions = policy.reactions
        for index in matcher.reactions_for(opening.TYPE, situation):
            compiled = reactions[index]
            for effect, prepared in compiled.then:
                if isinstance(effect, vocab.Require) and effect.every is not None:
                    scheduled.add(effect.obligation.id)
                elif not isinstance(effect, vocab.ApplyPlan):
                    continue
                HANDLERS[type(effect)](
                    work, effect, prepared, compiled.reaction.id, compiled.reaction.cites
                )
        elsewhere = _periodic_elsewhere(policy)
        record.pending = [
            pending
            for pending in record.pending
            if not _periodic(pending)
            or pending.obligation in scheduled
            or pending.obligation in elsewhere
        ]
    record.refresh()
    plan_changes = tuple(
        PlanChange(field=name, before=was[name], after=after)
        for name in _PLANNED_FIELDS
        if (after := _planned_text(getattr(record, name))) != was[name]
    )
    return plan_changes, before, list(record.pending)


def _early_work_kept(policy: Policy, early_work: tuple[EarlyWork, ...]) -> tuple[EarlyWork, ...]:
    """The work done early that ``policy`` would have kept: for an obligation it counts such
    work for, an instance it requires (the latest only, for one keyed by an attribute)."""
    kept: dict[tuple[str, str | None], EarlyWork] = {}
    for early in early_work:
        declared = policy.obligations.get(early.obligation)
        if declared is not None and declared.keeps_early(early.key):
            kept[declared.early_instance(early)] = early
    return tuple(kept.values())


def mended(before: Record, after: Record) -> bool:
    """Whether re-planning changed what :class:`Replanned` does not report: the keys of
    obligations fulfilled once per key, or the work kept as done early, that the policy no
    longer has (the record is written all the same)."""
    return before.done != after.done or before.early_work != after.early_work


def _periodic(pending: PendingObligation) -> bool:
    return pending.every is not None or pending.period not in (None, ON_CALENDAR)


def _periodic_elsewhere(policy: Policy) -> frozenset[str]:
    """The obligations a reaction that does not react to the opening requires periodically:
    re-deriving keeps them as they are pending, since only a later fact plans them (kept in
    ``Policy._kept``)."""
    found: frozenset[str] | None = policy._kept.get(_periodic_elsewhere)
    if found is not None:
        return found
    opening = policy.terms.opening.TYPE
    found = policy._kept[_periodic_elsewhere] = frozenset(
        effect.obligation.id
        for compiled in policy.reactions
        if opening not in compiled.types
        for effect, _ in compiled.then
        if isinstance(effect, vocab.Require) and effect.every is not None
    )
    return found


def _planned_text(value: object) -> bool | str | tuple[str, ...] | None:
    """A planned field's value as JSON (a team's or a role's text)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, tuple):
        return tuple(text_of(item) for item in value)
    return text_of(value)


def _retimed(policy: Policy, record: Record, pending: PendingObligation) -> PendingObligation:
    """``pending``'s reminder and next tier on the calendar the record now counts on."""
    if pending.overdue:
        tiers = policy.obligations[pending.obligation].tiers
        if pending.next_tier_at is None or pending.tier >= len(tiers):
            return pending
        after = tiers[pending.tier].after
        return attrs.evolve(pending, next_tier_at=tier_time(policy, record, pending, after))
    return on_clock(policy, record, pending)
