"""Handbook: "Communication Process"."""

import pytest

from tests.conftest import CHANNEL, Scenario, at, of_type, violations

OWNERS = [
    pytest.param("critical", "tam", id="critical: the TAM posts"),
    pytest.param("high", "tam", id="high: the TAM posts"),
    pytest.param("medium", "support_engineering", id="medium: Support posts"),
    pytest.param("low", "support_engineering", id="low: Support posts"),
]


@pytest.mark.parametrize(("severity", "owner"), OWNERS)
def test_the_owner_posts_when_the_escalation_is_created(
    scenario: Scenario, severity: str, owner: str
) -> None:
    posts = of_type(scenario.open(severity=severity).actions, "post_to_channel")
    created = [p for p in posts if p.reason.value == "created"]
    assert [(CHANNEL, owner, at(hours=2))] == [(p.channel, p.by.value, p.due) for p in created]
    assert "communication.post_when_created" == created[0].rule


def test_missing_created_post_is_reported_once(scenario: Scenario) -> None:
    scenario.open(severity="low")
    first = scenario.tick(at(hours=2, minutes=1))
    later = scenario.tick(at(hours=9))
    assert [("post_overdue", "communication.post_when_created")] == violations(first.actions)
    assert [] == violations(later.actions)


def test_created_post_on_time_is_compliant(scenario: Scenario) -> None:
    scenario.open(severity="low")
    decision = scenario.post(at(hours=2), "created", "support_engineering")
    assert [False] == [f.late for f in decision.fulfilled]
    assert [] == violations(scenario.tick(at(days=3)).actions)


def test_late_created_post_is_recognised_as_late(scenario: Scenario) -> None:
    scenario.open(severity="low")
    scenario.tick(at(hours=3))
    decision = scenario.post(at(hours=5), "created", "support_engineering")
    assert [True] == [f.late for f in decision.fulfilled]


@pytest.mark.parametrize("severity", ["critical", "high"])
def test_critical_and_high_need_daily_updates(scenario: Scenario, severity: str) -> None:
    scenario.open(severity=severity)
    scenario.post(at(minutes=10), "created", "tam")
    for day in (1, 2, 3):
        scenario.post(at(days=day, minutes=-30), "update", "tam")
    assert [] == [
        v
        for v in violations(scenario.tick(at(days=3, hours=12)).actions)
        if v[0] == "update_overdue"
    ]


@pytest.mark.parametrize("severity", ["critical", "high"])
def test_each_missed_daily_update_is_one_violation(scenario: Scenario, severity: str) -> None:
    scenario.open(severity=severity)
    for hour in range(1, 3 * 24 + 2):
        scenario.tick(at(hours=hour))
    updates = [v for v in violations(scenario.actions()) if v[0] == "update_overdue"]
    assert [("update_overdue", "communication.updates/critical_and_high")] * 3 == updates


@pytest.mark.parametrize("severity", ["medium", "low"])
def test_medium_and_low_have_no_scheduled_updates(scenario: Scenario, severity: str) -> None:
    scenario.open(severity=severity)
    assert "update_overdue" not in [
        code for code, _ in violations(scenario.tick(at(days=13)).actions)
    ]


def test_post_by_another_team_is_a_wrong_poster(scenario: Scenario) -> None:
    scenario.open(severity="critical")
    decision = scenario.post(at(hours=1), "created", "support_engineering")
    assert [("wrong_poster", "communication.posted_by_owner")] == violations(decision.actions)
    assert 1 == len(decision.fulfilled), "the post was made, by the wrong team"


@pytest.mark.parametrize("purpose", ["initiation", "tracking"])
def test_channel_is_not_for_initiation_or_tracking(scenario: Scenario, purpose: str) -> None:
    scenario.open(severity="medium")
    decision = scenario.post(at(hours=1), purpose, "support_engineering")
    assert [("channel_misuse", f"communication.not_for_{purpose}")] == violations(decision.actions)


@pytest.mark.parametrize("purpose", ["initiation", "tracking"])
def test_account_channels_are_for_initiation_and_tracking(scenario: Scenario, purpose: str) -> None:
    scenario.open(severity="medium")
    decision = scenario.post(at(hours=1), purpose, "support_engineering", channel="#acme-support")
    assert [] == violations(decision.actions)


def test_closing_requires_a_closing_post_then_forgets_the_escalation(scenario: Scenario) -> None:
    scenario.open(severity="high")
    scenario.post(at(minutes=20), "created", "tam")
    closing = scenario.fact("closed", at(hours=10))
    (post,) = of_type(closing.actions, "post_to_channel")
    assert ("closed", "tam", at(hours=34)) == (post.reason.value, post.by.value, post.due)
    scenario.post(at(hours=11), "closed", "tam")
    assert 0 == len(scenario.engine)


def test_missing_closing_post_is_a_violation(scenario: Scenario) -> None:
    scenario.open(severity="medium")
    scenario.post(at(minutes=20), "created", "support_engineering")
    scenario.fact("closed", at(hours=10))
    assert [("post_overdue", "communication.post_when_closed")] == violations(
        scenario.tick(at(days=2)).actions
    )


def test_closing_stops_updates_and_meetings(scenario: Scenario) -> None:
    scenario.open(severity="critical")
    scenario.post(at(minutes=20), "created", "tam")
    scenario.fact("closed", at(hours=10))
    scenario.post(at(hours=11), "closed", "tam")
    assert [] == violations(scenario.tick(at(days=5)).actions)


def test_risk_reduced_requires_a_post_and_ends_updates_and_meetings(scenario: Scenario) -> None:
    scenario.open(severity="critical")
    scenario.post(at(minutes=20), "created", "tam")
    decision = scenario.fact("risk_reduced", at(hours=10))
    (post,) = of_type(decision.actions, "post_to_channel")
    assert ("risk_reduced", at(hours=34)) == (post.reason.value, post.due)
    scenario.post(at(hours=12), "risk_reduced", "tam")
    assert [] == violations(scenario.tick(at(days=5)).actions)
    closing = scenario.fact("closed", at(days=6))
    assert [] == of_type(closing.actions, "post_to_channel"), "the risk-reduced post announced it"
    assert 0 == len(scenario.engine)


def test_severity_change_after_risk_reduced_re_escalates(scenario: Scenario) -> None:
    scenario.open(severity="high")
    scenario.post(at(minutes=20), "created", "tam")
    scenario.fact("risk_reduced", at(hours=10))
    scenario.post(at(hours=11), "risk_reduced", "tam")
    decision = scenario.fact("severity_changed", at(days=2), severity="critical")
    updates = [
        p for p in of_type(decision.actions, "post_to_channel") if p.reason.value == "update"
    ]
    assert [at(days=3)] == [p.due for p in updates]


def test_owner_change_redirects_the_pending_created_post(scenario: Scenario) -> None:
    scenario.open(severity="medium")
    decision = scenario.fact("severity_changed", at(minutes=30), severity="critical")
    created = [
        p for p in of_type(decision.actions, "post_to_channel") if p.reason.value == "created"
    ]
    assert [("tam", at(hours=2))] == [(p.by.value, p.due) for p in created]
