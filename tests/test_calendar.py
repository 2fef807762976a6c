"""Calendars: open hours in a zone, and arithmetic on open time that is exact to the
microsecond, correct across DST and historic zone changes, and bounded in its work.

Example tables follow the pitfalls of ``shared/business-time.md`` that concern calendars;
hypothesis properties check the arithmetic over zones with unusual rules.
"""

import datetime as dt
import importlib
import importlib.metadata
import json
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from escalation_policy.calendar import (
    FRIDAY,
    HORIZON_DAYS,
    MONDAY,
    SATURDAY,
    SUNDAY,
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    Calendar,
    Holiday,
    HolidaySource,
    Weekday,
    Window,
    holidays_from,
    zone_data,
)
from escalation_policy.errors import InputError, PolicyDefinitionError

UTC = dt.timezone.utc
H = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
MICROSECOND = dt.timedelta(microseconds=1)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NEW_YORK = Calendar.weekdays("09:00", "17:00", name="support-us", zone="America/New_York")


def utc(*fields: int) -> dt.datetime:
    return dt.datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


def local(zone: str, *fields: int, fold: int = 0) -> dt.datetime:
    """A wall time in ``zone`` as a UTC instant (``fold=1``: the later of a repeated time)."""
    wall = dt.datetime(*fields, tzinfo=ZoneInfo(zone), fold=fold)  # type: ignore[misc]
    return wall.astimezone(UTC)


# ------------------------------------------------------------------------------ strategies
ZONES = [
    "America/New_York",
    "Europe/London",
    "America/Sao_Paulo",  # DST began at 00:00 until 2019: some midnights did not exist
    "Australia/Lord_Howe",  # a 30-minute DST
    "Asia/Kolkata",  # +05:30, no DST
    "Pacific/Chatham",  # +12:45 / +13:45, changes at 02:45
    "UTC",
]
# Every zone above changes offset at least twice in this span (Sao Paulo's last DST ended in
# February 2019).
EARLIEST = dt.datetime(2017, 9, 1)
LATEST = dt.datetime(2019, 5, 1)


@st.composite
def day_windows(draw: st.DrawFn) -> tuple[str, ...]:
    """0 to 3 windows on quarter hours (so that they meet the zones' changes at 00:00,
    01:30, 02:00, 02:45...), some ending at 24:00."""
    marks = draw(st.lists(st.integers(0, 96), min_size=0, max_size=6, unique=True))
    marks = sorted(marks)[: len(marks) // 2 * 2]
    return tuple(f"{_quarter(marks[i])}-{_quarter(marks[i + 1])}" for i in range(0, len(marks), 2))


def _quarter(mark: int) -> str:
    return f"{mark // 4:02}:{mark % 4 * 15:02}"


dates = st.dates(EARLIEST.date(), LATEST.date() + dt.timedelta(days=200))


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    """A calendar in one of :data:`ZONES` with random weekly hours (some open time) and
    perhaps holidays, partial closures and open days."""
    hours = {day: draw(day_windows()) for day in Weekday}
    assume(any(hours.values()))
    return Calendar(
        name="random",
        zone=draw(st.sampled_from(ZONES)),
        hours=hours,
        holidays=draw(st.lists(dates, max_size=6, unique=True)),
        closures=draw(st.dictionaries(dates, day_windows().filter(bool), max_size=3)),
        open_days=draw(st.dictionaries(dates, day_windows().filter(bool), max_size=3)),
    )


# Instants when the zones above changed offset (DST began or ended): arithmetic is tried
# near them as often as anywhere else.
CHANGES = [
    utc(2017, 10, 1, 16),  # Lord Howe, 02:00 -> 02:30
    utc(2017, 10, 15, 3),  # Sao Paulo, 00:00 -> 01:00
    utc(2017, 10, 29, 1),  # London, 02:00 -> 01:00
    utc(2017, 11, 5, 6),  # New York, 02:00 -> 01:00
    utc(2018, 2, 18, 2),  # Sao Paulo, 00:00 -> 23:00 the day before
    utc(2018, 3, 11, 7),  # New York, 02:00 -> 03:00
    utc(2018, 3, 25, 1),  # London, 01:00 -> 02:00
    utc(2018, 3, 31, 14),  # Chatham, 03:45 -> 02:45
    utc(2018, 3, 31, 15),  # Lord Howe, 02:00 -> 01:30
    utc(2018, 9, 29, 14),  # Chatham, 02:45 -> 03:45
    utc(2018, 10, 6, 15, 30),  # Lord Howe, 02:00 -> 02:30
    utc(2018, 11, 4, 3),  # Sao Paulo, 00:00 -> 01:00
]
instants = st.one_of(
    st.datetimes(EARLIEST, LATEST, timezones=st.just(UTC)),
    st.builds(
        lambda change, offset: change + offset,
        st.sampled_from(CHANGES),
        st.timedeltas(-dt.timedelta(days=3), dt.timedelta(days=1)),
    ),
)
durations = st.timedeltas(dt.timedelta(0), dt.timedelta(days=90))
small_durations = st.timedeltas(dt.timedelta(0), dt.timedelta(days=10))


@st.composite
def pauses(draw: st.DrawFn, after: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """Up to 4 paused intervals (overlapping or not) within 60 days of ``after``."""
    found = []
    for _ in range(draw(st.integers(0, 4))):
        start = after + draw(st.timedeltas(-dt.timedelta(days=5), dt.timedelta(days=60)))
        found.append((start, start + draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=9)))))
    return found


# ------------------------------------------------------------------------------ properties
@SETTINGS
@given(calendars(), instants, durations)
def test_the_open_time_from_start_to_add_is_the_duration(
    calendar: Calendar, start: dt.datetime, duration: dt.timedelta
) -> None:
    """elapsed(s, add(s, d)) == d, to the microsecond."""
    assert duration == calendar.elapsed(start, calendar.add(start, duration))


