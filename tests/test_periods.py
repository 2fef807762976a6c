"""Periods of periodic obligations on a calendar: buckets, misses and their text form."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation_policy.calendar import Calendar
from escalation_policy.periods import (
    Bucket,
    BusinessTime,
    EachBusinessDay,
    EveryBusinessDays,
    Period,
    Rolling,
    TimesPerWeek,
    parse_period,
)

UTC = dt.timezone.utc
OFFICE = Calendar.weekdays("09:00", "17:00", name="office", zone="America/New_York")


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time in March 2026, New York wall time, as a UTC instant (2026-03-02 is a Monday;
    DST starts on Sunday 2026-03-08)."""
    wall = dt.datetime(2026, 3, day, hour, minute, tzinfo=OFFICE.tzinfo)
    return wall.astimezone(UTC)


PERIODS: list[Period] = [
    EachBusinessDay(),
    TimesPerWeek(2),
    TimesPerWeek(1, 2),
    EveryBusinessDays(3),
    Rolling(dt.timedelta(hours=4), business=True),
    Rolling(dt.timedelta(days=1), sequential=True),
]


@pytest.mark.parametrize("period", PERIODS, ids=lambda period: period.text)
def test_a_period_reads_back_from_its_text(period: Period) -> None:
    assert period == parse_period(period.text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "daily",
        "0 per week",
        "every 0 business days",
        "1 per",
        "\u0662 per week",  # digits other than ASCII's (Arabic-Indic two) are no number
        "1 per \u0662 weeks",
        "every \u0663 business days",
        "every \u0664h",
    ],
)
def test_text_that_names_no_period_is_none(text: str) -> None:
    assert parse_period(text) is None


@pytest.mark.parametrize(
    ("case", "start", "due"),
    [
        ("opened Friday afternoon: the first day is Monday", local(6, 15), local(10, 0)),
        ("opened before Monday opens: Tuesday", local(2, 7), local(4, 0)),
        ("opened on Saturday: Monday", local(7, 12), local(10, 0)),
        ("opened Friday evening: Monday", local(6, 19), local(10, 0)),
        ("opened Sunday just before midnight: Monday", local(8, 23, 59), local(10, 0)),
    ],
)
def test_each_business_day_starts_with_the_business_day_after_the_date_it_starts_on(
    case: str, start: dt.datetime, due: dt.datetime
) -> None:
    assert due == EachBusinessDay().first(OFFICE, start).due, case


def test_an_update_each_business_day_at_varying_times_is_never_late() -> None:
    """17:00 one day, 09:00 the next, late in the evening after that: each in time for its
    own day, which ends with its date."""
    period = EachBusinessDay()
    bucket = period.first(OFFICE, local(2, 10))  # Monday: the first period is Tuesday's
    for made in (local(3, 17), local(4, 9), local(5, 23, 30)):
        assert bucket.since is not None
        assert bucket.since <= made <= bucket.due
        bucket = period.met(OFFICE, bucket, made)
    assert local(7, 0) == bucket.due


@pytest.mark.parametrize(
    ("case", "start", "required", "due"),
    [
        ("Monday: twice that week", local(2, 10), 2, local(9, 0)),
        ("Wednesday: once that week", local(4, 10), 1, local(9, 0)),
        ("Friday: none that week, twice the next", local(6, 10), 2, local(16, 0)),
    ],
)
def test_twice_a_week_asks_in_proportion_in_the_first_week(
    case: str, start: dt.datetime, required: int, due: dt.datetime
) -> None:
    bucket = TimesPerWeek(2).first(OFFICE, start)
    assert (required, due) == (bucket.required, bucket.due), case


def test_a_silent_stretch_is_one_miss_counting_its_periods() -> None:
    period = EachBusinessDay()
    bucket = period.first(OFFICE, local(2, 10))
    periods, last, upcoming = period.missed(OFFICE, bucket, local(9, 12))
    assert (4, local(7, 0), local(10, 0)) == (periods, last, upcoming.due)


