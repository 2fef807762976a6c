"""Loading a policy, step by step: read the modules, resolve the settings, compile the terms,
tables, obligations and reactions, then check the whole."""

import datetime as dt
import enum
import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType

import attrs

from escalation_policy._language.typed import EARLIEST, LATEST
from escalation_policy.calendar import HORIZON_DAYS, Calendar
from escalation_policy.errors import PolicyDefinitionError, did_you_mean
from escalation_policy.periods import BusinessTime
from escalation_policy.policy.citations import (
    Sections,
    check_all_cited,
    check_citation,
    declared_sections,
    given_sections,
)
from escalation_policy.policy.compiled import (
    CompiledObligation,
    CompiledReaction,
    CompiledTable,
    Policy,
    RuleInfo,
)
from escalation_policy.policy.locations import assigned_in, declared_at, source_of, where
from escalation_policy.policy.obligations import (
    announces_period_of,
    check_all_required,
    check_covered,
    compile_obligation,
    the_channel,
    with_early_keys,
)
from escalation_policy.policy.outputs import (
    ENGINE_OUTPUTS,
    check_outputs_produced,
    output_value_sets,
)
from escalation_policy.policy.packages import Declarations, package_modules, read_modules
from escalation_policy.policy.reactions import (
    compile_reaction,
    horizon_of,
    named_obligations,
    violation_codes_of,
)
from escalation_policy.policy.scope import Scope
from escalation_policy.policy.settings import chosen_settings, resolved, setting_places
from escalation_policy.policy.tables import compile_table, dependency_order, plan_inputs_of
from escalation_policy.policy.terms import Terms, compile_terms, status_condition, value_set
from escalation_policy.vocabulary import (
    Calendars,
    DecisionTable,
    Emit,
    NoneOf,
    Obligation,
    OneOf,
    Reaction,
    Violation,
)