@SETTINGS
@given(calendars(), instants, small_durations, small_durations)
def test_adding_twice_is_adding_the_sum(
    calendar: Calendar, start: dt.datetime, first: dt.timedelta, second: dt.timedelta
) -> None:
    """add(add(s, a), b) == add(s, a + b)."""
    assert calendar.add(start, first + second) == calendar.add(calendar.add(start, first), second)


@SETTINGS
@given(calendars(), instants, durations, durations)
def test_a_longer_duration_never_ends_earlier(
    calendar: Calendar, start: dt.datetime, one: dt.timedelta, other: dt.timedelta
) -> None:
    shorter, longer = sorted((one, other))
    assert calendar.add(start, shorter) <= calendar.add(start, longer)


@SETTINGS
@given(calendars(), instants, durations)
def test_a_duration_ends_in_open_time_or_at_a_close_never_before_start(
    calendar: Calendar, start: dt.datetime, duration: dt.timedelta
) -> None:
    """add(s, d) >= s; for d > 0 the microsecond before the result is open time, so the
    result is within an opening or at its close (never at a later opening)."""
    end = calendar.add(start, duration)
    assert end >= start
    if duration:
        assert end - MICROSECOND >= start
        assert calendar.open_at(end - MICROSECOND)
    else:
        assert start == end


@SETTINGS
@given(calendars(), instants, durations)
def test_subtracting_leaves_exactly_the_duration_and_lands_in_open_time(
    calendar: Calendar, end: dt.datetime, duration: dt.timedelta
) -> None:
    """elapsed(subtract(e, d), e) == d; the result is open (or an opening's start), and no
    later instant leaves as much: it is when a reminder with that lead is sent."""
    start = calendar.subtract(end, duration)
    assert start <= end
    assert duration == calendar.elapsed(start, end)
    if duration:
        assert calendar.open_at(start)
        assert calendar.elapsed(start + MICROSECOND, end) < duration


@SETTINGS
@given(calendars(), instants, st.timedeltas(dt.timedelta(0), dt.timedelta(days=120)))
def test_elapsed_is_the_sum_of_each_local_dates_openings(
    calendar: Calendar, start: dt.datetime, span: dt.timedelta
) -> None:
    """The whole-week steps of elapsed agree with summing each date's open intervals."""
    end = start + span
    day = calendar.day_of(start) - dt.timedelta(days=1)
    expected = dt.timedelta(0)
    while calendar.start_of_day(day) < end:
        for opens, closes in calendar.open_intervals(day):
            expected += max(dt.timedelta(0), min(closes, end) - max(opens, start))
        day += dt.timedelta(days=1)
    assert expected == calendar.elapsed(start, end)


@SETTINGS
@given(calendars(), instants)
def test_open_at_and_next_open_agree(calendar: Calendar, instant: dt.datetime) -> None:
    opens = calendar.next_open(instant)
    assert calendar.open_at(instant) == (opens == instant)
    assert calendar.open_at(opens)
    assert not calendar.open_at(opens - MICROSECOND) or opens == instant
    closes = calendar.next_close(instant)
    assert closes is not None
    assert opens < closes
    assert not calendar.open_at(closes)
    assert calendar.elapsed(opens, closes) == closes - opens


@SETTINGS
@given(calendars(), instants)
def test_local_dates_tile_the_timeline(calendar: Calendar, instant: dt.datetime) -> None:
    """Each instant falls on one local date, whose bounds come from the zone; each date ends
    where the next begins, and its openings lie within it."""
    day = calendar.day_of(instant)
    start, end = calendar.start_of_day(day), calendar.start_of_day(day + dt.timedelta(days=1))
    assert start <= instant < end
    for opens, closes in calendar.open_intervals(day):
        assert start <= opens < closes <= end


@SETTINGS
@given(st.data(), calendars(), instants, durations)
def test_pausing_never_shortens_a_deadline(
    data: st.DataObject, calendar: Calendar, start: dt.datetime, duration: dt.timedelta
) -> None:
    """A paused clock reaches its duration no earlier, and counts exactly the unpaused
    open time."""
    paused = data.draw(pauses(start))
    due = calendar.add(start, duration, paused=paused)
    assert calendar.add(start, duration) <= due
    assert duration == calendar.elapsed(start, due, paused=paused)
    assert calendar.elapsed(start, due, paused=paused) <= calendar.elapsed(start, due)


@SETTINGS
@given(st.data(), calendars(), instants, small_durations, small_durations)
def test_a_paused_clock_adds_twice_as_it_adds_the_sum(
    data: st.DataObject,
    calendar: Calendar,
    start: dt.datetime,
    first: dt.timedelta,
    second: dt.timedelta,
) -> None:
    paused = data.draw(pauses(start))
    middle = calendar.add(start, first, paused=paused)
    assert calendar.add(start, first + second, paused=paused) == calendar.add(
        middle, second, paused=paused
    )


@SETTINGS
@given(calendars(), instants, st.integers(0, 12))
def test_business_day_ends_are_closes_in_order(
    calendar: Calendar, instant: dt.datetime, count: int
) -> None:
    """ "Every N business days" ends at a close of a business day, later for a larger N, and
    N = 0 is the end of the business day the instant counts towards."""
    end = calendar.next_business_day_end(instant, count)
    assert end > instant
    assert calendar.open_at(end - MICROSECOND)
    assert not calendar.open_at(end) or calendar.start_of_day(calendar.day_of(end)) == end
    assert calendar.end_of_business_day(instant) == calendar.next_business_day_end(instant, 0)
    assert end < calendar.next_business_day_end(instant, count + 1)


