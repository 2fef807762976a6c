"""Handbook: "Scope".

``IN_SCOPE_CASES`` is the handbook's Scope paragraph as an example table a policy owner reads:
the specification, pinned on purpose. The other tests read the policy.
"""

import pytest

from tests.conftest import Scenario, at, of_type, owner_of, row

IN_SCOPE_CASES = [
    pytest.param("enterprise", False, False, True, id="enterprise: in scope"),
    pytest.param("commercial", True, False, True, id="commercial with strategic partnership"),
    pytest.param("smb", True, False, True, id="smb with strategic partnership"),
    pytest.param("commercial", False, False, False, id="commercial without partnership: out"),
    pytest.param("smb", False, False, False, id="smb without partnership: out"),
    pytest.param("smb", False, True, True, id="broad impact across customers: in scope"),
    pytest.param("commercial", False, True, True, id="broad impact, commercial: in scope"),
]


@pytest.mark.parametrize(("segment", "partnership", "broad_impact", "in_scope"), IN_SCOPE_CASES)
@pytest.mark.parametrize("severity", ["critical", "high", "medium", "low"])
def test_scope_depends_on_the_customer(
    scenario: Scenario,
    segment: str,
    partnership: bool,
    broad_impact: bool,
    in_scope: bool,
    severity: str,
) -> None:
    actions = scenario.open(
        segment=segment,
        strategic_partnership=partnership,
        broad_impact=broad_impact,
        severity=severity,
    ).actions
    assert in_scope == (not of_type(actions, "out_of_scope"))
    assert in_scope == bool(of_type(actions, "assign_owner"))


def test_out_of_scope_escalation_gets_only_the_out_of_scope_action(scenario: Scenario) -> None:
    actions = scenario.open(segment="smb", severity="critical").actions
    assert ["out_of_scope"] == [a.TYPE for a in actions]
    (action,) = actions
    assert "scope.out_of_scope" == action.rule
    assert "Scope" == action.cites
    reason = row("scope.customers", broad_impact=False, segment="smb", strategic_partnership=False)
    assert reason.then["out_of_scope_reason"] == action.reason


def test_out_of_scope_escalation_has_no_obligations(scenario: Scenario) -> None:
    scenario.open(segment="commercial", severity="critical")
    scenario.fact("status_changed", at(hours=1), status="investigating")
    assert () == scenario.tick(at(days=30)).actions
    scenario.fact("closed", at(days=31))
    assert 0 == len(scenario.engine)


@pytest.mark.parametrize("team", ["tam", "support_engineering", "customer_success", "other"])
def test_any_team_member_can_escalate(scenario: Scenario, team: str) -> None:
    actions = scenario.open(initiated_by=team, severity="high").actions
    assert [owner_of("high")] == [a.owner.value for a in of_type(actions, "assign_owner")]
