"""Handbook: "Definitions of Severity Levels"."""

import pathlib

import pytest

from escalation_policy import default_policy
from escalation_policy.render import severity_table
from tests.conftest import Scenario, at, of_type, violations

EXECUTIVES = ["vp_sales", "product", "cro", "ceo", "vp_customer_success"]


def _rows(markdown: str) -> list[list[str]]:
    lines = [line for line in markdown.strip().splitlines() if not line.startswith("| ---")]
    return [[" ".join(cell.split()) for cell in line.strip("|").split("|")] for line in lines]


def test_rendered_severity_table_is_the_handbooks() -> None:
    """`escalation-policy table` renders exactly the handbook's rows and values."""
    handbook = (pathlib.Path(__file__).parent / "handbook_severity_table.md").read_text()
    assert _rows(handbook) == _rows(severity_table(default_policy()))


@pytest.mark.parametrize(
    ("severity", "cadence", "roles"),
    [
        pytest.param("critical", "daily", EXECUTIVES, id="critical: daily, executives"),
        pytest.param("high", "multiple_per_week", EXECUTIVES, id="high: multiple/week, executives"),
        pytest.param(
            "medium",
            "weekly_to_biweekly",
            ["vp_sales", "vp_customer_success"],
            id="medium: weekly to bi-weekly, VP Sales and VP CS",
        ),
        pytest.param(
            "low",
            "standard",
            ["director_customer_success", "account_manager"],
            id="low: standard, Director CS and Account Manager",
        ),
    ],
)
def test_opening_sets_cadence_and_involvement_of_the_severity(
    scenario: Scenario, severity: str, cadence: str, roles: list[str]
) -> None:
    actions = scenario.open(severity=severity).actions
    (set_cadence,) = of_type(actions, "set_cadence")
    (involvement,) = of_type(actions, "set_involvement")
    assert cadence == set_cadence.cadence.value
    assert roles == [role.value for role in involvement.roles]
    assert roles == [role.value for role in involvement.added]
    assert [] == list(involvement.removed)
    assert f"severity.levels/{severity}" == set_cadence.rule
    assert "Definitions of Severity Levels" == set_cadence.cites


@pytest.mark.parametrize(
    ("severity", "longest_gap_hours"),
    [
        pytest.param("critical", 24, id="critical: a meeting every day"),
        pytest.param("high", 84, id="high: twice a week at the least"),
        pytest.param("medium", 14 * 24, id="medium: bi-weekly at the least"),
    ],
)
def test_meetings_are_due_at_the_cadence(
    scenario: Scenario, severity: str, longest_gap_hours: int
) -> None:
    scenario.open(severity=severity)
    scenario.fact("meeting_held", at(hours=longest_gap_hours - 1), audience="customer")
    on_time = scenario.tick(at(hours=2 * longest_gap_hours - 1))
    late = scenario.tick(at(hours=2 * longest_gap_hours - 1, minutes=1))
    assert [] == [v for v in violations(on_time.actions) if v[0] == "meeting_overdue"]
    assert [("meeting_overdue", f"severity.cadence/{_cadence(severity)}")] == [
        v for v in violations(late.actions) if v[0] == "meeting_overdue"
    ]


def _cadence(severity: str) -> str:
    return {"critical": "daily", "high": "multiple_per_week", "medium": "weekly_to_biweekly"}[
        severity
    ]


def test_low_severity_has_no_meeting_obligation(scenario: Scenario) -> None:
    scenario.open(severity="low")
    scenario.post(at(hours=1), "created", "support_engineering")
    assert [] == violations(scenario.tick(at(days=90)).actions)


def test_a_missed_meeting_is_reported_once_however_many_ticks_follow(scenario: Scenario) -> None:
    scenario.open(severity="medium")
    for hour in range(14 * 24, 15 * 24, 3):
        scenario.tick(at(hours=hour))
    assert 1 == violations(scenario.actions()).count(
        ("meeting_overdue", "severity.cadence/weekly_to_biweekly")
    )


def test_severity_change_replans_involvement_with_added_and_removed(scenario: Scenario) -> None:
    scenario.open(severity="critical")
    decision = scenario.fact("severity_changed", at(hours=5), severity="low")
    (involvement,) = of_type(decision.actions, "set_involvement")
    assert ["director_customer_success", "account_manager"] == [r.value for r in involvement.added]
    assert EXECUTIVES == [r.value for r in involvement.removed]
    assert ["standard"] == [a.cadence.value for a in of_type(decision.actions, "set_cadence")]


def test_severity_change_to_the_same_severity_changes_nothing(scenario: Scenario) -> None:
    scenario.open(severity="high")
    assert () == scenario.fact("severity_changed", at(hours=1), severity="high").actions


def test_issue_type_extension_adds_roles(engine_name: str) -> None:
    """ "Others can be included based on the type of issues involved": the extension table."""
    import types

    from escalation_policy import PolicyEngine, Role, load_policy
    from escalation_policy.rules import MODULES, severity
    from escalation_policy.vocabulary import Row

    extension = severity.TABLES[2]
    extended = types.ModuleType("extended_severity")
    extended.TABLES = (  # type: ignore[attr-defined]
        *severity.TABLES[:2],
        type(extension)(
            id=extension.id,
            title=extension.title,
            cites=extension.cites,
            hit_policy=extension.hit_policy,
            inputs=extension.inputs,
            outputs=extension.outputs,
            rows=(
                Row(
                    id="security",
                    when={"issue_type": "security"},
                    then={"extra_involvement": (Role.CEO, Role.PRODUCT)},
                ),
            ),
        ),
    )
    extended.REACTIONS = severity.REACTIONS  # type: ignore[attr-defined]
    modules = [extended if name.endswith(".severity") else name for name in MODULES]
    engine = PolicyEngine(load_policy(modules), engine=engine_name)  # type: ignore[arg-type]
    decision = Scenario(engine).open(severity="medium", issue_type="security")
    (involvement,) = of_type(decision.actions, "set_involvement")
    assert ["vp_sales", "vp_customer_success", "ceo", "product"] == [
        r.value for r in involvement.roles
    ]
