"""Handbook: "Definitions of Severity Levels".

The handbook's severity table is pinned word for word (``handbook_severity_table.md``): it is
the specification a policy owner reads. The tests of each cadence in general read the cadence's
period and the calendar from the loaded policy, so that they check the engine applies whatever
it says; the example tables at the end pin the handbook's reading with business days (Daily,
Multiple times per week, Weekly to Bi-weekly, one cadence of two parts, pausing while waiting
on the customer), each beside the sentence it rests on.
"""

import datetime as dt
import pathlib
from typing import Any

import attrs
import pytest

from escalation_policy import default_policy
from escalation_policy.periods import Period
from escalation_policy.render import decision_table
from tests.conftest import (
    SEVERITIES,
    Scenario,
    at,
    meetings,
    of_type,
    owner_of,
    row,
    severities_where,
    violations,
)
from tests.rules.business_days import due_times, kept, lacked, period, utc

WITH_CADENCE = severities_where(
    lambda severity: meetings(severity).then["cadence_every"] is not None
)
WITHOUT_CADENCE = severities_where(lambda severity: severity not in WITH_CADENCE)
MINUTE = dt.timedelta(minutes=1)


def _roles(severity: str) -> list[str]:
    return [role.value for role in row("severity.levels", severity=severity).then["involvement"]]


def _period(severity: str) -> Period:
    return period(meetings(severity).then["cadence_every"])


def _missed(actions: Any) -> list[tuple[str, str]]:
    return [v for v in violations(actions) if v[0] == "cadence_missed"]


def _rows(markdown: str) -> list[list[str]]:
    lines = [line for line in markdown.strip().splitlines() if not line.startswith("| ---")]
    return [[" ".join(cell.split()) for cell in line.strip("|").split("|")] for line in lines]


def test_rendered_severity_table_is_the_handbooks() -> None:
    """`escalation-policy table` renders exactly the handbook's rows and values."""
    handbook = (pathlib.Path(__file__).parent / "handbook_severity_table.md").read_text()
    assert _rows(handbook) == _rows(decision_table(default_policy(), "severity.levels"))


@pytest.mark.parametrize("severity", SEVERITIES)
def test_opening_sets_cadence_and_involvement_of_the_severity(
    scenario: Scenario, severity: str
) -> None:
    levels = row("severity.levels", severity=severity)
    actions = scenario.open(severity=severity).actions
    (set_cadence,) = of_type(actions, "set_cadence")
    (involvement,) = of_type(actions, "set_involvement")
    assert levels.then["cadence"] == set_cadence.cadence
    assert _roles(severity) == [role.value for role in involvement.roles]
    assert _roles(severity) == [role.value for role in involvement.added]
    assert [] == list(involvement.removed)
    assert levels.rule == set_cadence.rule
    assert default_policy().rule(levels.rule).cites == set_cadence.cites


@pytest.mark.parametrize("severity", WITH_CADENCE)
def test_a_meeting_with_the_customer_in_each_period_keeps_the_cadence(
    scenario: Scenario, severity: str
) -> None:
    """A customer meeting is both parts of the cadence: as many in each period as it asks for
    keep it, period after period."""
    meetings_held, after = kept(_period(severity), at(), 3, lead=dt.timedelta(hours=1))
    scenario.open(severity=severity)
    scenario.post(at(minutes=10), "created", owner_of(severity))
    for held in meetings_held:
        scenario.fact("meeting_held", held, audience="customer")
    assert [] == _missed(scenario.tick(after - MINUTE).actions)


@pytest.mark.parametrize("severity", WITH_CADENCE)
def test_the_cadence_is_missed_when_its_period_ends(scenario: Scenario, severity: str) -> None:
    (due,) = due_times(_period(severity), at(), 1)
    scenario.open(severity=severity)
    scenario.post(at(minutes=10), "created", owner_of(severity))
    on_time = scenario.tick(due)
    late = scenario.tick(due + MINUTE)
    assert [] == _missed(on_time.actions)
    assert [("cadence_missed", meetings(severity).rule)] == _missed(late.actions)


