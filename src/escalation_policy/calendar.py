"""Business calendars: when a team is open, and arithmetic on open time.

A :class:`Calendar` is policy data: a time zone, open hours for each weekday, holidays, partial
closures and extra open days, all written in the calendar's local wall time. Its arithmetic
takes and returns UTC instants, exact to the microsecond:

- :meth:`Calendar.add` says when a duration of open time has elapsed from an instant, and
  :meth:`Calendar.elapsed` how much open time lies between two instants; both may be given
  paused intervals, which count only where they overlap open time.
- :meth:`Calendar.end_of_business_day`, :meth:`Calendar.next_business_day_end` and
  :meth:`Calendar.week_end` give the cadences people recognise ("by the end of each business
  day", "every N business days", "each calendar week").

**Local times to instants.** A local time on a local date names the first instant at which
the calendar's wall clock reads that time or later. A time that exists once is that instant;
a time skipped by a change of offset (a DST gap) is the instant the clock skips to, the end of
the gap; a time shown twice (a DST fold) is its first occurrence. ``24:00`` is the next date's
``00:00``, and a date's bounds are its ``00:00`` and the next date's ``00:00`` under the same
rule, so a date whose midnight does not exist still starts and ends somewhere.

**Zone data.** Zones are read from the ``tzdata`` package (a dependency) rather than from the
host, so that every host with the same ``tzdata`` version computes the same instants; a zone
it lacks is read from the host. :attr:`Calendar.zone_data` records which data was used.

The module does no I/O but reading zone data, and has no clock: time arrives as arguments.
"""

import bisect
import datetime as dt
import enum
import hashlib
import importlib
import importlib.metadata
import importlib.resources
import json
import re
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy.errors import InputError, PolicyDefinitionError, describe, did_you_mean

__all__ = [
    "FRIDAY",
    "HORIZON_DAYS",
    "MONDAY",
    "SATURDAY",
    "SUNDAY",
    "THURSDAY",
    "TUESDAY",
    "WEDNESDAY",
    "Calendar",
    "GeneratedHolidays",
    "Holiday",
    "HolidaySource",
    "Weekday",
    "Window",
    "holidays_from",
    "zone_data",
]

UTC = dt.timezone.utc
HORIZON_DAYS = 366
"""How far the calendar looks for open time: a search that finds none within this many
consecutive local days is an error, never an endless loop."""

FORMAT = 1
"""The version of :meth:`Calendar.document`'s form: part of what a calendar's identity
digests, so that a new form never gives an old calendar's identity to another calendar."""

_DAY = dt.timedelta(days=1)
_WEEK = dt.timedelta(days=7)
_ZERO = dt.timedelta(0)
_SECONDS_A_DAY = 86_400
_MICROSECOND = dt.timedelta(microseconds=1)


class Weekday(enum.IntEnum):
    """A day of the week, numbered as :meth:`datetime.date.weekday` numbers it."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


MONDAY = Weekday.MONDAY
TUESDAY = Weekday.TUESDAY
WEDNESDAY = Weekday.WEDNESDAY
THURSDAY = Weekday.THURSDAY
FRIDAY = Weekday.FRIDAY
SATURDAY = Weekday.SATURDAY
SUNDAY = Weekday.SUNDAY

_TIME = re.compile(r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?")
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")


def _parse_time(text: str) -> int:
    """Seconds since local midnight of ``HH:MM`` or ``HH:MM:SS`` (``24:00`` is 86,400)."""
    found = _TIME.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"{describe(text)} is not a time of day: write HH:MM or HH:MM:SS")
    hour, minute = int(found["hour"]), int(found["minute"])
    second = int(found["second"] or 0)
    if minute > 59 or second > 59 or hour > 24 or (hour == 24 and (minute or second)):
        raise ValueError(f"{describe(text)} is not a time of day between 00:00 and 24:00")
    return hour * 3600 + minute * 60 + second


def _format_time(seconds: int) -> str:
    hour, rest = divmod(seconds, 3600)
    minute, second = divmod(rest, 60)
    return f"{hour:02}:{minute:02}:{second:02}" if second else f"{hour:02}:{minute:02}"


@attrs.frozen(order=True, repr=False)
class Window:
    """A span of local wall time within one date, from ``start`` to ``end`` (seconds since
    the date's midnight; ``end`` may be 86,400, which is ``24:00``). Written ``"09:00-17:00"``."""

    start: int
    end: int

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.start < self.end <= _SECONDS_A_DAY:
            raise ValueError(
                f"a window must start before it ends, within 00:00 to 24:00, not {self}"
            )

    @classmethod
    def parse(cls, value: "WindowInput") -> "Window":
        """A window from ``"09:00-17:00"``, a pair ``("09:00", "17:00")`` or a window."""
        if isinstance(value, Window):
            return value
        if isinstance(value, str):
            parts = value.split("-")
            if len(parts) != 2:
                raise ValueError(
                    f"{describe(value)} is not a window: write 'HH:MM-HH:MM', e.g. '09:00-17:00'"
                )
            start, end = parts
        elif (
            isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value)
        ):
            start, end = value
        else:
            raise ValueError(
                f"{describe(value)} is not a window: write 'HH:MM-HH:MM' or ('HH:MM', 'HH:MM')"
            )
        return cls(_parse_time(start), _parse_time(end))

    def __str__(self) -> str:
        return f"{_format_time(self.start)}-{_format_time(self.end)}"

    def __repr__(self) -> str:
        return f"Window.parse({str(self)!r})"


