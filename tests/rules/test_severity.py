"""Handbook: "Definitions of Severity Levels".

The handbook's severity table is pinned word for word (``handbook_severity_table.md``): it is
the specification a policy owner reads. The other tests read cadences, intervals and levels of
involvement from the loaded policy, so that they check the engine applies whatever it says.
"""

import datetime as dt
import pathlib

import attrs
import pytest

from escalation_policy import default_policy
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

WITH_MEETINGS = severities_where(
    lambda severity: meetings(severity).then["meeting_every"] is not None
)
WITHOUT_MEETINGS = severities_where(lambda severity: severity not in WITH_MEETINGS)


def _roles(severity: str) -> list[str]:
    return [role.value for role in row("severity.levels", severity=severity).then["involvement"]]


def _every(severity: str) -> dt.timedelta:
    every = meetings(severity).then["meeting_every"]
    assert isinstance(every, dt.timedelta)
    return every


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


@pytest.mark.parametrize("severity", WITH_MEETINGS)
def test_meetings_are_due_at_the_cadence(scenario: Scenario, severity: str) -> None:
    every = _every(severity)
    held = at() + every - dt.timedelta(hours=1)
    scenario.open(severity=severity)
    scenario.post(at(minutes=10), "created", owner_of(severity))
    scenario.fact("meeting_held", held, audience="customer")
    on_time = scenario.tick(held + every)
    late = scenario.tick(held + every + dt.timedelta(minutes=1))
    assert [] == [v for v in violations(on_time.actions) if v[0] == "meeting_overdue"]
    assert [("meeting_overdue", meetings(severity).rule)] == [
        v for v in violations(late.actions) if v[0] == "meeting_overdue"
    ]


@pytest.mark.parametrize("severity", WITHOUT_MEETINGS)
def test_a_cadence_without_meetings_sets_no_meeting_obligation(
    scenario: Scenario, severity: str
) -> None:
    scenario.open(severity=severity)
    scenario.post(at(hours=1), "created", owner_of(severity))
    assert [] == [
        v for v in violations(scenario.tick(at(days=90)).actions) if v[0] == "meeting_overdue"
    ]


@pytest.mark.parametrize("severity", WITH_MEETINGS)
def test_a_missed_meeting_is_reported_once_however_many_ticks_follow(
    scenario: Scenario, severity: str
) -> None:
    every = _every(severity)
    scenario.open(severity=severity)
    steps = 8
    for step in range(1, steps + 1):
        scenario.tick(at() + every + every * step / (steps + 1))
    assert 1 == violations(scenario.actions()).count(("meeting_overdue", meetings(severity).rule))


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
