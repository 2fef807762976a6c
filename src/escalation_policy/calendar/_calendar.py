"""The calendar: its open time on each local date, and arithmetic on UTC instants."""

import bisect
import datetime as dt
import json
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._sha256 import sha256_hex
from escalation_policy.calendar._declaring import (
    _DAY,
    _MICROSECOND,
    _SECONDS_A_DAY,
    _WEEK,
    _ZERO,
    FORMAT,
    HORIZON_DAYS,
    MONDAY,
    SATURDAY,
    UTC,
    DatedHoursInput,
    DayHoursInput,
    Holiday,
    HolidaysInput,
    HolidaySource,
    Weekday,
    Window,
    _date,
    _dated_hours,
    _duration,
    _holidays,
    _hours,
    _instant,
    _load_zone,
    _pauses,
    _sources,
    _subtract,
)
from escalation_policy.calendar._holidays import holidays_from
from escalation_policy.errors import InputError, PolicyDefinitionError, describe


@attrs.frozen
class _Day:
    """A local date as instants: its bounds and its open intervals (sorted, disjoint)."""

    start: dt.datetime
    end: dt.datetime
    intervals: tuple[tuple[dt.datetime, dt.datetime], ...]


# ------------------------------------------------------------------------------ the calendar
_NO_HOURS: Mapping[Any, DayHoursInput] = {}


