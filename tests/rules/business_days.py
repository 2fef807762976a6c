"""The business days the handbook's policy counts on, read from the loaded policy.

Tests compute when something is due with the policy's own calendar, limits and periods, never
with copies of its hours: a policy owner who moves the calendar or changes a limit changes the
rule module, and these follow.
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

from escalation_policy import default_policy
from escalation_policy.calendar import Calendar
from escalation_policy.periods import Bucket, BusinessTime, Period, Rolling

UTC = dt.timezone.utc


def calendar(zone: str | None = None) -> Calendar:
    """The calendar an escalation counts on: the policy's default, moved into the customer's
    zone when the opening gives one."""
    calendars = default_policy().calendars
    assert calendars is not None, "the handbook's policy declares its calendars"
    return calendars.default.in_zone(zone) if zone else calendars.default


def limit(setting: str) -> BusinessTime:
    """A one-off limit of the policy (``"created_post_within"``), as it is loaded."""
    value = default_policy().settings[setting]
    assert isinstance(value, BusinessTime), f"{setting} is counted in business time"
    return value


def due(setting: str, start: dt.datetime, zone: str | None = None) -> dt.datetime:
    """When an obligation the setting limits is due, if it started at ``start``."""
    return limit(setting).due(calendar(zone), start)


def period(value: object) -> Period:
    """A period as a table gives it: a plain duration is a rolling period of calendar time."""
    if isinstance(value, dt.timedelta):
        return Rolling(value)
    assert isinstance(value, Period), f"{value!r} is no period"
    return value


def buckets(period: Period, start: dt.datetime) -> Iterator[Bucket]:
    """The periods of a periodic obligation that starts at ``start``, one after the other."""
    bucket = period.first(calendar(), start)
    while True:
        yield bucket
        bucket = period.following(calendar(), bucket)


def due_times(period: Period, start: dt.datetime, count: int) -> list[dt.datetime]:
    """The first ``count`` due times of a periodic obligation that starts at ``start``."""
    found = buckets(period, start)
    return [next(found).due for _ in range(count)]


def kept(
    period: Period, start: dt.datetime, count: int, lead: dt.timedelta
) -> tuple[list[dt.datetime], dt.datetime]:
    """When to meet a periodic obligation that starts at ``start`` for ``count`` periods, as
    often as each asks, the last time ``lead`` before its due time; and when the period after
    them is due."""
    times: list[dt.datetime] = []
    bucket = period.first(calendar(), start)
    for _ in range(count):
        done = [bucket.due - lead * n for n in range(bucket.required, 0, -1)]
        times += done
        bucket = (
            period.met(calendar(), bucket, done[-1])
            if done
            else period.following(calendar(), bucket)
        )
    return times, bucket.due


def utc(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A UTC instant in 2026 (2 March 2026 is a Monday)."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


def lacked(actions: Any) -> list[str]:
    """What each ``cadence_missed`` violation says its period lacked, in order."""
    return [
        action.detail.split(" lacked ", 1)[1]
        for action in actions
        if action.TYPE == "violation" and action.code.value == "cadence_missed"
    ]