WindowInput = str | tuple[str, str] | Window
DayHoursInput = str | Iterable[WindowInput]
"""One date's windows: ``"09:00-12:00, 13:00-17:00"`` or a sequence of windows."""
DateInput = dt.date | str


@attrs.frozen(order=True)
class Holiday:
    """A local date on which the calendar is closed (unless an open day says otherwise)."""

    date: dt.date
    name: str = ""


@attrs.frozen
class HolidaySource:
    """Where generated holidays came from: the ``holidays`` package's version and the
    country, subdivision, categories and years chosen. Part of the calendar's identity."""

    country: str
    subdivision: str | None
    categories: tuple[str, ...]
    years: tuple[int, ...]
    observed: bool
    package: str
    version: str

    def document(self) -> dict[str, Any]:
        """The source as plain JSON data."""
        return {
            "package": self.package,
            "version": self.version,
            "country": self.country,
            "subdivision": self.subdivision,
            "categories": list(self.categories),
            "years": list(self.years),
            "observed": self.observed,
        }


@attrs.frozen
class GeneratedHolidays:
    """Holidays generated by :func:`holidays_from`: plain dates, and where they came from."""

    holidays: tuple[Holiday, ...]
    source: HolidaySource


# ------------------------------------------------------------------------------ converters
def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError(f"{describe(value)} is an instant: a calendar's days are local dates")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{describe(value)} is not a date: write a datetime.date or 'YYYY-MM-DD'")


def _windows(value: DayHoursInput) -> tuple[Window, ...]:
    """A date's windows, sorted, adjacent ones joined; overlapping ones are an error."""
    items: Iterable[WindowInput]
    if isinstance(value, str):
        items = [part for part in value.split(",") if part.strip()]
    elif (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, str) and "-" not in v for v in value)
    ):
        raise ValueError(
            f"{describe(value)} is one window: a day's hours are a sequence of windows,"
            f" write ({value!r},)"
        )
    else:
        items = value
    windows = sorted(Window.parse(item) for item in items)
    joined: list[Window] = []
    for window in windows:
        if joined and window.start < joined[-1].end:
            raise ValueError(f"windows {joined[-1]} and {window} overlap")
        if joined and window.start == joined[-1].end:
            joined[-1] = Window(joined[-1].start, window.end)
        else:
            joined.append(window)
    return tuple(joined)


def _weekday(key: object) -> Weekday:
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
        return Weekday(key)
    if isinstance(key, str) and key.upper() in Weekday.__members__:
        return Weekday[key.upper()]
    names = [day.name.lower() for day in Weekday]
    hint = did_you_mean(key.lower(), names) if isinstance(key, str) else ""
    raise ValueError(f"{describe(key)} is not a weekday{hint}: use MONDAY to SUNDAY")


def _hours(value: Mapping[Any, DayHoursInput]) -> tuple[tuple[Window, ...], ...]:
    if (
        isinstance(value, tuple)
        and len(value) == 7
        and all(isinstance(day, tuple) and all(isinstance(w, Window) for w in day) for day in value)
    ):
        return value  # already a week of windows (attrs.evolve passes it back)
    if not isinstance(value, Mapping):
        raise ValueError(f"hours must map weekdays to windows, not {describe(value)}")
    week: list[tuple[Window, ...]] = [()] * 7
    for key, windows in value.items():
        day = _weekday(key)
        if week[day]:
            raise ValueError(f"{day.name.lower()} is given twice")
        try:
            week[day] = _windows(windows)
        except ValueError as error:
            raise ValueError(f"{day.name.lower()}: {error}") from None
    return tuple(week)


