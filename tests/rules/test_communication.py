"""Handbook: "Communication Process".

Who posts, how soon and how often are read from the policy (the owner table, the module's
named durations, the ``communication.updates`` table): these tests check that the engine
applies them, whatever a policy owner sets them to.
"""

import datetime as dt

import pytest

from escalation_policy.rules import communication
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

CREATED_WITHIN = communication.CREATED_POST_WITHIN
MINUTE = dt.timedelta(minutes=1)
WITH_UPDATES = severities_where(lambda severity: updates(severity).then["update_every"] is not None)
WITHOUT_UPDATES = severities_where(lambda severity: severity not in WITH_UPDATES)


def _every(severity: str) -> dt.timedelta:
    every = updates(severity).then["update_every"]
    assert isinstance(every, dt.timedelta)
    return every


@pytest.mark.parametrize("severity", SEVERITIES)
def test_the_owner_posts_when_the_escalation_is_created(scenario: Scenario, severity: str) -> None:
    posts = of_type(scenario.open(severity=severity).actions, "post_to_channel")
    created = [p for p in posts if p.reason.value == "created"]
    assert [(CHANNEL, owner_of(severity), at() + CREATED_WITHIN)] == [
        (p.channel, p.by.value, p.due) for p in created
    ]
    assert "communication.post_when_created" == created[0].rule


def test_missing_created_post_is_reported_once(scenario: Scenario) -> None:
    scenario.open(severity="low", tam=None)
    first = scenario.tick(at() + CREATED_WITHIN + MINUTE)
    later = scenario.tick(at() + 4 * CREATED_WITHIN + MINUTE)
    assert [("post_overdue", "communication.post_when_created")] == violations(first.actions)
    assert [] == violations(later.actions)


def test_created_post_on_time_is_compliant(scenario: Scenario) -> None:
    scenario.open(severity="low", tam=None)
    decision = scenario.post(at() + CREATED_WITHIN, "created", owner_of("low"))
    assert [False] == [f.late for f in decision.fulfilled]
    assert [] == violations(scenario.tick(at(days=3)).actions)


def test_late_created_post_is_recognised_as_late(scenario: Scenario) -> None:
    scenario.open(severity="low")
    scenario.tick(at() + CREATED_WITHIN + MINUTE)
    decision = scenario.post(at() + 2 * CREATED_WITHIN, "created", owner_of("low"))
    assert [True] == [f.late for f in decision.fulfilled]


@pytest.mark.parametrize("severity", WITH_UPDATES)
def test_updates_at_the_severitys_interval_keep_the_schedule(
    scenario: Scenario, severity: str
) -> None:
    every, owner = _every(severity), owner_of(severity)
    scenario.open(severity=severity)
    scenario.post(at(minutes=10), "created", owner)
    for period in (1, 2, 3):
        scenario.post(at() + period * every - 30 * MINUTE, "update", owner)
    assert [] == [
        v
        for v in violations(scenario.tick(at() + 3 * every + every / 2).actions)
        if v[0] == "update_overdue"
    ]


@pytest.mark.parametrize("severity", WITH_UPDATES)
def test_each_missed_update_is_one_violation(scenario: Scenario, severity: str) -> None:
    every = _every(severity)
    scenario.open(severity=severity)
    for hour in range(1, int(3 * every / dt.timedelta(hours=1)) + 2):
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
    assert ("closed", owner, at(hours=10) + communication.CLOSED_POST_WITHIN) == (
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
    late = at(hours=10) + communication.CLOSED_POST_WITHIN + MINUTE
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
    assert ("risk_reduced", at(minutes=40) + communication.RISK_REDUCED_POST_WITHIN) == (
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
    soon = at(days=2) + communication.UPDATE_AFTER_RAISE_WITHIN
    assert [at(days=2) + _every(severity), soon] == [p.due for p in scheduled]


def test_owner_change_redirects_the_pending_created_post(scenario: Scenario) -> None:
    owners = {severity: owner_of(severity) for severity in SEVERITIES}
    first, second = next((a, b) for a in SEVERITIES for b in SEVERITIES if owners[a] != owners[b])
    scenario.open(severity=first)
    decision = scenario.fact("severity_changed", at(minutes=1), severity=second)
    created = [
        p for p in of_type(decision.actions, "post_to_channel") if p.reason.value == "created"
    ]
    assert [(owners[second], at() + CREATED_WITHIN)] == [(p.by.value, p.due) for p in created]
