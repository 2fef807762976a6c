"""A policy edited wrongly fails when it is loaded, naming the file and line, the module, the
rule and the value."""

import datetime as dt
import json
import pathlib
import re
import shutil
import sys
import types
from collections.abc import Iterable
from typing import Any

import attrs
import pytest

import escalation_policy
from escalation_policy import PolicyDefinitionError, PolicyEngine, load_policy, make_converter
from escalation_policy.cli import main
from escalation_policy.rules import (
    MODULES,
    SECTIONS,
    communication,
    related_links,
    responsibilities,
    scope,
    severity,
    terms,
)
from escalation_policy.rules.terms import (
    Cadence,
    Opened,
    Posted,
    PostPurpose,
    PostReason,
    Role,
    Severity,
    SeverityChanged,
    ViolationCode,
)
from escalation_policy.vocabulary import (
    ANY,
    ApplyPlan,
    BusinessTime,
    DecisionTable,
    Effect,
    Fulfil,
    HitPolicy,
    Obligation,
    OutOfScope,
    Reaction,
    Require,
    Row,
    Violation,
    none_of,
    one_of,
)


def _with(module: types.ModuleType, **attributes: Any) -> list[Any]:
    """The default modules, with ``module`` replaced by an edited copy."""
    edited = types.ModuleType(module.__name__)
    edited.__dict__.update(
        {key: value for key, value in vars(module).items() if not key.startswith("__")}
    )
    edited.__dict__.update(attributes)
    return [edited if name == module.__name__ else name for name in MODULES]


def _levels(**changes: Any) -> tuple[Any, ...]:
    return (attrs.evolve(severity.TABLES[0], **changes), *severity.TABLES[1:])


def _fails(
    modules: Iterable[Any], *words: str, sections: Iterable[str] | None = None
) -> PolicyDefinitionError:
    with pytest.raises(PolicyDefinitionError) as caught:
        load_policy(modules, sections=sections)
    for word in words:
        assert word in str(caught.value)
    return caught.value


def _line() -> int:
    """The line this is called from."""
    return sys._getframe(1).f_lineno


def _located_at(error: PolicyDefinitionError, item: Any, module: str, rule: str | None) -> None:
    """``error`` names where ``item`` was declared, its module and its rule, in that order."""
    assert (item.defined_at.file, item.defined_at.line) == (error.file, error.line)
    assert (module, rule) == (error.module, error.rule)
    where = f"{pathlib.Path(error.file).name}:{error.line}: module {module}"
    assert where + (f", rule {rule}: " if rule else ": ") in str(error)


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
    *named, last = severity.TABLES[0].rows
    rows = (*named, Row(id="others", when={"severity": ANY}, then=last.then))
    policy = load_policy(_with(severity, TABLES=_levels(rows=rows, hit_policy=HitPolicy.FIRST)))
    assert "severity.levels/others" in policy.rules


def test_a_wrongly_typed_output_fails() -> None:
    row = severity.TABLES[0].rows[0]
    bad = attrs.evolve(row, then={**row.then, "cadence": "daily"})
    _fails(
        _with(severity, TABLES=_levels(rows=(bad, *severity.TABLES[0].rows[1:]))),
        "output cadence",
        "got 'daily', expected a value of an enumeration (the policy's cadences)",
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
        Row(id="daily", when={"cadence": Cadence.DAILY}, then={"cadence_every": dt.timedelta(0)}),
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
        then=(OutOfScope(),),
    )
    _fails(
        _with(severity, REACTIONS=(*severity.REACTIONS, reaction)),
        "OutOfScope cannot react to posted",
    )
    plan = Reaction(
        id="severity.bad",
        title="t",
        cites="Definitions of Severity Levels",
        on=(Posted,),
        then=(ApplyPlan(),),
    )
    _fails(_with(severity, REACTIONS=(*severity.REACTIONS, plan)), "ApplyPlan cannot react")


def test_a_reaction_without_citation_fails() -> None:
    reaction = Reaction(
        id="severity.uncited",
        title="t",
        cites=" ",
        on=(Opened,),
        then=(Violation(code="wrong_poster", detail="x"),),
    )  # type: ignore[arg-type]
    _fails(_with(severity, REACTIONS=(*severity.REACTIONS, reaction)), "cites", "severity.uncited")


def test_a_module_without_tables_or_reactions_fails() -> None:
    _fails(
        [*MODULES, types.ModuleType("escalation_policy.rules.empty")],
        "declares no TABLES",
        "escalation_policy.rules.empty",
    )


# ----------------------------------------------------------------------- where a rule was written
def test_a_rule_records_the_file_and_line_of_its_declaration() -> None:
    line = _line()
    row = Row(id="critical", when={"severity": "critcal"}, then={})
    assert (__file__, line + 1) == (row.defined_at.file, row.defined_at.line)  # type: ignore[union-attr]
    declared = scope.TABLES[0].defined_at
    assert declared is not None
    source = pathlib.Path(declared.file).read_text().splitlines()
    assert ("scope.py", "DecisionTable(") == (
        pathlib.Path(declared.file).name,
        source[declared.line - 1].strip(),
    )


