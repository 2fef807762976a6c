"""The company's later process, as a policy package of its own (examples/policies/later_process).

It is loaded from its folder, as a company loads its policy, and runs on the engines, the audit,
the command line and the testing kit's strategies without a change to the library. Example
tables pin what the summary of the later process says (Critical daily, Medium weekly, 24 hours),
read on the policy's business calendar (Monday to Friday, 09:00 to 17:00 UTC, or in the
customer's zone); what the policy decided where the summary is open (DECISIONS.md) is read
from its modules.
"""

import ast
import datetime as dt
import enum
import importlib
import json
import pathlib
import re
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import escalation_policy
from escalation_policy import (
    ENGINES,
    Action,
    Decision,
    EscalationClosedError,
    PolicyEngine,
    audit,
    default_policy,
    load_policy,
)
from escalation_policy._engines.durable import durable_available
from escalation_policy.cli import read_facts
from escalation_policy.model import Fact
from escalation_policy.policy import Policy
from escalation_policy.testing import assert_compliant
from escalation_policy.testing.strategies import histories
from escalation_policy.vocabulary import (
    AnyValue,
    BusinessTime,
    Calendar,
    Calendars,
    EachBusinessDay,
    NoneOf,
    OneOf,
    Period,
    TimesPerWeek,
)
from tests.conftest import engine_params, examples

ROOT = pathlib.Path(__file__).parent.parent
PACKAGE = ROOT / "examples" / "policies" / "later_process"
EXAMPLES = PACKAGE / "examples"
LIBRARY = pathlib.Path(escalation_policy.__file__).parent

POLICY = load_policy(str(PACKAGE))

# The policy's parameters, read from its modules (loading the folder made them importable).
owners = importlib.import_module("later_process.owners")
opening = importlib.import_module("later_process.opening")
cadence = importlib.import_module("later_process.cadence")
messages = importlib.import_module("later_process.messages")
closing = importlib.import_module("later_process.closing")

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, as the business day opens
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)
WEEK_END = dt.datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # the end of T0's calendar week

OPENING = {
    "customer": "Acme Corp",
    "short_name": "acme_corp",
    "severity": "high",
    "crm_case": "https://crm.example.com/cases/1",
    "immediate_asks": "Restore the nightly export",
    "exit_criteria": "Exports complete for 7 nights",
}
CLOSED_WELL = {
    "outcome": "positive",
    "customer_agreement": "https://crm.example.com/cases/1/agreement",
    "exit_criteria_met": True,
}


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, hours=hours, minutes=minutes)


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time in March 2026 (2 March is a Monday, 7 and 8 March a weekend)."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def business_day_after(when: dt.datetime) -> dt.datetime:
    """When one business day of the policy's default calendar has passed since ``when``."""
    due: dt.datetime = opening.ONE_BUSINESS_DAY.due(opening.BUSINESS_DAYS, when)
    return due


class Escalation:
    """One escalation of the later process, fed to an engine fact by fact."""

    def __init__(self, engine: PolicyEngine, escalation_id: str = "ESC-1") -> None:
        self.engine = engine
        self.escalation_id = escalation_id
        self.decisions: list[Decision] = []

    def fact(self, type_: str, when: dt.datetime, **fields: Any) -> Decision:
        body = {"type": type_, "at": when.isoformat(), **fields}
        if type_ != "tick":
            body.setdefault("escalation_id", self.escalation_id)
        decision = self.engine.handle(body)
        self.decisions.append(decision)
        return decision

    def open(self, when: dt.datetime = T0, **fields: Any) -> Decision:
        return self.fact("opened", when, **{**OPENING, **fields})

    def tick(self, when: dt.datetime) -> Decision:
        return self.fact("tick", when)

    def pending(self) -> list[str]:
        state = self.engine.escalation(self.escalation_id)
        return [] if state is None else [p.obligation for p in state.pending]

    @property
    def actions(self) -> list[Action]:
        return [action for decision in self.decisions for action in decision.actions]


@pytest.fixture
def escalation(engine_name: str) -> Escalation:
    return Escalation(PolicyEngine(POLICY, engine=engine_name))  # type: ignore[arg-type]


def of_type(actions: list[Action] | tuple[Action, ...], type_: str) -> list[Any]:
    return [action for action in actions if action.TYPE == type_]


def codes(actions: list[Action] | tuple[Action, ...]) -> list[str]:
    return [action.code.value for action in of_type(actions, "violation")]