@pytest.mark.parametrize("severity", WITHOUT_CADENCE)
def test_a_severity_without_a_cadence_owes_no_meetings(scenario: Scenario, severity: str) -> None:
    scenario.open(severity=severity)
    scenario.post(at(hours=1), "created", owner_of(severity))
    assert [] == _missed(scenario.tick(at(days=90)).actions)


@pytest.mark.parametrize("severity", WITH_CADENCE)
def test_a_missed_period_is_reported_once_however_many_ticks_follow(
    scenario: Scenario, severity: str
) -> None:
    first, second = due_times(_period(severity), at(), 2)
    scenario.open(severity=severity)
    steps = 8
    for step in range(1, steps + 1):
        scenario.tick(first + (second - first) * step / (steps + 1))
    assert [("cadence_missed", meetings(severity).rule)] == _missed(scenario.actions())


@pytest.mark.parametrize("severity", WITH_CADENCE)
def test_silent_periods_noticed_at_once_are_one_violation_that_counts_them(
    scenario: Scenario, severity: str
) -> None:
    """A lapse is one violation, however long: it says how many periods went silent, from
    the first due time to the last."""
    first, _, third, fourth = due_times(_period(severity), at(), 4)
    scenario.open(severity=severity)
    late = scenario.tick(third + (fourth - third) / 2)
    (missed,) = [v for v in of_type(late.actions, "violation") if v.code.value == "cadence_missed"]
    assert ("cadence_missed", 3, first, third) == (
        missed.code.value,
        missed.periods,
        missed.due,
        missed.last_due,
    )


def test_severity_change_replans_involvement_with_added_and_removed(scenario: Scenario) -> None:
    first, last = SEVERITIES[0], SEVERITIES[-1]
    scenario.open(severity=first)
    decision = scenario.fact("severity_changed", at(hours=5), severity=last)
    (involvement,) = of_type(decision.actions, "set_involvement")
    assert [r for r in _roles(last) if r not in _roles(first)] == [
        r.value for r in involvement.added
    ]
    assert [r for r in _roles(first) if r not in _roles(last)] == [
        r.value for r in involvement.removed
    ]
    cadence = row("severity.levels", severity=last).then["cadence"]
    assert [cadence] == [a.cadence for a in of_type(decision.actions, "set_cadence")]


def test_severity_change_to_the_same_severity_changes_nothing(scenario: Scenario) -> None:
    scenario.open(severity="high")
    assert () == scenario.fact("severity_changed", at(hours=1), severity="high").actions


def test_issue_type_extension_adds_roles(engine_name: str) -> None:
    """ "Others can be included based on the type of issues involved": the extension table."""
    import types

    from escalation_policy import PolicyEngine, load_policy
    from escalation_policy.rules import MODULES, Role, severity
    from escalation_policy.vocabulary import Row

    (extension,) = [t for t in severity.TABLES if t.id == "severity.issue_type_involvement"]
    extended = types.ModuleType("extended_severity")
    extended.__dict__.update({k: v for k, v in vars(severity).items() if not k.startswith("__")})
    extended.TABLES = (  # type: ignore[attr-defined]
        *[t for t in severity.TABLES if t is not extension],
        attrs.evolve(
            extension,
            rows=(
                *extension.rows,
                Row(
                    id="outage",
                    when={"issue_type": "outage"},
                    then={"extra_involvement": (Role.CEO, Role.PRODUCT)},
                ),
            ),
        ),
    )
    modules = [extended if name.endswith(".severity") else name for name in MODULES]
    engine = PolicyEngine(load_policy(modules), engine=engine_name)  # type: ignore[arg-type]
    decision = Scenario(engine).open(severity="medium", issue_type="outage")
    (involvement,) = of_type(decision.actions, "set_involvement")
    assert [*_roles("medium"), "ceo", "product"] == [r.value for r in involvement.roles]


# ---------------------------------------------------------------------------------------------
# The cadence column read with business days. These tables pin the reading on purpose, as the
# owner table does in test_responsibilities.py: each is a small history a Customer Success
# lead can check against the handbook, and what the policy finds missing in it. The calendar
# is the policy's: Monday to Friday, 09:00 to 17:00, in UTC unless the customer's zone is given.
# 2 March 2026 is a Monday.
CUSTOMER_MEETING = ("meeting_held", {"audience": "customer"})
INTERNAL_MEETING = ("meeting_held", {"audience": "internal"})
MESSAGE = ("customer_contacted", {"by": "tam"})
WAITING = ("waiting_on_customer", {})
RESPONDED = ("customer_responded", {})