def test_where_a_rule_was_declared_takes_no_part_in_comparing_rules() -> None:
    """An evolved copy is equal to the original, though declared elsewhere, and its repr is
    the same: locations never make two policies differ."""
    table = severity.TABLES[0]
    copy = attrs.evolve(table)
    assert table.defined_at != copy.defined_at
    assert (table, repr(table)) == (copy, repr(copy))


def test_an_error_names_the_file_line_module_rule_and_value() -> None:
    bad = Row(
        id="critical",
        when={"severity": "critcal"},
        then=severity.TABLES[0].rows[0].then,
    )
    error = _fails(
        _with(severity, TABLES=_levels(rows=(bad, *severity.TABLES[0].rows[1:]))),
        "severity: got 'critcal'",
        "did you mean 'critical'",
    )
    _located_at(error, bad, "escalation_policy.rules.severity", "severity.levels/critical")


def test_an_error_about_a_rule_of_the_handbook_names_its_rule_module() -> None:
    error = _fails(MODULES, "'Scope'", sections=[s for s in SECTIONS if s != "Scope"])
    _located_at(error, scope.TABLES[0], "escalation_policy.rules.scope", "scope.customers")
    assert "rules/scope.py:" in str(error).replace("\\", "/")


# ----------------------------------------------------------------------------- hidden rows (FIRST)
def _first_levels(*rows: Row) -> list[Any]:
    return _with(severity, TABLES=_levels(rows=rows, hit_policy=HitPolicy.FIRST))


def test_a_row_the_row_above_hides_fails_under_first() -> None:
    critical, high, medium, low = severity.TABLES[0].rows
    broad = attrs.evolve(critical, when={"severity": one_of(Severity.CRITICAL, Severity.HIGH)})
    error = _fails(
        _first_levels(broad, high, medium, low),
        "row 'severity.levels/high' can never win",
        "the rows above it ('severity.levels/critical')",
    )
    _located_at(error, high, "escalation_policy.rules.severity", "severity.levels/high")


def test_a_row_the_rows_above_hide_together_fails_under_first() -> None:
    critical, _, medium, low = severity.TABLES[0].rows
    upper = attrs.evolve(critical, when={"severity": one_of(Severity.CRITICAL, Severity.HIGH)})
    lower = attrs.evolve(medium, when={"severity": one_of(Severity.MEDIUM, Severity.LOW)})
    rest = attrs.evolve(low, when={"severity": ANY})
    error = _fails(
        _first_levels(upper, lower, rest),
        "('severity.levels/critical', 'severity.levels/medium') already match every input",
    )
    _located_at(error, rest, "escalation_policy.rules.severity", "severity.levels/low")


def _issue_types(hit_policy: HitPolicy, *rows: Row) -> tuple[DecisionTable, list[Any]]:
    """The issue-type table with these rows; the first also involves the roles only the
    handbook's own rows name, so that every role stays in use."""
    first, *others = rows
    own = (Role.SECURITY, Role.ENGINEERING)
    first = attrs.evolve(
        first, then={"extra_involvement": (*first.then["extra_involvement"], *own)}
    )
    table = attrs.evolve(severity.TABLES[2], hit_policy=hit_policy, rows=(first, *others))
    return table, _with(severity, TABLES=(*severity.TABLES[:2], table))


def _involves(row_id: str, issue_type: object, *roles: Role) -> Row:
    return Row(id=row_id, when={"issue_type": issue_type}, then={"extra_involvement": roles})


def test_a_text_row_hidden_by_the_rows_above_fails_under_first() -> None:
    again = _involves("again", one_of("security", "outage"), Role.CEO)
    _, modules = _issue_types(
        HitPolicy.FIRST,
        _involves("security", "security", Role.PRODUCT),
        _involves("outage", "outage", Role.CRO),
        again,
        _involves("others", ANY),
    )
    error = _fails(
        modules,
        "row 'severity.issue_type_involvement/again' can never win",
        "'severity.issue_type_involvement/security', 'severity.issue_type_involvement/outage'",
    )
    _located_at(
        error, again, "escalation_policy.rules.severity", "severity.issue_type_involvement/again"
    )


def test_rows_over_text_that_win_for_some_text_load_under_first() -> None:
    _, modules = _issue_types(
        HitPolicy.FIRST,
        _involves("not_security", none_of("security"), Role.CRO),
        _involves("security", ANY, Role.PRODUCT),
    )
    assert "severity.issue_type_involvement/security" in load_policy(modules).rules


# ---------------------------------------------------------------------- free text needs a catch-all
@pytest.mark.parametrize("hit_policy", [HitPolicy.FIRST, HitPolicy.UNIQUE])
def test_a_table_over_text_without_a_catch_all_fails(hit_policy: HitPolicy) -> None:
    table, modules = _issue_types(hit_policy, _involves("security", "security", Role.PRODUCT))
    error = _fails(
        modules,
        "no row covers issue_type=any other text",
        f"hit policy {hit_policy.name} needs a catch-all row",
    )
    _located_at(error, table, "escalation_policy.rules.severity", "severity.issue_type_involvement")


def test_a_table_over_text_with_a_catch_all_loads() -> None:
    _, first = _issue_types(
        HitPolicy.FIRST,
        _involves("security", "security", Role.PRODUCT),
        _involves("others", ANY),
    )
    _, unique = _issue_types(
        HitPolicy.UNIQUE,
        _involves("security", "security", Role.PRODUCT),
        _involves("others", none_of("security")),
    )
    _, collect = _issue_types(HitPolicy.COLLECT, _involves("security", "security", Role.CEO))
    for modules in (first, unique, collect):
        assert "severity.issue_type_involvement/security" in load_policy(modules).rules


