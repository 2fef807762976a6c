"""Re-planning an open escalation on the calendar its policy declares now, when the host asks:
the due times it has pending move as the new calendar counts them."""

import datetime as dt

import attrs

from escalation_policy._core.obligations import ON_CALENDAR, on_clock, tier_time
from escalation_policy.periods import Bucket, parse_period
from escalation_policy.policy import Policy
from escalation_policy.policy.record import Record
from escalation_policy.state import MovedDue, PendingObligation, Replanned


def replan(policy: Policy, record: Record, at: dt.datetime) -> Replanned | None:
    """Plan ``record`` (changed in place) again at ``at`` on its calendar as the policy
    declares it now, if that is not the calendar it is pinned to; ``None`` otherwise.

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
    record.pending = [_retimed(policy, record, obligation) for obligation in pending]
    record.refresh()
    return Replanned(
        escalation_id=record.escalation_id,
        calendar=name,
        before=before,
        after=new.identity,
        moved=tuple(moved),
    )


def _retimed(policy: Policy, record: Record, pending: PendingObligation) -> PendingObligation:
    """``pending``'s reminder and next tier on the calendar the record now counts on."""
    if pending.overdue:
        tiers = policy.obligations[pending.obligation].tiers
        if pending.next_tier_at is None or pending.tier >= len(tiers):
            return pending
        after = tiers[pending.tier].after
        return attrs.evolve(pending, next_tier_at=tier_time(policy, record, pending, after))
    return on_clock(policy, record, pending)