@attrs.frozen(kw_only=True, init=False)
class Calendar:
    """When a team is open, in its own time zone, and arithmetic on open time.

    :param name: how the policy names the calendar.
    :param zone: an IANA time zone name, e.g. ``"Europe/London"``.
    :param hours: each weekday's open windows in local wall time, e.g.
        ``{MONDAY: ("09:00-12:00", "13:00-17:00")}``; a weekday not given is closed. A
        window may end at ``24:00``; windows of consecutive days that meet at midnight are
        one opening.
    :param holidays: local dates on which the calendar is closed: a mapping of dates to
        names, or dates (``datetime.date`` or ``"YYYY-MM-DD"``).
    :param closures: local dates with windows during which the calendar is closed (a
        partial day), e.g. ``{date(2025, 12, 24): ("12:00-24:00",)}``.
    :param open_days: local dates with their own windows, replacing the weekday's hours and
        any holiday on that date (a Saturday opening, a holiday worked).
    :param sources: where generated holidays came from (see :meth:`with_holidays`).

    A date's hours are its open day's windows if it has one, else none on a holiday, else its
    weekday's; its closures are then taken out. A calendar with no open hours on any weekday
    and no open day is refused.
    """

    name: str
    zone: str
    hours: tuple[tuple[Window, ...], ...] = attrs.field(converter=_hours)
    holidays: tuple[Holiday, ...] = attrs.field(default=(), converter=_holidays)
    closures: tuple[tuple[dt.date, tuple[Window, ...]], ...] = attrs.field(
        default=(), converter=_dated_hours
    )
    open_days: tuple[tuple[dt.date, tuple[Window, ...]], ...] = attrs.field(
        default=(), converter=_dated_hours
    )
    sources: tuple[HolidaySource, ...] = attrs.field(default=(), converter=_sources)

    _tz: zoneinfo.ZoneInfo = attrs.field(init=False, eq=False, repr=False)
    _zone_data: str = attrs.field(init=False, eq=False, repr=False)
    _identity: str = attrs.field(init=False, eq=False, repr=False)
    _holiday_dates: frozenset[dt.date] = attrs.field(init=False, eq=False, repr=False)
    _closed: dict[dt.date, tuple[Window, ...]] = attrs.field(init=False, eq=False, repr=False)
    _opened: dict[dt.date, tuple[Window, ...]] = attrs.field(init=False, eq=False, repr=False)
    _special: tuple[dt.date, ...] = attrs.field(init=False, eq=False, repr=False)
    _weekly: dt.timedelta = attrs.field(init=False, eq=False, repr=False)
    _days: dict[dt.date, _Day] = attrs.field(init=False, eq=False, repr=False)
    _weeks: dict[tuple[dt.date, int], tuple[dt.datetime, int, int]] = attrs.field(
        init=False, eq=False, repr=False
    )

    def __init__(
        self,
        *,
        name: str,
        zone: str,
        hours: Mapping[Any, DayHoursInput] = _NO_HOURS,
        holidays: HolidaysInput = (),
        closures: DatedHoursInput = (),
        open_days: DatedHoursInput = (),
        sources: Iterable[HolidaySource] = (),
    ) -> None:
        if not isinstance(name, str) or not name:
            raise PolicyDefinitionError(f"a calendar needs a name, not {describe(name)}")
        try:
            self.__attrs_init__(
                name=name,
                zone=zone,
                hours=hours,
                holidays=holidays,
                closures=closures,
                open_days=open_days,
                sources=sources,
            )
        except PolicyDefinitionError:
            raise
        except (ValueError, TypeError) as error:
            raise PolicyDefinitionError(f"calendar {name!r}: {error}") from None

    def __attrs_post_init__(self) -> None:
        try:
            tz, data = _load_zone(self.zone)
        except ValueError as error:
            raise PolicyDefinitionError(f"calendar {self.name!r}: {error}") from None
        setattr_ = object.__setattr__
        setattr_(self, "_tz", tz)
        setattr_(self, "_zone_data", data)
        setattr_(self, "_holiday_dates", frozenset(h.date for h in self.holidays))
        setattr_(self, "_closed", dict(self.closures))
        setattr_(self, "_opened", dict(self.open_days))
        special = set(self._holiday_dates).union(self._closed, self._opened)
        setattr_(self, "_special", tuple(sorted(special)))
        weekly = sum((w.end - w.start for day in self.hours for w in day), 0)
        setattr_(self, "_weekly", dt.timedelta(seconds=weekly))
        setattr_(self, "_days", {})
        setattr_(self, "_weeks", {})
        if not weekly and not any(
            _subtract([(w.start, w.end) for w in windows], self._closed.get(day, ()))
            for day, windows in self.open_days
        ):
            raise PolicyDefinitionError(
                f"calendar {self.name!r} is never open: give open hours to a weekday"
                " or add an open day"
            )
        text = json.dumps(self.document(), sort_keys=True, separators=(",", ":"))
        setattr_(self, "_identity", "sha256:" + sha256_hex(text.encode()))

    # -------------------------------------------------------------------- declaring
    @classmethod
    def weekdays(
        cls,
        opens: str,
        closes: str,
        *,
        name: str,
        zone: str,
        holidays: HolidaysInput = (),
    ) -> "Calendar":
        """A calendar open Monday to Friday from ``opens`` to ``closes`` local time."""
        window = f"{opens}-{closes}"
        return cls(
            name=name,
            zone=zone,
            hours={day: (window,) for day in Weekday if day < SATURDAY},
            holidays=holidays,
        )

    @classmethod
    def always(cls, name: str = "24x7") -> "Calendar":
        """Calendar time: open at every instant, in UTC."""
        return cls(name=name, zone="UTC", hours=dict.fromkeys(Weekday, ("00:00-24:00",)))

    def in_zone(self, zone: str) -> "Calendar":
        """This calendar's hours, holidays and dates read in another time zone (a customer's),
        named ``NAME@ZONE``."""
        return attrs.evolve(self, name=f"{self.name}@{zone}", zone=zone)

    def with_holidays(
        self,
        *,
        country: str,
        subdivision: str | None,
        years: Iterable[int],
        categories: Iterable[str],
        observed: bool = True,
    ) -> "Calendar":
        """This calendar with the holidays :func:`holidays_from` generates added as plain
        dates, and their source recorded. A date that is already a holiday keeps its name."""
        generated = holidays_from(
            country,
            subdivision=subdivision,
            years=years,
            categories=categories,
            observed=observed,
        )
        known = {holiday.date for holiday in self.holidays}
        added = [holiday for holiday in generated.holidays if holiday.date not in known]
        return attrs.evolve(
            self,
            holidays=(*self.holidays, *added),
            sources=(*self.sources, generated.source),
        )

    # -------------------------------------------------------------------- what it is
    @property
    def identity(self) -> str:
        """``sha256:`` and the SHA-256 of :meth:`document`: the same for the same calendar
        on any machine, another for any change to its hours, dates, names or sources."""
        return self._identity

    @property
    def zone_data(self) -> str:
        """The zone data this calendar's zone was read from: ``tzdata`` and its IANA version,
        or ``host``. Not part of the identity: record it beside results."""
        return self._zone_data

    @property
    def tzinfo(self) -> dt.tzinfo:
        """The calendar's time zone, for showing its instants in local time."""
        return self._tz

    def document(self) -> dict[str, Any]:
        """The calendar as plain JSON data, in a canonical form: what its identity digests."""
        return {
            "format": FORMAT,
            "name": self.name,
            "zone": self.zone,
            "hours": {day.name.lower(): [str(w) for w in self.hours[day]] for day in Weekday},
            "holidays": [{"date": h.date.isoformat(), "name": h.name} for h in self.holidays],
            "closures": [
                {"date": day.isoformat(), "closed": [str(w) for w in windows]}
                for day, windows in self.closures
            ],
            "open_days": [
                {"date": day.isoformat(), "hours": [str(w) for w in windows]}
                for day, windows in self.open_days
            ],
            "sources": [source.document() for source in self.sources],
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> "Calendar":
        """The calendar :meth:`document` wrote (a calendar an escalation was pinned to, kept
        by a store or a snapshot): the same identity.

        :raises PolicyDefinitionError: for a document that is no calendar's.
        """
        try:
            if not isinstance(document, Mapping) or document.get("format") != FORMAT:
                raise ValueError(f"expected a calendar's document of format {FORMAT}")
            calendar = cls(
                name=document["name"],
                zone=document["zone"],
                hours={day: tuple(windows) for day, windows in document["hours"].items()},
                holidays=[(item["date"], item["name"]) for item in document["holidays"]],
                closures=[(item["date"], tuple(item["closed"])) for item in document["closures"]],
                open_days=[(item["date"], tuple(item["hours"])) for item in document["open_days"]],
                sources=[
                    HolidaySource(
                        country=item["country"],
                        subdivision=item["subdivision"],
                        categories=tuple(item["categories"]),
                        years=tuple(item["years"]),
                        observed=item["observed"],
                        package=item["package"],
                        version=item["version"],
                    )
                    for item in document["sources"]
                ],
            )
        except PolicyDefinitionError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise PolicyDefinitionError(
                f"not a calendar's document ({type(error).__name__}: {error})"
            ) from None
        return calendar

    # -------------------------------------------------------------------- local dates
    def _local(self, day: dt.date, seconds: int) -> dt.datetime:
        """The instant a local time names: the first at which the wall clock reads it or
        later (a skipped time: the end of the gap; a repeated one: its first occurrence)."""
        if seconds == _SECONDS_A_DAY:
            day, seconds = day + _DAY, 0
        wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
        instant = wall.replace(tzinfo=self._tz).astimezone(UTC)
        if instant.astimezone(self._tz).replace(tzinfo=None) == wall:
            return instant
        # In a gap: fold=0 reads the wall time with the offset before the gap (an instant
        # after it), fold=1 with the offset after it (an instant before it).
        before = wall.replace(tzinfo=self._tz, fold=1).astimezone(UTC)
        after = instant
        if before > after:
            before, after = after, before
        first_offset = before.astimezone(self._tz).utcoffset()
        low, high = 0, (after - before) // _MICROSECOND
        while low < high:  # the first microsecond with the offset after the gap
            middle = (low + high) // 2
            probe = before + middle * _MICROSECOND
            if probe.astimezone(self._tz).utcoffset() == first_offset:
                low = middle + 1
            else:
                high = middle
        return before + low * _MICROSECOND

    def _windows_of(self, day: dt.date) -> list[tuple[int, int]]:
        opened = self._opened.get(day)
        if opened is not None:
            windows: Sequence[Window] = opened
        elif day in self._holiday_dates:
            windows = ()
        else:
            windows = self.hours[day.weekday()]
        return _subtract([(w.start, w.end) for w in windows], self._closed.get(day, ()))

    def _day(self, day: dt.date) -> _Day:
        known = self._days.get(day)
        if known is not None:
            return known
        intervals: list[tuple[dt.datetime, dt.datetime]] = []
        for start, end in self._windows_of(day):
            opens, closes = self._local(day, start), self._local(day, end)
            if opens >= closes:  # a window inside a gap
                continue
            if intervals and opens <= intervals[-1][1]:
                intervals[-1] = (intervals[-1][0], max(closes, intervals[-1][1]))
            else:
                intervals.append((opens, closes))
        found = _Day(self._local(day, 0), self._local(day + _DAY, 0), tuple(intervals))
        if len(self._days) > 8192:
            self._days.clear()
        self._days[day] = found
        return found

    def _date_of(self, instant: dt.datetime) -> dt.date:
        day = instant.astimezone(self._tz).date()
        bounds = self._day(day)
        if instant < bounds.start:
            return day - _DAY
        if instant >= bounds.end:
            return day + _DAY
        return day

    def _plain_week(self, monday: dt.date) -> bool:
        """Whether the local week from ``monday`` has exactly the weekly hours: no holiday,
        closure or open day, and one UTC offset throughout."""
        at = bisect.bisect_left(self._special, monday)
        if at < len(self._special) and self._special[at] < monday + _WEEK:
            return False
        midnight = dt.datetime.combine(monday, dt.time())
        offset = self._tz.utcoffset(midnight)
        return all(self._tz.utcoffset(midnight + k * _DAY) == offset for k in range(1, 8))

    def _horizon_error(self, after: dt.datetime) -> PolicyDefinitionError:
        return PolicyDefinitionError(
            f"calendar {self.name!r} has no open time within {HORIZON_DAYS} days"
            f" after {after.isoformat()}"
        )

    def open_intervals(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """The open intervals of a local date, as UTC instants ``[start, end)``, in order."""
        return self._day(_date(day)).intervals

    def day_of(self, instant: dt.datetime) -> dt.date:
        """The local date that ``instant`` falls on (within the date's bounds)."""
        return self._date_of(_instant(instant, "instant"))

    def start_of_day(self, day: dt.date) -> dt.datetime:
        """The instant a local date begins: its ``00:00``, or the end of a gap over it."""
        return self._day(_date(day)).start

    # -------------------------------------------------------------------- open and closed
    def open_at(self, instant: dt.datetime) -> bool:
        """Whether the calendar is open at ``instant`` (an opening's start is open, its end
        is not)."""
        at = _instant(instant, "instant")
        return any(s <= at < e for s, e in self._day(self._date_of(at)).intervals)

    def next_open(self, instant: dt.datetime) -> dt.datetime:
        """``instant`` if the calendar is open then, else the next instant it opens."""
        at = _instant(instant, "instant")
        return self._next_open(at)

    def _next_open(self, at: dt.datetime) -> dt.datetime:
        day = self._date_of(at)
        for _ in range(HORIZON_DAYS + 1):
            for start, end in self._day(day).intervals:
                if end > at:
                    return max(start, at)
            day += _DAY
        raise self._horizon_error(at)

    def next_close(self, instant: dt.datetime) -> dt.datetime | None:
        """The next instant after ``instant`` at which the calendar closes: the end of the
        opening ``instant`` is in, or of the next one. ``None`` if it stays open for
        :data:`HORIZON_DAYS` days (a 24x7 calendar never closes)."""
        at = _instant(instant, "instant")
        opens = self._next_open(at)
        day = self._date_of(opens)
        closes: dt.datetime | None = None
        for _ in range(HORIZON_DAYS + 1):
            for start, end in self._day(day).intervals:
                if end <= opens:
                    continue
                if closes is not None and start > closes:
                    return closes
                closes = end
            if closes is not None and closes < self._day(day).end:
                return closes
            day += _DAY
        return None

    # -------------------------------------------------------------------- durations
    def add(
        self,
        start: dt.datetime,
        duration: dt.timedelta,
        *,
        paused: Iterable[tuple[dt.datetime, dt.datetime]] = (),
    ) -> dt.datetime:
        """The first instant at which ``duration`` of open time has elapsed since ``start``.

        Outside open hours, counting starts at the next opening; a duration that runs out at
        a closing ends there (not at the next opening). A zero duration is ``start`` itself.
        Open time within the ``paused`` intervals does not count, so pausing never brings
        the instant earlier. The work is bounded by the number of weeks, not of minutes.

        :raises PolicyDefinitionError: when no open time is found within
            :data:`HORIZON_DAYS` consecutive days.
        """
        at = _instant(start, "start")
        remaining = _duration(duration)
        pauses = _pauses(paused)
        if not remaining:
            return at
        cursor = at
        for pause_start, pause_end in pauses:
            if pause_end <= cursor:
                continue
            if pause_start > cursor:
                candidate = self._add(cursor, remaining)
                if candidate <= pause_start:
                    return candidate
                remaining -= self._elapsed(cursor, pause_start)
            cursor = pause_end
        return self._add(cursor, remaining)

    def _add(self, at: dt.datetime, remaining: dt.timedelta) -> dt.datetime:
        if not remaining:
            return at
        first = day = self._date_of(at)
        idle = 0
        while True:
            if (
                day != first
                and day.weekday() == MONDAY
                and remaining > self._weekly > _ZERO
                and self._plain_week(day)
            ):
                remaining -= self._weekly
                day += _WEEK
                idle = 0
                continue
            intervals = self._day(day).intervals
            for opens, closes in intervals:
                if closes <= at:
                    continue
                opens = max(opens, at)
                if remaining <= closes - opens:
                    return opens + remaining
                remaining -= closes - opens
            idle = 0 if intervals else idle + 1
            if idle > HORIZON_DAYS:
                raise self._horizon_error(at)
            day += _DAY

    def subtract(self, end: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The last instant at or before ``end`` from which ``duration`` of open time is left
        until ``end``: when to remind someone who needs that much working time before a due
        time. It is open or an opening's start, never in closed hours (a lead of one open hour
        before Monday 10:00 on a 09:00 to 17:00 calendar is Monday 09:00, not Friday 17:00).
        A zero duration is ``end`` itself.

        :raises PolicyDefinitionError: when no open time is found within
            :data:`HORIZON_DAYS` consecutive days before ``end``.
        """
        at = _instant(end, "end")
        remaining = _duration(duration)
        if not remaining:
            return at
        day = self._date_of(at)
        idle = 0
        while True:
            intervals = self._day(day).intervals
            for opens, closes in reversed(intervals):
                if opens >= at:
                    continue
                closes = min(closes, at)
                if remaining <= closes - opens:
                    return closes - remaining
                remaining -= closes - opens
            idle = 0 if intervals else idle + 1
            if idle > HORIZON_DAYS:
                raise self._horizon_error(at)
            day -= _DAY

    def elapsed(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        paused: Iterable[tuple[dt.datetime, dt.datetime]] = (),
    ) -> dt.timedelta:
        """The open time between ``start`` and ``end``, less the open time within the
        ``paused`` intervals.

        :raises InputError: when ``end`` is before ``start``.
        """
        since, until = _instant(start, "start"), _instant(end, "end")
        if until < since:
            raise InputError(f"end {until.isoformat()} is before start {since.isoformat()}")
        total = self._elapsed(since, until)
        for pause_start, pause_end in _pauses(paused):
            low, high = max(pause_start, since), min(pause_end, until)
            if low < high:
                total -= self._elapsed(low, high)
        return total

    def _elapsed(self, since: dt.datetime, until: dt.datetime) -> dt.timedelta:
        total = _ZERO
        first = day = self._date_of(since)
        while True:
            if (
                day != first
                and day.weekday() == MONDAY
                and self._plain_week(day)
                and self._day(day + _WEEK).start <= until
            ):
                total += self._weekly
                day += _WEEK
                continue
            found = self._day(day)
            if found.start >= until:
                return total
            for opens, closes in found.intervals:
                low, high = max(opens, since), min(closes, until)
                if low < high:
                    total += high - low
            day += _DAY

    # -------------------------------------------------------------------- business days
    def is_business_day(self, day: dt.date) -> bool:
        """Whether the calendar is open at some time of a local date."""
        return bool(self._day(_date(day)).intervals)

    def business_day_of(self, instant: dt.datetime) -> dt.date:
        """The business day that ``instant`` counts towards: its local date if the calendar
        is open later that date (or at ``instant``), else the next business day."""
        at = _instant(instant, "instant")
        day = self._date_of(at)
        for _ in range(HORIZON_DAYS + 1):
            intervals = self._day(day).intervals
            if intervals and intervals[-1][1] > at:
                return day
            day += _DAY
        raise self._horizon_error(at)

    def business_days_after(self, day: dt.date, count: int) -> dt.date:
        """The ``count``-th business day after ``day``; for 0, ``day`` itself if it is a
        business day, else the next business day."""
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise InputError(f"count must be an integer >= 0, not {describe(count)}")
        current = _date(day)
        idle = 0
        while True:
            if self._day(current).intervals:
                if not count:
                    return current
                count -= 1
                idle = 0
            else:
                idle += 1
                if idle > HORIZON_DAYS:
                    raise self._horizon_error(self._day(current).start)
            current += _DAY

    def business_day_end(self, day: dt.date) -> dt.datetime:
        """The last close of a business day (of its local date).

        :raises InputError: when the calendar is not open that date.
        """
        intervals = self._day(_date(day)).intervals
        if not intervals:
            raise InputError(f"{day} is not a business day of calendar {self.name!r}")
        return intervals[-1][1]

    def end_of_business_day(self, instant: dt.datetime) -> dt.datetime:
        """The last close of the business day ``instant`` counts towards (see
        :meth:`business_day_of`): "by the end of the business day"."""
        return self.business_day_end(self.business_day_of(instant))

    def next_business_day_end(self, instant: dt.datetime, count: int) -> dt.datetime:
        """The last close of the ``count``-th business day after the one ``instant`` counts
        towards: "every ``count`` business days". For 0, :meth:`end_of_business_day`."""
        return self.business_day_end(self.business_days_after(self.business_day_of(instant), count))

    # -------------------------------------------------------------------- weeks
    def week_of(self, instant: dt.datetime) -> tuple[int, int]:
        """The ISO year and week of the local date ``instant`` falls on."""
        year, week, _ = self.day_of(instant).isocalendar()
        return year, week

    def week_start(self, instant: dt.datetime) -> dt.datetime:
        """The instant the local ISO week of ``instant`` begins (its Monday's start)."""
        day = self.day_of(instant)
        return self._day(day - dt.timedelta(days=day.weekday())).start

    def week_end(self, instant: dt.datetime) -> dt.datetime:
        """The instant the local ISO week of ``instant`` ends: the next Monday's start."""
        day = self.day_of(instant)
        return self._day(day + dt.timedelta(days=7 - day.weekday())).start

    def _weeks_from(self, day: dt.date, weeks: int) -> tuple[dt.datetime, int, int]:
        """The run of ``weeks`` local ISO weeks from the week of the local date ``day``: the
        instant it ends (the next Monday's start, as :meth:`week_end` gives it), how many
        business days it holds, and how many of them come after ``day``. Kept for each date
        and number of weeks (a bounded number of them): every opening of a weekly
        obligation asks for its start's date."""
        key = (day, weeks)
        known = self._weeks.get(key)
        if known is None:
            monday = day - dt.timedelta(days=day.weekday())
            end = monday + weeks * _WEEK
            total = after = 0
            current = monday
            while current < end:
                if self._day(current).intervals:
                    total += 1
                    if current > day:
                        after += 1
                current += _DAY
            known = (self._day(end).start, total, after)
            if len(self._weeks) > 4096:
                self._weeks.clear()
            self._weeks[key] = known
        return known

    def business_days(self, start: dt.date, end: dt.date) -> Iterator[dt.date]:
        """The business days from ``start`` to ``end`` (both local dates, inclusive)."""
        current, last = _date(start), _date(end)
        while current <= last:
            if self._day(current).intervals:
                yield current
            current += _DAY


# ------------------------------------------------------------------------------ holidays