# ------------------------------------------------------------------- reactions that can never fire
def _plan(**changes: Any) -> tuple[Reaction, list[Any]]:
    reaction = attrs.evolve(severity.REACTIONS[0], **changes)
    return reaction, _with(severity, REACTIONS=(reaction, *severity.REACTIONS[1:]))


def test_a_reaction_whose_condition_excludes_every_value_fails() -> None:
    reaction, modules = _plan(when={"in_scope": none_of(True, False)})
    error = _fails(modules, "in_scope: none_of(False, True) excludes every value of in_scope")
    _located_at(error, reaction, "escalation_policy.rules.severity", "severity.plan")


def test_a_row_whose_cell_excludes_every_value_fails() -> None:
    critical, *others = severity.TABLES[0].rows
    every = [level.value for level in Severity]
    bad = attrs.evolve(critical, when={"severity": none_of(*every)})
    error = _fails(_with(severity, TABLES=_levels(rows=(bad, *others))), "excludes every value")
    _located_at(error, bad, "escalation_policy.rules.severity", "severity.levels/critical")


@pytest.mark.parametrize("on", [(), []])
def test_a_reaction_on_no_fact_type_fails(on: Any) -> None:
    reaction, modules = _plan(on=on)
    error = _fails(modules, "on names no fact type, so the reaction can never fire")
    _located_at(error, reaction, "escalation_policy.rules.severity", "severity.plan")


def test_a_reaction_testing_a_field_its_facts_lack_names_where() -> None:
    reaction, modules = _plan(when={"kind": "delayed_response"})
    error = _fails(
        modules,
        "field 'kind' is not in the context of issue_type_changed, opened, severity_changed, "
        "tam_assigned facts",
    )
    _located_at(error, reaction, "escalation_policy.rules.severity", "severity.plan")


def test_a_reaction_testing_a_value_outside_the_domain_names_where() -> None:
    reaction, modules = _plan(when={"in_scope": "yes"})
    error = _fails(modules, "in_scope: got 'yes', expected one of False, True")
    _located_at(error, reaction, "escalation_policy.rules.severity", "severity.plan")


# ---------------------------------------------------------------------------------- citations
def test_a_misspelt_citation_fails_with_a_suggestion() -> None:
    reaction = attrs.evolve(communication.REACTIONS[1], cites="Comunication Process")
    error = _fails(
        _with(communication, REACTIONS=(communication.REACTIONS[0], reaction)),
        "cites 'Comunication Process', which is not a section the policy declares",
        "did you mean 'Communication Process'",
    )
    _located_at(
        error, reaction, "escalation_policy.rules.communication", "communication.daily_updates"
    )


def test_each_section_of_a_citation_must_be_declared() -> None:
    index = [r.id for r in responsibilities.REACTIONS].index(
        "responsibilities.account_issues_to_tam"
    )
    reaction = attrs.evolve(
        responsibilities.REACTIONS[index],
        cites="Responsibilities > Critical and High Level Issues; Responsibilities > Medium",
    )
    reactions = list(responsibilities.REACTIONS)
    reactions[index] = reaction
    error = _fails(
        _with(responsibilities, REACTIONS=tuple(reactions)),
        "cites 'Responsibilities > Medium'",
        "did you mean 'Responsibilities > Medium and Low Level Issues'",
    )
    module = "escalation_policy.rules.responsibilities"
    _located_at(error, reaction, module, "responsibilities.account_issues_to_tam")


def test_a_row_citing_an_undeclared_section_fails() -> None:
    table = responsibilities.TABLES[0]
    row = attrs.evolve(table.rows[0], cites="Responsibilities > Critical Issues")
    edited = attrs.evolve(table, rows=(row, *table.rows[1:]))
    error = _fails(
        _with(responsibilities, TABLES=(edited,)),
        "cites 'Responsibilities > Critical Issues'",
        "did you mean 'Responsibilities > Critical and High Level Issues'",
    )
    module = "escalation_policy.rules.responsibilities"
    _located_at(error, row, module, "responsibilities.owner/critical_and_high_without_tam")


def test_a_policy_package_declares_its_own_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    """A company's policy lives in its own package, whose SECTIONS are the headings of its
    own handbook."""
    package = types.ModuleType("acme_policy")
    package.SECTIONS = (*SECTIONS, "Acme Extras")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "acme_policy", package)
    modules = []
    for name in MODULES:
        original = sys.modules[name]
        copy = types.ModuleType(name.replace("escalation_policy.rules", "acme_policy"))
        copy.__dict__.update({k: v for k, v in vars(original).items() if not k.startswith("__")})
        modules.append(copy)
    error = _fails(modules, "section 'Acme Extras' is declared but no rule cites it")
    assert ("acme_policy", None) == (error.module, error.rule)

    extra = attrs.evolve(related_links.REACTIONS[0], cites="Related Links; Acme Extras")
    modules[-1].REACTIONS = (extra,)  # type: ignore[attr-defined]
    assert "related_links.enhancement_to_product" in load_policy(modules).rules