def load_policy(
    modules: Iterable[str | ModuleType] | str | os.PathLike[str] = "escalation_policy.rules",
    *,
    sections: Iterable[str] | None = None,
    late_fulfilment_window: dt.timedelta = dt.timedelta(days=7),
    settings: Mapping[str, object] | None = None,
    opening_grace: dt.timedelta | BusinessTime | None = None,
) -> Policy:
    r"""Load and check a policy: rule modules (names or module objects, in the order given),
    or a policy package, named as a module (``"mycompany.escalations"``) or by its folder
    (``"policies/mycompany"``), whose ``MODULES`` lists its rule modules.

    ``sections``: the handbook sections the rules may cite (``Heading > Subheading``), each of
    which some rule must cite. By default, the ``SECTIONS`` declared by the package the modules
    are in (for the handbook's policy, :data:`escalation_policy.rules.SECTIONS`).

    ``late_fulfilment_window``: how long a closed escalation whose closing post is overdue
    waits for it (so that a late post is still recognised) before it is dropped from memory.

    ``settings``: values for the policy's :class:`~escalation_policy.vocabulary.Setting`\ s, by
    name, in place of their defaults (a duration as a ``timedelta``, or a text such as ``"2h"``,
    ``"3d 12h"`` or ``"90m"``).

    ``opening_grace``: how long a fact about an escalation not opened yet (which a reaction
    takes as such: a post about it) is held for its opening fact to arrive, as when a chat
    post reaches the host a minute before the CRM's opening. In time, it applies after the
    opening; else it is decided as a fact about an escalation that is not open. A
    ``BusinessTime`` counts open time on the policy's default calendar (a post on Friday
    evening waits for a CRM record made on Monday morning). By default, the
    ``OPENING_GRACE`` a rule module declares, else :data:`DEFAULT_OPENING_GRACE`; zero
    decides such facts at once.
    """
    if isinstance(modules, (str, os.PathLike)):
        modules = package_modules(modules)
    declared = read_modules(modules)
    chosen = chosen_settings([*declared.tables, *declared.reactions], dict(settings or {}))
    tables = [(resolved(table, chosen), module) for table, module in declared.tables]
    reactions = [(resolved(reaction, chosen), module) for reaction, module in declared.reactions]
    rules = _Rules(
        declared_sections(declared.modules) if sections is None else given_sections(sections)
    )
    # Obligations are those the modules declare (OBLIGATIONS) and those their reactions name.
    obligations = named_obligations(declared.obligations, reactions)
    outputs = {**ENGINE_OUTPUTS, **{name: text for (name, text), _ in declared.outputs}}
    output_values = output_value_sets(tables)
    terms = _compile_terms(declared, obligations, reactions, output_values)
    scope = Scope(terms=terms, outputs=outputs)
    ordered = _compile_tables(tables, rules, scope)
    plan_inputs = plan_inputs_of(ordered, scope)
    scope = attrs.evolve(scope, planning=_planning_facts(terms, plan_inputs))
    compiled_obligations = _compile_obligations(obligations, terms)
    compiled_reactions: list[CompiledReaction] = []
    for reaction, module in reactions:
        with declared_at(reaction):
            compiled_reactions.extend(
                compile_reaction(
                    reaction,
                    module,
                    rules.register,
                    rules.cite,
                    compiled_obligations,
                    ordered,
                    scope,
                )
            )
    check_all_cited(rules.sections, rules.cited)
    check_all_required(compiled_obligations, compiled_reactions)
    check_covered(compiled_obligations)
    compiled_obligations = with_early_keys(compiled_obligations, compiled_reactions)
    check_outputs_produced(outputs, ordered, declared.outputs)
    _check_values_used(terms, output_values, ordered, compiled_reactions, compiled_obligations)
    grace = _opening_grace(declared, opening_grace)
    calendars = _calendars(declared, terms)
    held = grace if isinstance(grace, dt.timedelta) else grace.duration
    if isinstance(grace, BusinessTime) and calendars is not None:
        held += dt.timedelta(days=2 * HORIZON_DAYS)  # open time, over closed days
    horizon = _checked_horizon(ordered, compiled_reactions, late_fulfilment_window) + held
    return Policy(
        tables=tuple(ordered),
        reactions=tuple(compiled_reactions),
        rules=rules.found,
        obligations=compiled_obligations,
        announces_period=announces_period_of(compiled_obligations, compiled_reactions),
        changes={
            tag: (terms.sets[tag], terms.moves[tag], status_condition(terms, tag))
            for tag in terms.facts
            if terms.sets[tag] or terms.moves[tag]
        },
        about_unknown=frozenset(
            fact_type
            for compiled in compiled_reactions
            if not compiled.known
            for fact_type in compiled.types
        ),
        terms=terms,
        outputs=outputs,
        channel=the_channel(compiled_obligations),
        violation_codes=violation_codes_of(compiled_obligations, compiled_reactions),
        late_fulfilment_window=late_fulfilment_window,
        plan_inputs=plan_inputs,
        planning=scope.planning,
        settings={name: value for name, (_, value) in chosen.items()},
        setting_declarations={name: setting for name, (setting, _) in chosen.items()},
        calendars=calendars,
        horizon=horizon,
        latest=LATEST - horizon,
        opening_grace=grace,
        setting_places=setting_places(declared.tables, declared.reactions),
    )


DEFAULT_OPENING_GRACE = dt.timedelta(minutes=5)
"""How long a fact about an escalation not opened yet is held, unless the policy says."""
MAX_OPENING_GRACE = dt.timedelta(days=1)
"""The longest opening grace a policy may set: a race between two feeds, not a backlog."""


def _opening_grace(
    declared: Declarations, given: dt.timedelta | BusinessTime | None
) -> dt.timedelta | BusinessTime:
    """The policy's opening grace: the one given, else the one a module declares, else the
    default; checked."""
    module: str | None = None
    if given is not None:
        grace: object = given
    elif declared.opening_grace:
        if len(declared.opening_grace) > 1:
            where = ", ".join(name for _, name in declared.opening_grace)
            raise PolicyDefinitionError(
                f"OPENING_GRACE is declared more than once ({where}): a policy sets it once "
                "(a package that adds modules to another's may choose with "
                "load_policy(opening_grace=...))"
            )
        grace, module = declared.opening_grace[0]
    else:
        return DEFAULT_OPENING_GRACE
    length = grace.duration if isinstance(grace, BusinessTime) else grace
    if (
        not isinstance(length, dt.timedelta)
        or not (dt.timedelta(0) <= length <= MAX_OPENING_GRACE)
        or (isinstance(grace, BusinessTime) and grace.to_end_of_day)
    ):
        raise PolicyDefinitionError(
            f"OPENING_GRACE: got {grace!r}, expected a timedelta from 0 to "
            f"{MAX_OPENING_GRACE}, or a BusinessTime of one (without to_end_of_day)",
            module=module,
        )
    assert isinstance(grace, (dt.timedelta, BusinessTime))
    return grace


