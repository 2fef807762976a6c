"""What the core does with one pending obligation: its period, its next bucket, what a period
lacked, and its keys as text."""

import datetime as dt
import enum
import functools
import math
from collections.abc import Callable
from typing import Any, cast

import attrs

from escalation_policy._language.codegen import generate
from escalation_policy._language.frozen import Kept, build_lines
from escalation_policy._language.wording import DetailFields
from escalation_policy.calendar import Calendar
from escalation_policy.model import Violation
from escalation_policy.periods import Bucket, Period, Rolling, parse_period
from escalation_policy.policy import CompiledObligation, Policy
from escalation_policy.policy.record import Record
from escalation_policy.state import (
    NOTHING_RARE,
    PendingObligation,
)

_NOTHING_BEFORE: dict[str, object] = {}
"""The ``previous`` of a fact that sets no attribute (shared, never changed)."""

_KEEP = object()


def _changed_function() -> Callable[..., PendingObligation]:
    """``changed(pending, **fields)``: ``attrs.evolve`` unrolled over the fields of
    :class:`PendingObligation`. It runs several times for many facts, where ``evolve``'s loop
    over the fields cost more than the rest of the change. The fields kept together in one
    slot (``PendingObligation._KEPT``) are taken over as that slot unless one of them
    changes."""
    names = [field.name for field in attrs.fields(PendingObligation)]
    kept: Kept = PendingObligation._KEPT  # type: ignore[attr-defined]
    namespace: dict[str, Any] = {"KEEP": _KEEP}
    lines = [
        f"def changed(source, *, {', '.join(f'{name}=KEEP' for name in names)}):",
        f"    kept = source.{kept.slot}",
        f"    if not ({' and '.join(f'{name} is KEEP' for name in kept.names)}):",
        *(
            f"        if {name} is KEEP: {name} = kept[{index}]"
            for index, name in enumerate(kept.names)
        ),
        f"        kept = {kept.slot_value(list(kept.names), namespace)}",
        *build_lines(  # built as its quick __init__ builds it
            PendingObligation,
            [
                *(
                    (name, f"source.{name} if {name} is KEEP else {name}")
                    for name in names
                    if name not in kept.names
                ),
                (kept.slot, "kept"),
            ],
            namespace,
            prefix="pending_",
        ),
        "    return new",
    ]
    function: Callable[..., PendingObligation] = generate(
        lines, namespace, "changed PendingObligation"
    )
    return function


changed = _changed_function()
"""``pending`` with some fields changed, as ``attrs.evolve(pending, **fields)`` gives it."""


def text_of(value: object) -> str:
    """A key as text: an enumeration's value (not its ``str()``, a Python-level call)."""
    if type(value) is str:
        return value
    return str(value._value_ if isinstance(value, enum.Enum) else value)


def detail_text(detail: str, fields: DetailFields | None, record: object, fact: object) -> str:
    """A violation's ``detail`` with the names it gives in braces filled in, each value as the
    JSON contract writes it (an enumeration's value, a time in ISO 8601, ``true`` or ``false``,
    the items of a tuple; ``none`` for none or no items): an escalation restored from JSON says
    the same."""
    if fields is None:
        return detail  # no brace: as it is
    values = {}
    for name, of_fact in fields:
        values[name] = _plain(getattr(fact if of_fact else record, name, None))
    return detail.format_map(values)