def _value(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


def _cell_matches(cell: object, value: object) -> bool:
    if isinstance(cell, AnyValue):
        return True
    if isinstance(cell, (OneOf, NoneOf)):
        return (value in {_value(v) for v in cell.values}) is isinstance(cell, OneOf)
    return _value(cell) == value


def output(table_id: str, name: str, **inputs: object) -> Any:
    """What the policy's table ``table_id`` gives as ``name`` for these inputs (JSON values)."""
    table = POLICY.table(table_id)
    for row in table.rows:
        if all(_cell_matches(row.when[field], inputs[field]) for field in table.inputs):
            return row.then[name]
    raise LookupError(f"no row of {table_id} matches {inputs}")


# ------------------------------------------------------------------------------ the package
def test_the_policy_is_loaded_from_its_folder_outside_the_library() -> None:
    """Every rule, fact type and action type comes from the package's own modules, in its
    folder; none from the library."""
    modules = {info.module for info in POLICY.rules.values()}
    modules |= {cls.__module__ for cls in POLICY.terms.facts.values()}
    modules |= {
        cls.__module__
        for cls in POLICY.terms.actions.values()
        if cls.__module__ != "escalation_policy.model"
    }
    files = {pathlib.Path(sys.modules[name].__file__ or "").resolve() for name in modules}
    assert {"later_process.owners", "later_process.terms", "later_process.closing"} <= modules
    assert all(name.startswith("later_process.") for name in modules), modules
    assert all(file.is_relative_to(PACKAGE.resolve()) for file in files), files
    assert not PACKAGE.resolve().is_relative_to(LIBRARY.resolve())


def _own_terms(policy: Policy) -> set[str]:
    """The names a policy gives its terms: fact and action types, value sets and values,
    obligations, context fields, outputs and the escalation's attributes."""
    terms = policy.terms
    found: set[str] = set()
    for tag, cls in {**terms.facts, **terms.actions}.items():
        found |= {tag, cls.__name__}
    for kind in terms.values:
        found |= {kind.__name__, *(str(member.value) for member in kind)}
    for compiled in policy.tables:
        for row in compiled.table.rows:
            for value in row.then.values():
                for item in value if isinstance(value, tuple) else (value,):
                    if isinstance(item, enum.Enum):
                        found |= {type(item).__name__, str(item.value)}
    return found | set(policy.obligations) | set(policy.context.domains) | set(policy.outputs)


def test_the_library_names_none_of_the_later_process_terms() -> None:
    """No module of the library names a fact type, value, obligation or field that only the
    later process has: the engine needed no change to run it. (Names the handbook's policy
    shares are the handbook's; plain words such as ``new`` prove nothing either way.)"""
    own = _own_terms(POLICY) - _own_terms(default_policy())
    identifiers = sorted(term for term in own if "_" in term or sum(c.isupper() for c in term) > 1)
    assert {"ProductDriAssigned", "product_dri", "standup_held", "short_name"} <= set(identifiers)
    any_term = re.compile(rf"\b(?:{'|'.join(map(re.escape, identifiers))})\b")
    named = {
        f"{path.relative_to(ROOT)}: {term}"
        for path in LIBRARY.rglob("*.py")
        for term in set(any_term.findall(path.read_text()))
    }
    assert set() == named


def test_the_package_imports_no_rule_of_the_handbook() -> None:
    imported = {
        node.module
        for path in PACKAGE.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    library = {name for name in imported if name.partition(".")[0] == "escalation_policy"}
    assert {"escalation_policy.vocabulary"} == library


def test_the_policy_cites_the_summarys_headings() -> None:
    """Account health is left out: its rule is about accounts, which the engine does not
    keep (DECISIONS.md)."""
    package = sys.modules["later_process"]
    assert ("Owners (DRIs)", "On opening", "Cadence", "Messages", "Closing") == package.SECTIONS
    cited = {part for info in POLICY.rules.values() for part in info.cites.split("; ")}
    assert set(package.SECTIONS) == cited


def test_every_named_duration_period_and_calendar_is_explained_in_the_decisions() -> None:
    decisions = (PACKAGE / "DECISIONS.md").read_text()
    kinds = (dt.timedelta, BusinessTime, Period, Calendar, Calendars)
    named = {
        f"{module.__name__}.{name}"
        for module in (owners, opening, cadence, messages, closing)
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, kinds)
    }
    assert len(named) >= 8
    assert [] == sorted(n for n in named if f"`{n.rpartition('.')[2]}`" not in decisions)


# ---------------------------------------------------------------------------- Owners (DRIs)
@pytest.mark.parametrize(
    ("team", "dri"),
    [
        pytest.param(
            {"ps_project_running": True, "csm_assigned": True, "cse_assigned": True},
            "project_manager",
            id="PS project running: its project manager",
        ),
        pytest.param(
            {"csm_assigned": True, "cse_assigned": True},
            "customer_success_manager",
            id="no PS project, a CSM: the CSM",
        ),
        pytest.param({"cse_assigned": True}, "customer_success_engineer", id="no CSM, a CSE: CSE"),
        pytest.param({}, "account_executive", id="no CSM nor CSE: the account executive"),
    ],
)
def test_the_dri_is_chosen_by_the_ordered_rule(
    escalation: Escalation, team: dict[str, bool], dri: str
) -> None:
    (owner,) = of_type(escalation.open(**team).actions, "assign_owner")
    assert (dri, f"owners.dri/{dri}") == (owner.owner.value, owner.rule)


def test_a_new_account_team_changes_the_dri_who_is_told_what_is_pending(
    escalation: Escalation,
) -> None:
    escalation.open(severity="medium", ps_project_running=True, csm_assigned=True)
    team = {"ps_project_running": False, "csm_assigned": True, "cse_assigned": False}
    actions = escalation.fact("account_team_changed", at(hours=2), **team).actions
    assert ["customer_success_manager"] == [a.owner.value for a in of_type(actions, "assign_owner")]
    # The first stand-up, still due one business day after opening, now asked of the CSM.
    assert (business_day_after(at()), "customer_success_manager") in {
        (a.due, a.by.value) for a in of_type(actions, "hold_standup")
    }


@pytest.mark.parametrize(
    ("severity", "product_related", "level"),
    [
        pytest.param("critical", True, "product_leadership", id="critical: product leadership"),
        pytest.param("high", True, "group_product_manager", id="high: a GPM or more senior"),
        pytest.param("medium", True, None, id="medium: no Product DRI"),
        pytest.param("low", True, None, id="low: no Product DRI"),
        pytest.param("critical", False, None, id="not product-related: no Product DRI"),
    ],
)
def test_a_product_dri_is_required_within_24_hours(
    escalation: Escalation, severity: str, product_related: bool, level: str | None
) -> None:
    actions = escalation.open(severity=severity, product_related=product_related).actions
    expected = [] if level is None else [(level, business_day_after(at()))]
    assert expected == [(a.level.value, a.due) for a in of_type(actions, "assign_product_dri")]


# "Assigned within 24 hours of the escalation being opened": naming a person is work of the
# working day, so 24 hours is one business day (DECISIONS.md, "Time"), at every severity.
@pytest.mark.parametrize(
    ("severity", "opened_at", "due"),
    [
        pytest.param("high", utc(2, 10), utc(3, 10), id="opened Monday 10:00: Tuesday 10:00"),
        pytest.param("critical", utc(2, 10), utc(3, 10), id="critical alike: Tuesday 10:00"),
        pytest.param("high", utc(6, 15), utc(9, 15), id="opened Friday 15:00: Monday 15:00"),
        pytest.param("critical", utc(7, 11), utc(9, 17), id="opened Saturday: Monday's close"),
        pytest.param(
            "high", utc(2, 9), utc(2, 17), id="opened as Monday opens: a business day, its close"
        ),
    ],
)
def test_the_product_dri_is_due_one_business_day_after_opening(
    escalation: Escalation, severity: str, opened_at: dt.datetime, due: dt.datetime
) -> None:
    opened = escalation.open(opened_at, severity=severity, product_related=True)
    assert [due] == [a.due for a in of_type(opened.actions, "assign_product_dri")]
    on_time, late = escalation.tick(due), escalation.tick(due + MINUTE)
    assert ([], ["product_dri_overdue"]) == (
        [c for c in codes(on_time.actions) if c.startswith("product_dri")],
        [c for c in codes(late.actions) if c.startswith("product_dri")],
    )


def test_a_customer_in_another_zone_has_its_business_days_counted_there(
    escalation: Escalation,
) -> None:
    """Opened 09:00 UTC, 04:00 in New York: the business day there runs 09:00 to 17:00 local
    (14:00 to 22:00 UTC), so the Product DRI is due at 17:00 New York time."""
    opened = escalation.open(severity="high", product_related=True, time_zone="America/New_York")
    assert [utc(2, 22)] == [a.due for a in of_type(opened.actions, "assign_product_dri")]
    state = escalation.engine.escalation("ESC-1")
    assert state is not None
    assert "business_days@America/New_York" == state.calendar


def test_an_unknown_time_zone_is_an_input_error_naming_the_field(escalation: Escalation) -> None:
    with pytest.raises(escalation_policy.InvalidFactError, match=r"\$\.time_zone"):
        escalation.open(time_zone="Mars/Olympus")


@pytest.mark.parametrize(
    ("severity", "level", "senior_enough"),
    [
        pytest.param("high", "group_product_manager", True, id="high: GPM"),
        pytest.param("high", "product_director", True, id="high: director"),
        pytest.param("high", "product_leadership", True, id="high: product leadership"),
        pytest.param("high", "product_manager", False, id="high: PM too junior"),
        pytest.param("critical", "product_leadership", True, id="critical: product leadership"),
        pytest.param("critical", "product_director", False, id="critical: director too junior"),
        pytest.param("critical", "group_product_manager", False, id="critical: GPM too junior"),
    ],
)
def test_a_product_dri_of_too_low_a_level_is_a_violation_and_meets_nothing(
    escalation: Escalation, severity: str, level: str, senior_enough: bool
) -> None:
    escalation.open(severity=severity, product_related=True)
    named = escalation.fact("product_dri_assigned", at(hours=2), name="pat", level=level)
    assert ([] if senior_enough else ["product_dri_too_junior"]) == codes(named.actions)
    assert (["product_dri"] if senior_enough else []) == [f.obligation for f in named.fulfilled]
    later = escalation.tick(business_day_after(at()) + MINUTE)
    assert ([] if senior_enough else ["product_dri_overdue"]) == [
        code for code in codes(later.actions) if code.startswith("product_dri")
    ]


def test_a_junior_product_dri_is_no_violation_where_none_is_required(
    escalation: Escalation,
) -> None:
    escalation.open(severity="critical", product_related=False)
    named = escalation.fact(
        "product_dri_assigned", at(hours=1), name="pat", level="product_manager"
    )
    assert [] == codes(named.actions)


def test_the_dri_is_reminded_once_before_the_product_dri_falls_due(
    escalation: Escalation,
) -> None:
    escalation.open(severity="critical", product_related=True, csm_assigned=True)
    due = business_day_after(at())
    remind_at = due - owners.PRODUCT_DRI_REMIND_BEFORE
    assert [] == of_type(escalation.tick(remind_at - MINUTE).actions, "reminder")
    (reminder,) = of_type(escalation.tick(remind_at + MINUTE).actions, "reminder")
    assert ("product_dri", due, "customer_success_manager", "product_leadership") == (
        reminder.obligation,
        reminder.due,
        _value(reminder.owner),
        reminder.key,
    )
    assert [] == of_type(escalation.tick(due - MINUTE).actions, "reminder")


def test_no_reminder_once_the_product_dri_is_named(escalation: Escalation) -> None:
    escalation.open(severity="high", product_related=True)
    escalation.fact("product_dri_assigned", at(hours=1), name="pat", level="product_director")
    assert [] == of_type(escalation.tick(at(days=2)).actions, "reminder")


@pytest.mark.parametrize(
    ("opened_as", "raised_to", "level"),
    [
        pytest.param("medium", "high", "group_product_manager", id="medium to high"),
        pytest.param("low", "critical", "product_leadership", id="low to critical"),
        pytest.param("high", "critical", "product_leadership", id="high to critical"),
    ],
)
def test_raising_the_severity_requires_a_product_dri_within_24_hours_of_the_change(
    escalation: Escalation, opened_as: str, raised_to: str, level: str
) -> None:
    escalation.open(severity=opened_as, product_related=True)
    raised = escalation.fact("severity_changed", at(hours=5), severity=raised_to)
    assert [(level, business_day_after(at(hours=5)))] == [
        (a.level.value, a.due) for a in of_type(raised.actions, "assign_product_dri")
    ]


def test_a_product_dri_senior_enough_already_needs_no_other(escalation: Escalation) -> None:
    escalation.open(severity="high", product_related=True)
    escalation.fact("product_dri_assigned", at(hours=1), name="pat", level="product_leadership")
    raised = escalation.fact("severity_changed", at(hours=2), severity="critical")
    assert [] == of_type(raised.actions, "assign_product_dri")
    escalation.tick(at(days=3))
    assert [] == [code for code in codes(escalation.actions) if code.startswith("product_dri")]


def test_lowering_to_medium_drops_the_product_dri(escalation: Escalation) -> None:
    escalation.open(severity="critical", product_related=True)
    escalation.fact("severity_changed", at(hours=2), severity="medium")
    assert "product_dri" not in escalation.pending()
    assert "product_dri_overdue" not in codes(escalation.tick(at(days=2)).actions)


def test_lowering_critical_to_high_keeps_the_due_time_and_relaxes_the_level(
    engine_name: str,
) -> None:
    """Lowered to High, the Critical requirement keeps its due time; a GPM now meets it."""
    kept = Escalation(PolicyEngine(POLICY, engine=engine_name))  # type: ignore[arg-type]
    kept.open(severity="critical", product_related=True)
    kept.fact("severity_changed", at(hours=2), severity="high")
    missed = kept.tick(business_day_after(at()) + MINUTE)
    assert [business_day_after(at())] == [
        v.due for v in of_type(missed.actions, "violation") if v.code.value == "product_dri_overdue"
    ]
    met = Escalation(PolicyEngine(POLICY, engine=engine_name))  # type: ignore[arg-type]
    met.open(severity="critical", product_related=True)
    met.fact("severity_changed", at(hours=2), severity="high")
    named = met.fact("product_dri_assigned", at(hours=3), name="pat", level="group_product_manager")
    assert (["product_dri"], []) == ([f.obligation for f in named.fulfilled], codes(named.actions))


def test_lowering_critical_to_high_with_a_dri_senior_enough_for_high_drops_it(
    escalation: Escalation,
) -> None:
    escalation.open(severity="critical", product_related=True)
    named = escalation.fact(
        "product_dri_assigned", at(hours=1), name="pat", level="product_director"
    )
    assert ["product_dri_too_junior"] == codes(named.actions)
    escalation.fact("severity_changed", at(hours=2), severity="high")
    assert "product_dri" not in escalation.pending()


@pytest.mark.parametrize(
    ("support_tickets", "linked_at", "due"),
    [
        pytest.param(True, None, utc(2, 17), id="opened with support tickets"),
        pytest.param(False, at(hours=6), utc(3, 15), id="a ticket linked later"),
        pytest.param(False, None, None, id="no support ticket: no Support DRI"),
    ],
)
def test_a_support_dri_is_named_for_escalations_with_support_tickets(
    escalation: Escalation, support_tickets: bool, linked_at: dt.datetime | None, due: Any
) -> None:
    escalation.open(support_tickets=support_tickets)
    if linked_at is not None:
        escalation.fact("support_ticket_linked", linked_at, ticket="T-1")
    assert ([] if due is None else [due]) == [
        a.due for a in of_type(escalation.actions, "assign_support_dri")
    ]
    late = escalation.tick(at(days=3))
    assert ([] if due is None else ["support_dri_overdue"]) == [
        code for code in codes(late.actions) if code == "support_dri_overdue"
    ]


def test_a_named_support_dri_meets_it_and_later_tickets_need_no_other(
    escalation: Escalation,
) -> None:
    escalation.open(support_tickets=True)
    named = escalation.fact("support_dri_assigned", at(hours=3), name="sam")
    assert ["support_dri"] == [f.obligation for f in named.fulfilled]
    linked = escalation.fact("support_ticket_linked", at(hours=4), ticket="T-2")
    assert [] == of_type(linked.actions, "assign_support_dri")
    assert "support_dri_overdue" not in codes(escalation.tick(at(days=3)).actions)


# ------------------------------------------------------------------------------- On opening
def test_opening_creates_the_dedicated_channel_and_announces_the_escalation(
    escalation: Escalation,
) -> None:
    actions = escalation.open(description="Nightly export fails").actions
    assert ["#esc_acme_corp"] == [a.channel for a in of_type(actions, "create_channel")]
    (new,) = of_type(actions, "post_message")
    assert (
        "#escalated_customers",
        "new",
        "Acme Corp",
        "#esc_acme_corp",
        "https://crm.example.com/cases/1",
        "high",
        "Nightly export fails",
        "messages.new",
    ) == (
        new.channel,
        new.template.value,
        new.customer,
        new.dedicated_channel,
        new.crm_case,
        new.severity.value,
        new.description,
        new.rule,
    )


@pytest.mark.parametrize("missing", ["crm_case", "immediate_asks", "exit_criteria", "short_name"])
def test_an_escalation_cannot_be_opened_without_what_opening_writes_down(
    escalation: Escalation, missing: str
) -> None:
    fields = {key: value for key, value in OPENING.items() if key != missing}
    with pytest.raises(escalation_policy.InvalidFactError, match=missing):
        escalation.engine.handle(
            {"type": "opened", "at": T0.isoformat(), "escalation_id": "ESC-1", **fields}
        )


# "Within 24 hours: an internal stand-up": one business day, or 24 hours of the clock for a
# Critical escalation, which is worked around the clock (DECISIONS.md, "Time").
@pytest.mark.parametrize(
    ("severity", "opened_at", "due"),
    [
        pytest.param("critical", utc(2, 10), utc(3, 10), id="critical, Monday 10:00: Tuesday"),
        pytest.param("critical", utc(6, 16), utc(7, 16), id="critical, Friday 16:00: Saturday"),
        pytest.param("high", utc(2, 10), utc(3, 10), id="high, Monday 10:00: Tuesday 10:00"),
        pytest.param("high", utc(6, 16), utc(9, 16), id="high, Friday 16:00: Monday 16:00"),
        pytest.param("medium", utc(6, 18), utc(9, 17), id="medium, Friday evening: Monday close"),
        pytest.param("low", utc(2, 9), utc(2, 17), id="low, as Monday opens: Monday's close"),
    ],
)
def test_an_internal_standup_is_due_within_24_hours_and_missing_it_is_one_violation(
    escalation: Escalation, severity: str, opened_at: dt.datetime, due: dt.datetime
) -> None:
    actions = escalation.open(opened_at, severity=severity).actions
    assert due in [a.due for a in of_type(actions, "hold_standup")]
    assert [] == codes(escalation.tick(due).actions)
    late = escalation.tick(due + MINUTE)
    assert ["first_standup_overdue"] == [code for code in codes(late.actions) if "standup" in code]


def test_the_first_standup_counts_toward_the_weeks_cadence(escalation: Escalation) -> None:
    """A High escalation opened on Monday owes three stand-ups that week; the first one, held
    on the day, meets the first stand-up and is the first of the three."""
    escalation.open(severity="high")
    held = escalation.fact("standup_held", at(hours=3), notes="https://notes.example.com/1")
    assert ["first_standup"] == [f.obligation for f in held.fulfilled]
    state = escalation.engine.escalation("ESC-1")
    assert state is not None
    (standup,) = [p for p in state.pending if p.obligation == "standup"]
    assert ("3 per week", WEEK_END, 3, (1,)) == (
        standup.period,
        standup.due,
        standup.required,
        standup.counts,
    )


@pytest.mark.parametrize(
    ("held_before", "needed"),
    [
        pytest.param(False, True, id="no stand-up yet: one within a business day of the change"),
        pytest.param(True, False, id="stand-ups held: the new cadence only"),
    ],
)
def test_lowered_from_critical_before_any_standup_one_is_still_due(
    escalation: Escalation, held_before: bool, needed: bool
) -> None:
    escalation.open(utc(6, 20), severity="critical")  # a Friday evening
    if held_before:
        escalation.fact("standup_held", utc(6, 21), notes="https://notes.example.com/1")
    escalation.fact("severity_changed", utc(6, 22), severity="medium")
    state = escalation.engine.escalation("ESC-1")
    assert state is not None
    first = [p.due for p in state.pending if p.obligation == "first_standup"]
    # No longer Critical, it owes no weekend stand-up: Monday's business day instead.
    assert ([utc(9, 17)] if needed else []) == first


# ---------------------------------------------------------------------------------- Cadence
@pytest.mark.parametrize(
    ("severity", "cadence_value", "period"),
    [
        pytest.param(
            "critical", "daily", EachBusinessDay(), id="Critical daily: each business day"
        ),
        pytest.param(
            "high",
            "several_times_a_week",
            TimesPerWeek(3),
            id="High several times a week: 3 per week",
        ),
        pytest.param("medium", "weekly", TimesPerWeek(1), id="Medium weekly: 1 per week"),
        pytest.param("low", "as_usual", None, id="Low as usual: none on a schedule"),
    ],
)
def test_standups_and_update_messages_follow_the_severitys_cadence(
    escalation: Escalation, severity: str, cadence_value: str, period: Period | None
) -> None:
    """The summary: "Internal stand-ups and updates follow the severity's cadence (Critical
    daily, High several times a week, Medium weekly, Low as usual)."
    """
    (set_cadence,) = of_type(escalation.open(severity=severity).actions, "set_cadence")
    assert cadence_value == set_cadence.cadence.value
    for name in ("standup_every", "update_message_every"):
        assert period == output("cadence.periods", name, cadence=cadence_value)
    state = escalation.engine.escalation("ESC-1")
    assert state is not None
    periods = {pending.obligation: pending.period for pending in state.pending}
    expected = None if period is None else period.text
    assert (expected, expected) == (periods.get("standup"), periods.get("update_message"))


KEPT = ("standup_overdue", "update_message_overdue")


def test_critical_holds_a_standup_and_posts_an_update_each_business_day(
    escalation: Escalation,
) -> None:
    """Opened Monday, the first day is its own: Tuesday needs both, by the end of its date; a
    Wednesday without them is one violation of each."""
    escalation.open(severity="critical")
    escalation.fact("standup_held", utc(3, 10), notes="https://notes.example.com/1")
    escalation.fact("posted", utc(3, 11), channel="#escalated_customers", template="update")
    assert [] == [c for c in codes(escalation.tick(utc(3, 17, 1)).actions) if c in KEPT]
    assert [] == [c for c in codes(escalation.tick(utc(4, 23, 59)).actions) if c in KEPT]
    late = escalation.tick(utc(5, 0, 1))
    assert [("standup_overdue", utc(5, 0)), ("update_message_overdue", utc(5, 0))] == sorted(
        (v.code.value, v.due) for v in of_type(late.actions, "violation") if v.code.value in KEPT
    )


def test_a_critical_escalation_opened_on_friday_owes_no_daily_standup_at_the_weekend(
    escalation: Escalation,
) -> None:
    escalation.open(utc(6, 10), severity="critical")
    escalation.fact("standup_held", utc(6, 12), notes="https://notes.example.com/1")
    assert [] == codes(escalation.tick(utc(9, 16)).actions)


@pytest.mark.parametrize(
    ("severity", "days", "missed"),
    [
        pytest.param("high", (0, 2, 4), [], id="high: Monday, Wednesday and Friday"),
        pytest.param("high", (1, 2, 3), [], id="high: any three days of the week"),
        pytest.param("high", (0, 2), list(KEPT), id="high: twice in the week is one violation"),
        pytest.param("medium", (3,), [], id="medium: once in the week"),
        pytest.param("medium", (), list(KEPT), id="medium: none in the week"),
    ],
)
def test_several_times_a_week_is_three_and_weekly_is_one_each_calendar_week(
    escalation: Escalation, severity: str, days: tuple[int, ...], missed: list[str]
) -> None:
    escalation.open(severity=severity)
    for day in days:
        escalation.fact("standup_held", at(day, hours=2), notes=f"https://notes.example.com/{day}")
        escalation.fact(
            "posted", at(day, hours=2), channel="#escalated_customers", template="update"
        )
    assert [] == [c for c in codes(escalation.tick(WEEK_END).actions) if c in KEPT]
    late = escalation.tick(WEEK_END + MINUTE)
    assert missed == sorted(c for c in codes(late.actions) if c in KEPT)


@pytest.mark.parametrize(
    ("severity", "opened_at", "contacts", "due"),
    [
        pytest.param("critical", T0, 3, WEEK_END, id="critical: three in the week"),
        pytest.param("high", T0, 3, WEEK_END, id="high: three in the week"),
        pytest.param(
            "high", utc(5, 10), 1, WEEK_END, id="high, opened Thursday: one in what is left"
        ),
        pytest.param(
            "high", utc(6, 10), 3, utc(16, 0), id="high, opened Friday: three the next week"
        ),
        pytest.param("medium", T0, 0, None, id="medium: as the work needs"),
        pytest.param("low", T0, 0, None, id="low: as the work needs"),
    ],
)
def test_the_customer_hears_from_the_team_about_three_times_a_week_for_critical_and_high(
    escalation: Escalation,
    severity: str,
    opened_at: dt.datetime,
    contacts: int,
    due: dt.datetime | None,
) -> None:
    every = output("cadence.customer_contact", "customer_contact_every", severity=severity)
    assert (severity in ("critical", "high")) == (every == cadence.ABOUT_THREE_TIMES_A_WEEK)
    assert (every is None) == (due is None)
    actions = escalation.open(opened_at, severity=severity).actions
    assert ([] if due is None else [due]) == [a.due for a in of_type(actions, "contact_customer")]
    if due is None:
        return
    start = max(opened_at, due - dt.timedelta(days=4))  # in the week the period ends
    met = [
        escalation.fact("customer_contacted", start + dt.timedelta(hours=1 + n)).fulfilled
        for n in range(contacts)
    ]
    assert [[]] * (contacts - 1) + [["customer_contact"]] == [
        [f.obligation for f in fulfilled] for fulfilled in met
    ]


@pytest.mark.parametrize("severity", ["critical", "high", "medium", "low"])
def test_the_dedicated_channel_gets_an_update_at_least_daily(
    escalation: Escalation, severity: str
) -> None:
    """Each business day, by the end of its date: opened Monday, Tuesday is the first."""
    assert cadence.DAILY == output("cadence.dedicated_channel", "channel_update_every")
    actions = escalation.open(severity=severity).actions
    assert [utc(4, 0)] == [a.due for a in of_type(actions, "update_channel")]
    updated = escalation.fact("channel_updated", utc(3, 10))
    assert ["channel_update"] == [f.obligation for f in updated.fulfilled]
    late = escalation.tick(utc(5, 0, 1))
    assert ["channel_update_overdue"] == [c for c in codes(late.actions) if c.startswith("channel")]


def test_the_summary_names_no_waiting_on_the_customer_so_no_clock_stops() -> None:
    assert [] == [name for name, o in POLICY.obligations.items() if o.obligation.pausable]
    assert {"waiting_on_customer", "customer_responded"}.isdisjoint(POLICY.terms.facts)


# --------------------------------------------------------------------------------- Messages
@pytest.mark.parametrize(
    ("channel", "counts"),
    [
        pytest.param("#escalated_customers", True, id="#escalated_customers"),
        pytest.param("Escalated_Customers", True, id="without # and in another case"),
        pytest.param("#esc_acme_corp", False, id="the dedicated channel"),
    ],
)
def test_an_update_message_to_escalated_customers_keeps_the_cadence(
    escalation: Escalation, channel: str, counts: bool
) -> None:
    (due,) = of_type(escalation.open(severity="critical").actions, "message_due")
    assert ("#escalated_customers", "update", utc(4, 0)) == (
        due.channel,
        due.template.value,
        due.due,
    )
    posted = escalation.fact("posted", utc(3, 10), channel=channel, template="update")
    assert (["update_message"] if counts else []) == [f.obligation for f in posted.fulfilled]


@pytest.mark.parametrize(
    ("closed_at", "due"),
    [
        pytest.param(utc(2, 14), utc(3, 14), id="closed Monday 14:00: Tuesday 14:00"),
        pytest.param(utc(6, 16), utc(9, 16), id="closed Friday 16:00: Monday 16:00"),
    ],
)
def test_the_closure_message_and_the_archiving_are_due_one_business_day_after_closing(
    escalation: Escalation, closed_at: dt.datetime, due: dt.datetime
) -> None:
    escalation.open()
    closed = escalation.fact("closed", closed_at, **CLOSED_WELL)
    (message,) = of_type(closed.actions, "message_due")
    assert ("closure", due) == (message.template.value, message.due)
    archived = escalation.fact("channel_archived", due)
    assert ["channel_archived"] == [f.obligation for f in archived.fulfilled]
    posted = escalation.fact("posted", due, channel="#escalated_customers", template="closure")
    assert ["closure_message"] == [f.obligation for f in posted.fulfilled]


# ---------------------------------------------------------------------------------- Closing
@pytest.mark.parametrize(
    ("asked_for_analysis", "closing", "expected"),
    [
        pytest.param(False, CLOSED_WELL, [], id="agreement and verdict: closed cleanly"),
        pytest.param(
            False,
            {**CLOSED_WELL, "exit_criteria_met": False, "outcome": "negative"},
            [],
            id="exit criteria not met is a verdict",
        ),
        pytest.param(
            False,
            {**CLOSED_WELL, "customer_agreement": None},
            ["closed_without_agreement"],
            id="no documented agreement",
        ),
        pytest.param(
            False,
            {**CLOSED_WELL, "exit_criteria_met": None},
            ["closed_without_exit_verdict"],
            id="no exit-criteria verdict",
        ),
        pytest.param(
            False,
            {"outcome": "none"},
            ["closed_without_agreement", "closed_without_exit_verdict"],
            id="neither",
        ),
        pytest.param(
            True,
            CLOSED_WELL,
            ["closed_without_root_cause_analysis"],
            id="root-cause analysis asked for, none linked",
        ),
        pytest.param(
            True,
            {**CLOSED_WELL, "root_cause_analysis": "https://docs.example.com/rca/1"},
            [],
            id="root-cause analysis asked for and linked",
        ),
    ],
)
def test_closure_needs_agreement_a_verdict_and_an_analysis_asked_for(
    escalation: Escalation, asked_for_analysis: bool, closing: dict[str, Any], expected: list[str]
) -> None:
    escalation.open()
    if asked_for_analysis:
        escalation.fact("root_cause_analysis_requested", at(hours=1), by="the customer's CTO")
    closed = escalation.fact("closed", at(hours=2), **closing)
    assert expected == codes(closed.actions)
    assert {"closure_message", "channel_archived"} == set(escalation.pending())


def test_closing_archives_the_channel_and_ends_the_cadence(escalation: Escalation) -> None:
    escalation.open(severity="critical", product_related=True, support_tickets=True)
    closed = escalation.fact("closed", at(hours=2), **CLOSED_WELL)
    assert ["#esc_acme_corp"] == [a.channel for a in of_type(closed.actions, "archive_channel")]
    escalation.fact("posted", at(hours=3), channel="#escalated_customers", template="closure")
    archived = escalation.fact("channel_archived", at(hours=4))
    assert ["channel_archived"] == [f.obligation for f in archived.fulfilled]
    assert [] == codes(escalation.tick(at(days=10)).actions)
    assert escalation.engine.escalation("ESC-1") is None, "settled once nothing is awaited"


def test_an_unarchived_channel_and_a_missing_closure_message_are_violations(
    escalation: Escalation,
) -> None:
    escalation.open()
    escalation.fact("closed", at(hours=2), **CLOSED_WELL)
    late = escalation.tick(at(days=3))
    assert ["closure_message_overdue", "channel_not_archived"] == codes(late.actions)


def test_a_closed_escalation_takes_only_the_closure_message_and_archiving(
    escalation: Escalation,
) -> None:
    escalation.open()
    escalation.fact("closed", at(hours=2), **CLOSED_WELL)
    with pytest.raises(EscalationClosedError, match="only channel_archived, posted facts"):
        escalation.fact("standup_held", at(hours=3), notes="https://notes.example.com/1")


# --------------------------------------------------------------------------------- examples
def _facts(name: str) -> list[Fact]:
    with (EXAMPLES / name).open() as stream:
        return [fact for _, fact in read_facts(stream, POLICY)]


def _replay(name: str, engine_name: str) -> list[Action]:
    engine = PolicyEngine(POLICY, engine=engine_name)  # type: ignore[arg-type]
    return [action for fact in _facts(name) for action in engine.handle(fact).actions]


COMPLIANT = ["critical-product-outage.jsonl", "raised-to-high.jsonl"]

NON_COMPLIANT = [
    ("ESC-730", "product_dri_too_junior", "owners.product_dri_too_junior_for_high", 1),
    ("ESC-730", "product_dri_overdue", "owners.product_dri_for_high", 1),
    ("ESC-731", "first_standup_overdue", "opening.first_standup", 1),
    ("ESC-731", "support_dri_overdue", "owners.support_dri_on_ticket", 1),
    ("ESC-730", "channel_update_overdue", "cadence.dedicated_channel/every_escalation", 1),
    ("ESC-731", "channel_update_overdue", "cadence.dedicated_channel/every_escalation", 1),
    ("ESC-731", "closed_without_root_cause_analysis", "closing.root_cause_analysis", 1),
    ("ESC-730", "update_message_overdue", "cadence.periods/several_times_a_week", 1),
    ("ESC-730", "closed_without_agreement", "closing.customer_agreement", 1),
    ("ESC-730", "closed_without_exit_verdict", "closing.exit_criteria", 1),
    ("ESC-730", "closure_message_overdue", "messages.closure", 1),
]
"""ESC-730 (High, product-related, opened Monday 16 March as the business day opens) names a
product manager as Product DRI and no one senior enough by that day's close, leaves Tuesday
without an update in its channel, holds three stand-ups and speaks to the customer three times
in its first week but posts no Update message, and closes the next Tuesday without agreement or
verdict, nor a Closure message. ESC-731 (Low) has a support ticket but no Support DRI, no
stand-up within a business day, no update in its channel on Tuesday, and closes without the
analysis asked for."""


def test_the_examples_are_there() -> None:
    assert {*COMPLIANT, "non-compliant.jsonl"} == {p.name for p in EXAMPLES.glob("*.jsonl")}


@pytest.mark.parametrize("name", COMPLIANT)
def test_compliant_examples_have_no_violation_and_audit_clean(name: str, engine_name: str) -> None:
    assert [] == codes(_replay(name, engine_name))
    report = assert_compliant(_facts(name), policy=POLICY)
    assert report.totals.closed == report.totals.escalations
    for obligation, figures in report.totals.obligations.items():
        assert figures.on_time == figures.due, (obligation, figures)


def test_the_compliant_examples_exercise_the_process() -> None:
    """Between them: a Product DRI, a Support DRI, a reminder, a change of DRI and of
    severity, an analysis asked for and linked, and every obligation met at least once."""
    engine = PolicyEngine(POLICY)
    matched = {
        rule for name in COMPLIANT for fact in _facts(name) for rule in engine.handle(fact).matched
    }
    actions = {a.TYPE for name in COMPLIANT for a in _replay(name, "native")}
    assert {"reminder", "assign_product_dri", "assign_support_dri", "archive_channel"} <= actions
    assert {
        "owners.dri/project_manager",
        "owners.dri/customer_success_manager",
        "owners.product_dri_when_raised_to_high",
        "owners.product_dri_named_for_critical",
        "owners.support_dri_named",
        "opening.first_standup_held",
    } <= matched
    met = {
        name
        for example in COMPLIANT
        for name, figures in audit(_facts(example), policy=POLICY).totals.obligations.items()
        if figures.on_time
    }
    assert set(POLICY.obligations) == met


def test_the_non_compliant_example_yields_the_violations_a_careful_reader_expects(
    engine_name: str,
) -> None:
    found = [
        (a.escalation_id, a.code.value, a.rule, a.periods)
        for a in of_type(_replay("non-compliant.jsonl", engine_name), "violation")
    ]
    assert NON_COMPLIANT == found


def test_the_non_compliant_audit_says_what_was_due_and_what_happened() -> None:
    report = audit(_facts("non-compliant.jsonl"), policy=POLICY)
    assert len(NON_COMPLIANT) == report.totals.violations
    umbrella, _ = report.escalations
    (product_dri,) = [v for v in umbrella.violations if v.code.value == "product_dri_overdue"]
    closed_at = dt.datetime(2026, 3, 24, 12, tzinfo=dt.timezone.utc)
    assert (None, closed_at - product_dri.due) == (product_dri.fulfilled_at, product_dri.late_by)
    figures = umbrella.obligations["product_dri"]
    assert (1, 0) == (figures.due, figures.on_time)


# ------------------------------------------------------------------------------ command line
def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "escalation_policy", *args, "--policy", str(PACKAGE)],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("engine_name", engine_params())
def test_replay_with_the_policy_folder(engine_name: str) -> None:
    result = _run(
        "replay", str(EXAMPLES / "non-compliant.jsonl"), "--format", "json", "--engine", engine_name
    )
    assert 0 == result.returncode, result.stderr
    actions = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e, c, r) for e, c, r, _ in NON_COMPLIANT] == [
        (a["escalation_id"], a["code"], a["rule"]) for a in actions if a["type"] == "violation"
    ]
    assert {"#esc_umbrella", "#esc_hooli"} == {
        a["channel"] for a in actions if a["type"] == "create_channel"
    }