def _checked_horizon(
    tables: Sequence[CompiledTable],
    reactions: Sequence[CompiledReaction],
    late_fulfilment_window: dt.timedelta,
) -> dt.timedelta:
    """How far past a fact the policy schedules, if that leaves the facts a range of times to
    take: else a :class:`PolicyDefinitionError`, not an overflow while facts are handled."""
    try:
        horizon = horizon_of(tables, reactions, late_fulfilment_window)
        room = LATEST - horizon > EARLIEST
    except OverflowError:
        room = False
    if not room:
        raise PolicyDefinitionError(
            "the policy's longest within and period and its late fulfilment window, together, "
            f"reach past the {LATEST.year - EARLIEST.year} years a fact's time may span: "
            "nothing it schedules could be due in range; expected durations of a year or so"
        )
    return horizon


def _calendars(declared: Declarations, terms: Terms) -> Calendars | None:
    """The policy's ``CALENDARS``, checked against its opening fact."""
    if not declared.calendars:
        return None
    if len(declared.calendars) > 1:
        where = ", ".join(module for _, module, _ in declared.calendars)
        raise PolicyDefinitionError(
            f"CALENDARS is declared more than once ({where}): a policy chooses calendars once",
            **assigned_in(declared.calendars[1][2], "CALENDARS"),
        )
    chosen, module, loaded = declared.calendars[0]
    fields = attrs.fields_dict(terms.opening)
    for calendar in (chosen.default, *chosen.choose.values()):
        if not isinstance(calendar, Calendar):
            raise PolicyDefinitionError(
                f"CALENDARS: got {calendar!r}, expected a Calendar",
                module=module,
                **assigned_in(loaded, "CALENDARS"),
            )
    for name in ("by", "zone_from"):
        field = getattr(chosen, name)
        if field is not None and field not in fields:
            raise PolicyDefinitionError(
                f"CALENDARS.{name}: the {terms.opening.TYPE} fact has no field {field!r}"
                f"{did_you_mean(field, fields)}",
                module=module,
                **assigned_in(loaded, "CALENDARS"),
            )
    if chosen.choose and chosen.by is None:
        raise PolicyDefinitionError(
            "CALENDARS: choose gives calendars by value, but by names no field to read the "
            "value from",
            module=module,
            **assigned_in(loaded, "CALENDARS"),
        )
    names = [calendar.name for calendar in (chosen.default, *chosen.choose.values())]
    for calendar_name in names:
        if "@" in calendar_name:
            raise PolicyDefinitionError(
                f"CALENDARS: a calendar's name may not hold '@' (got {calendar_name!r}): it "
                "separates the name from a zone",
                module=module,
                **assigned_in(loaded, "CALENDARS"),
            )
    return chosen


class _Rules:
    """The rule ids the policy declares, each once, and the sections its rules cite."""

    def __init__(self, sections: Sections) -> None:
        self.sections = sections
        self.cited: set[str] = set()
        self.found: dict[str, RuleInfo] = {}

    def cite(self, citation: object, module: str, rule: str) -> None:
        self.cited.update(check_citation(citation, self.sections, module, rule))

    def register(self, info: RuleInfo) -> None:
        if info.id in self.found:
            raise PolicyDefinitionError(
                f"duplicate rule id {info.id!r}, first declared in {self.found[info.id].module}",
                module=info.module,
                rule=info.id,
            )
        self.found[info.id] = info


def _compile_terms(
    declared: Declarations,
    obligations: Sequence[tuple[Obligation, str]],
    reactions: Sequence[tuple[Reaction, str]],
    output_values: Mapping[str, type[enum.Enum] | None],
) -> Terms:
    """The policy's terms: those its modules declare, and the actions its obligations
    announce and its reactions emit."""
    announced = [
        (obligation.announce, module)
        for obligation, module in obligations
        if obligation.announce is not None
    ]
    emitted = [
        (effect.action, module)
        for reaction, module in reactions
        for effect in reaction.then
        if isinstance(effect, Emit)
    ]
    return compile_terms(
        declared.facts,
        [*declared.actions, *announced, *emitted],
        declared.context,
        output_values,
    )


def _compile_tables(
    tables: Sequence[tuple[DecisionTable, str]], rules: _Rules, scope: Scope
) -> list[CompiledTable]:
    """The tables compiled, in dependency order."""
    compiled_tables = []
    for table, module in tables:
        with declared_at(table):
            compiled_tables.append(compile_table(table, module, rules.register, rules.cite, scope))
    return dependency_order(compiled_tables, scope)