# -------------------------------------------------------------------------- declared, never used
def test_a_declared_section_no_rule_cites_fails() -> None:
    """Leaving a module out of the policy leaves the section it encodes uncited."""
    without = [name for name in MODULES if name != related_links.__name__]
    error = _fails(without, "section 'Related Links' is declared but no rule cites it")
    assert ("escalation_policy.rules", None) == (error.module, error.rule)
    init = pathlib.Path(sys.modules["escalation_policy.rules"].__file__ or "")
    assert (str(init), '"Related Links",') == (
        error.file,
        init.read_text().splitlines()[(error.line or 0) - 1].strip(),
    )
    assert f"__init__.py:{error.line}: module escalation_policy.rules: " in str(error)


def test_sections_given_to_load_policy_must_each_be_cited() -> None:
    error = _fails(MODULES, "section 'Objective' is declared", sections=(*SECTIONS, "Objective"))
    assert (None, None, None) == (error.file, error.module, error.rule)


def test_the_plan_depends_on_the_attributes_the_tables_read() -> None:
    """Whole plans are memoised by exactly the escalation's attributes the tables read."""
    assert (
        "segment",
        "severity",
        "strategic_partnership",
        "broad_impact",
        "tam",
        "issue_type",
    ) == load_policy().plan_inputs


def test_a_table_reading_what_is_not_an_attribute_of_the_escalation_fails() -> None:
    """A table input must be the escalation's attribute or another table's output: the
    status before a fact is known to reactions, not to the plan."""
    table = attrs.evolve(
        severity.TABLES[1],
        inputs=("cadence", "status"),
        rows=tuple(
            attrs.evolve(row, when={**row.when, "status": ANY}) for row in severity.TABLES[1].rows
        ),
    )
    _fails(
        _with(severity, TABLES=(severity.TABLES[0], table, severity.TABLES[2])),
        "input 'status' is not an attribute of the escalation",
        "severity.cadence",
    )


def test_every_kind_of_effect_has_one_handler_and_is_named_after_its_action() -> None:
    """Effects are declared once, in the vocabulary, and listed in EFFECTS; the core finds a
    handler for each by the kind's name, which is its action's."""
    import escalation_policy.vocabulary as vocabulary
    from escalation_policy._core.effects import HANDLERS as _HANDLERS
    from escalation_policy.model import ENGINE_ACTIONS

    kinds = {
        value
        for value in vars(vocabulary).values()
        if isinstance(value, type) and issubclass(value, vocabulary.Effect)
    } - {vocabulary.Effect}
    assert kinds == set(vocabulary.EFFECTS) == set(_HANDLERS)
    emitting = {kind.__name__ for kind in kinds} & {cls.__name__ for cls in ENGINE_ACTIONS}
    assert {"OutOfScope", "Violation"} == emitting
    actions = {cls.__name__: cls.TYPE for cls in ENGINE_ACTIONS}
    assert all(kind.NAME == actions[kind.__name__] for kind in kinds if kind.__name__ in actions)


def test_a_kind_of_effect_the_language_does_not_know_is_refused_naming_it() -> None:
    """An Effect subclass of the package's own has no check and no handler: the loader
    refuses it, naming it, its module and the rule, instead of the engine failing on the
    first fact."""

    @attrs.frozen(kw_only=True)
    class Escalate(Effect):
        to: str

    reactions = _reacting(scope, "scope.out_of_scope", Escalate(to="ceo"))
    error = _fails(
        _with(scope, REACTIONS=reactions),
        f"then holds an effect of kind Escalate (from {__name__}), which the policy language "
        "does not know; expected one of Require, Fulfil, Cancel, Violation, ApplyPlan, "
        "OutOfScope, Emit",
    )
    assert (scope.__name__, "scope.out_of_scope") == (error.module, error.rule)


# ----------------------------------------------------------------------------------- obligations
def _reacting(module: types.ModuleType, rule: str, *then: Any) -> tuple[Any, ...]:
    """``module``'s reactions, the one with id ``rule`` doing ``then`` instead."""
    return tuple(attrs.evolve(r, then=then) if r.id == rule else r for r in module.REACTIONS)


def _require(**changes: Any) -> Require:
    return Require(obligation=communication.CHANNEL_POST, **changes)


@pytest.mark.parametrize(
    ("effect", "words"),
    [
        (_require(within=dt.timedelta(hours=2)), ("keyed by reason", "give key")),
        (
            _require(key=PostReason.CREATED, within=dt.timedelta(hours=2), every="update_every"),
            ("not both or neither",),
        ),
        (_require(key=PostReason.CREATED), ("not both or neither",)),
        (
            Require(obligation=communication.CHANNEL_UPDATE, every="update_evry"),
            ("'update_evry'", "did you mean 'update_every'"),
        ),
        (
            Require(obligation=communication.CHANNEL_UPDATE, every="owner"),
            ("gives <Team.SUPPORT_ENGINEERING", "not a timedelta"),
        ),
        (
            Require(obligation=communication.CHANNEL_UPDATE, every="update_every", key="x"),
            ("got key='x'", "has no key"),
        ),
    ],
)
def test_a_require_that_cannot_work_fails_to_load(effect: Any, words: tuple[str, ...]) -> None:
    reactions = _reacting(communication, "communication.post_when_created", effect)
    _fails(_with(communication, REACTIONS=reactions), "communication.post_when_created", *words)