@pytest.mark.slow
def test_audit_with_the_policy_folder() -> None:
    clean = _run("audit", *(str(EXAMPLES / n) for n in COMPLIANT), "--fail-on", "any")
    assert 0 == clean.returncode, clean.stderr + clean.stdout
    failing = _run(
        "audit",
        str(EXAMPLES / "non-compliant.jsonl"),
        "--format",
        "json",
        "--fail-on",
        "closed_without_agreement",
    )
    assert 1 == failing.returncode, failing.stderr
    report = json.loads(failing.stdout)
    assert {code for _, code, _, _ in NON_COMPLIANT} == set(report["totals"]["violations_by_code"])


def test_table_with_the_policy_folder() -> None:
    result = _run("table", "owners.dri", "cadence.levels")
    assert 0 == result.returncode, result.stderr
    assert "| Professional-services project running | CSM assigned | CSE assigned | DRI |" in (
        result.stdout
    )
    assert "| Medium | Weekly | VP of Sales, VP of Customer Success |" in result.stdout


# -------------------------------------------------------------------------------- properties
AVAILABLE_ENGINES = [name for name in ENGINES if name != "durable" or durable_available() is None]
SETTINGS = settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.slow
@SETTINGS
@given(histories(compliant=True, policy=POLICY))
def test_compliant_histories_drawn_for_the_later_process_comply_with_it(
    history: list[Fact],
) -> None:
    assert_compliant(history, as_of=history[-1].at + dt.timedelta(days=30), policy=POLICY)


@SETTINGS
@given(histories(policy=POLICY))
def test_any_history_drawn_for_the_later_process_is_decided_alike_by_every_engine(
    history: list[Fact],
) -> None:
    engines = [PolicyEngine(POLICY, engine=name) for name in AVAILABLE_ENGINES]
    decided = [[engine.handle(fact).actions for fact in history] for engine in engines]
    assert all(decisions == decided[0] for decisions in decided)
    assert all(action.rule in POLICY.rules for decisions in decided[0] for action in decisions), (
        "every action cites a rule of the policy"
    )