@SETTINGS
@given(calendars(), instants)
def test_a_local_week_runs_from_monday_to_monday(calendar: Calendar, instant: dt.datetime) -> None:
    start, end = calendar.week_start(instant), calendar.week_end(instant)
    assert start <= instant < end
    assert calendar.day_of(start).weekday() == MONDAY
    assert calendar.day_of(end).weekday() == MONDAY
    assert (
        calendar.week_of(instant) == calendar.week_of(start) == calendar.week_of(end - MICROSECOND)
    )
    assert calendar.week_of(end) != calendar.week_of(instant)


# ------------------------------------------------------------------------------ declaring
def test_a_calendar_is_declared_with_readable_hours() -> None:
    """Windows are written 'HH:MM-HH:MM', several a day, as strings or pairs; weekdays by
    constant or name; adjacent windows join."""
    calendar = Calendar(
        name="support-eu",
        zone="Europe/Berlin",
        hours={
            MONDAY: ("08:00-12:00", "13:00-17:00"),
            "tuesday": "08:00-12:00, 12:00-17:00",
            WEDNESDAY: (("08:00", "17:00"),),
            SATURDAY: ("22:00-24:00",),
        },
    )
    assert (Window(8 * 3600, 12 * 3600), Window(13 * 3600, 17 * 3600)) == calendar.hours[MONDAY]
    assert ["08:00-17:00"] == calendar.document()["hours"]["tuesday"]
    assert ["22:00-24:00"] == calendar.document()["hours"]["saturday"]
    assert () == calendar.hours[SUNDAY]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"zone": "Europe/Londn"},
            "calendar 'x': unknown time zone 'Europe/Londn' (did you mean 'Europe/London'?)",
            id="unknown-zone",
        ),
        pytest.param({"zone": "../etc/passwd"}, "is not an IANA time zone name", id="zone-path"),
        pytest.param(
            {"hours": {"mnday": "09:00-17:00"}}, "(did you mean 'monday'?)", id="weekday-typo"
        ),
        pytest.param({"hours": {MONDAY: "9-17"}}, "monday: '9' is not a time of day", id="time"),
        pytest.param(
            {"hours": {MONDAY: "\u0660\u0669:00-17:00"}},
            "monday: '\u0660\u0669:00' is not a time of day",
            id="Arabic-Indic digits",
        ),
        pytest.param(
            {"hours": {MONDAY: "17:00-09:00"}}, "must start before it ends", id="backwards"
        ),
        pytest.param({"hours": {MONDAY: "09:00-24:30"}}, "between 00:00 and 24:00", id="24:30"),
        pytest.param(
            {"hours": {MONDAY: ("09:00-12:00", "11:00-13:00")}},
            "windows 09:00-12:00 and 11:00-13:00 overlap",
            id="overlap",
        ),
        pytest.param(
            {"hours": {MONDAY: ("09:00", "17:00")}},
            "is one window: a day's hours are a sequence of windows, write (('09:00', '17:00'),)",
            id="bare-pair",
        ),
        pytest.param(
            {"holidays": [dt.datetime(2025, 12, 25, tzinfo=UTC)]},
            "is an instant: a calendar's days are local dates",
            id="holiday-instant",
        ),
        pytest.param(
            {"holidays": ["2025-12-25", dt.date(2025, 12, 25)]},
            "holiday 2025-12-25 is given twice",
            id="holiday-twice",
        ),
        pytest.param({"hours": {}}, "calendar 'x' is never open", id="no-hours"),
        pytest.param(
            {
                "hours": {},
                "open_days": {"2025-12-27": "10:00-12:00"},
                "closures": {"2025-12-27": "00:00-24:00"},
            },
            "calendar 'x' is never open",
            id="only-a-closed-open-day",
        ),
    ],
)
def test_a_wrong_calendar_is_refused_when_declared(fields: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"name": "x", "zone": "UTC", "hours": {MONDAY: "09:00-17:00"}}
    arguments.update(fields)
    with pytest.raises(PolicyDefinitionError) as caught:
        Calendar(**arguments)
    assert message in str(caught.value)


def test_a_calendar_is_frozen_and_compared_by_content() -> None:
    same = Calendar(
        name="support-us",
        zone="America/New_York",
        hours=dict.fromkeys((MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY), ("09:00-17:00",)),
    )
    assert NEW_YORK == same
    assert hash(NEW_YORK) == hash(same)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        NEW_YORK.name = "other"  # type: ignore[misc]
    assert NEW_YORK == attrs.evolve(NEW_YORK)


def test_identity_is_a_digest_of_the_calendar_that_any_change_moves() -> None:
    """Pinned per escalation: the same content gives the same digest (a fixed one, so the
    form cannot drift unnoticed); any change of hours, dates, names or zone another."""
    assert (
        "sha256:59924ab41cbaa49fa7e41e0abbdfda339fb6659f6b4f7be083062c07f70e5652"
        == NEW_YORK.identity
    )
    changed = [
        attrs.evolve(NEW_YORK, name="support-us-2"),
        attrs.evolve(NEW_YORK, zone="America/Chicago"),
        attrs.evolve(NEW_YORK, hours={MONDAY: "09:00-17:01"}),
        attrs.evolve(NEW_YORK, holidays={"2025-12-25": "Christmas Day"}),
        attrs.evolve(NEW_YORK, holidays={"2025-12-25": "Christmas"}),
        attrs.evolve(NEW_YORK, closures={"2025-12-24": "12:00-17:00"}),
        attrs.evolve(NEW_YORK, open_days={"2025-12-27": "10:00-14:00"}),
    ]
    identities = {calendar.identity for calendar in changed} | {NEW_YORK.identity}
    assert len(changed) + 1 == len(identities)
    assert json.loads(json.dumps(NEW_YORK.document())) == NEW_YORK.document()