History = list[tuple[dt.datetime, tuple[str, dict[str, Any]]]]


def _lacked(
    scenario: Scenario,
    severity: str,
    opened: dt.datetime,
    history: History,
    checked: list[dt.datetime],
    **fields: Any,
) -> list[str]:
    """Open an escalation, play its history, look at it at each of ``checked``: what each
    period the policy reports as missed lacked."""
    scenario.open(when=opened, severity=severity, **fields)
    scenario.post(opened + MINUTE, "created", owner_of(severity))
    events = [(when, "fact", fact) for when, fact in history]
    events += [(when, "tick", ("tick", {})) for when in checked]
    for when, kind, (fact_type, fact_fields) in sorted(events, key=lambda event: event[0]):
        if kind == "tick":
            scenario.tick(when)
        else:
            scenario.fact(fact_type, when, **fact_fields)
    return lacked(scenario.actions())


# "| Critical | ... | Daily |": once each business day, by the end of its date, so a meeting
# after the close counts for that day. The day the escalation opens is not a period of its own,
# whatever the hour; the weekend is no business day.
FRIDAY_AFTERNOON = utc(3, 6, 14)
WEEKEND = [utc(3, 7, 12), utc(3, 8, 12), utc(3, 9, 8), utc(3, 9, 16, 59), utc(3, 10, 8)]


@pytest.mark.parametrize(
    ("opened", "history", "checked", "expected"),
    [
        pytest.param(
            FRIDAY_AFTERNOON,
            [(utc(3, 6, 15), CUSTOMER_MEETING), (utc(3, 9, 10), CUSTOMER_MEETING)],
            WEEKEND,
            [],
            id="opened Friday afternoon, a customer meeting Friday and Monday morning",
        ),
        pytest.param(
            FRIDAY_AFTERNOON,
            [],
            WEEKEND[:-1],
            [],
            id="opened Friday afternoon, nothing over the weekend, Monday not over yet",
        ),
        pytest.param(
            FRIDAY_AFTERNOON,
            [(utc(3, 6, 15), CUSTOMER_MEETING)],
            WEEKEND,
            ["meeting and customer communication"],
            id="opened Friday afternoon, silent Monday",
        ),
        pytest.param(
            utc(3, 2, 10),
            [
                (utc(3, 3, 17), CUSTOMER_MEETING),
                (utc(3, 4, 9), CUSTOMER_MEETING),
                (utc(3, 5, 16, 30), CUSTOMER_MEETING),
                (utc(3, 6, 9, 5), CUSTOMER_MEETING),
                (utc(3, 9, 11), CUSTOMER_MEETING),
            ],
            [utc(3, day, 18) for day in (3, 4, 5, 6, 9)],
            [],
            id="meetings at 17:00, then 09:00 the next day, then at varying times",
        ),
        pytest.param(
            utc(3, 2, 10),
            [(utc(3, 3, 17, 1), CUSTOMER_MEETING)],
            [utc(3, 3, 18), utc(3, 4, 8)],
            [],
            id="a meeting after Tuesday's close counts toward Tuesday",
        ),
        pytest.param(
            utc(3, 6, 19),
            [],
            [utc(3, 9, 18), utc(3, 10, 8)],
            ["meeting and customer communication"],
            id="opened Friday evening, silent Monday",
        ),
    ],
)
def test_daily_is_once_each_business_day(
    scenario: Scenario,
    opened: dt.datetime,
    history: History,
    checked: list[dt.datetime],
    expected: list[str],
) -> None:
    assert expected == _lacked(scenario, "critical", opened, history, checked)


# "| High | ... | Multiple times per week |": at least twice each calendar week (Monday to
# Sunday), by the week's end. The week the escalation opens asks for its share of the business
# days left after the opening day: opened on a Monday, two; on a Friday, none.
MONDAY = utc(3, 2, 9)
NEXT_MONDAY = utc(3, 9, 8)


