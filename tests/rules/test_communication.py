"""Handbook: "Communication Process".

Who posts, how soon and how often are read from the policy (the owner table, the module's
named durations, the ``communication.updates`` table): these tests check that the engine
applies them, whatever a policy owner sets them to.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from escalation_policy.periods import Period
from tests.conftest import (
    CHANNEL,
    SEVERITIES,
    Scenario,
    at,
    of_type,
    other_team,
    owner_of,
    severities_where,
    updates,
    violations,
)
from tests.rules.business_days import calendar, due, due_times, kept, limit, period, utc

MINUTE = dt.timedelta(minutes=1)
WITH_UPDATES = severities_where(lambda severity: updates(severity).then["update_every"] is not None)
WITHOUT_UPDATES = severities_where(lambda severity: severity not in WITH_UPDATES)


def _every(severity: str) -> Period:
    return period(updates(severity).then["update_every"])


def _created_due(opened: dt.datetime) -> dt.datetime:
    return due("created_post_within", opened)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_the_owner_posts_when_the_escalation_is_created(scenario: Scenario, severity: str) -> None:
    posts = of_type(scenario.open(severity=severity).actions, "post_to_channel")
    created = [p for p in posts if p.reason.value == "created"]
    assert [(CHANNEL, owner_of(severity), _created_due(at()))] == [
        (p.channel, p.by.value, p.due) for p in created
    ]
    assert "communication.post_when_created" == created[0].rule


def test_missing_created_post_is_reported_once(scenario: Scenario) -> None:
    scenario.open(severity="low", tam=None)
    first = scenario.tick(_created_due(at()) + MINUTE)
    later = scenario.tick(_created_due(at()) + dt.timedelta(days=4))
    assert [("post_overdue", "communication.post_when_created")] == violations(first.actions)
    assert [] == violations(later.actions)


def test_created_post_on_time_is_compliant(scenario: Scenario) -> None:
    scenario.open(severity="low", tam=None)
    decision = scenario.post(_created_due(at()), "created", owner_of("low"))
    assert [False] == [f.late for f in decision.fulfilled]
    assert [] == violations(scenario.tick(at(days=3)).actions)


def test_late_created_post_is_recognised_as_late(scenario: Scenario) -> None:
    scenario.open(severity="low")
    scenario.tick(_created_due(at()) + MINUTE)
    decision = scenario.post(_created_due(at()) + dt.timedelta(hours=1), "created", owner_of("low"))
    assert [True] == [f.late for f in decision.fulfilled]


@pytest.mark.parametrize("severity", WITH_UPDATES)
def test_updates_at_the_severitys_interval_keep_the_schedule(
    scenario: Scenario, severity: str
) -> None:
    owner = owner_of(severity)
    posts, after = kept(_every(severity), at(), 3, lead=30 * MINUTE)
    scenario.open(severity=severity)
    scenario.post(at(minutes=10), "created", owner)
    for when in posts:
        scenario.post(when, "update", owner)
    assert [] == [
        v for v in violations(scenario.tick(after - MINUTE).actions) if v[0] == "update_overdue"
    ]


@pytest.mark.parametrize("severity", WITH_UPDATES)
def test_each_missed_update_is_one_violation(scenario: Scenario, severity: str) -> None:
    """Looked at every hour, each period without an update is noticed as it ends."""
    third = due_times(_every(severity), at(), 3)[-1]
    scenario.open(severity=severity)
    for hour in range(1, int((third - at()) / dt.timedelta(hours=1)) + 2):
        scenario.tick(at(hours=hour))
    missed = [v for v in violations(scenario.actions()) if v[0] == "update_overdue"]
    assert [("update_overdue", updates(severity).rule)] * 3 == missed


@pytest.mark.parametrize("severity", WITHOUT_UPDATES)
def test_severities_without_an_update_interval_have_no_scheduled_updates(
    scenario: Scenario, severity: str
) -> None:
    scenario.open(severity=severity)
    assert "update_overdue" not in [
        code for code, _ in violations(scenario.tick(at(days=13)).actions)
    ]


def test_post_by_another_team_is_a_wrong_poster(scenario: Scenario) -> None:
    scenario.open(severity="critical")
    decision = scenario.post(at(minutes=30), "created", other_team(owner_of("critical")))
    assert [("wrong_poster", "communication.created_by_owner_or_initiator")] == violations(
        decision.actions
    )
    assert 1 == len(decision.fulfilled), "the post was made, by the wrong team"


@pytest.mark.parametrize("purpose", ["initiation", "tracking"])
def test_channel_is_not_for_initiation_or_tracking(scenario: Scenario, purpose: str) -> None:
    scenario.open(severity="medium")
    decision = scenario.post(at(minutes=30), purpose, owner_of("medium"))
    assert [("channel_misuse", f"communication.not_for_{purpose}")] == violations(decision.actions)


@pytest.mark.parametrize("purpose", ["initiation", "tracking"])
def test_account_channels_are_for_initiation_and_tracking(scenario: Scenario, purpose: str) -> None:
    scenario.open(severity="medium")
    decision = scenario.post(at(minutes=30), purpose, owner_of("medium"), channel="#acme-support")
    assert [] == violations(decision.actions)


def test_closing_requires_a_closing_post_then_forgets_the_escalation(scenario: Scenario) -> None:
    owner = owner_of("high")
    scenario.open(severity="high")
    scenario.post(at(minutes=20), "created", owner)
    closing = scenario.fact("closed", at(hours=10))
    (post,) = of_type(closing.actions, "post_to_channel")
    assert ("closed", owner, due("closed_post_within", at(hours=10))) == (
        post.reason.value,
        post.by.value,
        post.due,
    )
    scenario.post(at(hours=10, minutes=30), "closed", owner)
    assert 0 == len(scenario.engine)


def test_missing_closing_post_is_a_violation(scenario: Scenario) -> None:
    scenario.open(severity="medium")
    scenario.post(at(minutes=20), "created", owner_of("medium"))
    scenario.fact("closed", at(hours=10))
    late = due("closed_post_within", at(hours=10)) + MINUTE
    assert [("post_overdue", "communication.post_when_closed")] == violations(
        scenario.tick(late).actions
    )


def test_closing_stops_updates_and_meetings(scenario: Scenario) -> None:
    owner = owner_of("critical")
    scenario.open(severity="critical")
    scenario.post(at(minutes=20), "created", owner)
    scenario.fact("closed", at(minutes=40))
    scenario.post(at(minutes=50), "closed", owner)
    assert [] == violations(scenario.tick(at(days=60)).actions)


def test_risk_reduced_requires_a_post_and_ends_updates_and_meetings(scenario: Scenario) -> None:
    owner = owner_of("critical")
    scenario.open(severity="critical")
    scenario.post(at(minutes=20), "created", owner)
    decision = scenario.fact("risk_reduced", at(minutes=40))
    (post,) = of_type(decision.actions, "post_to_channel")
    assert ("risk_reduced", due("risk_reduced_post_within", at(minutes=40))) == (
        post.reason.value,
        post.due,
    )
    scenario.post(at(minutes=50), "risk_reduced", owner)
    scenario.fact("executive_summary_updated", at(minutes=55))  # required on risk reduced
    assert [] == violations(scenario.tick(at(days=60)).actions)
    closing = scenario.fact("closed", at(days=61))
    assert [] == of_type(closing.actions, "post_to_channel"), "the risk-reduced post announced it"
    assert 0 == len(scenario.engine)


@pytest.mark.parametrize("severity", WITH_UPDATES)
def test_severity_change_after_risk_reduced_re_escalates(scenario: Scenario, severity: str) -> None:
    lower = WITHOUT_UPDATES[0] if WITHOUT_UPDATES else severity
    owner = owner_of(lower)
    scenario.open(severity=lower)
    scenario.post(at(minutes=20), "created", owner)
    scenario.fact("risk_reduced", at(minutes=40))
    scenario.post(at(minutes=50), "risk_reduced", owner)
    decision = scenario.fact("severity_changed", at(days=2), severity=severity)
    scheduled = [
        p for p in of_type(decision.actions, "post_to_channel") if p.reason.value == "update"
    ]
    soon = due("update_after_raise_within", at(days=2))
    assert [*due_times(_every(severity), at(days=2), 1), soon] == [p.due for p in scheduled]


def test_owner_change_redirects_the_pending_created_post(scenario: Scenario) -> None:
    owners = {severity: owner_of(severity) for severity in SEVERITIES}
    first, second = next((a, b) for a in SEVERITIES for b in SEVERITIES if owners[a] != owners[b])
    scenario.open(severity=first)
    decision = scenario.fact("severity_changed", at(minutes=1), severity=second)
    created = [
        p for p in of_type(decision.actions, "post_to_channel") if p.reason.value == "created"
    ]
    assert [(owners[second], _created_due(at()))] == [(p.by.value, p.due) for p in created]


# ---------------------------------------------------------------------------------------------
# Read with business days. These tables pin the reading on purpose, as the owner table does in
# test_responsibilities.py: small histories a Customer Success lead can check against the page.
# The calendar is the policy's: Monday to Friday, 09:00 to 17:00, in UTC unless the customer's
# zone is given. 2 March 2026 is a Monday.
def _missed_updates(
    scenario: Scenario,
    severity: str,
    opened: dt.datetime,
    posted: list[dt.datetime],
    checked: list[dt.datetime],
    pauses: tuple[dt.datetime, ...] = (),
) -> list[dt.datetime]:
    """The due times of the updates reported missed."""
    owner = owner_of(severity)
    scenario.open(when=opened, severity=severity)
    scenario.post(opened + MINUTE, "created", owner)
    events = [(when, "update") for when in posted] + [(when, "tick") for when in checked]
    events += [(when, "waiting_on_customer") for when in pauses]
    for when, kind in sorted(events):
        if kind == "update":
            scenario.post(when, "update", owner)
        elif kind == "tick":
            scenario.tick(when)
        else:
            scenario.fact(kind, when)
    return [v.due for v in of_type(scenario.actions(), "violation") if v.code == "update_overdue"]


FRIDAY_AFTERNOON = utc(3, 6, 14)
WEEKEND = [utc(3, 7, 12), utc(3, 8, 12), utc(3, 9, 8), utc(3, 9, 16, 59), utc(3, 10, 8)]


# "(e.g., daily updates for high or critical escalations)": an update each business day, by
# the end of its date: one posted after the close counts for that day, not the next, and the
# day an escalation opens is no period of its own whatever the hour.
@pytest.mark.handbook_reading
@pytest.mark.parametrize("severity", WITH_UPDATES)
@pytest.mark.parametrize(
    ("opened", "posted", "checked", "expected"),
    [
        pytest.param(
            FRIDAY_AFTERNOON,
            [utc(3, 6, 15), utc(3, 9, 10)],
            WEEKEND,
            [],
            id="opened Friday afternoon, updates Friday and Monday morning",
        ),
        pytest.param(
            FRIDAY_AFTERNOON,
            [utc(3, 6, 15)],
            WEEKEND,
            [utc(3, 10, 0)],
            id="opened Friday afternoon, no update Monday",
        ),
        pytest.param(
            utc(3, 2, 10),
            [utc(3, 3, 17), utc(3, 4, 9), utc(3, 5, 16, 30), utc(3, 6, 9, 5), utc(3, 9, 11)],
            [utc(3, day, 18) for day in (3, 4, 5, 6, 9)],
            [],
            id="updates at 17:00, then 09:00 the next day, then at varying times",
        ),
        pytest.param(
            utc(3, 2, 10),
            [utc(3, 3, 12), utc(3, 5, 12)],
            [utc(3, day, 18) for day in (3, 4, 5)],
            [utc(3, 5, 0)],
            id="no update Wednesday: one miss, Thursday on time",
        ),
        pytest.param(
            utc(3, 2, 10),
            [utc(3, 3, 19), utc(3, 4, 20)],
            [utc(3, 4, 8), utc(3, 5, 8)],
            [],
            id="updates after the close count for their own day",
        ),
        pytest.param(
            utc(3, 6, 19),
            [],
            [utc(3, 9, 18), utc(3, 10, 8)],
            [utc(3, 10, 0)],
            id="opened Friday evening, no update Monday",
        ),
    ],
)
def test_updates_are_due_once_each_business_day(
    scenario: Scenario,
    severity: str,
    opened: dt.datetime,
    posted: list[dt.datetime],
    checked: list[dt.datetime],
    expected: list[dt.datetime],
) -> None:
    assert expected == _missed_updates(scenario, severity, opened, posted, checked)


@pytest.mark.handbook_reading
@pytest.mark.parametrize("severity", WITH_UPDATES)
def test_updates_do_not_pause_while_waiting_on_the_customer(
    scenario: Scenario, severity: str
) -> None:
    """The channel is for "executive or management visibility": an escalation that waits on
    the customer is still one executives follow, so its updates keep their days while its
    cadence of meetings stops."""
    expected = [utc(3, 4, 0)]
    assert expected == _missed_updates(
        scenario, severity, utc(3, 2, 10), [], [utc(3, 4, 8)], pauses=(utc(3, 2, 12),)
    )


# "The posting to this channel should occur: when the escalation is identified and created",
# counted in business hours from the next opening: opened after hours, the post is owed once the
# day begins. The customer's zone ("time_zone" on the opening) moves the business day.
@pytest.mark.parametrize(
    ("opened", "time_zone", "expected"),
    [
        pytest.param(utc(3, 2, 9), None, utc(3, 2, 11), id="Monday 09:00 UTC: Monday 11:00"),
        pytest.param(utc(3, 2, 16), None, utc(3, 3, 10), id="Monday 16:00 UTC: Tuesday 10:00"),
        pytest.param(utc(3, 6, 18), None, utc(3, 9, 11), id="Friday 18:00 UTC: Monday 11:00"),
        pytest.param(utc(3, 7, 12), None, utc(3, 9, 11), id="Saturday: Monday 11:00"),
        pytest.param(
            utc(3, 6, 18),
            "America/New_York",
            dt.datetime(2026, 3, 6, 15, tzinfo=ZoneInfo("America/New_York")),
            id="Friday 18:00 UTC is 13:00 in New York: Friday 15:00 there",
        ),
        pytest.param(
            utc(3, 6, 18),
            "Asia/Tokyo",
            dt.datetime(2026, 3, 9, 11, tzinfo=ZoneInfo("Asia/Tokyo")),
            id="Friday 18:00 UTC is Saturday 03:00 in Tokyo: Monday 11:00 there",
        ),
        pytest.param(
            utc(3, 6, 18),
            "Europe/Berlin",
            dt.datetime(2026, 3, 9, 11, tzinfo=ZoneInfo("Europe/Berlin")),
            id="Friday 18:00 UTC is 19:00 in Berlin: Monday 11:00 there",
        ),
    ],
)
def test_the_created_post_is_due_two_business_hours_after_opening(
    scenario: Scenario, opened: dt.datetime, time_zone: str | None, expected: dt.datetime
) -> None:
    fields = {"time_zone": time_zone} if time_zone else {}
    posts = of_type(
        scenario.open(when=opened, severity="critical", **fields).actions, "post_to_channel"
    )
    (created,) = [p for p in posts if p.reason.value == "created"]
    assert expected == created.due
    assert due("created_post_within", opened, time_zone) == created.due
    assert [] == violations(scenario.tick(expected).actions)
    assert ["post_overdue"] == [
        code for code, _ in violations(scenario.tick(expected + MINUTE).actions)
    ]


# The closed and risk-reduced posts are due within one business day: its open hours, counted
# from the next opening, so closed on a Monday evening the post is owed by Tuesday's close.
def test_one_business_day_is_the_open_hours_of_a_business_day() -> None:
    business_day = calendar().open_intervals(utc(3, 2, 12).date())
    hours = sum((closes - opens for opens, closes in business_day), dt.timedelta())
    assert [hours, hours] == [
        limit("closed_post_within").duration,
        limit("risk_reduced_post_within").duration,
    ]


@pytest.mark.parametrize(
    ("closed", "expected"),
    [
        pytest.param(utc(3, 2, 19), utc(3, 3, 17), id="closed Monday 19:00: Tuesday 17:00"),
        pytest.param(utc(3, 3, 13), utc(3, 4, 13), id="closed Tuesday 13:00: Wednesday 13:00"),
        pytest.param(utc(3, 6, 13), utc(3, 9, 13), id="closed Friday 13:00: Monday 13:00"),
    ],
)
def test_the_closed_post_is_due_one_business_day_after_closing(
    scenario: Scenario, closed: dt.datetime, expected: dt.datetime
) -> None:
    """ "when the escalation is closed or risk reduced to standard business process to
    manage"."""
    scenario.open(when=utc(3, 2, 9), severity="medium")
    (post,) = of_type(scenario.fact("closed", closed).actions, "post_to_channel")
    assert expected == post.due