def _compile_obligations(
    obligations: Sequence[tuple[Obligation, str]], terms: Terms
) -> dict[str, CompiledObligation]:
    """Each obligation compiled once, however many reactions name it; two different ones of
    one name are an error."""
    compiled: dict[str, CompiledObligation] = {}
    for obligation, module in obligations:
        known = compiled.get(obligation.id)
        if known is not None:
            if known.obligation != obligation:
                raise PolicyDefinitionError(
                    f"two different obligations are named {obligation.id!r} (the other is "
                    f"declared in {known.module})",
                    module=module,
                    **where(obligation),
                )
            continue
        with declared_at(obligation):
            compiled[obligation.id] = compile_obligation(
                obligation, module, tuple(terms.attributes)
            )
    return compiled


def _planning_facts(terms: Terms, plan_inputs: Sequence[str]) -> frozenset[str]:
    """The fact types on which the plan is made: the opening one, and those that set an
    attribute the tables read."""
    planning = {terms.opening.TYPE}
    for tag, pairs in terms.sets.items():
        if any(attribute in plan_inputs for attribute, _ in pairs):
            planning.add(tag)
    return frozenset(planning)


def used_values(
    tables: Sequence[CompiledTable],
    reactions: Sequence[CompiledReaction],
    obligations: Mapping[str, "CompiledObligation"],
) -> set[object]:
    """Every value of a value set some rule names: a table's cell or output, a reaction's
    condition or effect, an obligation's violation code or announcement."""
    used: set[object] = set()

    def use(value: object) -> None:
        if isinstance(value, enum.Enum):
            used.add(value)
        elif isinstance(value, (tuple, list, frozenset, set)):
            for item in value:
                use(item)
        elif isinstance(value, Mapping):
            for item in value.values():
                use(item)
        elif isinstance(value, (OneOf, NoneOf)):
            use(value.values)

    for compiled in tables:
        for row in compiled.table.rows:
            use(dict(row.when))
            use(dict(row.then))
    for reaction in reactions:
        use(dict(reaction.reaction.when))
        for effect in reaction.reaction.then:
            use(attrs.asdict(effect, recurse=False) if attrs.has(type(effect)) else ())  # type: ignore[arg-type]
    for compiled_obligation in obligations.values():
        use(compiled_obligation.violation)
        use(dict(compiled_obligation.obligation.announce_with))
    return used


def value_sets(
    terms: Terms,
    output_values: Mapping[str, type[enum.Enum] | None],
    reactions: Sequence[CompiledReaction],
    obligations: Mapping[str, "CompiledObligation"],
) -> tuple[list[type[enum.Enum]], set[type[enum.Enum]]]:
    """Every value set of the policy (its terms', its outputs', its violation codes'), and
    those some fact brings values of in."""
    from_facts = {
        found
        for hints in terms.hints.values()
        for kind in hints.values()
        if (found := value_set(kind)) is not None
    }
    codes = [type(c.violation) for c in obligations.values()] + [
        type(effect.code)
        for reaction in reactions
        for effect in reaction.reaction.then
        if isinstance(effect, Violation)
    ]
    sets = [
        *terms.values,
        *(kind for kind in output_values.values() if kind is not None),
        *(kind for kind in codes if issubclass(kind, enum.Enum)),
    ]
    return list(dict.fromkeys(sets)), from_facts


def _check_values_used(
    terms: Terms,
    output_values: Mapping[str, type[enum.Enum] | None],
    tables: Sequence[CompiledTable],
    reactions: Sequence[CompiledReaction],
    obligations: Mapping[str, "CompiledObligation"],
) -> None:
    """Every value of a value set that no fact brings in (teams only the tables assign,
    cadences, roles, violation codes...) must be used by some rule: one never used is a value
    the policy forgot, or should not declare."""
    used = used_values(tables, reactions, obligations)
    sets, from_facts = value_sets(terms, output_values, reactions, obligations)
    for kind in sets:
        if kind in from_facts:
            continue
        unused = [member for member in kind if member not in used]
        if unused:
            raise PolicyDefinitionError(
                f"{kind.__name__}.{unused[0].name} ({unused[0].value!r}) is declared but no rule "
                f"uses it: no fact brings {kind.__name__} values in, so a value no table, "
                "reaction or obligation names can never occur",
                module=kind.__module__,
                **source_of(kind),
            )


@functools.lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The policy of the handbook, from :mod:`escalation_policy.rules` (loaded once)."""
    return load_policy()