@pytest.mark.parametrize(
    ("opened", "history", "checked", "expected"),
    [
        pytest.param(
            MONDAY,
            [(utc(3, 2, 14), CUSTOMER_MEETING), (utc(3, 6, 14), CUSTOMER_MEETING)],
            [NEXT_MONDAY],
            [],
            id="customer meetings Monday and Friday",
        ),
        pytest.param(
            MONDAY,
            [(utc(3, 3, 14), CUSTOMER_MEETING), (utc(3, 5, 14), CUSTOMER_MEETING)],
            [NEXT_MONDAY],
            [],
            id="customer meetings Tuesday and Thursday",
        ),
        pytest.param(
            MONDAY,
            [
                (utc(3, 3, 14), INTERNAL_MEETING),
                (utc(3, 3, 15), MESSAGE),
                (utc(3, 5, 14), INTERNAL_MEETING),
                (utc(3, 5, 15), MESSAGE),
            ],
            [NEXT_MONDAY],
            [],
            id="internal meetings and messages to the customer Tuesday and Thursday",
        ),
        pytest.param(
            MONDAY,
            [(utc(3, 4, 14), CUSTOMER_MEETING)],
            [NEXT_MONDAY],
            ["meeting 1 of 2 and customer communication 1 of 2"],
            id="one customer meeting in the week",
        ),
        pytest.param(
            MONDAY,
            [(utc(3, 3, 14), INTERNAL_MEETING), (utc(3, 5, 14), CUSTOMER_MEETING)],
            [NEXT_MONDAY],
            ["customer communication 1 of 2"],
            id="an internal meeting and one customer meeting",
        ),
        pytest.param(
            utc(3, 6, 14),
            [],
            [NEXT_MONDAY],
            [],
            id="opened Friday: its first week asks for nothing",
        ),
        pytest.param(
            utc(3, 6, 14),
            [(utc(3, 10, 14), CUSTOMER_MEETING), (utc(3, 12, 14), CUSTOMER_MEETING)],
            [utc(3, 16, 8)],
            [],
            id="opened Friday, twice the week after",
        ),
    ],
)
def test_multiple_times_per_week_is_at_least_twice_each_calendar_week(
    scenario: Scenario,
    opened: dt.datetime,
    history: History,
    checked: list[dt.datetime],
    expected: list[str],
) -> None:
    assert expected == _lacked(scenario, "high", opened, history, checked)


# "| Medium | ... | Weekly to Bi-weekly |": at least once every two calendar weeks, counted
# from the week the escalation opens.
@pytest.mark.handbook_reading
@pytest.mark.parametrize(
    ("history", "checked", "expected"),
    [
        pytest.param(
            [(utc(3, 3, 14), CUSTOMER_MEETING)],
            [utc(3, 16, 8)],
            [],
            id="one customer meeting in the first week",
        ),
        pytest.param(
            [(utc(3, 13, 14), CUSTOMER_MEETING)],
            [utc(3, 16, 8)],
            [],
            id="one customer meeting on the fortnight's last Friday",
        ),
        pytest.param(
            [(utc(3, 2, 14), CUSTOMER_MEETING), (utc(3, 27, 14), CUSTOMER_MEETING)],
            [utc(3, 16, 8), utc(3, 30, 8)],
            [],
            id="the first Monday and the fourth Friday: each fortnight had one",
        ),
        pytest.param(
            [],
            [utc(3, 16, 8)],
            ["meeting and customer communication"],
            id="nothing in the fortnight",
        ),
        pytest.param(
            [(utc(3, 3, 14), CUSTOMER_MEETING)],
            [utc(3, 16, 8), utc(3, 30, 8)],
            ["meeting and customer communication"],
            id="the first fortnight kept, the second silent",
        ),
    ],
)
def test_weekly_to_bi_weekly_is_at_least_once_every_two_calendar_weeks(
    scenario: Scenario, history: History, checked: list[dt.datetime], expected: list[str]
) -> None:
    assert expected == _lacked(scenario, "medium", MONDAY, history, checked)


# "Cadence refers to the cadence of internal and external meetings and communications to the
# customer": one cadence, and one violation for one silent period. A lapse never makes the
# periods after it late: each starts afresh.
DAILY_CHECKS = [utc(3, day, 8) for day in (4, 5, 6)]  # the morning after each day


