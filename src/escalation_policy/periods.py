"""Periods: how often a periodic obligation falls due, counted on an escalation's calendar.

A rule gives a periodic obligation its period as a decision table's output (or a setting):

- a :class:`~datetime.timedelta`: a rolling period of calendar time, restarted at each
  fulfilment (``dt.timedelta(days=1)``: at most a day between two updates);
- :class:`Rolling`: the same in business time (``business=True``) or *sequential* (the next
  period starts at the previous due time, so early work buys no slack);
- :class:`EachBusinessDay`: at least once each business day, by its end;
- :class:`TimesPerWeek`: at least ``times`` each ``weeks`` calendar weeks (ISO weeks in the
  calendar's zone);
- :class:`EveryBusinessDays`: by the end of the ``days``-th business day after the last time.

A period is cut into *buckets*, each with a due time and how many fulfilments it needs. A
fulfilment counts toward the bucket it falls in; once a bucket has what it needs, the next
one starts. A bucket that ends short is one miss, and the buckets after it start afresh:
one lapse never makes the next period late. :class:`BusinessTime` is a one-off duration
counted in open time (a ``within``).

Each period has a text form (:attr:`Period.text`), which is how a state keeps it and how a
setting gives it: ``"each business day"``, ``"2 per week"``, ``"1 per 2 weeks"``, ``"every 3
business days"``, ``"every 4h of business time"``, ``"every 1d, sequential"``.
"""

import abc
import datetime as dt
import functools
import math
import re
import sys
from collections.abc import Callable

import attrs

from escalation_policy.calendar import Calendar

__all__ = [
    "Bucket",
    "BusinessTime",
    "EachBusinessDay",
    "EveryBusinessDays",
    "Period",
    "Rolling",
    "TimesPerWeek",
    "format_duration",
    "format_open_time",
    "parse_duration",
    "parse_period",
]

_DURATION = re.compile(r"^\s*(?:([0-9]+)d)?\s*(?:([0-9]+)h)?\s*(?:([0-9]+)m)?\s*(?:([0-9]+)s)?\s*$")
_ZERO = dt.timedelta(0)
_ONE_DAY = dt.timedelta(days=1)


def parse_duration(text: str) -> dt.timedelta | None:
    """``"1d4h30m"`` (days, hours, minutes, seconds, each optional) as a duration, or
    ``None`` if ``text`` is not one or is zero."""
    found = _DURATION.match(text)
    if found is None or not any(found.groups()):
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in found.groups())
    duration = dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    return duration or None


def format_duration(duration: dt.timedelta) -> str:
    """A duration in the form :func:`parse_duration` reads (whole seconds)."""
    seconds = int(duration.total_seconds())
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    parts = [
        f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s"))
    ]
    return "".join(part for part in parts if not part.startswith("0")) or "0s"


def format_open_time(duration: dt.timedelta) -> str:
    """A length of business time in hours and minutes (``24h``, ``2h30m``), as
    :func:`parse_duration` reads it: a day of it is 24 hours of open time, three business
    days of eight hours, not one, so it is never written in days."""
    seconds = int(duration.total_seconds())
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (seconds, "s"))]
    return "".join(part for part in parts if not part.startswith("0")) or "0s"


@attrs.frozen
class Bucket:
    """One period of a periodic obligation: due at ``due``, met by ``required`` fulfilments
    at or after ``since`` (``None``: any time before ``due``)."""

    due: dt.datetime
    since: dt.datetime | None = None
    required: int = 1