# ------------------------------------------------------------------------------ pitfall 1
@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        pytest.param(
            local("America/New_York", 2025, 6, 6, 18, 0),
            2 * H,
            local("America/New_York", 2025, 6, 9, 11, 0),
            id="friday-evening-starts-monday-09:00",
        ),
        pytest.param(
            local("America/New_York", 2025, 6, 7, 12, 0),
            2 * H,
            local("America/New_York", 2025, 6, 9, 11, 0),
            id="saturday-starts-monday-09:00",
        ),
        pytest.param(
            local("America/New_York", 2025, 6, 9, 7, 0),
            2 * H,
            local("America/New_York", 2025, 6, 9, 11, 0),
            id="before-opening-starts-at-opening",
        ),
        pytest.param(
            local("America/New_York", 2025, 6, 6, 16, 0),
            2 * H,
            local("America/New_York", 2025, 6, 9, 10, 0),
            id="friday-16:00-carries-over-the-weekend",
        ),
        pytest.param(
            local("America/New_York", 2025, 6, 6, 15, 0),
            2 * H,
            local("America/New_York", 2025, 6, 6, 17, 0),
            id="ends-at-a-close-not-at-the-next-opening",
        ),
        pytest.param(
            local("America/New_York", 2025, 6, 7, 12, 0),
            dt.timedelta(0),
            local("America/New_York", 2025, 6, 7, 12, 0),
            id="zero-is-the-start-itself",
        ),
    ],
)
def test_an_event_outside_hours_starts_its_clock_at_the_next_opening(
    start: dt.datetime, duration: dt.timedelta, due: dt.datetime
) -> None:
    assert due == NEW_YORK.add(start, duration)
    assert duration == NEW_YORK.elapsed(start, due)


def test_an_event_outside_hours_has_counted_nothing_until_the_opening() -> None:
    """GLPI computed 0 for tickets created outside the calendar; here the clock simply has
    not started: nothing elapses over the weekend, then time counts from 09:00."""
    friday_evening = local("America/New_York", 2025, 6, 6, 18, 0)
    assert dt.timedelta(0) == NEW_YORK.elapsed(
        friday_evening, local("America/New_York", 2025, 6, 9, 9, 0)
    )
    assert 30 * MINUTE == NEW_YORK.elapsed(
        friday_evening, local("America/New_York", 2025, 6, 9, 9, 30)
    )
    assert local("America/New_York", 2025, 6, 9, 9, 0) == NEW_YORK.next_open(friday_evening)


# ------------------------------------------------------------------------------ pitfall 2
@pytest.mark.parametrize(
    ("posted", "daily_due", "twenty_four_business_hours"),
    [
        pytest.param(
            (2025, 6, 9, 10, 0), (2025, 6, 9, 17, 0), (2025, 6, 12, 10, 0), id="monday-10:00"
        ),
        pytest.param(
            (2025, 6, 9, 17, 0), (2025, 6, 10, 17, 0), (2025, 6, 12, 17, 0), id="monday-at-close"
        ),
        pytest.param(
            (2025, 6, 9, 8, 0), (2025, 6, 9, 17, 0), (2025, 6, 11, 17, 0), id="monday-early"
        ),
        pytest.param(
            (2025, 6, 13, 16, 0), (2025, 6, 13, 17, 0), (2025, 6, 18, 16, 0), id="friday-16:00"
        ),
        pytest.param(
            (2025, 6, 14, 11, 0), (2025, 6, 16, 17, 0), (2025, 6, 18, 17, 0), id="saturday"
        ),
    ],
)
def test_daily_is_the_end_of_the_business_day_not_24_business_hours(
    posted: tuple[int, ...],
    daily_due: tuple[int, ...],
    twenty_four_business_hours: tuple[int, ...],
) -> None:
    """ServiceNow's "1 day" on an 8-hour schedule is three working days; a daily update is
    due by the end of the local business day."""
    at = local("America/New_York", *posted)
    assert local("America/New_York", *daily_due) == NEW_YORK.end_of_business_day(at)
    assert local("America/New_York", *twenty_four_business_hours) == NEW_YORK.add(at, 24 * H)


@pytest.mark.parametrize(
    ("posted", "count", "due"),
    [
        pytest.param((2025, 12, 22, 10), 0, (2025, 12, 22, 17), id="0-same-day"),
        pytest.param((2025, 12, 22, 10), 1, (2025, 12, 23, 17), id="1-next-business-day"),
        pytest.param((2025, 12, 23, 10), 1, (2025, 12, 24, 12), id="1-a-short-day-ends-early"),
        pytest.param((2025, 12, 24, 10), 1, (2025, 12, 26, 17), id="1-skips-the-holiday"),
        pytest.param((2025, 12, 24, 13), 0, (2025, 12, 26, 17), id="0-after-early-close"),
        pytest.param((2025, 12, 22, 18), 2, (2025, 12, 26, 17), id="2-after-close"),
        pytest.param((2025, 12, 26, 10), 1, (2025, 12, 27, 14), id="1-saturday-opening"),
        pytest.param((2025, 12, 26, 10), 3, (2025, 12, 30, 17), id="3-over-the-weekend"),
    ],
)
def test_every_n_business_days_counts_business_days(
    posted: tuple[int, ...], count: int, due: tuple[int, ...]
) -> None:
    """Holidays, partial closures and extra open days decide what a business day is."""
    calendar = attrs.evolve(
        NEW_YORK,
        holidays={"2025-12-25": "Christmas Day"},
        closures={"2025-12-24": "12:00-17:00"},
        open_days={"2025-12-27": "10:00-14:00"},
    )
    at = local("America/New_York", *posted)
    assert local("America/New_York", *due) == calendar.next_business_day_end(at, count)