def test_a_periodic_obligation_is_planned_only_on_planning_facts() -> None:
    effect = Require(obligation=communication.CHANNEL_UPDATE, every="update_every")
    reactions = _reacting(communication, "communication.post_when_closed", effect)
    _fails(_with(communication, REACTIONS=reactions), "cannot react to closed", "planned")


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"missed": "the {reasn!r} post was missed"}, ("cannot be filled", "{reason}")),
        ({"announce_with": {}}, ("nothing fills PostToChannel.channel",)),
        ({"owner_field": "owner"}, ("PostToChannel has no field 'owner'",)),
        ({"key_from": "tams"}, ("key_from", "'tams'", "attribute of the escalation")),
        ({"id": "Channel post"}, ("lower-case letters",)),
    ],
)
def test_an_obligation_that_cannot_work_fails_to_load_naming_its_line(
    changes: dict[str, Any], words: tuple[str, ...]
) -> None:
    line = _line() + 1
    edited = attrs.evolve(communication.CHANNEL_POST, **changes)
    reactions = tuple(
        attrs.evolve(
            r,
            then=tuple(
                attrs.evolve(e, obligation=edited)
                if isinstance(e, (Require, Fulfil)) and e.obligation == communication.CHANNEL_POST
                else e
                for e in r.then
            ),
        )
        for r in communication.REACTIONS
    )
    error = _fails(_with(communication, REACTIONS=reactions, OBLIGATIONS=(edited,)), *words)
    assert (__file__, line) == (error.file, error.line)


def test_two_obligations_of_one_name_and_one_never_required_fail_to_load() -> None:
    other = attrs.evolve(communication.CHANNEL_POST, missed="missed by {due}", key=None)
    _fails(
        _with(communication, OBLIGATIONS=(*communication.OBLIGATIONS, other)),
        "two different obligations are named 'channel_post'",
    )
    spare = Obligation(id="spare", violation=ViolationCode.POST_OVERDUE, missed="by {due}")
    _fails(
        _with(communication, OBLIGATIONS=(*communication.OBLIGATIONS, spare)),
        "obligation 'spare' is never required",
    )


def test_a_value_no_rule_uses_fails_where_no_fact_brings_it() -> None:
    """Roles come only from the rules: a role none of them names can never occur. Low is the
    only level that involves the Account Manager."""
    *others, low = severity.TABLES[0].rows
    assert Role.ACCOUNT_MANAGER in low.then["involvement"]
    without = attrs.evolve(low, then={**low.then, "involvement": (Role.DIRECTOR_CUSTOMER_SUCCESS,)})
    error = _fails(
        _with(severity, TABLES=_levels(rows=(*others, without))),
        "Role.ACCOUNT_MANAGER ('account_manager') is declared but no rule uses it",
    )
    assert (str(error.file).endswith("terms.py"), "escalation_policy.rules.terms") == (
        True,
        error.module,
    )


# -------------------------------------------------------------------------------------- settings
def test_every_invented_limit_is_a_setting_changed_without_editing_the_rules() -> None:
    """ "Every invented limit is changeable without editing code": each is a setting with its
    default; a value given at load time replaces it where the rules use it."""
    policy = load_policy()
    assert communication.HIGH_UPDATES == policy.settings["high_update_every"]
    assert communication.CREATED_POST_WITHIN == policy.settings["created_post_within"]
    changed = load_policy(settings={"high_update_every": "2d", "created_post_within": "30m"})
    rows = {row.id: row.then["update_every"] for row in changed.table("communication.updates").rows}
    assert dt.timedelta(days=2) == rows["high"]
    (created,) = [
        effect.within
        for compiled in changed.reactions
        if compiled.reaction.id == "communication.post_when_created"
        for effect in compiled.reaction.then
    ]
    assert BusinessTime(dt.timedelta(minutes=30)) == created  # still counted in business time
    assert communication.HIGH_UPDATES == load_policy().settings["high_update_every"]


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"high_update_evry": "2d"}, ("no setting 'high_update_evry'", "high_update_every")),
        ({"high_update_every": "two days"}, ("expected a period such as 'each business day'",)),
        ({"high_update_every": "0m"}, ("got '0m', expected a period",)),
        ({"created_post_within": "0m"}, ("expected a positive duration",)),
        (
            {"high_update_every": "3650000d"},
            ("setting high_update_every: got '3650000d', expected at most 366 days",),
        ),
        ({"high_update_every": "367d"}, ("expected at most 366 days",)),
        ({"high_update_every": "9" * 30 + "d"}, ("expected at most 366 days",)),
        ({"high_update_every": "every 367 business days"}, ("expected at most 366 days",)),
        ({"weekly_to_biweekly_cadence": "1 per 53 weeks"}, ("expected at most 366 days",)),
        ({"inform_tam_within": "367d of calendar time"}, ("expected at most 366 days",)),
        ({"inform_tam_within": dt.timedelta(days=400)}, ("setting inform_tam_within",)),
        ({"daily_cadence": "every 8785h of business time"}, ("expected at most 366 days",)),
        ({"high_update_every": "1 per 999999999 weeks"}, ("expected at most 366 days",)),
        ({"high_update_every": "every 9999999999 business days"}, ("expected at most 366 days",)),
    ],
)
def test_a_wrong_setting_fails_to_load_naming_it(
    settings: dict[str, object], words: tuple[str, ...]
) -> None:
    with pytest.raises(PolicyDefinitionError) as caught:
        load_policy(settings=settings)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize(
    "settings",
    [
        {"high_update_every": "366d"},
        {"weekly_to_biweekly_cadence": "1 per 52 weeks"},
        {"inform_tam_within": "366d of business time"},
    ],
)
def test_settings_up_to_a_year_load_and_schedule(settings: dict[str, object]) -> None:
    policy = load_policy(settings=settings)
    engine = PolicyEngine(policy)
    engine.handle(
        {
            "type": "opened",
            "at": "2026-03-02T09:00:00Z",
            "escalation_id": "E",
            "customer": "Acme",
            "segment": "enterprise",
            "severity": "high",
        }
    )
    engine.handle({"type": "tick", "at": "2027-03-01T00:00:00Z"})
    state = engine.escalation("E")
    assert state is not None
    assert state.next_due is not None
    assert policy.latest.year > 8990, "facts of any year a calendar holds are still taken"