class Period(abc.ABC):
    """How often a periodic obligation falls due (see the module's description)."""

    @property
    @abc.abstractmethod
    def text(self) -> str:
        """The period's text form, which :func:`parse_period` reads back (interned: the
        pending obligations of every escalation share it, rather than a copy each)."""

    def __str__(self) -> str:
        return self.text

    @abc.abstractmethod
    def first(self, calendar: Calendar, start: dt.datetime) -> Bucket:
        """The first bucket of an obligation that starts at ``start``."""

    @abc.abstractmethod
    def following(self, calendar: Calendar, bucket: Bucket) -> Bucket:
        """The bucket after ``bucket``, when nothing was done in it."""

    def met(self, calendar: Calendar, bucket: Bucket, at: dt.datetime) -> Bucket:
        """The bucket after ``bucket``, met at ``at``."""
        return self.following(calendar, bucket)

    def changed_to(self, calendar: Calendar, start: dt.datetime) -> Bucket:
        """The first bucket of an obligation whose period changes to this one at ``start``,
        after the day it was planned first, from one that asked as much and was kept: by
        default as :meth:`first`."""
        return self.first(calendar, start)

    @property
    def per_week(self) -> float | None:
        """About how many times a week the period asks, to tell which of two periods asks
        more (``None``: not known)."""
        return None

    def counted_from(self, calendar: Calendar, bucket: Bucket) -> dt.datetime | None:
        """When the period of ``bucket``, a first bucket, began: work done since then, under
        the plan this one replaces, was done in it. By default its ``since``."""
        return bucket.since

    def replanned(self, old: Calendar, new: Calendar, bucket: Bucket, at: dt.datetime) -> Bucket:
        """``bucket``, planned on the calendar ``old``, planned again at ``at`` on ``new``: by
        default the open time it had left is left on the new calendar."""
        if bucket.due <= at:
            return bucket
        return attrs.evolve(bucket, due=new.add(at, old.elapsed(at, bucket.due)))

    def missed(
        self, calendar: Calendar, bucket: Bucket, to: dt.datetime
    ) -> tuple[int, dt.datetime, Bucket]:
        """``bucket`` ended short before ``to``: how many buckets in a row ended short before
        ``to`` (this one and those after it, in which nothing was done), the due time of the
        last of them, and the bucket after it (due at or after ``to``)."""
        periods, last, upcoming = 1, bucket, self.following(calendar, bucket)
        while upcoming.due < to:
            periods, last, upcoming = periods + 1, upcoming, self.following(calendar, upcoming)
        return periods, last.due, upcoming


@attrs.frozen
class BusinessTime:
    """A duration counted in the open time of the escalation's calendar: due ``within``
    ``BusinessTime(dt.timedelta(hours=2))`` of an event outside open hours is due two open
    hours after the next opening. ``to_end_of_day``: due by the end of the date that time falls
    on, the calendar's local date: ``BusinessTime(dt.timedelta(hours=4), to_end_of_day=True)``
    of an event in the morning is due that night, of one in the afternoon the next business
    day's night."""

    duration: dt.timedelta
    to_end_of_day: bool = False

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.duration, dt.timedelta) or self.duration <= _ZERO:
            raise ValueError(f"a business time must be a positive duration, not {self.duration!r}")
        if not isinstance(self.to_end_of_day, bool):
            raise ValueError(f"to_end_of_day must be True or False, not {self.to_end_of_day!r}")

    def due(self, calendar: Calendar, start: dt.datetime) -> dt.datetime:
        due = calendar.add(start, self.duration)
        if self.to_end_of_day:
            return calendar.start_of_day(calendar.day_of(due) + _ONE_DAY)
        return due

    def written(self, length: str) -> str:
        """How it is written, its duration written ``length``: ``2h of business time``, and
        ``, to the end of that day`` with ``to_end_of_day``."""
        text = f"{length} of business time"
        return text + END_OF_THAT_DAY if self.to_end_of_day else text

    def __str__(self) -> str:
        return self.written(format_open_time(self.duration))


END_OF_THAT_DAY = ", to the end of that day"
"""How a :class:`BusinessTime` ``to_end_of_day`` is written, after its duration."""


@attrs.frozen
class Rolling(Period):
    """A rolling period: due ``every`` after the start, then ``every`` after each
    fulfilment (``sequential``: after the previous due time), in open time when
    ``business``."""

    every: dt.timedelta
    business: bool = False
    sequential: bool = False

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.every, dt.timedelta) or self.every <= _ZERO:
            raise ValueError(f"a period must be a positive duration, not {self.every!r}")

    @property
    def per_week(self) -> float:
        return (_BUSINESS_WEEK if self.business else _WEEK_OF_TIME) / self.every

    @property
    def text(self) -> str:
        text = f"every {format_duration(self.every)}"
        if self.business:
            text += " of business time"
        return sys.intern(text + (", sequential" if self.sequential else ""))

    def _after(self, calendar: Calendar, start: dt.datetime, times: int = 1) -> dt.datetime:
        if self.business:
            return calendar.add(start, self.every * times)
        return start + self.every * times

    def first(self, calendar: Calendar, start: dt.datetime) -> Bucket:
        return Bucket(self._after(calendar, start))

    def following(self, calendar: Calendar, bucket: Bucket) -> Bucket:
        return Bucket(self._after(calendar, bucket.due))

    def met(self, calendar: Calendar, bucket: Bucket, at: dt.datetime) -> Bucket:
        return Bucket(self._after(calendar, bucket.due if self.sequential else at))

    def missed(
        self, calendar: Calendar, bucket: Bucket, to: dt.datetime
    ) -> tuple[int, dt.datetime, Bucket]:
        gap = calendar.elapsed(bucket.due, to) if self.business else to - bucket.due
        periods = max(1, math.ceil(gap / self.every))
        upcoming = self._after(calendar, bucket.due, periods)
        if upcoming < to:  # business time: ``to`` lies after the last open time counted
            periods += 1
            upcoming = self._after(calendar, bucket.due, periods)
        return periods, self._after(calendar, bucket.due, periods - 1), Bucket(upcoming)


