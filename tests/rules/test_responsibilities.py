"""Handbook: "Responsibilities".

``test_owner_by_severity`` is the handbook's own example table (its two subheadings, who owns
what): the specification, pinned on purpose. The other tests read the owner and how soon the
TAM must be informed from the loaded policy.
"""

import datetime as dt

import pytest

from tests.conftest import Scenario, at, of_type, owner_of, severities_where, violations
from tests.rules.business_days import due

SUPPORT_LED = severities_where(lambda severity: owner_of(severity) == "support_engineering")
TAM_LED = severities_where(lambda severity: owner_of(severity) == "tam")


def _inform_due(start: dt.datetime) -> dt.datetime:
    """When the TAM must have been told of an escalation that needed it from ``start``."""
    return due("inform_tam_within", start)


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
    """The handbook's example: Critical and High are the TAM's, Medium and Low Support's."""
    (assign,) = of_type(scenario.open(severity=severity).actions, "assign_owner")
    assert owner == assign.owner.value
    assert f"Responsibilities > {cites} Level Issues" == assign.cites


@pytest.mark.parametrize("team", ["tam", "support_engineering", "customer_success", "other"])
def test_the_owner_is_decided_by_severity_not_by_who_initiated(
    scenario: Scenario, team: str
) -> None:
    actions = scenario.open(severity="medium", initiated_by=team).actions
    assert [owner_of("medium")] == [a.owner.value for a in of_type(actions, "assign_owner")]
    created = [a for a in of_type(actions, "post_to_channel") if a.reason.value == "created"]
    assert [owner_of("medium")] == [post.by.value for post in created]


@pytest.mark.parametrize("severity", SUPPORT_LED)
def test_support_informs_an_assigned_tam(scenario: Scenario, severity: str) -> None:
    deadline = _inform_due(at())
    (inform,) = of_type(scenario.open(severity=severity, tam="alex").actions, "inform_tam")
    assert ("alex", deadline) == (inform.tam, inform.due)
    assert "responsibilities.inform_tam" == inform.rule
    decision = scenario.fact("tam_informed", at() + (deadline - at()) / 2)
    assert [deadline] == [f.due for f in decision.fulfilled]
    assert [] == [
        v
        for v in violations(scenario.tick(deadline + dt.timedelta(days=1)).actions)
        if v[0] == "tam_not_informed"
    ]


@pytest.mark.parametrize("severity", SUPPORT_LED)
def test_uninformed_tam_is_a_violation_once(scenario: Scenario, severity: str) -> None:
    scenario.open(severity=severity, tam="alex")
    scenario.tick(_inform_due(at()) + dt.timedelta(minutes=1))
    scenario.tick(_inform_due(at()) + dt.timedelta(days=1))
    assert [("tam_not_informed", "responsibilities.inform_tam")] == [
        v for v in violations(scenario.actions()) if v[0] == "tam_not_informed"
    ]


@pytest.mark.parametrize("severity", TAM_LED)
def test_a_tam_who_owns_the_escalation_is_not_informed(scenario: Scenario, severity: str) -> None:
    assert [] == of_type(scenario.open(severity=severity, tam="alex").actions, "inform_tam")


@pytest.mark.parametrize("severity", SUPPORT_LED)
def test_tam_assigned_later_is_informed(scenario: Scenario, severity: str) -> None:
    scenario.open(severity=severity)
    (inform,) = of_type(scenario.fact("tam_assigned", at(hours=2), tam="kim").actions, "inform_tam")
    assert ("kim", _inform_due(at(hours=2))) == (inform.tam, inform.due)


@pytest.mark.parametrize("severity", SUPPORT_LED)
def test_a_new_tam_replaces_the_one_not_yet_informed(scenario: Scenario, severity: str) -> None:
    scenario.open(severity=severity, tam="alex")
    scenario.fact("tam_assigned", at(minutes=1), tam="kim")
    scenario.tick(_inform_due(at(minutes=1)) + dt.timedelta(days=1))
    assert ["kim"] == [
        v.detail.split("'")[1]
        for v in of_type(scenario.actions(), "violation")
        if v.code.value == "tam_not_informed"
    ]


@pytest.mark.parametrize("severity", SUPPORT_LED)
def test_raising_severity_to_tam_ownership_drops_informing(
    scenario: Scenario, severity: str
) -> None:
    scenario.open(severity=severity, tam="alex")
    scenario.fact("severity_changed", at(minutes=1), severity=TAM_LED[0])
    scenario.tick(_inform_due(at()) + dt.timedelta(days=1))
    assert "tam_not_informed" not in [code for code, _ in violations(scenario.actions())]


@pytest.mark.parametrize("kind", ["delayed_response", "open_actions", "non_compliant_installation"])
def test_account_issues_go_to_the_tam(scenario: Scenario, kind: str) -> None:
    scenario.open(severity="medium", tam="alex")
    (route,) = of_type(
        scenario.fact("account_issue", at(hours=1), kind=kind).actions, "route_to_tam"
    )
    assert (kind, "alex") == (route.kind.value, route.tam)
    assert "responsibilities.account_issues_to_tam" == route.rule