def test_durations_the_policy_cannot_schedule_fail_to_load() -> None:
    """Not an overflow while facts are handled: the policy is refused when it loads."""
    with pytest.raises(PolicyDefinitionError, match="late fulfilment window"):
        load_policy(late_fulfilment_window=dt.timedelta(days=3_650_000))


def test_the_policys_reference_shows_each_settings_value() -> None:
    from escalation_policy.render import policy_reference

    page = policy_reference(load_policy(settings={"high_update_every": "2d"}), "t")
    assert "| `high_update_every` | 2d | each business day |" in page
    assert "| `created_post_within` | 2h of business time | 2h of business time |" in page


def test_the_policys_reference_shows_its_calendars_due_times_and_context_fields() -> None:
    """A policy owner reads, from the reference alone, which calendar counts an escalation's
    business time, when each reaction's obligations fall due, and what a condition may test."""
    from escalation_policy.render import policy_reference
    from tests.policies.office import rules as office

    page = policy_reference(load_policy([office]), "The office")
    assert "chosen by the opening fact's `region`" in page
    assert "an opening fact's `time_zone`, when it gives an IANA time zone" in page
    new_york, london = load_policy([office]).calendars.default, office.LONDON
    assert (
        f"| `new_york` | any other `region` | America/New_York | Mon-Fri 09:00-17:00 | "
        f"2026-07-03{' ' + new_york.holidays[0].name if new_york.holidays[0].name else ''} | "
        f"`{new_york.identity}` |"
    ) in page
    assert (
        f"| `london` | `region` is `emea` | Europe/London | Mon-Fri 09:00-17:30 | none | "
        f"`{london.identity}` |"
    ) in page
    assert (
        "| `office.call_requested` | `call_back` | within 2h of business time | - | 1h 45m |"
    ) in page
    assert "| `office.paged` | `acknowledge` | within 12h | - | 2h |" in page
    assert (
        "| `office.plan_applies` | `check_in` | every period the table output "
        "`check_in_every` gives | - | - |"
    ) in page
    assert "| `part` | `call`, `notes` | reviewed | the field 'part' of reviewed facts |" in page
    assert "| `status` | `active`, `closed` | every fact | the engine's 'status' |" in page
    handbook = policy_reference(load_policy(settings={"created_post_within": "3h"}), "t")
    # Where a rule uses a setting, the reference names it beside its value here.
    assert (
        "| `communication.post_when_created` | `channel_post` | within 3h of business time "
        "(`created_post_within`) | `created` |" in handbook
    )
    assert (
        "| `communication.updates/high` | High | each business day (`high_update_every`) | "
        "Communication Process |" in handbook
    )
    # A decision table's rows, as the table command draws them: a field not set is "none".
    assert (
        "| `responsibilities.owner/critical_and_high_without_tam` | Critical or High | none | "
        "Support Engineering |" in handbook
    )
    # The value sets the tables give, though no fact or action field holds them.
    assert "### `Cadence`" in handbook
    assert (
        "| `corrects` | `false`, `true` | severity_changed | computed by "
        "`escalation_policy.rules.communication._corrects`: Whether this change of severity "
        "takes the escalation out of High or Critical within &#96;&#96;CORRECTED_WITHIN"
        "&#96;&#96; of the change before (or the escalation's state does not know when that "
        "was: written by an earlier release)."
    ) in handbook
    many = attrs.evolve(
        office.NEW_YORK,
        holidays={dt.date(2026, 7, 3): "Independence Day (observed)", dt.date(2026, 9, 7): ""},
    )
    named = types.ModuleType(office.__name__)
    named.__dict__.update({k: v for k, v in vars(office).items() if not k.startswith("__")})
    named.CALENDARS = attrs.evolve(office.CALENDARS, default=many)  # type: ignore[attr-defined]
    assert "| 2026-07-03 Independence Day (observed); 2026-09-07 |" in policy_reference(
        load_policy([named]), "t"
    )
    # The policy's own words are shown as written, never as markup nor across cells: a
    # holiday's name (from a third party's data, maybe) or a reaction's title.
    evil = "<script>alert(1)</script> | `x` [l](javascript:x)\n## injected"
    named.CALENDARS = attrs.evolve(  # type: ignore[attr-defined]
        office.CALENDARS,
        default=attrs.evolve(office.NEW_YORK, holidays={dt.date(2026, 7, 3): evil}),
    )
    named.REACTIONS = (  # type: ignore[attr-defined]
        attrs.evolve(office.REACTIONS[0], title=evil),
        *office.REACTIONS[1:],
    )
    page = policy_reference(load_policy([named]), "t")
    assert "<script>" not in page
    assert "\n## injected" not in page
    assert "](javascript:" not in page
    rows = [line for line in page.splitlines() if "alert(1)" in line]
    assert 2 == len(rows)
    for row in rows:  # the title and the holiday each in one cell of their table
        assert row.count(" | ") + 1 == (6 if row.startswith("| `new_york`") else 4), row
    from tests.policies.new_owner import rules as without_calendars

    assert "None: every clock counts calendar time" in policy_reference(
        load_policy([without_calendars]), "t"
    )


