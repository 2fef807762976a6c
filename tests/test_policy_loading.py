"""A policy edited wrongly fails when it is loaded, naming the module, the rule and the value."""

import datetime as dt
import types
from typing import Any

import attrs
import pytest

from escalation_policy import PolicyDefinitionError, load_policy
from escalation_policy.model import Cadence, Opened, Posted, Severity
from escalation_policy.rules import MODULES, communication, severity
from escalation_policy.vocabulary import (
    ANY,
    ApplyPlan,
    Flag,
    HitPolicy,
    Reaction,
    RouteToTam,
    Row,
    one_of,
)


def _with(module: types.ModuleType, **attributes: Any) -> list[Any]:
    """The default modules, with ``module`` replaced by an edited copy."""
    edited = types.ModuleType(module.__name__)
    edited.TABLES = attributes.get("TABLES", module.TABLES)  # type: ignore[attr-defined]
    edited.REACTIONS = attributes.get("REACTIONS", module.REACTIONS)  # type: ignore[attr-defined]
    return [edited if name == module.__name__ else name for name in MODULES]


def _levels(**changes: Any) -> tuple[Any, ...]:
    return (attrs.evolve(severity.TABLES[0], **changes), *severity.TABLES[1:])


def _fails(modules: list[Any], *words: str) -> PolicyDefinitionError:
    with pytest.raises(PolicyDefinitionError) as caught:
        load_policy(modules)
    for word in words:
        assert word in str(caught.value)
    return caught.value


def test_the_default_policy_loads_and_every_rule_cites_the_handbook() -> None:
    policy = load_policy()
    sections = (
        "Scope",
        "Definitions of Severity Levels",
        "Responsibilities",
        "Escalation Tracker Template",
        "Communication Process",
        "Related Links",
    )
    for rule in policy.rules.values():
        assert rule.cites.startswith(sections), rule.id
        assert rule.title


def test_a_severity_with_no_row_fails() -> None:
    rows = severity.TABLES[0].rows[:3]  # no "low" row: low would have no cadence
    error = _fails(_with(severity, TABLES=_levels(rows=rows)), "severity='low'", "severity.levels")
    assert "escalation_policy.rules.severity" == error.module


def test_an_unknown_value_fails_with_a_suggestion() -> None:
    rows = (
        attrs.evolve(severity.TABLES[0].rows[0], when={"severity": "critcal"}),
        *severity.TABLES[0].rows[1:],
    )
    _fails(
        _with(severity, TABLES=_levels(rows=rows)),
        "severity.levels/critical",
        "'critcal'",
        "did you mean 'critical'",
    )


def test_an_unknown_field_fails_with_a_suggestion() -> None:
    reaction = attrs.evolve(severity.REACTIONS[0], when={"in_scop": True})
    _fails(
        _with(severity, REACTIONS=(reaction, *severity.REACTIONS[1:])),
        "unknown field 'in_scop'",
        "did you mean 'in_scope'",
        "severity.plan",
    )


def test_a_field_the_fact_does_not_have_fails() -> None:
    reaction = attrs.evolve(severity.REACTIONS[0], when={"purpose": "update"})
    _fails(
        _with(severity, REACTIONS=(reaction, *severity.REACTIONS[1:])),
        "'purpose' is not in the context of",
    )


def test_duplicate_rule_ids_fail() -> None:
    twin = attrs.evolve(communication.REACTIONS[1], id=communication.REACTIONS[0].id)
    _fails(
        _with(communication, REACTIONS=(*communication.REACTIONS, twin)),
        "duplicate rule id 'communication.post_when_created'",
    )


def test_overlapping_rows_fail_under_unique() -> None:
    rows = (
        *severity.TABLES[0].rows,
        Row(
            id="urgent",
            when={"severity": one_of(Severity.CRITICAL)},
            then=severity.TABLES[0].rows[0].then,
        ),
    )
    _fails(
        _with(severity, TABLES=_levels(rows=rows)),
        "'severity.levels/critical'",
        "'severity.levels/urgent' overlap",
    )


def test_overlapping_rows_are_allowed_under_first() -> None:
    rows = (
        Row(
            id="critical",
            when={"severity": Severity.CRITICAL},
            then=severity.TABLES[0].rows[0].then,
        ),
        Row(id="others", when={"severity": ANY}, then=severity.TABLES[0].rows[2].then),
    )
    policy = load_policy(_with(severity, TABLES=_levels(rows=rows, hit_policy=HitPolicy.FIRST)))
    assert "severity.levels/others" in policy.rules


def test_a_wrongly_typed_output_fails() -> None:
    row = severity.TABLES[0].rows[0]
    bad = attrs.evolve(row, then={**row.then, "cadence": "daily"})
    _fails(
        _with(severity, TABLES=_levels(rows=(bad, *severity.TABLES[0].rows[1:]))),
        "output cadence",
        "Cadence.DAILY",
    )


def test_a_missing_output_fails() -> None:
    row = severity.TABLES[0].rows[0]
    bad = attrs.evolve(row, then={k: v for k, v in row.then.items() if k != "involvement"})
    _fails(
        _with(severity, TABLES=_levels(rows=(bad, *severity.TABLES[0].rows[1:]))),
        "no value for output 'involvement'",
    )


def test_a_non_positive_duration_fails() -> None:
    rows = (
        Row(id="daily", when={"cadence": Cadence.DAILY}, then={"meeting_every": dt.timedelta(0)}),
        *severity.TABLES[1].rows[1:],
    )
    tables = (severity.TABLES[0], attrs.evolve(severity.TABLES[1], rows=rows), severity.TABLES[2])
    _fails(_with(severity, TABLES=tables), "positive duration")


def test_an_effect_on_a_fact_that_cannot_carry_it_fails() -> None:
    reaction = Reaction(
        id="severity.bad",
        title="t",
        cites="Definitions of Severity Levels",
        on=(Posted,),
        then=(RouteToTam(),),
    )
    _fails(
        _with(severity, REACTIONS=(*severity.REACTIONS, reaction)),
        "RouteToTam cannot react to posted",
    )
    plan = Reaction(id="severity.bad", title="t", cites="x", on=(Posted,), then=(ApplyPlan(),))
    _fails(_with(severity, REACTIONS=(*severity.REACTIONS, plan)), "ApplyPlan cannot react")


def test_a_reaction_without_citation_fails() -> None:
    reaction = Reaction(
        id="severity.uncited",
        title="t",
        cites=" ",
        on=(Opened,),
        then=(Flag(code="wrong_poster", detail="x"),),
    )  # type: ignore[arg-type]
    _fails(_with(severity, REACTIONS=(*severity.REACTIONS, reaction)), "cites", "severity.uncited")


def test_a_module_without_tables_or_reactions_fails() -> None:
    _fails(
        [*MODULES, types.ModuleType("escalation_policy.rules.empty")],
        "declares no TABLES",
        "escalation_policy.rules.empty",
    )