@attrs.frozen
class EachBusinessDay(Period):
    """At least once each business day, by the end of its date. A business day is a whole
    local date of the calendar on which it is open, so what is done on that date counts toward
    it at any hour, an evening meeting or a late update included; what is done on the days it
    is closed counts toward the next business day. The date an obligation starts on (the day an
    escalation opens, say, which has its created post) is not a period of its own, whatever the
    hour: the first period is the next business day."""

    @property
    def text(self) -> str:
        return "each business day"

    @property
    def per_week(self) -> float:
        return 5.0

    def first(self, calendar: Calendar, start: dt.datetime) -> Bucket:
        day = calendar.day_of(start)
        return Bucket(_days_after(calendar, day, 1), calendar.start_of_day(day + _ONE_DAY))

    def following(self, calendar: Calendar, bucket: Bucket) -> Bucket:
        return Bucket(
            _days_after(calendar, calendar.day_of(bucket.due - _MICROSECOND), 1), bucket.due
        )

    def replanned(self, old: Calendar, new: Calendar, bucket: Bucket, at: dt.datetime) -> Bucket:
        """Due by the end of the same business day, as the new calendar has it (or of the next
        business day, if that date is no longer one)."""
        return attrs.evolve(bucket, due=_same_business_day(old, new, bucket.due))


def _days_after(calendar: Calendar, day: dt.date, days: int) -> dt.datetime:
    """The end of the ``days``-th business day after the local date ``day`` (``1``: the next
    business day): the instant its date ends, the next date's start."""
    business_day = calendar.business_days_after(day + _ONE_DAY, days - 1)
    return calendar.start_of_day(business_day + _ONE_DAY)


@attrs.frozen
class EveryBusinessDays(Period):
    """By the end of the ``days``-th business day after the start, then after each
    fulfilment: the end of that business day's date, as for :class:`EachBusinessDay`, so what
    is done on a business day counts as done that day at any hour."""

    days: int

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.days, int) or isinstance(self.days, bool) or self.days < 1:
            raise ValueError(f"days must be a whole number of 1 or more, not {self.days!r}")

    @property
    def text(self) -> str:
        return sys.intern(f"every {self.days} business day{'s' if self.days > 1 else ''}")

    @property
    def per_week(self) -> float:
        return 5 / self.days

    def first(self, calendar: Calendar, start: dt.datetime) -> Bucket:
        return Bucket(_days_after(calendar, calendar.day_of(start), self.days))

    def following(self, calendar: Calendar, bucket: Bucket) -> Bucket:
        day = calendar.day_of(bucket.due - _MICROSECOND)
        return Bucket(_days_after(calendar, day, self.days))

    def met(self, calendar: Calendar, bucket: Bucket, at: dt.datetime) -> Bucket:
        return Bucket(_days_after(calendar, calendar.day_of(at), self.days))

    def replanned(self, old: Calendar, new: Calendar, bucket: Bucket, at: dt.datetime) -> Bucket:
        """Due by the end of the same business day, as the new calendar has it (or of the next
        business day, if that date is no longer one)."""
        return attrs.evolve(bucket, due=_same_business_day(old, new, bucket.due))