HolidaysInput = Mapping[Any, str] | Iterable[Holiday | DateInput | tuple[Any, str]]
DatedHoursInput = Mapping[Any, DayHoursInput] | Iterable[tuple[Any, DayHoursInput]]


def _holidays(value: HolidaysInput) -> tuple[Holiday, ...]:
    pairs: Iterable[object] = value.items() if isinstance(value, Mapping) else value
    found: dict[dt.date, Holiday] = {}
    for item in pairs:
        if isinstance(item, Holiday):
            holiday = item
        elif isinstance(item, tuple) and len(item) == 2:
            holiday = Holiday(_date(item[0]), str(item[1]))
        else:
            holiday = Holiday(_date(item))
        if holiday.date in found:
            raise ValueError(f"holiday {holiday.date} is given twice")
        found[holiday.date] = holiday
    return tuple(sorted(found.values()))


def _dated_hours(value: DatedHoursInput) -> tuple[tuple[dt.date, tuple[Window, ...]], ...]:
    pairs = value.items() if isinstance(value, Mapping) else value
    found: dict[dt.date, tuple[Window, ...]] = {}
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(f"{describe(pair)} is not a date with its windows")
        day = _date(pair[0])
        if day in found:
            raise ValueError(f"{day} is given twice")
        try:
            found[day] = _windows(pair[1])
        except ValueError as error:
            raise ValueError(f"{day}: {error}") from None
    return tuple(sorted(found.items()))


def _sources(value: Iterable[HolidaySource]) -> tuple[HolidaySource, ...]:
    sources = tuple(value)
    for source in sources:
        if not isinstance(source, HolidaySource):
            raise ValueError(f"a holiday source is a HolidaySource, not {describe(source)}")
    return sources


def _subtract(
    windows: Sequence[tuple[int, int]], closed: Sequence[Window]
) -> list[tuple[int, int]]:
    out = list(windows)
    for cut in closed:
        kept: list[tuple[int, int]] = []
        for start, end in out:
            if cut.end <= start or end <= cut.start:
                kept.append((start, end))
                continue
            if start < cut.start:
                kept.append((start, cut.start))
            if cut.end < end:
                kept.append((cut.end, end))
        out = kept
    return out


# ------------------------------------------------------------------------------ zone data
_ZONES: dict[str, tuple[zoneinfo.ZoneInfo, str]] = {}


def _tzdata_version() -> str | None:
    try:
        package = importlib.import_module("tzdata")
    except ImportError:
        return None
    return str(package.IANA_VERSION)


def _load_zone(name: str) -> tuple[zoneinfo.ZoneInfo, str]:
    """The zone ``name`` and a word on its data: from the ``tzdata`` package if it has it,
    else from the host."""
    known = _ZONES.get(name)
    if known is not None:
        return known
    if not isinstance(name, str) or not _ZONE_NAME.fullmatch(name):
        raise ValueError(f"{describe(name)} is not an IANA time zone name")
    version = _tzdata_version()
    found: tuple[zoneinfo.ZoneInfo, str] | None = None
    if version is not None:
        resource = importlib.resources.files("tzdata.zoneinfo")
        for part in name.split("/"):
            resource = resource.joinpath(part)
        if resource.is_file():
            with resource.open("rb") as data:
                found = (zoneinfo.ZoneInfo.from_file(data, key=name), f"tzdata {version}")
    if found is None:
        try:
            found = (zoneinfo.ZoneInfo(name), "host")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            hint = did_you_mean(name, zoneinfo.available_timezones())
            raise ValueError(f"unknown time zone {name!r}{hint}") from None
    _ZONES[name] = found
    return found


def zone_data() -> str:
    """The zone data calendars read: ``tzdata`` and its IANA version (e.g. ``tzdata
    2025b``), or ``host`` when the ``tzdata`` package is missing. Record it beside results:
    two versions may disagree after a change of a country's time law."""
    version = _tzdata_version()
    return f"tzdata {version}" if version is not None else "host"