def test_an_announcement_reads_fields_from_the_escalation() -> None:
    """``announce_from``: the TAM informed of an escalation is told its customer."""
    import escalation_policy.rules.terms as handbook_terms
    from escalation_policy import PolicyEngine
    from escalation_policy.vocabulary import Cancel

    @attrs.frozen(kw_only=True)
    class InformTamOfCustomer(handbook_terms.InformTam):
        TYPE = "inform_tam_of_customer"
        customer: str

    def policy_with(announce_from: dict[str, str]) -> list[Any]:
        told = attrs.evolve(
            responsibilities.INFORM_TAM, announce=InformTamOfCustomer, announce_from=announce_from
        )

        def swap(effect: Any) -> Any:
            if isinstance(effect, (Require, Fulfil)) and effect.obligation.id == "inform_tam":
                return attrs.evolve(effect, obligation=told)
            if isinstance(effect, Cancel):
                kept = tuple(told if o.id == "inform_tam" else o for o in effect.obligations)
                return attrs.evolve(effect, obligations=kept)
            return effect

        def copy(module: types.ModuleType) -> Any:
            reactions = tuple(
                attrs.evolve(r, then=tuple(map(swap, r.then))) for r in module.REACTIONS
            )
            obligations = tuple(told if o.id == "inform_tam" else o for o in module.OBLIGATIONS)
            return _with(module, REACTIONS=reactions, OBLIGATIONS=obligations)[
                MODULES.index(module.__name__)
            ]

        edited = {m.__name__: copy(m) for m in (responsibilities, communication)}
        return [edited.get(name, name) for name in MODULES]

    decision = PolicyEngine(load_policy(policy_with({"customer": "customer"}))).handle(
        {
            "type": "opened",
            "at": "2026-03-02T09:00:00Z",
            "escalation_id": "ESC-1",
            "customer": "Globex",
            "segment": "enterprise",
            "severity": "medium",
            "tam": "Priya",
        }
    )
    (told_action,) = [a for a in decision.actions if a.TYPE == "inform_tam_of_customer"]
    assert ("Priya", "Globex") == (told_action.tam, told_action.customer)  # type: ignore[attr-defined]
    _fails(policy_with({"customer": "client"}), "announce_from: no attribute 'client'")


# ------------------------------------------------------------------------ a package that breaks
_RULES_FOLDER = pathlib.Path(escalation_policy.__file__).parent / "rules"


