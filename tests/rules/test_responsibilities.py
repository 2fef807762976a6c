"""Handbook: "Responsibilities"."""

import pytest

from tests.conftest import Scenario, at, of_type, violations


@pytest.mark.parametrize(
    ("severity", "owner", "cites"),
    [
        pytest.param("critical", "tam", "Critical and High", id="critical: TAM"),
        pytest.param("high", "tam", "Critical and High", id="high: TAM"),
        pytest.param("medium", "support_engineering", "Medium and Low", id="medium: Support"),
        pytest.param("low", "support_engineering", "Medium and Low", id="low: Support"),
    ],
)
def test_owner_by_severity(scenario: Scenario, severity: str, owner: str, cites: str) -> None:
    (assign,) = of_type(scenario.open(severity=severity).actions, "assign_owner")
    assert owner == assign.owner.value
    assert f"Responsibilities > {cites} Level Issues" == assign.cites


def test_medium_initiated_by_customer_success_is_owned_by_support(scenario: Scenario) -> None:
    actions = scenario.open(severity="medium", initiated_by="customer_success").actions
    assert ["support_engineering"] == [a.owner.value for a in of_type(actions, "assign_owner")]
    (post,) = of_type(actions, "post_to_channel")
    assert "support_engineering" == post.by.value


@pytest.mark.parametrize("severity", ["medium", "low"])
def test_support_informs_an_assigned_tam(scenario: Scenario, severity: str) -> None:
    (inform,) = of_type(scenario.open(severity=severity, tam="alex").actions, "inform_tam")
    assert ("alex", at(hours=24)) == (inform.tam, inform.due)
    assert "responsibilities.inform_tam" == inform.rule
    decision = scenario.fact("tam_informed", at(hours=3))
    assert [at(hours=24)] == [f.due for f in decision.fulfilled]
    assert [] == [
        v for v in violations(scenario.tick(at(days=2)).actions) if v[0] == "tam_not_informed"
    ]


def test_uninformed_tam_is_a_violation_once(scenario: Scenario) -> None:
    scenario.open(severity="low", tam="alex")
    scenario.tick(at(hours=25))
    scenario.tick(at(hours=40))
    assert [("tam_not_informed", "responsibilities.inform_tam")] == [
        v for v in violations(scenario.actions()) if v[0] == "tam_not_informed"
    ]


@pytest.mark.parametrize("severity", ["critical", "high"])
def test_a_tam_who_owns_the_escalation_is_not_informed(scenario: Scenario, severity: str) -> None:
    assert [] == of_type(scenario.open(severity=severity, tam="alex").actions, "inform_tam")


def test_tam_assigned_later_is_informed(scenario: Scenario) -> None:
    scenario.open(severity="medium")
    (inform,) = of_type(scenario.fact("tam_assigned", at(hours=2), tam="kim").actions, "inform_tam")
    assert ("kim", at(hours=26)) == (inform.tam, inform.due)


def test_a_new_tam_replaces_the_one_not_yet_informed(scenario: Scenario) -> None:
    scenario.open(severity="medium", tam="alex")
    scenario.fact("tam_assigned", at(hours=2), tam="kim")
    scenario.tick(at(days=3))
    assert ["kim"] == [
        v.detail.split("'")[1]
        for v in of_type(scenario.actions(), "violation")
        if v.code.value == "tam_not_informed"
    ]


def test_raising_severity_to_tam_ownership_drops_informing(scenario: Scenario) -> None:
    scenario.open(severity="medium", tam="alex")
    scenario.fact("severity_changed", at(hours=1), severity="critical")
    scenario.tick(at(days=2))
    assert "tam_not_informed" not in [code for code, _ in violations(scenario.actions())]


@pytest.mark.parametrize("kind", ["delayed_response", "open_actions", "non_compliant_installation"])
def test_account_issues_go_to_the_tam(scenario: Scenario, kind: str) -> None:
    scenario.open(severity="medium", tam="alex")
    (route,) = of_type(
        scenario.fact("account_issue", at(hours=1), kind=kind).actions, "route_to_tam"
    )
    assert (kind, "alex") == (route.kind.value, route.tam)
    assert "responsibilities.account_issues_to_tam" == route.rule