@pytest.mark.parametrize(
    ("history", "checked", "expected"),
    [
        pytest.param(
            [(utc(3, 4, 12), CUSTOMER_MEETING), (utc(3, 5, 12), CUSTOMER_MEETING)],
            DAILY_CHECKS,
            ["meeting and customer communication"],
            id="silent Tuesday, met Wednesday and Thursday",
        ),
        pytest.param(
            [(utc(3, 3, 12), CUSTOMER_MEETING), (utc(3, 5, 12), CUSTOMER_MEETING)],
            DAILY_CHECKS,
            ["meeting and customer communication"],
            id="silent Wednesday only",
        ),
        pytest.param(
            [(utc(3, 5, 12), INTERNAL_MEETING)],
            DAILY_CHECKS,
            [
                "meeting and customer communication",
                "meeting and customer communication",
                "customer communication",
            ],
            id="silent Tuesday and Wednesday, only an internal meeting Thursday",
        ),
    ],
)
def test_a_lapse_never_cascades_into_the_next_period(
    scenario: Scenario, history: History, checked: list[dt.datetime], expected: list[str]
) -> None:
    assert expected == _lacked(scenario, "critical", MONDAY, history, checked)


# The cadence stops while the escalation waits on the customer (an answer, access, a test):
# nothing is missed while it waits, and a day is excused when the wait took half its open hours
# or more (a Critical day asks in proportion to its open time not waited, rounded half up).
@pytest.mark.parametrize(
    ("history", "checked", "expected"),
    [
        pytest.param(
            [(utc(3, 2, 12), WAITING), (utc(3, 6, 10), RESPONDED)],
            [utc(3, day, 18) for day in (2, 3, 4, 5, 6)],
            [],
            id="waiting from Monday noon until Friday morning",
        ),
        pytest.param(
            [(utc(3, 2, 12), WAITING)],
            [utc(3, 9, 18), utc(3, 16, 18), utc(3, 30, 18)],
            [],
            id="waiting for four weeks without an answer",
        ),
        pytest.param(
            [(utc(3, 2, 12), WAITING), (utc(3, 4, 14), RESPONDED), (utc(3, 5, 12), MESSAGE)],
            [utc(3, 5, 18), utc(3, 6, 8)],
            ["meeting"],
            id="the customer responds Wednesday afternoon, Thursday is the first period again",
        ),
        pytest.param(
            [(utc(3, 2, 12), WAITING), (utc(3, 4, 10), RESPONDED), (utc(3, 5, 12), MESSAGE)],
            [utc(3, 5, 18), utc(3, 6, 8)],
            ["meeting and customer communication", "meeting"],
            id="the customer responds Wednesday morning, Wednesday is still a period",
        ),
        pytest.param(
            [(utc(3, 2, 12), WAITING), (utc(3, 6, 10), RESPONDED)],
            [utc(3, 6, 18), utc(3, 10, 8)],
            ["meeting and customer communication"],
            id="the customer responds Friday, silent Monday",
        ),
        pytest.param(
            [(utc(3, 4, 10), WAITING)],
            [utc(3, 4, 18), utc(3, 5, 18)],
            ["meeting and customer communication"],
            id="a silent Tuesday before the wait is still missed",
        ),
    ],
)
def test_waiting_on_the_customer_pauses_the_cadence(
    scenario: Scenario, history: History, checked: list[dt.datetime], expected: list[str]
) -> None:
    assert expected == _lacked(scenario, "critical", MONDAY, history, checked)


# The business day is the customer's when the opening gives its time zone: 00:30 on Wednesday
# in Tokyo is after Tokyo's Tuesday, while 15:30 UTC is Tuesday afternoon in UTC.
@pytest.mark.parametrize(
    ("time_zone", "expected"),
    [
        pytest.param(None, [], id="no zone given: UTC"),
        pytest.param("Asia/Tokyo", ["meeting and customer communication"], id="Tokyo"),
    ],
)
def test_the_customers_time_zone_moves_the_business_day(
    scenario: Scenario, time_zone: str | None, expected: list[str]
) -> None:
    fields = {"time_zone": time_zone} if time_zone else {}
    history: History = [(utc(3, 3, 15, 30), CUSTOMER_MEETING)]
    assert expected == _lacked(
        scenario, "critical", utc(3, 2, 1), history, [utc(3, 4, 9)], **fields
    )