def test_business_days_are_local_dates_with_open_time() -> None:
    calendar = attrs.evolve(
        NEW_YORK, holidays={"2025-12-25": "Christmas Day"}, open_days={"2025-12-27": "10:00-14:00"}
    )
    assert [dt.date(2025, 12, d) for d in (22, 23, 24, 26, 27, 29)] == list(
        calendar.business_days(dt.date(2025, 12, 22), dt.date(2025, 12, 29))
    )
    assert calendar.is_business_day(dt.date(2025, 12, 27))
    assert not calendar.is_business_day(dt.date(2025, 12, 25))
    assert dt.date(2025, 12, 26) == calendar.business_days_after(dt.date(2025, 12, 25), 0)
    assert dt.date(2025, 12, 29) == calendar.business_days_after(dt.date(2025, 12, 24), 3)
    with pytest.raises(InputError, match="2025-12-25 is not a business day"):
        calendar.business_day_end(dt.date(2025, 12, 25))


# ------------------------------------------------------------------------------ pitfall 3
def test_a_pause_subtracts_only_the_open_time_it_overlaps() -> None:
    """Paused from Friday 16:00 to Monday 10:00: one hour on Friday and one on Monday are
    paused; the weekend was never counted. (Frappe added the whole hold to the deadline.)"""
    start = local("America/New_York", 2025, 6, 6, 9, 0)
    paused = [
        (local("America/New_York", 2025, 6, 6, 16, 0), local("America/New_York", 2025, 6, 9, 10, 0))
    ]
    assert local("America/New_York", 2025, 6, 9, 11, 0) == NEW_YORK.add(start, 8 * H, paused=paused)
    assert 7 * H == NEW_YORK.elapsed(
        start, local("America/New_York", 2025, 6, 9, 10, 0), paused=paused
    )
    assert 9 * H == NEW_YORK.elapsed(start, local("America/New_York", 2025, 6, 9, 10, 0))


def test_a_pause_before_start_or_outside_hours_changes_nothing() -> None:
    start = local("America/New_York", 2025, 6, 9, 9, 0)
    weekend = (
        local("America/New_York", 2025, 6, 7, 0, 0),
        local("America/New_York", 2025, 6, 9, 0, 0),
    )
    night = (
        local("America/New_York", 2025, 6, 9, 18, 0),
        local("America/New_York", 2025, 6, 10, 8, 0),
    )
    assert NEW_YORK.add(start, 12 * H) == NEW_YORK.add(start, 12 * H, paused=[weekend, night])


def test_a_clock_paused_at_its_start_with_nothing_to_count_is_due_at_once() -> None:
    start = local("America/New_York", 2025, 6, 9, 10, 0)
    paused = [(start - H, start + H)]
    assert start == NEW_YORK.add(start, dt.timedelta(0), paused=paused)
    assert start + 2 * H == NEW_YORK.add(start, H, paused=paused)


# ------------------------------------------------------------------------------ pitfall 6
@pytest.mark.parametrize(
    ("zone", "day", "window", "opens", "closes"),
    [
        pytest.param(
            "America/New_York",
            (2025, 3, 10),
            "09:00-17:00",
            utc(2025, 3, 10, 13),
            utc(2025, 3, 10, 21),
            id="new-york-09:00-is-09:00-after-spring-forward",
        ),
        pytest.param(
            "America/New_York",
            (2025, 3, 7),
            "09:00-17:00",
            utc(2025, 3, 7, 14),
            utc(2025, 3, 7, 22),
            id="new-york-09:00-before-spring-forward",
        ),
        pytest.param(
            "America/New_York",
            (2025, 3, 9),
            "02:30-04:00",
            utc(2025, 3, 9, 7),
            utc(2025, 3, 9, 8),
            id="new-york-skipped-start-opens-at-the-end-of-the-gap",
        ),
        pytest.param(
            "America/New_York",
            (2025, 3, 9),
            "01:30-02:30",
            utc(2025, 3, 9, 6, 30),
            utc(2025, 3, 9, 7),
            id="new-york-skipped-end-closes-at-the-end-of-the-gap",
        ),
        pytest.param(
            "America/New_York",
            (2025, 11, 2),
            "01:30-03:00",
            utc(2025, 11, 2, 5, 30),
            utc(2025, 11, 2, 8),
            id="new-york-repeated-start-is-its-first-occurrence",
        ),
        pytest.param(
            "America/New_York",
            (2025, 11, 2),
            "00:00-01:30",
            utc(2025, 11, 2, 4),
            utc(2025, 11, 2, 5, 30),
            id="new-york-repeated-end-is-its-first-occurrence",
        ),
        pytest.param(
            "Europe/London",
            (2025, 10, 26),
            "00:00-24:00",
            utc(2025, 10, 25, 23),
            utc(2025, 10, 27, 0),
            id="london-the-day-clocks-go-back-is-25-hours",
        ),
        pytest.param(
            "Australia/Lord_Howe",
            (2018, 10, 7),
            "02:00-03:00",
            utc(2018, 10, 6, 15, 30),
            utc(2018, 10, 6, 16),
            id="lord-howe-30-minute-gap",
        ),
        pytest.param(
            "Australia/Lord_Howe",
            (2018, 4, 1),
            "01:30-02:00",
            utc(2018, 3, 31, 14, 30),
            utc(2018, 3, 31, 15, 30),
            id="lord-howe-30-minute-fold",
        ),
        pytest.param(
            "Pacific/Chatham",
            (2018, 9, 30),
            "02:45-04:00",
            utc(2018, 9, 29, 14),
            utc(2018, 9, 29, 14, 15),
            id="chatham-gap-at-02:45",
        ),
        pytest.param(
            "Pacific/Chatham",
            (2019, 4, 7),
            "02:45-03:45",
            utc(2019, 4, 6, 13),
            utc(2019, 4, 6, 15),
            id="chatham-a-window-over-the-fold-holds-both-passes",
        ),
        pytest.param(
            "Pacific/Chatham",
            (2019, 4, 7),
            "02:45-03:15",
            utc(2019, 4, 6, 13),
            utc(2019, 4, 6, 13, 30),
            id="chatham-repeated-end-is-its-first-occurrence",
        ),
    ],
)
def test_local_windows_through_dst_gaps_and_folds(
    zone: str, day: tuple[int, int, int], window: str, opens: dt.datetime, closes: dt.datetime
) -> None:
    """A local time names the first instant at which the wall clock reads it or later: a
    skipped time the end of the gap, a repeated time its first occurrence."""
    date = dt.date(*day)
    calendar = Calendar(name="x", zone=zone, hours={date.weekday(): (window,)})
    assert ((opens, closes),) == calendar.open_intervals(date)