def _plain(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ", ".join(_plain(item) for item in value) or "none"
    return text_of(value)


def moved(pending: PendingObligation, due: dt.datetime, overdue: bool) -> PendingObligation:
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


def on_clock(policy: Policy, record: Record, pending: PendingObligation) -> PendingObligation:
    """``pending`` with its reminder's time set where its clock moves it from
    ``due - remind_before``: a lead of open time for an obligation counted on the calendar,
    or the next opening for one whose obligation keeps reminders to open hours (no reminder
    if that is not before the due time)."""
    if pending._rarely is NOTHING_RARE:  # type: ignore[attr-defined]  # no reminder asked
        return pending
    lead = pending.remind_before
    if lead is None or pending.reminded or pending.overdue or record.calendar is None:
        return pending
    plain = pending.due - lead
    when = plain
    if pending.period is not None:
        when = policy.calendar(record.calendar, record.calendar_identity).subtract(
            pending.due, lead
        )
    elif policy.obligations[pending.obligation].remind_in_open_hours:
        when = policy.calendar(record.calendar, record.calendar_identity).next_open(plain)
        if when >= pending.due:
            return changed(pending, reminded=True, reminder_at=None)
    reminder_at = None if when == plain else when
    if reminder_at == pending.reminder_at:
        return pending
    return changed(pending, reminder_at=reminder_at)


def overdue(policy: Policy, record: Record, pending: PendingObligation) -> PendingObligation:
    """``pending``, a one-off obligation, now overdue: when to send its obligation's first
    tier, if it has any."""
    late = moved(pending, pending.due, overdue=True)
    tiers = policy.obligations[pending.obligation].tiers
    if not tiers:
        return late
    return changed(late, next_tier_at=tier_time(policy, record, late, tiers[0].after))


def tier_time(
    policy: Policy, record: Record, pending: PendingObligation, after: dt.timedelta
) -> dt.datetime:
    """``after`` past ``pending``'s due time, on its clock."""
    if pending.period is None:
        return pending.due + after
    return policy.calendar(record.calendar, record.calendar_identity).add(pending.due, after)


ON_CALENDAR = "business time"
"""The ``period`` of a one-off obligation due within a business time: its clock counts the
escalation's calendar's open time (for pausing it)."""


@functools.lru_cache(maxsize=64)
def rolling(every: dt.timedelta) -> Rolling:
    return Rolling(every)


def period_of(pending: PendingObligation) -> Period | None:
    """The period of a periodic obligation (``None`` for a one-off)."""
    if pending.period is not None:
        return parse_period(pending.period)
    return rolling(pending.every) if pending.every is not None else None


def in_bucket(
    pending: PendingObligation, bucket: Bucket, counts: tuple[int, ...] = ()
) -> PendingObligation:
    """``pending`` in ``bucket``, with ``counts`` done in it (none: a new period)."""
    moved = changed(
        pending,
        due=bucket.due,
        since=bucket.since,
        required=bucket.required,
        counts=counts,
        overdue=False,
    )
    if pending._rarely is NOTHING_RARE:  # type: ignore[attr-defined]  # no reminder to reset
        return moved
    return changed(moved, reminded=False, reminder_at=None, waited=None, required_in_full=None)


def after_wait(
    calendar: Calendar, pending: PendingObligation, start: dt.datetime, end: dt.datetime
) -> PendingObligation:
    """``pending`` (a period of days or weeks, counted from its ``since``) once the escalation
    waited on the customer from ``start`` to ``end`` within its current period: the open time
    waited in it added up, and what it asks, its ``required`` in full less the share of it
    the time waited makes, rounded half up. A day waited for half its open hours or more asks
    nothing; a week of two waited a quarter of its open time or more asks one."""
    whole = calendar.elapsed(cast(dt.datetime, pending.since), pending.due)
    waited = (pending.waited or _NO_TIME) + calendar.elapsed(start, end)
    full = pending.required if pending.required_in_full is None else pending.required_in_full
    relieved = math.floor(full * (min(waited, whole) / whole) + 0.5) if whole else 0
    return changed(pending, required=full - relieved, waited=waited, required_in_full=full)


_NO_TIME = dt.timedelta(0)


def missing_parts(declared: CompiledObligation, missed: PendingObligation) -> str:
    """What a period of ``missed`` lacked, in words: its parts done fewer times than asked."""
    parts = declared.parts or ("",)
    counts = missed.counts or (0,) * len(parts)
    short = [
        f"{part.replace('_', ' ')} {count} of {missed.required}"
        if missed.required > 1
        else part.replace("_", " ")
        for part, count in zip(parts, counts, strict=True)
        if count < missed.required and part
    ]
    return " and ".join(short)


def overdue_violation(
    escalation_id: str,
    declared: CompiledObligation,
    missed: PendingObligation,
    at: dt.datetime,
    periods: int = 1,
    last_due: dt.datetime | None = None,
    missing: str = "",
) -> Violation:
    """The violation of ``missed``, noticed at ``at``: ``periods`` of a periodic obligation in a
    row, the last due at ``last_due``, lacking ``missing``."""
    due = missed.due.isoformat()
    if periods > 1 and last_due is not None:
        later = (
            "the next due time," if periods == 2 else f"any of the {periods - 1} later due times to"
        )
        due = f"{due} nor by {later} {last_due.isoformat()}"
    return Violation(
        escalation_id=escalation_id,
        at=at,
        rule=missed.rule,
        cites=missed.cites,
        code=declared.violation,
        detail=declared.missed(due, missed.key, missing),
        due=missed.due,
        periods=periods,
        last_due=last_due if periods > 1 else None,
    )