def _broken_package(folder: pathlib.Path, module: str, appended: str) -> pathlib.Path:
    """A copy of the handbook's package named after ``folder``, with ``appended`` at the end
    of ``module``."""
    shutil.copytree(_RULES_FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__"))
    init = folder / "__init__.py"
    init.write_text(init.read_text().replace('"escalation_policy.rules.', f'"{folder.name}.'))
    path = folder / module
    path.write_text(path.read_text() + appended)
    return folder


@pytest.mark.parametrize(
    ("appended", "reason"),
    [
        ("def (:\n", "SyntaxError"),
        ("import a_module_that_is_not_there\n", "No module named 'a_module_that_is_not_there'"),
        ("X = 1 / 0\n", "ZeroDivisionError: division by zero"),
    ],
    ids=["syntax error", "missing import", "exception"],
)
def test_a_rule_module_that_cannot_be_imported_is_a_definition_error_naming_its_line(
    tmp_path: pathlib.Path, appended: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _broken_package(tmp_path / f"broken_{len(reason)}", "scope.py", appended)
    lines = len((folder / "scope.py").read_text().splitlines())
    with pytest.raises(PolicyDefinitionError, match=re.escape(reason)) as caught:
        load_policy(str(folder))
    assert (f"{folder.name}.scope", str(folder / "scope.py"), lines) == (
        caught.value.module,
        caught.value.file,
        caught.value.line,
    )
    assert 2 == main(["identity", "--policy", str(folder)])
    err = capsys.readouterr().err
    assert f"scope.py:{lines}:" in err
    assert reason in err
    assert 1 == len(err.splitlines())


def test_modules_the_package_does_not_hold_are_a_definition_error(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "renamed"
    shutil.copytree(_RULES_FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__"))
    init = folder / "__init__.py"
    init.write_text(init.read_text().replace('"escalation_policy.rules.', '"mycompany.'))
    with pytest.raises(PolicyDefinitionError, match=re.escape("MODULES names 'mycompany.terms'")):
        load_policy(str(folder))


@pytest.mark.parametrize(
    ("old", "new", "action", "reason"),
    [
        (
            'TYPE = "post_to_channel"',
            'TYPE = "Post To Channel"',
            "PostToChannel",
            "PostToChannel.TYPE is 'Post To Channel', expected a lower-case name",
        ),
        (
            'TYPE = "inform_tam"',
            'TYPE = "post_to_channel"',
            "InformTam",
            "two action types are named 'post_to_channel': PostToChannel and InformTam",
        ),
    ],
    ids=["no name", "another action's"],
)
def test_an_action_type_with_a_wrong_type_fails_at_its_class(
    tmp_path: pathlib.Path, old: str, new: str, action: str, reason: str
) -> None:
    folder = tmp_path / f"broken_{action.lower()}"
    shutil.copytree(_RULES_FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__"))
    init = folder / "__init__.py"
    init.write_text(init.read_text().replace('"escalation_policy.rules.', f'"{folder.name}.'))
    terms = folder / "terms.py"
    terms.write_text(terms.read_text().replace(old, new, 1))
    with pytest.raises(PolicyDefinitionError) as caught:
        load_policy(str(folder))
    lines = terms.read_text().splitlines()
    start = lines.index(f"class {action}(Action):")  # its definition starts at its decorators
    while lines[start - 1].startswith("@"):
        start -= 1
    assert (str(terms), start + 1) == (caught.value.file, caught.value.line)
    assert caught.value.reason.startswith(reason)


def _violation_on(on: tuple[Any, ...], detail: str, **when: Any) -> Reaction:
    return Reaction(
        id="severity.detailed",
        title="t",
        cites="Definitions of Severity Levels",
        on=on,
        when=when,
        then=(Violation(code="wrong_poster", detail=detail),),
    )


@pytest.mark.parametrize(
    ("on", "detail", "when", "words"),
    [
        ((Posted,), "posted by {poster}", {},
         ["names 'poster'", "of every fact it reacts to, or an attribute", "(did you mean"]),
        ((Posted, SeverityChanged), "posted by {by}", {},
         ["names 'by'", "a field of every fact it reacts to"]),
        ((Posted,), "posted by {by!r}", {}, ["got {by!r}, expected a name in braces"]),
        ((Posted,), "posted by {}", {}, ["got {}, expected a name in braces"]),
        ((Posted,), "an open brace { alone", {}, ["write a brace as {{ or }}"]),
        ((Posted,), "the owner {owner}", {"known": False},
         ["names 'owner'", "a field of the fact (the escalation is not known)"]),
    ],
)  # fmt: skip
def test_a_violation_detail_naming_what_its_facts_lack_fails(
    on: tuple[Any, ...], detail: str, when: dict[str, Any], words: list[str]
) -> None:
    """A detail names in braces a field of every fact the reaction is on, or an attribute of
    the escalation; the loader says what it may name instead."""
    reaction = _violation_on(on, detail, **when)
    _fails(_with(severity, REACTIONS=(*severity.REACTIONS, reaction)), *words)


@pytest.mark.parametrize("engine", ["native", "durable"])
def test_a_violation_detail_says_the_facts_field_and_the_escalations_attribute(
    engine: str,
) -> None:
    """``{by}`` from the fact, ``{owner}`` and ``{tam}`` from the escalation, as the JSON
    contract writes them (``none`` for none), a brace written twice as one, on both engines,
    and the same once the escalation is restored from its JSON."""
    if engine == "durable":
        pytest.importorskip("durable", reason="durable-rules is not installed")
    reaction = _violation_on(
        (Posted,), "posted by {by} for {owner}; TAM {tam} {{sic}}", purpose=PostPurpose.TRACKING
    )
    policy = load_policy(_with(severity, REACTIONS=(*severity.REACTIONS, reaction)))
    handled = PolicyEngine(policy, engine=engine)
    handled.handle(
        {"type": "opened", "at": "2026-03-02T09:00:00Z", "escalation_id": "E-1",
         "customer": "Acme", "segment": "enterprise", "severity": "medium"}
    )  # fmt: skip
    text = json.dumps(make_converter(policy).unstructure(handled.snapshot()))
    restored = PolicyEngine.restore(json.loads(text), policy, engine=engine)
    post = {"type": "posted", "at": "2026-03-02T09:10:00Z", "escalation_id": "E-1",
            "channel": "#acme", "purpose": "tracking", "by": "customer_success"}  # fmt: skip
    for engine_now in (handled, restored):
        assert ["posted by customer_success for support_engineering; TAM none {sic}"] == [
            v.detail for v in engine_now.handle(post).actions if v.rule == "severity.detailed"
        ]


@pytest.mark.parametrize("name", ["pending", "clock", "opened_at", "rarely", "next_due", "settled"])
def test_an_opening_field_named_as_the_engines_own_fails(name: str) -> None:
    """An opening fact's fields are the escalation's attributes: one named as a field the
    engine keeps (its obligations, its clock) would overwrite it, and the loader refuses it."""
    opened = attrs.make_class(
        "Opened",
        {name: attrs.field(default=None, type=str | None)},
        bases=(Opened,),
        frozen=True,
        kw_only=True,
    )
    facts = tuple(opened if cls is Opened else cls for cls in terms.FACTS)
    _fails(_with(terms, FACTS=facts), f"has a field {name!r}", "the engine keeps one of that name")