def test_a_window_wholly_inside_a_gap_is_no_open_time() -> None:
    calendar = Calendar(
        name="x", zone="America/New_York", hours={SUNDAY: ("02:00-03:00", "09:00-10:00")}
    )
    assert ((utc(2025, 3, 9, 13), utc(2025, 3, 9, 14)),) == calendar.open_intervals(
        dt.date(2025, 3, 9)
    )


def test_a_week_across_a_dst_change_keeps_its_wall_hours() -> None:
    """Grafana OnCall moved schedules an hour after DST ended; dbt_zendesk used today's offset
    for history. 09:00-17:00 is 09:00-17:00 local on both sides of the change."""
    start = local("Europe/London", 2025, 10, 24, 16, 0)  # Friday, BST
    assert local("Europe/London", 2025, 10, 27, 10, 0) == (
        Calendar.weekdays("09:00", "17:00", name="uk", zone="Europe/London").add(start, 2 * H)
    )
    assert utc(2025, 10, 27, 10) == local("Europe/London", 2025, 10, 27, 10, 0)


# ------------------------------------------------------------------------------ pitfall 7
def test_a_date_whose_midnight_does_not_exist_starts_at_the_end_of_the_gap() -> None:
    """Sao Paulo's DST began at 00:00 (4 November 2018): that date began at 01:00 local,
    03:00 UTC, and was 23 hours long; the previous date ended at the same instant."""
    calendar = Calendar(
        name="br", zone="America/Sao_Paulo", hours={SATURDAY: "00:00-24:00", SUNDAY: "00:00-24:00"}
    )
    sunday = dt.date(2018, 11, 4)
    assert utc(2018, 11, 4, 3) == calendar.start_of_day(sunday)
    assert ((utc(2018, 11, 4, 3), utc(2018, 11, 5, 2)),) == calendar.open_intervals(sunday)
    assert 23 * H == calendar.elapsed(calendar.start_of_day(sunday), utc(2018, 11, 6))
    assert utc(2018, 11, 4, 3) == calendar.open_intervals(dt.date(2018, 11, 3))[0][1]
    assert sunday == calendar.day_of(utc(2018, 11, 4, 3))
    assert dt.date(2018, 11, 3) == calendar.day_of(utc(2018, 11, 4, 3) - MICROSECOND)


def test_a_date_that_ends_twice_ends_at_the_second_midnight() -> None:
    """Sao Paulo's DST ended at 00:00 on 18 February 2018, turning clocks back to 23:00 on
    the 17th: the 17th was 25 hours long, and 23:00-24:00 that day lasted two hours."""
    calendar = Calendar(name="br", zone="America/Sao_Paulo", hours={SATURDAY: ("00:00-24:00",)})
    saturday = dt.date(2018, 2, 17)
    assert ((utc(2018, 2, 17, 2), utc(2018, 2, 18, 3)),) == calendar.open_intervals(saturday)
    late = Calendar(name="br", zone="America/Sao_Paulo", hours={SATURDAY: ("23:00-24:00",)})
    assert ((utc(2018, 2, 18, 1), utc(2018, 2, 18, 3)),) == late.open_intervals(saturday)


def test_end_of_business_day_at_24_00_is_the_next_dates_start() -> None:
    calendar = Calendar(name="br", zone="America/Sao_Paulo", hours={SATURDAY: ("18:00-24:00",)})
    assert utc(2018, 11, 4, 3) == calendar.end_of_business_day(utc(2018, 11, 3, 22))


# ------------------------------------------------------------------------------ pitfall 8
def test_a_holiday_closes_the_local_date_not_the_utc_one() -> None:
    """Republic Day in Kolkata (+05:30) closes 26 January local: 25 January 18:30 UTC to
    26 January 18:30 UTC. (Zammad showed Chilean holidays a day early; Salesforce stores
    all-day holidays at UTC midnight.)"""
    calendar = Calendar(
        name="support-in",
        zone="Asia/Kolkata",
        hours=dict.fromkeys(Weekday, "00:00-24:00"),
        holidays={dt.date(2025, 1, 26): "Republic Day"},
    )
    assert calendar.open_at(utc(2025, 1, 25, 18, 29))
    assert not calendar.open_at(utc(2025, 1, 25, 18, 30))
    assert not calendar.open_at(utc(2025, 1, 26, 18, 29))
    assert calendar.open_at(utc(2025, 1, 26, 18, 30))
    assert utc(2025, 1, 26, 18, 30) == calendar.next_open(utc(2025, 1, 26, 0, 0))
    assert utc(2025, 1, 25, 18, 30) == calendar.next_close(utc(2025, 1, 25, 12, 0))


