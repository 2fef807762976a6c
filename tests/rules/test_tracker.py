"""Handbook: "Escalation Tracker Template"."""

import datetime as dt

from escalation_policy.rules import tracker
from tests.conftest import Scenario, at, of_type, owner_of, violations
from tests.rules.business_days import due


def _summary_due(changed: dt.datetime) -> dt.datetime:
    """When the executive summary must reflect a change of status made at ``changed``."""
    return due("summary_update_within", changed)


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
    assert _summary_due(at(hours=4)) == update.due
    assert "Escalation Tracker Template > Executive Summary" == update.cites
    assert "fix deployed" == scenario.engine.escalation("ESC-1").engagement_status  # type: ignore[union-attr]


def test_summary_updated_in_time_is_compliant(scenario: Scenario) -> None:
    scenario.open(severity="low")
    scenario.post(at(minutes=1), "created", owner_of("low"))
    scenario.fact("status_changed", at(hours=4), status="waiting on customer")
    scenario.fact("executive_summary_updated", _summary_due(at(hours=4)) - dt.timedelta(hours=1))
    assert [] == violations(scenario.tick(_summary_due(at(hours=4)) + dt.timedelta(days=1)).actions)


def test_summary_not_updated_is_a_violation(scenario: Scenario) -> None:
    scenario.open(severity="low")
    scenario.post(at(minutes=1), "created", owner_of("low"))
    scenario.fact("status_changed", at(hours=4), status="waiting on customer")
    assert [("executive_summary_overdue", "tracker.summary_on_status_change")] == violations(
        scenario.tick(_summary_due(at(hours=4)) + dt.timedelta(days=1)).actions
    )


def test_no_status_change_needs_no_summary_update(scenario: Scenario) -> None:
    scenario.open(severity="low", tam=None)
    scenario.post(at(minutes=1), "created", owner_of("low"))
    assert [] == violations(scenario.tick(at(days=10)).actions)