@attrs.frozen
class TimesPerWeek(Period):
    """At least ``times`` fulfilments in each run of ``weeks`` calendar weeks (ISO weeks in
    the calendar's zone, counted from the week the obligation starts), by the run's end.

    The run an obligation starts in asks for ``times`` in proportion to the business days
    left in it after the start's day, rounded up: a twice-weekly meeting started on a
    Wednesday asks for one that week, started on a Friday for none. A run with fewer business
    days than its weekly hours give (holidays, closures) asks in proportion too: twice a week
    is once in a week of one business day, twice in one of four; never more than ``times``.

    The first run of a period of several weeks started after its week's Monday runs a week
    longer, so that it ends no sooner than ``weeks`` weeks after the start, and counts what
    is done from the next week on: once every two weeks, started on a Friday, asks for one in
    the two weeks after it (not, nine days later, by the end of the next), and on a Monday by
    the end of the next week."""

    times: int = 1
    weeks: int = 1

    def __attrs_post_init__(self) -> None:
        for name in ("times", "weeks"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a whole number of 1 or more, not {value!r}")

    @property
    def text(self) -> str:
        weeks = "week" if self.weeks == 1 else f"{self.weeks} weeks"
        return sys.intern(f"{self.times} per {weeks}")

    @property
    def per_week(self) -> float:
        return self.times / self.weeks

    def first(self, calendar: Calendar, start: dt.datetime) -> Bucket:
        return self._first(calendar, start, math.ceil)

    def changed_to(self, calendar: Calendar, start: dt.datetime) -> Bucket:
        """As :meth:`first`, the share rounded down: the week's earlier work, under the
        stricter period this one replaces, was done but is not counted here (twice a week,
        after a daily cadence kept until a Thursday afternoon, asks for nothing more that
        week; until a Tuesday, for one)."""
        return self._first(calendar, start, math.floor)

    def _first(
        self, calendar: Calendar, start: dt.datetime, rounded: Callable[[float], int]
    ) -> Bucket:
        # The run's end and its business days, all and after the start's date: the calendar
        # keeps them for each date. A run of several weeks started after its Monday takes in
        # one week more, so that it ends no sooner than its weeks after the start, and counts
        # from the week after the start's: what is done in the start's week does not stand
        # for the weeks after it.
        day = calendar.day_of(start)
        longer = self.weeks > 1 and day.weekday() > 0
        due, total, left = calendar._weeks_from(day, self.weeks + longer)
        required = self._share(calendar, left, total, rounded)
        if not required:
            return self.following(calendar, Bucket(due, start, 0))
        return Bucket(due, calendar.week_end(start) if longer else start, required)

    def counted_from(self, calendar: Calendar, bucket: Bucket) -> dt.datetime | None:
        """The run a first bucket ends began with its start's week."""
        return None if bucket.since is None else calendar.week_start(bucket.since)

    def replanned(self, old: Calendar, new: Calendar, bucket: Bucket, at: dt.datetime) -> Bucket:
        """Due by the end of the same week, in the new calendar's zone."""
        return attrs.evolve(bucket, due=new.week_end(bucket.due - _MICROSECOND))

    def following(self, calendar: Calendar, bucket: Bucket) -> Bucket:
        due, total, _ = calendar._weeks_from(calendar.day_of(bucket.due), self.weeks)
        if not total:  # no business day in the run
            return self.following(calendar, Bucket(due, bucket.due, 0))
        return Bucket(due, bucket.due, self._share(calendar, total, total))

    def _share(
        self,
        calendar: Calendar,
        days: int,
        total: int,
        rounded: Callable[[float], int] = math.ceil,
    ) -> int:
        """What a run asks for ``days`` of its business days (``total`` in all): ``times`` in
        proportion to the business days its weekly hours give a run (or, for a calendar open
        only on dates it names, to ``total``), rounded up (or as ``rounded``), at most
        ``times``."""
        usual = self.weeks * sum(1 for windows in calendar.hours if windows) or total
        return min(self.times, rounded(self.times * days / usual)) if usual else 0


_MICROSECOND = dt.timedelta(microseconds=1)
_WEEK_OF_TIME = dt.timedelta(weeks=1)
_BUSINESS_WEEK = dt.timedelta(hours=40)
"""About the open time of a week, to compare a period of open time with others."""


def _same_business_day(old: Calendar, new: Calendar, due: dt.datetime) -> dt.datetime:
    """The end of the business day whose date ends at ``due`` on ``old``, on ``new`` (or of the
    next business day, if that date is not one on ``new``)."""
    day = new.business_days_after(old.day_of(due - _MICROSECOND), 0)
    return new.start_of_day(day + _ONE_DAY)


_PER_WEEKS = re.compile(r"^([0-9]+) per (?:([0-9]+) )?weeks?$")
_EVERY_DAYS = re.compile(r"^every ([0-9]+) business days?$")
_EVERY = re.compile(r"^every (\S+)( of business time)?(, sequential)?$")


@functools.lru_cache(maxsize=256)
def parse_period(text: str) -> Period | None:
    """The period a text form names (see the module's description), or ``None``."""
    words = " ".join(text.strip().lower().split())
    if words == "each business day":
        return EachBusinessDay()
    try:
        if found := _PER_WEEKS.match(words):
            return TimesPerWeek(int(found[1]), int(found[2] or 1))
        if found := _EVERY_DAYS.match(words):
            return EveryBusinessDays(int(found[1]))
        if (found := _EVERY.match(words)) and (every := parse_duration(found[1])) is not None:
            return Rolling(every, business=bool(found[2]), sequential=bool(found[3]))
    except ValueError:
        return None
    return None