def test_an_open_day_overrides_a_holiday_and_a_closure_applies_last() -> None:
    calendar = attrs.evolve(
        NEW_YORK,
        holidays={"2025-07-04": "Independence Day"},
        open_days={"2025-07-04": "10:00-14:00"},
        closures={"2025-07-04": "12:00-13:00"},
    )
    assert (
        (local("America/New_York", 2025, 7, 4, 10), local("America/New_York", 2025, 7, 4, 12)),
        (local("America/New_York", 2025, 7, 4, 13), local("America/New_York", 2025, 7, 4, 14)),
    ) == calendar.open_intervals(dt.date(2025, 7, 4))


# ------------------------------------------------------------------------------ pitfall 9
def test_a_reminder_outside_hours_is_deferred_to_the_next_opening() -> None:
    sunday_night = local("America/New_York", 2025, 6, 8, 23, 0)
    assert not NEW_YORK.open_at(sunday_night)
    assert local("America/New_York", 2025, 6, 9, 9, 0) == NEW_YORK.next_open(sunday_night)
    assert local("America/New_York", 2025, 6, 9, 17, 0) == NEW_YORK.next_close(sunday_night)


def test_openings_that_meet_at_midnight_are_one_opening() -> None:
    night = Calendar(
        name="night", zone="Europe/London", hours={MONDAY: "20:00-24:00", TUESDAY: "00:00-06:00"}
    )
    assert local("Europe/London", 2025, 6, 10, 6) == night.next_close(
        local("Europe/London", 2025, 6, 9, 21)
    )
    assert Calendar.always().next_close(utc(2025, 6, 9)) is None


# ------------------------------------------------------------------------------ pitfall 10
def test_generated_holidays_are_materialised_with_their_source() -> None:
    """Country, subdivision and categories are chosen explicitly; the dates become part of
    the calendar (and of its identity) with the package's version recorded."""
    package = importlib.import_module("holidays")
    calendar = NEW_YORK.with_holidays(
        country="US", subdivision="NY", years=range(2025, 2027), categories=("public",)
    )
    assert Holiday(dt.date(2025, 12, 25), "Christmas Day") in calendar.holidays
    assert all(holiday.date.year in (2025, 2026) for holiday in calendar.holidays)
    (source,) = calendar.sources
    assert ("US", "NY", ("public",), (2025, 2026)) == (
        source.country,
        source.subdivision,
        source.categories,
        source.years,
    )
    assert importlib.metadata.version("holidays") == source.version
    assert package.__version__ == source.version
    assert source.document() in calendar.document()["sources"]
    assert calendar.identity != NEW_YORK.identity
    assert not calendar.open_at(local("America/New_York", 2025, 12, 25, 10, 0))


def test_more_categories_are_more_holidays_and_a_declared_name_is_kept() -> None:
    declared = attrs.evolve(NEW_YORK, holidays={"2025-12-25": "Company holiday"})
    public = declared.with_holidays(
        country="US", subdivision=None, years=[2025], categories=["public"]
    )
    wider = declared.with_holidays(
        country="US", subdivision=None, years=[2025], categories=["public", "unofficial"]
    )
    assert len(public.holidays) < len(wider.holidays)
    assert Holiday(dt.date(2025, 12, 25), "Company holiday") in public.holidays


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"country": "UX"}, "no country 'UX'", id="country"),
        pytest.param(
            {"subdivision": "NYC"},
            "no subdivision 'NYC' of US (did you mean 'NY'?)",
            id="subdivision",
        ),
        pytest.param({"categories": ("publik",)}, "publik", id="category"),
        pytest.param({"categories": ()}, "at least one category", id="no-category"),
        pytest.param({"years": ()}, "at least one year", id="no-year"),
    ],
)
def test_a_wrong_holiday_choice_is_refused(fields: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "country": "US",
        "subdivision": "NY",
        "years": [2025],
        "categories": ("public",),
    }
    arguments.update(fields)
    with pytest.raises(PolicyDefinitionError) as caught:
        holidays_from(**arguments)
    assert message in str(caught.value)


# ------------------------------------------------------------------------------ pitfall 11
def test_a_calendar_with_no_open_time_is_an_error_not_a_loop() -> None:
    """osTicket fell back to a 150-day due date; here a search bounded by HORIZON_DAYS
    says what is wrong."""
    one_day = Calendar(name="one-day", zone="UTC", open_days={"2025-06-07": "10:00-12:00"})
    after = utc(2025, 6, 8)
    for call in (
        lambda: one_day.add(after, H),
        lambda: one_day.next_open(after),
        lambda: one_day.end_of_business_day(after),
        lambda: one_day.next_business_day_end(utc(2025, 6, 7), 1),
    ):
        with pytest.raises(
            PolicyDefinitionError,
            match=f"calendar 'one-day' has no open time within {HORIZON_DAYS} days",
        ):
            call()
    assert 2 * H == one_day.elapsed(utc(2025, 1, 1), utc(2030, 1, 1))


def test_years_of_holidays_are_an_error_not_a_loop() -> None:
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=n) for n in range(800)]
    closed = Calendar(name="closed", zone="UTC", hours={MONDAY: "09:00-17:00"}, holidays=days)
    with pytest.raises(PolicyDefinitionError, match="has no open time within 366 days"):
        closed.add(utc(2025, 1, 1), H)
    assert utc(2027, 3, 15, 10) == closed.add(utc(2026, 6, 1), H)


# ------------------------------------------------------------------------------ pitfall 12
def test_the_zone_data_used_is_recorded() -> None:
    """zoneinfo prefers the host's zones; calendars read the tzdata package's, whose IANA
    version they record, so hosts with the same tzdata version agree."""
    tzdata = importlib.import_module("tzdata")
    assert f"tzdata {tzdata.IANA_VERSION}" == NEW_YORK.zone_data == zone_data()
    assert "America/New_York" == str(NEW_YORK.tzinfo)


