"""What a calendar is declared with: weekdays, windows of open hours, holidays, and the
checks and conversions of what a policy writes; reading zone data."""

import datetime as dt
import enum
import importlib
import os
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

import attrs

from escalation_policy.errors import InputError, describe, did_you_mean

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

_TIME = re.compile(r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?")
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


def _tzdata_file(name: str) -> IO[bytes] | None:
    """The ``tzdata`` package's file of the zone ``name``, open, or ``None`` if it has none.
    A package on disk is read as files (``importlib.resources`` costs a start-up more than
    the rest of a calendar); one in an archive through ``importlib.resources``."""
    package = importlib.import_module("tzdata")
    origin = package.__spec__.origin if package.__spec__ is not None else None
    if origin is not None and os.path.isfile(origin):
        path = os.path.join(os.path.dirname(origin), "zoneinfo", *name.split("/"))
        return open(path, "rb") if os.path.isfile(path) else None
    from importlib import resources

    resource = resources.files("tzdata.zoneinfo")
    for part in name.split("/"):
        resource = resource.joinpath(part)
    return resource.open("rb") if resource.is_file() else None


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
        data = _tzdata_file(name)
        if data is not None:
            with data:
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
