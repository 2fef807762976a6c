"""Handbook: "Escalation Tracker Template"."""

from escalation_policy.rules import tracker
from tests.conftest import Scenario, at, of_type, owner_of, violations

WITHIN = tracker.SUMMARY_UPDATE_WITHIN


def test_each_escalated_customer_gets_a_tracker_document(scenario: Scenario) -> None:
    (document,) = of_type(scenario.open(customer="Globex").actions, "create_tracker_document")
    assert (
        tracker.TRACKER_TITLE.format(customer="Globex")
        == document.title
        == "Globex Escalation Tracker"
    )
    assert "Escalation Tracker Template" == document.cites


def test_status_change_requires_an_executive_summary_update(scenario: Scenario) -> None:
    scenario.open(severity="medium")
    decision = scenario.fact(
        "status_changed", at(hours=4), status="fix deployed", milestones=["hotfix 16.3.1"]
    )
    (update,) = of_type(decision.actions, "update_executive_summary")
    assert at(hours=4) + WITHIN == update.due
    assert "Escalation Tracker Template > Executive Summary" == update.cites
    assert "fix deployed" == scenario.engine.escalation("ESC-1").engagement_status  # type: ignore[union-attr]


def test_summary_updated_in_time_is_compliant(scenario: Scenario) -> None:
    scenario.open(severity="low")
    scenario.post(at(minutes=1), "created", owner_of("low"))
    scenario.fact("status_changed", at(hours=4), status="waiting on customer")
    scenario.fact("executive_summary_updated", at(hours=4) + WITHIN / 2)
    assert [] == violations(scenario.tick(at(hours=4) + 2 * WITHIN).actions)


def test_summary_not_updated_is_a_violation(scenario: Scenario) -> None:
    scenario.open(severity="low")
    scenario.post(at(minutes=1), "created", owner_of("low"))
    scenario.fact("status_changed", at(hours=4), status="waiting on customer")
    assert [("executive_summary_overdue", "tracker.summary_on_status_change")] == violations(
        scenario.tick(at(hours=4) + 2 * WITHIN).actions
    )


def test_no_status_change_needs_no_summary_update(scenario: Scenario) -> None:
    scenario.open(severity="low", tam=None)
    scenario.post(at(minutes=1), "created", owner_of("low"))
    assert [] == violations(scenario.tick(at(days=10)).actions)