# ------------------------------------------------------------------------------ arguments
def _instant(value: object, what: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise InputError(f"{what} must be a datetime, not {describe(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(
            f"{what} {value.isoformat()} has no time zone: give a timezone-aware instant"
        )
    return value.astimezone(UTC)


def _duration(value: object) -> dt.timedelta:
    if not isinstance(value, dt.timedelta):
        raise InputError(f"duration must be a timedelta, not {describe(value)}")
    if value < _ZERO:
        raise InputError(f"duration {value} is negative: a duration of open time is >= 0")
    return value


def _pauses(
    value: Iterable[tuple[dt.datetime, dt.datetime]],
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The paused intervals, sorted and merged where they overlap or touch."""
    spans: list[tuple[dt.datetime, dt.datetime]] = []
    for pair in value:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise InputError(f"a paused interval is a pair (start, end), not {describe(pair)}")
        start, end = _instant(pair[0], "paused start"), _instant(pair[1], "paused end")
        if end < start:
            raise InputError(f"paused interval ends ({end}) before it starts ({start})")
        spans.append((start, end))
    spans.sort()
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


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
        if not weekly and not any(
            _subtract([(w.start, w.end) for w in windows], self._closed.get(day, ()))
            for day, windows in self.open_days
        ):
            raise PolicyDefinitionError(
                f"calendar {self.name!r} is never open: give open hours to a weekday"
                " or add an open day"
            )
        text = json.dumps(self.document(), sort_keys=True, separators=(",", ":"))
        setattr_(self, "_identity", "sha256:" + hashlib.sha256(text.encode()).hexdigest())

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
        if instant < self._day(day).start:
            return day - _DAY
        if instant >= self._day(day).end:
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

    def business_days(self, start: dt.date, end: dt.date) -> Iterator[dt.date]:
        """The business days from ``start`` to ``end`` (both local dates, inclusive)."""
        current, last = _date(start), _date(end)
        while current <= last:
            if self._day(current).intervals:
                yield current
            current += _DAY


# ------------------------------------------------------------------------------ holidays
def holidays_from(
    country: str,
    *,
    subdivision: str | None,
    years: Iterable[int],
    categories: Iterable[str],
    observed: bool = True,
) -> GeneratedHolidays:
    """Holidays from the ``holidays`` package (the ``[holidays]`` extra), as plain dates.

    Country, subdivision (``None`` for the country's own holidays only) and categories
    (e.g. ``("public",)``) are chosen explicitly: a default feed that includes regional
    observances stretches deadlines by days. ``observed`` adds the days a holiday is
    observed on when it falls on a weekend. The package's version is recorded in the
    source: future dates of lunar holidays are estimates that change between versions.

    :raises PolicyDefinitionError: for an unknown country, subdivision or category, or when
        the package is not installed.
    """
    try:
        import holidays as package
    except ImportError:
        raise PolicyDefinitionError(
            "generating holidays needs the holidays package: install escalation-policy[holidays]"
        ) from None
    chosen_years = tuple(sorted(set(years)))
    chosen_categories = tuple(
        sorted(set([categories] if isinstance(categories, str) else categories))
    )
    if not chosen_years:
        raise PolicyDefinitionError("holidays_from needs at least one year")
    if not chosen_categories:
        raise PolicyDefinitionError("holidays_from needs at least one category, e.g. 'public'")
    supported = package.list_supported_countries()
    if country not in supported:
        hint = did_you_mean(country, supported)
        raise PolicyDefinitionError(f"the holidays package has no country {country!r}{hint}")
    subdivisions = supported[country]
    if subdivision is not None and subdivision not in subdivisions:
        hint = did_you_mean(subdivision, subdivisions)
        raise PolicyDefinitionError(
            f"the holidays package has no subdivision {subdivision!r} of {country}{hint}"
        )
    try:
        generated = package.country_holidays(
            country,
            subdiv=subdivision,
            years=chosen_years,
            categories=chosen_categories,
            observed=observed,
        )
    except (NotImplementedError, ValueError) as error:
        raise PolicyDefinitionError(f"holidays for {country}: {error}") from None
    found = tuple(
        Holiday(day, name) for day, name in sorted(generated.items()) if day.year in chosen_years
    )
    source = HolidaySource(
        country=country,
        subdivision=subdivision,
        categories=chosen_categories,
        years=chosen_years,
        observed=observed,
        package="holidays",
        version=importlib.metadata.version("holidays"),
    )
    return GeneratedHolidays(found, source)