# ------------------------------------------------------------------------------ arguments
@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda: NEW_YORK.add(dt.datetime(2025, 6, 9, 9), H),
            "start 2025-06-09T09:00:00 has no time zone",
            id="naive-add",
        ),
        pytest.param(
            lambda: NEW_YORK.open_at(dt.datetime(2025, 6, 9, 9)),
            "has no time zone",
            id="naive-open",
        ),
        pytest.param(
            lambda: NEW_YORK.add(utc(2025, 6, 9), -H),
            "duration -1 day, 23:00:00 is negative",
            id="negative",
        ),
        pytest.param(
            lambda: NEW_YORK.elapsed(utc(2025, 6, 10), utc(2025, 6, 9)),
            "is before start",
            id="backwards",
        ),
        pytest.param(
            lambda: NEW_YORK.add(utc(2025, 6, 9), H, paused=[(utc(2025, 6, 10), utc(2025, 6, 9))]),
            "paused interval ends",
            id="backwards-pause",
        ),
        pytest.param(
            lambda: NEW_YORK.next_business_day_end(utc(2025, 6, 9), -1), "count must be", id="count"
        ),
    ],
)
def test_naive_or_wrong_arguments_are_input_errors(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(InputError) as caught:
        call()
    assert message in str(caught.value)


def test_an_aware_instant_in_any_zone_is_read_as_its_utc_instant() -> None:
    paris = dt.datetime(2025, 6, 9, 16, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert NEW_YORK.add(paris.astimezone(UTC), H) == NEW_YORK.add(paris, H)
    assert UTC == NEW_YORK.add(paris, H).tzinfo


def test_exact_to_the_microsecond() -> None:
    start = local("America/New_York", 2025, 6, 9, 16, 59, 59) + 999_999 * MICROSECOND
    assert local("America/New_York", 2025, 6, 10, 9, 0) + 2 * MICROSECOND == NEW_YORK.add(
        start, 3 * MICROSECOND
    )


# ------------------------------------------------------------------------------ weeks
@pytest.mark.parametrize(
    ("zone", "instant", "week", "ends"),
    [
        pytest.param(
            "America/New_York",
            utc(2025, 6, 9, 3, 59),
            (2025, 23),
            utc(2025, 6, 9, 4),
            id="sunday-night-new-york",
        ),
        pytest.param(
            "America/New_York",
            utc(2025, 6, 9, 4),
            (2025, 24),
            utc(2025, 6, 16, 4),
            id="monday-new-york",
        ),
        pytest.param(
            "Europe/London",
            utc(2025, 3, 28, 12),
            (2025, 13),
            utc(2025, 3, 30, 23),
            id="london-week-with-spring-forward",
        ),
        pytest.param(
            "Asia/Kolkata",
            utc(2024, 12, 29, 18, 30),
            (2025, 1),
            utc(2025, 1, 5, 18, 30),
            id="kolkata-iso-year",
        ),
        pytest.param(
            "Pacific/Chatham",
            utc(2019, 4, 7, 12),
            (2019, 15),
            utc(2019, 4, 14, 11, 15),
            id="chatham-already-next-week",
        ),
    ],
)
def test_a_calendar_week_is_the_iso_week_in_the_calendars_zone(
    zone: str, instant: dt.datetime, week: tuple[int, int], ends: dt.datetime
) -> None:
    calendar = Calendar(name="x", zone=zone, hours={MONDAY: "09:00-17:00"})
    assert week == calendar.week_of(instant)
    assert ends == calendar.week_end(instant)


# ------------------------------------------------------------------------------ the cost
def test_long_durations_take_whole_weeks_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A year of business time is a bounded number of dates expanded, not a walk through
    minutes or even every date."""
    calendar = NEW_YORK.with_holidays(
        country="US", subdivision="NY", years=range(2025, 2028), categories=("public",)
    )
    expanded: list[dt.date] = []
    original = Calendar._day

    def counting(self: Calendar, day: dt.date) -> Any:
        expanded.append(day)
        return original(self, day)

    monkeypatch.setattr(Calendar, "_day", counting)
    start = utc(2025, 1, 2, 15)
    due = calendar.add(start, 2000 * H)
    assert len(set(expanded)) < 200
    assert 2000 * H == calendar.elapsed(start, due)
    expanded.clear()
    always = Calendar.always()
    assert start + dt.timedelta(days=3650) == always.add(start, dt.timedelta(days=3650))
    assert len(set(expanded)) < 30


@SETTINGS
@given(calendars())
def test_a_calendar_is_read_back_from_its_document_as_itself(calendar: Calendar) -> None:
    """What a store or a snapshot keeps of a calendar an escalation was pinned to."""
    again = Calendar.from_document(json.loads(json.dumps(calendar.document())))
    assert calendar.identity == again.identity
    assert calendar == again


def test_a_calendar_with_dates_and_sources_is_read_back_from_its_document() -> None:
    source = HolidaySource(
        country="DE",
        subdivision="BE",
        categories=("public",),
        years=(2026,),
        observed=True,
        package="holidays",
        version="0.80",
    )
    calendar = Calendar(
        name="berlin",
        zone="Europe/Berlin",
        hours={"monday": "08:00-12:00, 13:00-18:00", "friday": "08:00-14:00"},
        holidays={"2026-10-03": "German Unity Day"},
        closures=[("2026-12-24", "12:00-18:00")],
        open_days=[("2026-12-27", "10:00-12:00")],
        sources=(source,),
    )
    again = Calendar.from_document(calendar.document())
    assert (calendar.identity, calendar) == (again.identity, again)


@pytest.mark.parametrize("document", [{}, {"format": 99}, {"format": 1, "name": "x"}, "x"])
def test_a_document_that_is_no_calendars_is_refused(document: Any) -> None:
    with pytest.raises(PolicyDefinitionError, match="calendar"):
        Calendar.from_document(document)