instants = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=100, deadline=None)
@given(period=st.sampled_from(PERIODS), start=instants, days=st.integers(0, 60))
def test_buckets_move_forward_and_a_miss_leaves_the_next_bucket_ahead(
    period: Period, start: dt.datetime, days: int
) -> None:
    bucket = period.first(OFFICE, start)
    assert bucket.due > start
    following = period.following(OFFICE, bucket)
    assert following.due > bucket.due
    to = bucket.due + dt.timedelta(days=days, seconds=1)
    periods, last, upcoming = period.missed(OFFICE, bucket, to)
    assert periods >= 1
    assert bucket.due <= last < to <= upcoming.due
    assert isinstance(upcoming, Bucket)


HOLIDAY_WEEK = Calendar.weekdays(
    "09:00",
    "17:00",
    name="office",
    zone="America/New_York",
    holidays=[dt.date(2026, 3, 4), *(dt.date(2026, 3, day) for day in range(16, 21))],
)


@pytest.mark.parametrize("calendar", [OFFICE, HOLIDAY_WEEK], ids=["office", "holidays"])
@pytest.mark.parametrize("period", [TimesPerWeek(2), TimesPerWeek(3), TimesPerWeek(1, 2)])
def test_a_weekly_period_counts_the_business_days_of_its_weeks(
    calendar: Calendar, period: TimesPerWeek
) -> None:
    """Each start from Monday 2026-03-02 to 2026-03-29, every five hours, across the change
    to summer time (2026-03-08), a holiday on Wednesday 2026-03-04 and a week of holidays
    (2026-03-16 to 2026-03-20): the first bucket asks in proportion to the business days
    left after the start's date among the five a week of weekdays holds, and a run of weeks
    with none is skipped, the next one asked in proportion to its business days. A first run
    of several weeks started after a Monday runs a week longer, counted from the next week."""
    usual = 5 * period.weeks

    def business_days(first: dt.date, last: dt.date) -> int:
        return sum(1 for _ in calendar.business_days(first, last)) if first <= last else 0

    start = local(2, 0)
    while start < local(29, 0):
        day = calendar.day_of(start)
        monday = day - dt.timedelta(days=day.weekday())
        longer = period.weeks > 1 and day.weekday() > 0
        end = monday + dt.timedelta(weeks=period.weeks + longer)
        total = business_days(monday, end - dt.timedelta(days=1))
        left = business_days(day + dt.timedelta(days=1), end - dt.timedelta(days=1))
        required = min(period.times, -(-period.times * left // usual)) if total else 0
        bucket = period.first(calendar, start)
        if required:
            since = calendar.week_end(start) if longer else start
            assert Bucket(calendar.start_of_day(end), since, required) == bucket
        else:  # the next run of weeks with a business day
            while not business_days(end, end + dt.timedelta(weeks=period.weeks, days=-1)):
                end += dt.timedelta(weeks=period.weeks)
            held = business_days(end, end + dt.timedelta(weeks=period.weeks, days=-1))
            assert bucket.required == min(period.times, -(-period.times * held // usual))
            assert calendar.start_of_day(end + dt.timedelta(weeks=period.weeks)) == bucket.due
        start += dt.timedelta(hours=5)


def test_every_few_business_days_counts_from_the_date_the_work_was_done() -> None:
    """Work done after the close counts for its own date: the next is due by the end of the
    second business day after it, not after the next morning."""
    period = EveryBusinessDays(2)
    bucket = period.first(OFFICE, local(2, 10))  # Monday: by the end of Wednesday
    assert local(5, 0) == bucket.due
    bucket = period.met(OFFICE, bucket, local(3, 20))  # Tuesday evening: by Thursday's end
    assert local(6, 0) == bucket.due
    assert local(10, 0) == period.met(OFFICE, bucket, local(5, 12)).due  # Thursday: Monday


@pytest.mark.parametrize(
    ("monday", "required"),
    [
        pytest.param(9, 2, id="a plain week: twice"),
        pytest.param(16, 1, id="a week of holidays but Monday: once"),
        pytest.param(23, 2, id="the week after: twice again"),
    ],
)
def test_twice_a_week_asks_in_proportion_in_a_week_of_holidays(monday: int, required: int) -> None:
    """ "Multiple times per week" cannot mean two meetings on the one business day of a week of
    holidays: a week asks in proportion to the business days it holds, as the first does."""
    calendar = Calendar.weekdays(
        "09:00",
        "17:00",
        name="office",
        zone="America/New_York",
        holidays=[dt.date(2026, 3, day) for day in range(17, 21)],
    )
    period = TimesPerWeek(2)
    bucket = period.first(calendar, local(2, 10))
    while bucket.due <= local(monday, 0):
        bucket = period.following(calendar, bucket)
    assert (local(monday + 7, 0), required) == (bucket.due, bucket.required)


@pytest.mark.parametrize(
    ("opened", "first_due"),
    [
        (dt.date(2026, 3, 9), dt.date(2026, 3, 23)),  # a Monday: by the end of the next week
        (dt.date(2026, 3, 10), dt.date(2026, 3, 30)),  # a Tuesday: the week after that
        (dt.date(2026, 3, 13), dt.date(2026, 3, 30)),  # a Friday: not nine days later
    ],
)
def test_once_every_two_weeks_first_asks_no_sooner_than_two_weeks_after_the_start(
    opened: dt.date, first_due: dt.date
) -> None:
    """For "Weekly to Bi-weekly", a first meeting eleven days after a Friday opening is within
    two weeks; the first run ends at least two weeks after the start, and the runs after it
    are two weeks each, from the week it ends."""
    period = TimesPerWeek(1, 2)
    start = OFFICE.start_of_day(opened) + dt.timedelta(hours=15)
    bucket = period.first(OFFICE, start)
    assert (OFFICE.start_of_day(first_due), 1) == (bucket.due, bucket.required)
    assert bucket.due - start >= dt.timedelta(weeks=2) - dt.timedelta(days=1)
    following = period.following(OFFICE, bucket)
    assert OFFICE.start_of_day(first_due + dt.timedelta(weeks=2)) == following.due


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        min_value=dt.datetime(2026, 1, 1),
        max_value=dt.datetime(2027, 12, 31),
        timezones=st.just(UTC),
    ),
    st.integers(1, 16 * 60),
)
def test_a_business_time_to_the_end_of_the_day_ends_the_day_its_open_time_ends(
    start: dt.datetime, minutes: int
) -> None:
    """Due by the end of the local date the open time ends on: never before it ends, never a
    day later, and at a date's end."""
    length = dt.timedelta(minutes=minutes)
    ends = BusinessTime(length).due(OFFICE, start)
    due = BusinessTime(length, to_end_of_day=True).due(OFFICE, start)
    assert ends <= due < ends + dt.timedelta(days=1, hours=1)  # a day of 25 hours in autumn
    assert due == OFFICE.start_of_day(OFFICE.day_of(ends) + dt.timedelta(days=1))


def test_a_business_time_to_the_end_of_the_day_reads_back_from_its_setting() -> None:
    """As settings write it and take it: ``4h of business time, to the end of that day``; a
    plain duration is open time only."""
    from escalation_policy import load_policy
    from escalation_policy._language.wording import label

    for text, expected in [
        ("3h of business time, to the end of that day", BusinessTime(dt.timedelta(hours=3), True)),
        ("6h", BusinessTime(dt.timedelta(hours=6))),
    ]:
        value = load_policy(settings={"update_after_raise_within": text}).settings
        assert expected == value["update_after_raise_within"]
        shown = label(value["update_after_raise_within"])
        assert text.replace("6h", "6h of business time") == shown
