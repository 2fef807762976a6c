"""Loading a policy: rule modules in, one checked, immutable :class:`Policy` out.

Everything a policy owner can get wrong is found here, at load time, with the file and line,
the module, the rule and the bad value named: unknown fields and values, duplicate ids,
overlapping rows under a hit policy that forbids them, rows the rows above them hide, inputs no
row covers (free text included), outputs nobody produces, reactions that can never fire,
citations of sections the policy does not declare and declared sections no rule cites.
"""

import collections
import contextlib
import datetime as dt
import enum
import functools
import importlib
import importlib.util
import inspect
import itertools
import linecache
import os
import pathlib
import re
import string
import sys
import traceback
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import attrs

from escalation_policy._codegen import generate
from escalation_policy._context import Context, scalar
from escalation_policy._terms import Terms, compile_terms, value_set
from escalation_policy._typed import LATEST
from escalation_policy.errors import PolicyDefinitionError, did_you_mean
from escalation_policy.model import Action, Contract
from escalation_policy.state import PendingObligation
from escalation_policy.vocabulary import (
    AnyValue,
    Cancel,
    DecisionTable,
    Effect,
    Emit,
    Fulfil,
    HitPolicy,
    Location,
    NoneOf,
    Obligation,
    OneOf,
    Reaction,
    Require,
    Row,
    Setting,
    Violation,
)

if TYPE_CHECKING:  # imported when a policy is compared
    from escalation_policy._diff import PolicyDifference

__all__ = ["Condition", "Policy", "RuleInfo", "default_policy", "load_policy"]

_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_ROW_ID = re.compile(r"^[a-z0-9_]+$")
_OPTIONAL_DURATION = (dt.timedelta, type(None))
_BOOL = (False, True)


@attrs.frozen
class Condition:
    """One compiled cell: ``field`` must (or, negated, must not) be one of ``values``."""

    field: str
    values: frozenset[object]
    negated: bool = False

    def matches(self, context: Mapping[str, object]) -> bool:
        return (context.get(self.field) in self.values) is not self.negated


@attrs.frozen
class RuleInfo:
    """What the policy says about one rule id: a table row or a reaction."""

    id: str
    title: str
    cites: str
    module: str
    kind: str  # "row" or "reaction"


@attrs.frozen
class CompiledTable:
    table: DecisionTable
    module: str
    row_ids: tuple[str, ...]  # full ids, "table.id/row.id"
    conditions: tuple[tuple[Condition, ...], ...]
    finite: bool  # every input has a finite domain: results can be memoised


@attrs.frozen
class CompiledReaction:
    reaction: Reaction
    module: str
    types: frozenset[str]
    conditions: tuple[Condition, ...]


Announce = Callable[[str, dt.datetime, PendingObligation, object, Any], Any]
"""Builds an announcement: (escalation id, at, the pending instance, owner, record)."""


@attrs.frozen
class CompiledObligation:
    """An obligation as the core uses it: its declaration's knobs, its violation's detail and
    the function that builds its announcement (``None``: it is not announced)."""

    obligation: Obligation
    module: str
    id: str
    violation: Any
    key_from: str | None
    one_at_a_time: bool
    once_per_key: bool
    renew_when_overdue: bool
    announce_again_on_new_owner: bool
    announce: Announce | None
    owner_field: str | None

    def missed(self, due: str, key: str | None) -> str:
        """The detail of the violation reported when an instance is missed."""
        fields = {"due": due}
        if self.obligation.key is not None:
            fields[self.obligation.key] = key or ""
        return self.obligation.missed.format(**fields)


@attrs.frozen(eq=False)
class Policy:
    """A loaded, validated policy. Build it with :func:`load_policy`."""

    tables: tuple[CompiledTable, ...]  # in dependency order
    reactions: tuple[CompiledReaction, ...]
    rules: Mapping[str, RuleInfo]
    obligations: Mapping[str, "CompiledObligation"]
    """The policy's obligations by name."""
    announces_period: Mapping[type[Any], frozenset[str]]
    """For each action class that announces the next period of a periodic obligation, the
    names of those obligations."""
    emitters: Mapping[int, "Emitter"]
    """The function that builds the action of each :class:`Emit` effect, by the effect's id."""
    changes: Mapping[str, tuple[tuple[tuple[str, str], ...], Mapping[str, str]]]
    """For each fact type that changes the escalation itself: the attributes it sets (attribute,
    field) and how it moves the status (before: after)."""
    about_unknown: frozenset[str]
    """The keys (``unknown(fact_type)``) of the facts some reaction takes about an escalation
    the engine does not know."""
    terms: Terms
    """The facts, actions, values, attributes and context the policy is written in."""
    outputs: Mapping[str, str]
    """Every plan output the tables may produce, with its description."""
    channel: str | None
    """The channel the policy's obligations announce posts to, if it is one channel."""
    violation_codes: tuple[str, ...]
    """Every violation code the policy may report: its obligations' and its rules'."""
    late_fulfilment_window: dt.timedelta
    plan_inputs: tuple[str, ...]
    """The escalation's attributes the decision tables read: what a plan depends on."""
    settings: Mapping[str, object]
    """The value of each of the policy's settings, by name."""
    setting_declarations: Mapping[str, Setting]
    """Each of the policy's settings, as its rules declare it."""
    planning: frozenset[str]
    """The fact types on which the plan is made (the opening one, and those that set an
    attribute the tables read)."""
    horizon: dt.timedelta = dt.timedelta(0)
    """How far past a fact the policy may schedule anything: its longest ``within`` and
    longest period together, and the late fulfilment window."""
    latest: dt.datetime = LATEST
    """Facts must come before this, so that what the policy schedules stays in range."""

    @property
    def contract(self) -> Contract:
        """The policy's JSON contract: its fact and action types, its value sets."""
        return self.terms.contract

    @property
    def identity(self) -> str:
        """``sha256:`` and 64 hexadecimal digits: the digest of everything the policy declares
        (its tables, reactions, obligations, citations, terms and settings' values), the same
        for the same package and settings on any machine; where a rule sits in its file,
        comments and formatting take no part. Actions, audits and stores name the policy by
        it."""
        from escalation_policy._identity import identity

        return identity(self)

    def diff(self, other: "Policy") -> "tuple[PolicyDifference, ...]":
        """What changes from this policy to ``other``: each place where what they declare
        differs (a table's row, a reaction, an obligation, a setting, a term), named by its
        rule ids. Empty exactly when both have the same :attr:`identity`."""
        from escalation_policy._diff import differences

        return differences(self, other)

    @property
    def context(self) -> Context:
        """The fields the policy's conditions may test."""
        return self.terms.context

    def rule(self, rule_id: str) -> RuleInfo:
        """The rule with this id; ``KeyError`` naming close ids if there is none."""
        try:
            return self.rules[rule_id]
        except KeyError:
            raise KeyError(f"no rule {rule_id!r}{did_you_mean(rule_id, self.rules)}") from None

    def table(self, table_id: str) -> DecisionTable:
        """The decision table with id ``table_id`` (a ``KeyError`` names a close one)."""
        for compiled in self.tables:
            if compiled.table.id == table_id:
                return compiled.table
        raise KeyError(f"no table {table_id!r}")

    def is_escalation_channel(self, channel: str) -> bool:
        """Whether ``channel`` names the policy's channel (``#`` and case do not matter)."""
        mine = self.channel
        return mine is not None and channel_key(channel) == channel_key(mine)


def channel_key(channel: str) -> str:
    """A channel's name as channels are compared: ``#`` and case do not matter."""
    return channel.lstrip("#").casefold()


ENGINE_OUTPUTS: Mapping[str, str] = {
    "in_scope": "bool: the escalation follows this process",
    "out_of_scope_reason": "text or null: why it does not",
    "owner": "one of the policy's teams: who owns the escalation and acts on its obligations",
    "cadence": "one of the policy's cadences: of meetings and customer communication",
    "involvement": "a tuple of the policy's roles: who is kept aware",
    "extra_involvement": "a tuple of roles: added to the involvement (optional)",
}
"""The plan outputs the engine itself uses; a policy declares its others in ``OUTPUTS``."""

_REQUIRED_OUTPUTS = ("in_scope", "owner", "cadence", "involvement")

_DECLARED: Mapping[str, Any] = {
    "OBLIGATIONS": Obligation,
    "FACTS": object,  # checked with the terms
    "ACTIONS": object,
    "CONTEXT": object,
    "OUTPUTS": None,  # a dict, read on its own
}
"""What a rule module may declare besides TABLES and REACTIONS."""


# -------------------------------------------------------------------------------------- settings
_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*$")


def parse_setting(setting: Setting, value: object) -> object:
    """``value`` as a value of ``setting`` (a duration from a text such as ``"3d 12h"``), or a
    :class:`~escalation_policy.errors.PolicyDefinitionError` saying what was expected."""
    default = setting.default
    if isinstance(default, dt.timedelta):
        if isinstance(value, dt.timedelta):
            parsed = value
        elif isinstance(value, str) and (match := _DURATION.match(value)) and value.strip():
            days, hours, minutes = (int(part or 0) for part in match.groups())
            parsed = dt.timedelta(days=days, hours=hours, minutes=minutes)
        else:
            raise PolicyDefinitionError(
                f"setting {setting.name}: got {value!r}, expected a duration such as '2h', "
                "'3d 12h' or '90m'"
            )
        if parsed <= dt.timedelta(0):
            raise PolicyDefinitionError(
                f"setting {setting.name}: got {value!r}, expected a positive duration"
            )
        return parsed
    if not isinstance(value, type(default)):
        raise PolicyDefinitionError(
            f"setting {setting.name}: got {value!r}, expected a {type(default).__name__}"
        )
    return value


def _walk(item: Any) -> Iterator[object]:
    """Every value inside a rule: its fields, mappings and tuples, depth first."""
    if isinstance(item, Setting):
        yield item
    elif isinstance(item, Mapping):
        for value in item.values():
            yield from _walk(value)
    elif isinstance(item, (tuple, list)):
        for value in item:
            yield from _walk(value)
    elif attrs.has(type(item)) and not isinstance(item, (Obligation, Location)):
        for field in attrs.fields(type(item)):
            yield from _walk(getattr(item, field.name))


def _settings(
    rules: Sequence[tuple[object, str]], given: dict[str, object]
) -> dict[str, tuple[Setting, object]]:
    """Each setting the rules use, and its value: the one given, else its default."""
    found: dict[str, Setting] = {}
    for rule, module in rules:
        for item in _walk(rule):
            assert isinstance(item, Setting)
            known = found.get(item.name)
            if known is not None and known != item:
                raise PolicyDefinitionError(
                    f"two settings are named {item.name!r}, with other defaults or meanings",
                    module=module,
                    **_where(item),
                )
            found[item.name] = item
    unknown = sorted(set(given) - set(found))
    if unknown:
        raise PolicyDefinitionError(
            f"no setting {unknown[0]!r}{did_you_mean(unknown[0], found)}; the policy's "
            f"settings are {', '.join(sorted(found)) or 'none'}"
        )
    return {
        name: (setting, parse_setting(setting, given[name]) if name in given else setting.default)
        for name, setting in found.items()
    }


def _resolved(item: Any, chosen: Mapping[str, tuple[Setting, object]]) -> Any:
    """``item`` with every setting in it replaced by its value; where it was declared kept."""
    if isinstance(item, Setting):
        return chosen[item.name][1]
    if isinstance(item, Mapping):
        return {key: _resolved(value, chosen) for key, value in item.items()}
    if isinstance(item, tuple):
        return tuple(_resolved(value, chosen) for value in item)
    if not attrs.has(type(item)) or isinstance(item, (Obligation, Location)):
        return item
    changes = {}
    for field in attrs.fields(type(item)):
        value = getattr(item, field.name)
        if field.init and any(_walk(value)):
            changes[field.name] = _resolved(value, chosen)
    if not changes:
        return item
    copy = attrs.evolve(item, **changes)
    if hasattr(item, "defined_at"):
        object.__setattr__(copy, "defined_at", item.defined_at)
    return copy


def _declared_items(loaded: ModuleType, attribute: str, kind: Any) -> tuple[Any, ...]:
    if kind is None:
        return ()
    declared = getattr(loaded, attribute, ())
    if not isinstance(declared, (tuple, list)):
        raise PolicyDefinitionError(
            f"{attribute} is a {type(declared).__name__}, expected a tuple",
            module=loaded.__name__,
        )
    for item in declared:
        if not isinstance(item, kind):
            raise PolicyDefinitionError(
                f"{attribute} holds {item!r}, expected {kind.__name__} objects",
                module=loaded.__name__,
            )
    return tuple(declared)


def _named_obligations(
    obligations: Sequence[tuple[Obligation, str]], reactions: Sequence[tuple[Reaction, str]]
) -> list[tuple[Obligation, str]]:
    """The obligations the modules declare (``OBLIGATIONS``), then those reactions name."""
    named = list(obligations)
    for reaction, module in reactions:
        for effect in reaction.then:
            if isinstance(effect, Cancel):
                items: tuple[object, ...] = tuple(effect.obligations)
            elif isinstance(effect, (Require, Fulfil)):
                items = (effect.obligation,)
            else:
                continue
            named.extend((item, module) for item in items if isinstance(item, Obligation))
    return named


def _output_values(
    tables: Sequence[tuple[DecisionTable, str]],
) -> dict[str, type[enum.Enum] | None]:
    """The value set each of the engine's value outputs holds (owner: the policy's teams),
    checked to be one enumeration across every row."""
    found: dict[str, type[enum.Enum] | None] = {}
    for table, module in tables:
        for row in table.rows if isinstance(table.rows, (tuple, list)) else ():
            then = getattr(row, "then", None)
            if not isinstance(then, Mapping):
                continue
            for output in ("owner", "cadence", "involvement", "extra_involvement"):
                if output not in then:
                    continue
                value = then[output]
                values = value if isinstance(value, tuple) else (value,)
                key = "roles" if output.endswith("involvement") else output
                for item in values:
                    kind = type(item) if isinstance(item, enum.Enum) else None
                    if kind is None:
                        expected = "a tuple of values" if key == "roles" else "a value"
                        raise PolicyDefinitionError(
                            f"output {output}: got {value!r}, expected {expected} of an "
                            "enumeration (the policy's "
                            + {"owner": "teams", "cadence": "cadences", "roles": "roles"}[key]
                            + ")",
                            module=module,
                            rule=f"{table.id}/{row.id}",
                            **_where(row),
                        )
                    known = found.setdefault(key, kind)
                    if known is not kind:
                        raise PolicyDefinitionError(
                            f"output {output}: got {item!r}, a {kind.__name__}, but other rows "
                            f"give {known.__name__ if known else None} values",
                            module=module,
                            rule=f"{table.id}/{row.id}",
                            **_where(row),
                        )
    return found


@attrs.frozen
class _Scope:
    """What the rules of one policy may name: its terms, its outputs, its planning facts."""

    terms: Terms
    outputs: Mapping[str, str]
    planning: frozenset[str] = frozenset()

    @property
    def domains(self) -> Mapping[str, tuple[object, ...] | None]:
        return self.terms.context.domains

    def domain(self, field: str) -> tuple[object, ...] | None:
        """The values ``field`` can take; ``None`` for free text and tables' own outputs."""
        return self.terms.context.domains.get(field)


def _source_of(cls: type[Any]) -> dict[str, Any]:
    """``file`` and ``line`` of a class's definition, where Python can tell."""
    try:
        lines, line = inspect.getsourcelines(cls)
        file = inspect.getsourcefile(cls)
    except (OSError, TypeError):
        return {}
    return {"file": file, "line": line} if file is not None and lines else {}


def _planning_facts(terms: Terms, plan_inputs: Sequence[str]) -> frozenset[str]:
    """The fact types on which the plan is made: the opening one, and those that set an
    attribute the tables read."""
    planning = {terms.opening.TYPE}
    for tag, pairs in terms.sets.items():
        if any(attribute in plan_inputs for attribute, _ in pairs):
            planning.add(tag)
    return frozenset(planning)


def _check_outputs_produced(
    outputs: Mapping[str, str],
    tables: Sequence[CompiledTable],
    declared: Sequence[tuple[tuple[str, str], str]],
) -> None:
    produced = {field for compiled in tables for field in compiled.table.outputs}
    for (name, _), module in declared:
        if name not in produced:
            raise PolicyDefinitionError(
                f"output {name!r} is declared in OUTPUTS but no table produces it", module=module
            )


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
    from_facts = {
        found
        for cls in terms.facts.values()
        for kind in typing.get_type_hints(cls).values()
        if (found := value_set(kind)) is not None
    }
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
    for kind in dict.fromkeys(sets):
        if kind in from_facts:
            continue
        unused = [member for member in kind if member not in used]
        if unused:
            raise PolicyDefinitionError(
                f"{kind.__name__}.{unused[0].name} ({unused[0].value!r}) is declared but no rule "
                f"uses it: no fact brings {kind.__name__} values in, so a value no table, "
                "reaction or obligation names can never occur",
                module=kind.__module__,
                **_source_of(kind),
            )


def load_policy(
    modules: Iterable[str | ModuleType] | str | os.PathLike[str] = "escalation_policy.rules",
    *,
    sections: Iterable[str] | None = None,
    late_fulfilment_window: dt.timedelta = dt.timedelta(days=7),
    settings: Mapping[str, object] | None = None,
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
    """
    if isinstance(modules, (str, os.PathLike)):
        modules = _package_modules(modules)
    tables: list[tuple[DecisionTable, str]] = []
    reactions: list[tuple[Reaction, str]] = []
    declared: dict[str, list[tuple[Any, str]]] = {key: [] for key in _DECLARED}
    names: list[str] = []
    for module in modules:
        if isinstance(module, str):
            with _importing(module):
                loaded = importlib.import_module(module)
        else:
            loaded = module
        name = loaded.__name__
        names.append(name)
        if not any(hasattr(loaded, attribute) for attribute in (*_DECLARED, "TABLES", "REACTIONS")):
            raise PolicyDefinitionError(
                "declares no TABLES, REACTIONS, OBLIGATIONS, FACTS, ACTIONS, CONTEXT or OUTPUTS: "
                "a rule module declares its tables and reactions (an empty tuple if it has none), "
                "and may declare the terms they are written in",
                module=name,
            )
        for attribute, kind in (("TABLES", DecisionTable), ("REACTIONS", Reaction)):
            items = _declared_items(loaded, attribute, kind)
            if kind is DecisionTable:
                tables.extend((item, name) for item in items)
            else:
                reactions.extend((item, name) for item in items)
        for attribute, expected in _DECLARED.items():
            declared[attribute].extend(
                (item, name) for item in _declared_items(loaded, attribute, expected)
            )
        outputs = getattr(loaded, "OUTPUTS", None)
        if outputs is not None and not isinstance(outputs, Mapping):
            raise PolicyDefinitionError(
                f"OUTPUTS is a {type(outputs).__name__}, expected a dict of output name: "
                "description",
                module=name,
            )
        for output, description in (outputs or {}).items():
            if (
                not isinstance(output, str)
                or not _ROW_ID.match(output)
                or not isinstance(description, str)
            ):
                raise PolicyDefinitionError(
                    f"OUTPUTS: got {output!r}: {description!r}, expected a lower-case name and "
                    "its description",
                    module=name,
                )
            if output in ENGINE_OUTPUTS:
                raise PolicyDefinitionError(
                    f"OUTPUTS: {output!r} is one of the engine's outputs", module=name
                )
            declared["OUTPUTS"].append(((output, description), name))
    obligations: list[tuple[Obligation, str]] = declared["OBLIGATIONS"]
    chosen = _settings([*tables, *reactions], dict(settings or {}))
    tables = [(_resolved(table, chosen), module) for table, module in tables]
    reactions = [(_resolved(reaction, chosen), module) for reaction, module in reactions]

    known = _declared_sections(names) if sections is None else _given_sections(sections)
    cited: set[str] = set()

    def cite(citation: object, module: str, rule: str) -> None:
        cited.update(_check_citation(citation, known, module, rule))

    rules: dict[str, RuleInfo] = {}

    def register(info: RuleInfo) -> None:
        if info.id in rules:
            raise PolicyDefinitionError(
                f"duplicate rule id {info.id!r}, first declared in {rules[info.id].module}",
                module=info.module,
                rule=info.id,
            )
        rules[info.id] = info

    outputs = {**ENGINE_OUTPUTS, **{name: text for (name, text), _ in declared["OUTPUTS"]}}
    output_values = _output_values(tables)
    announced = [
        (obligation.announce, module)
        for obligation, module in _named_obligations(obligations, reactions)
        if obligation.announce is not None
    ]
    emitted = [
        (effect.action, module)
        for reaction, module in reactions
        for effect in reaction.then
        if isinstance(effect, Emit)
    ]
    terms = compile_terms(
        declared["FACTS"],
        [*declared["ACTIONS"], *announced, *emitted],
        declared["CONTEXT"],
        output_values,
    )
    scope = _Scope(terms=terms, outputs=outputs)
    compiled_tables = []
    for table, module in tables:
        with _declared_at(table):
            compiled_tables.append(_compile_table(table, module, register, cite, scope))
    ordered = _dependency_order(compiled_tables, scope)
    plan_inputs = _plan_inputs(ordered, scope)
    scope = attrs.evolve(scope, planning=_planning_facts(terms, plan_inputs))
    compiled_obligations: dict[str, CompiledObligation] = {}
    # Obligations are those the modules declare (OBLIGATIONS) and those their reactions name.
    for obligation, module in _named_obligations(obligations, reactions):
        known_one = compiled_obligations.get(obligation.id)
        if known_one is not None:
            if known_one.obligation != obligation:
                raise PolicyDefinitionError(
                    f"two different obligations are named {obligation.id!r} (the other is "
                    f"declared in {known_one.module})",
                    module=module,
                    **_where(obligation),
                )
            continue
        with _declared_at(obligation):
            compiled_obligations[obligation.id] = _compile_obligation(
                obligation, module, tuple(terms.attributes)
            )
    compiled_reactions = []
    emitters: dict[int, Emitter] = {}
    for reaction, module in reactions:
        with _declared_at(reaction):
            compiled_reactions.extend(
                _compile_reaction(
                    reaction, module, register, cite, compiled_obligations, ordered, scope, emitters
                )
            )
    _check_all_cited(known, cited)
    _check_all_required(compiled_obligations, compiled_reactions)
    _check_outputs_produced(outputs, ordered, declared["OUTPUTS"])
    _check_values_used(terms, output_values, ordered, compiled_reactions, compiled_obligations)
    horizon = _horizon(ordered, compiled_reactions, late_fulfilment_window)
    return Policy(
        tables=tuple(ordered),
        reactions=tuple(compiled_reactions),
        rules=rules,
        obligations=compiled_obligations,
        announces_period=_announces_period(compiled_obligations, compiled_reactions),
        emitters=emitters,
        changes={
            tag: (terms.sets[tag], terms.moves[tag])
            for tag in terms.facts
            if terms.sets[tag] or terms.moves[tag]
        },
        about_unknown=frozenset(
            fact_type
            for compiled in compiled_reactions
            for fact_type in compiled.types
            if fact_type.endswith("?")
        ),
        terms=terms,
        outputs=outputs,
        channel=_the_channel(compiled_obligations),
        violation_codes=_violation_codes(compiled_obligations, compiled_reactions),
        late_fulfilment_window=late_fulfilment_window,
        plan_inputs=plan_inputs,
        planning=scope.planning,
        settings={name: value for name, (_, value) in chosen.items()},
        setting_declarations={name: setting for name, (setting, _) in chosen.items()},
        horizon=horizon,
        latest=LATEST - horizon,
    )


@contextlib.contextmanager
def _importing(module: str, *, absent_is_callers: bool = False) -> Iterator[None]:
    """Importing a module of a policy package: whatever its code raises (a syntax error, a
    module it imports that is not there, an exception) is a :class:`PolicyDefinitionError`
    naming the file and line, not a crash. ``absent_is_callers``: the module itself not being
    there is left to the caller (as an ``ImportError``) to say so."""
    try:
        yield
    except PolicyDefinitionError:
        raise
    except ModuleNotFoundError as error:
        absent = bool(error.name) and (module == error.name or module.startswith(f"{error.name}."))
        if absent and absent_is_callers:
            raise
        if absent:
            raise PolicyDefinitionError(
                f"MODULES names {module!r}, which cannot be found: is it in the package's "
                "folder, under the package's name?",
                module=module,
            ) from None
        raise _import_failed(module, error) from None
    except Exception as error:
        raise _import_failed(module, error) from None


def _import_failed(module: str, error: BaseException | None) -> PolicyDefinitionError:
    file: str | None = None
    line: int | None = None
    if isinstance(error, SyntaxError):
        file, line = error.filename, error.lineno
    elif error is not None:
        # The last line of the policy's own code that ran (not the standard library's).
        library = os.path.dirname(os.__file__)
        for frame, number in traceback.walk_tb(error.__traceback__):
            name = frame.f_code.co_filename
            if not name.startswith(("<", library)):
                file, line = name, number
    reason = f"{type(error).__name__}: {error}" if error is not None else "it failed"
    return PolicyDefinitionError(
        f"the module cannot be imported ({reason})", module=module, file=file, line=line
    )


def _package_modules(package: str | os.PathLike[str]) -> tuple[str, ...]:
    """The ``MODULES`` of a policy package given by module name or by folder."""
    folder = pathlib.Path(package)
    if folder.is_dir():
        init = folder / "__init__.py"
        if not init.is_file():
            raise PolicyDefinitionError(
                f"{folder} is not a policy package: expected an __init__.py declaring MODULES"
            )
        name = folder.resolve().name
        loaded = sys.modules.get(name)
        if loaded is None or pathlib.Path(getattr(loaded, "__file__", "") or "") != init.resolve():
            spec = importlib.util.spec_from_file_location(
                name, init.resolve(), submodule_search_locations=[str(folder.resolve())]
            )
            if spec is None or spec.loader is None:
                raise PolicyDefinitionError(f"cannot load the policy package in {folder}")
            loaded = importlib.util.module_from_spec(spec)
            for stale in [key for key in sys.modules if key.startswith(f"{name}.")]:
                del sys.modules[stale]  # rule modules of a package of that name elsewhere
            sys.modules[name] = loaded  # its rule modules import as name.module
            with _importing(name):
                spec.loader.exec_module(loaded)
    else:
        text = os.fspath(package)
        try:
            with _importing(text, absent_is_callers=True):
                loaded = importlib.import_module(text)
        except ImportError as error:
            raise PolicyDefinitionError(
                f"no policy package {text!r}: expected an importable module or a folder ({error})"
            ) from None
    modules = getattr(loaded, "MODULES", None)
    if not isinstance(modules, (tuple, list)) or not modules:
        raise PolicyDefinitionError(
            "a policy package declares MODULES, its rule modules in order",
            module=loaded.__name__,
        )
    return tuple(modules)


@functools.lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The policy of the handbook, from :mod:`escalation_policy.rules` (loaded once)."""
    return load_policy()


# ------------------------------------------------------------------------------------ locations
def _where(item: object) -> dict[str, Any]:
    """``file`` and ``line`` for an error about ``item``, where it records them."""
    location = getattr(item, "defined_at", None)
    if isinstance(location, Location):
        return {"file": location.file, "line": location.line}
    return {}


@contextlib.contextmanager
def _declared_at(item: object) -> Iterator[None]:
    """Errors raised inside that name no file are located where ``item`` was declared."""
    try:
        yield
    except PolicyDefinitionError as error:
        where = _where(item)
        if error.file is not None or not where:
            raise
        raise PolicyDefinitionError(
            error.reason, module=error.module, rule=error.rule, **where
        ) from None


# ------------------------------------------------------------------------------------- sections
@attrs.frozen
class _Sections:
    """The sections rules may cite, and who declared each (a package, or ``None``)."""

    declared_by: Mapping[str, ModuleType | None]


def _declared_sections(module_names: Sequence[str]) -> _Sections:
    """The ``SECTIONS`` of the packages the rule modules are in."""
    declared_by: dict[str, ModuleType | None] = {}
    for name in dict.fromkeys(n.rpartition(".")[0] for n in module_names if "." in n):
        try:
            package = importlib.import_module(name)
        except ImportError:  # an edited copy of a module may name a package that is not there
            continue
        sections = getattr(package, "SECTIONS", None)
        if sections is None:
            continue
        for section in _valid_sections(sections, name):
            declared_by.setdefault(section, package)
    if not declared_by:
        raise PolicyDefinitionError(
            "no sections declared: the rule modules' package declares the handbook sections "
            "its rules cite (SECTIONS = ('Scope', 'Scope > Subheading', ...)), "
            "or load_policy(..., sections=...) names them"
        )
    return _Sections(declared_by=declared_by)


def _given_sections(sections: Iterable[str]) -> _Sections:
    if isinstance(sections, str):
        raise PolicyDefinitionError(
            f"sections is the text {sections!r}, expected a tuple of section names"
        )
    return _Sections(declared_by=dict.fromkeys(_valid_sections(tuple(sections), None)))


def _valid_sections(sections: object, package: str | None) -> tuple[str, ...]:
    if not isinstance(sections, (tuple, list, frozenset, set)) or not sections:
        raise PolicyDefinitionError(
            f"SECTIONS is {sections!r}, expected a non-empty tuple of section names", module=package
        )
    seen: set[str] = set()
    for section in sections:
        if not isinstance(section, str) or not section.strip() or ";" in section:
            raise PolicyDefinitionError(
                f"section {section!r} is not a heading such as 'Scope' or "
                "'Responsibilities > Critical and High Level Issues' (without ';')",
                module=package,
            )
        if section in seen:
            raise PolicyDefinitionError(f"section {section!r} is declared twice", module=package)
        seen.add(section)
    return tuple(sections)


def _check_citation(citation: object, declared: _Sections, module: str, rule: str) -> list[str]:
    """The sections ``citation`` names (``"A; B > C"``), each one declared."""
    if not isinstance(citation, str) or not citation.strip():
        raise PolicyDefinitionError(
            f"cites is {citation!r}, expected non-empty text", module=module, rule=rule
        )
    parts = [part.strip() for part in citation.split(";")]
    for part in parts:
        if part not in declared.declared_by:
            # "Heading > Subheading": a subheading of the same heading is the likelier fix.
            heading = part.rpartition(" > ")[0]
            siblings = [
                s for s in declared.declared_by if heading and s.startswith(f"{heading} > ")
            ]
            hint = did_you_mean(part, siblings) or did_you_mean(part, declared.declared_by)
            raise PolicyDefinitionError(
                f"cites {part!r}, which is not a section the policy declares (SECTIONS){hint}"
                if part
                else f"cites {citation!r}, which has an empty section; sections are separated "
                "by '; '",
                module=module,
                rule=rule,
            )
    return parts


def _check_all_cited(declared: _Sections, cited: set[str]) -> None:
    for section, package in declared.declared_by.items():
        if section in cited:
            continue
        where: dict[str, Any] = {}
        file = getattr(package, "__file__", None)
        if isinstance(file, str):
            quoted = (f'"{section}"', f"'{section}'")
            lines = linecache.getlines(file)
            numbers = [n for n, text in enumerate(lines, 1) if any(q in text for q in quoted)]
            where = {"file": file, "line": numbers[0] if numbers else None}
        raise PolicyDefinitionError(
            f"section {section!r} is declared but no rule cites it: a rule that encodes it is "
            "missing (is its module left out?), or the section should not be declared",
            module=getattr(package, "__name__", None),
            **where,
        )


# --------------------------------------------------------------------------------------- checks
def _check_header(item: DecisionTable | Reaction, module: str, cite: Any) -> None:
    if not isinstance(item.id, str) or not _ID.match(item.id):
        raise PolicyDefinitionError(
            f"id {item.id!r} is not a dotted lower-case name such as 'severity.levels'",
            module=module,
            rule=str(item.id),
        )
    if not isinstance(item.title, str) or not item.title.strip():
        raise PolicyDefinitionError(
            f"title is {item.title!r}, expected non-empty text", module=module, rule=item.id
        )
    cite(item.cites, module, item.id)


def _compile_cell(
    field: str, cell: object, module: str, rule: str, domain: tuple[object, ...] | None
) -> Condition | None:
    """The compiled condition for one cell, or ``None`` for :data:`ANY`. A free-text field's
    cell may name ``None``: the field is not set (``none_of(None)``: it is)."""
    if isinstance(cell, AnyValue):
        return None
    if isinstance(cell, (OneOf, NoneOf)):
        values, negated = cell.values, isinstance(cell, NoneOf)
        if not values:
            raise PolicyDefinitionError(
                f"{field}: {type(cell).__name__} needs at least one value", module=module, rule=rule
            )
    else:
        values, negated = (cell,), False
    normalised = []
    for value in values:
        plain = scalar(value)
        if domain is None:
            ok = isinstance(plain, str) or plain is None  # None: the text is not set
            expected = "text, or None for no text"
        else:
            ok = any(plain == allowed and type(plain) is type(allowed) for allowed in domain)
            expected = "one of " + ", ".join(repr(v) for v in domain)
        if not ok:
            raise PolicyDefinitionError(
                f"{field}: got {value!r}, expected {expected}"
                + did_you_mean(plain, [str(v) for v in domain or ()]),
                module=module,
                rule=rule,
            )
        normalised.append(plain)
    if negated and domain is not None and frozenset(domain) <= frozenset(normalised):
        raise PolicyDefinitionError(
            f"{field}: none_of({', '.join(repr(v) for v in domain)}) excludes every value "
            f"of {field}, so the rule can never match",
            module=module,
            rule=rule,
        )
    return Condition(field=field, values=frozenset(normalised), negated=negated)


def _check_field(field: object, known: Iterable[str], module: str, rule: str, what: str) -> str:
    known = list(known)
    if not isinstance(field, str) or field not in known:
        raise PolicyDefinitionError(
            f"unknown {what} {field!r}{did_you_mean(field, known)}; known: {', '.join(known)}",
            module=module,
            rule=rule,
        )
    return field


def _check_output(field: str, value: object, module: str, rule: str) -> None:
    """The engine's outputs hold what the engine expects; a duration is positive."""

    def bad(expected: str) -> PolicyDefinitionError:
        return PolicyDefinitionError(
            f"output {field}: got {value!r}, expected {expected}", module=module, rule=rule
        )

    if field == "in_scope" and not isinstance(value, bool):
        raise bad("True or False")
    if field in ("description",) and not isinstance(value, str):
        raise bad("text")
    if field == "out_of_scope_reason" and not (value is None or isinstance(value, str)):
        raise bad("text or None")
    if field in ("owner", "cadence") and not isinstance(value, enum.Enum):
        raise bad("a value of an enumeration, e.g. Team.TAM")
    if field in ("involvement", "extra_involvement") and not (
        isinstance(value, tuple) and all(isinstance(role, enum.Enum) for role in value)
    ):
        raise bad("a tuple of values, e.g. (Role.CEO, Role.CRO)")
    if isinstance(value, dt.timedelta) and value <= dt.timedelta(0):
        raise bad("a positive duration")


def _compile_table(
    table: DecisionTable, module: str, register: Any, cite: Any, scope: _Scope
) -> CompiledTable:
    _check_header(table, module, cite)
    if not isinstance(table.hit_policy, HitPolicy):
        raise PolicyDefinitionError(
            f"hit_policy is {table.hit_policy!r}, expected HitPolicy.UNIQUE, FIRST or COLLECT",
            module=module,
            rule=table.id,
        )
    known_inputs = list(dict.fromkeys([*scope.domains, *scope.outputs]))
    for field in table.inputs:
        _check_field(field, known_inputs, module, table.id, "input")
    for field in table.outputs:
        _check_field(field, scope.outputs, module, table.id, "output")
    row_ids: list[str] = []
    conditions: list[tuple[Condition, ...]] = []
    for row in table.rows:
        if not isinstance(row, Row):
            raise PolicyDefinitionError(
                f"rows holds {row!r}, expected Row objects", module=module, rule=table.id
            )
        with _declared_at(row):
            conditions.append(_compile_row(table, row, module, register, cite, scope))
        row_ids.append(f"{table.id}/{row.id}")
    domains = [scope.domain(field) for field in table.inputs]
    finite = all(domain is not None for domain in domains)
    compiled = CompiledTable(
        table=table,
        module=module,
        row_ids=tuple(row_ids),
        conditions=tuple(conditions),
        finite=finite,
    )
    cases = _Cases(compiled, scope)
    if table.hit_policy is HitPolicy.UNIQUE:
        _check_no_overlap(compiled, cases)
    if table.hit_policy is HitPolicy.FIRST:
        _check_no_hidden_rows(compiled, cases)
    if table.hit_policy is not HitPolicy.COLLECT:
        _check_complete(compiled, cases)
    return compiled


def _compile_row(
    table: DecisionTable, row: Row, module: str, register: Any, cite: Any, scope: _Scope
) -> tuple[Condition, ...]:
    full_id = f"{table.id}/{row.id}"
    if not isinstance(row.id, str) or not _ROW_ID.match(row.id):
        raise PolicyDefinitionError(
            f"row id {row.id!r} is not a lower-case name", module=module, rule=full_id
        )
    for field in row.when:
        _check_field(field, table.inputs, module, full_id, "input")
    missing = [field for field in table.inputs if field not in row.when]
    if missing:
        raise PolicyDefinitionError(
            f"no cell for input {missing[0]!r} (use ANY for 'any value')",
            module=module,
            rule=full_id,
        )
    for field in row.then:
        _check_field(field, table.outputs, module, full_id, "output")
    for field in table.outputs:
        if field not in row.then:
            raise PolicyDefinitionError(
                f"no value for output {field!r}", module=module, rule=full_id
            )
        _check_output(field, row.then[field], module, full_id)
    cells = [
        _compile_cell(field, row.when[field], module, full_id, scope.domain(field))
        for field in table.inputs
    ]
    if row.cites is not None:
        cite(row.cites, module, full_id)
    register(
        RuleInfo(
            id=full_id,
            title=f"{table.title}: {row.id.replace('_', ' ')}",
            cites=row.cites or table.cites,
            module=module,
            kind="row",
        )
    )
    return tuple(c for c in cells if c is not None)


class _OtherText:
    """Stands for every text no row of the table names: rows cannot tell such texts apart."""

    def __repr__(self) -> str:
        return "any other text"


_OTHER_TEXT = _OtherText()


class _Cases:
    """A table's inputs, reduced to finitely many cases that stand for every input.

    A finite domain is its own cases. A free-text input is the texts the rows name, plus one
    case for every other text: a cell can only tell a named text from the rest, so two texts no
    row names are matched alike by every row. Checks over the cases are exact.
    """

    def __init__(self, compiled: CompiledTable, scope: _Scope) -> None:
        self.fields = compiled.table.inputs
        self.domains: list[tuple[object, ...]] = []
        for field in self.fields:
            domain = scope.domain(field)
            if domain is None:
                named = (
                    value
                    for conditions in compiled.conditions
                    for condition in conditions
                    if condition.field == field
                    for value in sorted(condition.values, key=repr)
                )
                domain = (*dict.fromkeys(named), _OTHER_TEXT)
            self.domains.append(domain)
        # For each row, the cases each of its cells admits.
        self.admitted = [
            [
                tuple(v for v in domain if all(c.matches({field: v}) for c in by_field[field]))
                for field, domain in zip(self.fields, self.domains, strict=True)
            ]
            for by_field in (_by_field(conditions) for conditions in compiled.conditions)
        ]
        self.conditions = compiled.conditions

    def all(self) -> Iterator[dict[str, object]]:
        for combination in itertools.product(*self.domains):
            yield dict(zip(self.fields, combination, strict=True))

    def of_row(self, row: int) -> Iterator[dict[str, object]]:
        for combination in itertools.product(*self.admitted[row]):
            yield dict(zip(self.fields, combination, strict=True))

    def first_match(self, case: Mapping[str, object], before: int) -> int | None:
        for row, conditions in enumerate(self.conditions[:before]):
            if all(c.matches(case) for c in conditions):
                return row
        return None


def _by_field(conditions: Sequence[Condition]) -> dict[str, list[Condition]]:
    found: dict[str, list[Condition]] = {}
    for condition in conditions:
        found.setdefault(condition.field, []).append(condition)
    return collections.defaultdict(list, found)


def _shown_case(case: Mapping[str, object]) -> str:
    return ", ".join(f"{field}={value!r}" for field, value in case.items())


def _check_no_overlap(compiled: CompiledTable, cases: _Cases) -> None:
    table = compiled.table
    for i, j in itertools.combinations(range(len(compiled.conditions)), 2):
        shared = [
            set(first) & set(second)
            for first, second in zip(cases.admitted[i], cases.admitted[j], strict=True)
        ]
        if all(shared):
            raise PolicyDefinitionError(
                f"rows {compiled.row_ids[i]!r} and {compiled.row_ids[j]!r} overlap, and the hit "
                "policy UNIQUE allows one matching row for every input",
                module=compiled.module,
                rule=table.id,
                **_where(table.rows[j]),
            )


def _check_no_hidden_rows(compiled: CompiledTable, cases: _Cases) -> None:
    """Under FIRST, every row must win for some input: else the rows above it hide it."""
    for row in range(1, len(compiled.conditions)):
        hiding: set[int] = set()
        for case in cases.of_row(row):
            first = cases.first_match(case, before=row)
            if first is None:
                break
            hiding.add(first)
        else:
            above = ", ".join(repr(compiled.row_ids[i]) for i in sorted(hiding))
            raise PolicyDefinitionError(
                f"row {compiled.row_ids[row]!r} can never win: the rows above it ({above}) "
                "already match every input it matches, and the hit policy FIRST takes the first "
                "matching row",
                module=compiled.module,
                rule=compiled.row_ids[row],
                **_where(compiled.table.rows[row]),
            )


def _check_complete(compiled: CompiledTable, cases: _Cases) -> None:
    table = compiled.table
    for case in cases.all():
        if cases.first_match(case, before=len(compiled.conditions)) is not None:
            continue
        free = [field for field, value in case.items() if value is _OTHER_TEXT]
        if free:
            raise PolicyDefinitionError(
                f"no row covers {_shown_case(case)}: {', '.join(free)} is free text, so a table "
                f"with hit policy {table.hit_policy.name} needs a catch-all row (ANY, or "
                "none_of(...) the texts other rows name) for the texts no row names",
                module=compiled.module,
                rule=table.id,
            )
        raise PolicyDefinitionError(
            f"no row covers {_shown_case(case)}: every input needs a row",
            module=compiled.module,
            rule=table.id,
        )


def _dependency_order(tables: list[CompiledTable], scope: _Scope) -> list[CompiledTable]:
    producer: dict[str, CompiledTable] = {}
    for compiled in tables:
        for field in compiled.table.outputs:
            if field in producer:
                raise PolicyDefinitionError(
                    f"output {field!r} is produced by {producer[field].table.id!r} already; "
                    "each output comes from one table",
                    module=compiled.module,
                    rule=compiled.table.id,
                    **_where(compiled.table),
                )
            producer[field] = compiled
    missing = sorted(set(_REQUIRED_OUTPUTS) - producer.keys())
    if missing:
        raise PolicyDefinitionError(
            f"no table produces {', '.join(missing)}; "
            f"the policy needs {', '.join(sorted(_REQUIRED_OUTPUTS))}"
        )
    attributes = [name for name in scope.terms.attributes if name in scope.domains]
    ordered: list[CompiledTable] = []
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(compiled: CompiledTable) -> None:
        if compiled.table.id in done:
            return
        if compiled.table.id in visiting:
            raise PolicyDefinitionError(
                "tables depend on each other in a cycle",
                module=compiled.module,
                rule=compiled.table.id,
                **_where(compiled.table),
            )
        visiting.add(compiled.table.id)
        for field in compiled.table.inputs:
            if field in producer:
                visit(producer[field])
        visiting.discard(compiled.table.id)
        done.add(compiled.table.id)
        ordered.append(compiled)

    for compiled in tables:
        visit(compiled)
    for compiled in tables:
        for field in compiled.table.inputs:
            if field in producer:
                continue
            if field not in scope.domains:
                raise PolicyDefinitionError(
                    f"input {field!r} is produced by no table",
                    module=compiled.module,
                    rule=compiled.table.id,
                    **_where(compiled.table),
                )
            if field not in attributes:
                raise PolicyDefinitionError(
                    f"input {field!r} is not an attribute of the escalation; a table reads "
                    f"{', '.join(sorted(attributes))} or another table's outputs",
                    module=compiled.module,
                    rule=compiled.table.id,
                    **_where(compiled.table),
                )
    return ordered


def _horizon(
    tables: Sequence[CompiledTable],
    reactions: Sequence[CompiledReaction],
    late_fulfilment_window: dt.timedelta,
) -> dt.timedelta:
    """How far past a fact anything the policy schedules may lie (see ``Policy.horizon``)."""
    zero = dt.timedelta(0)
    within = [
        value
        for compiled in reactions
        for effect in compiled.reaction.then
        if isinstance(value := getattr(effect, "within", None), dt.timedelta)
    ]
    periods = [
        value
        for compiled in tables
        for row in compiled.table.rows
        for value in row.then.values()
        if isinstance(value, dt.timedelta)
    ]
    return max(within, default=zero) + max(periods, default=zero) + late_fulfilment_window


def _plan_inputs(tables: Sequence[CompiledTable], scope: _Scope) -> tuple[str, ...]:
    """The escalation's attributes the tables read (inputs no table produces), in the order
    the context declares them."""
    produced = {field for compiled in tables for field in compiled.table.outputs}
    read = {field for compiled in tables for field in compiled.table.inputs} - produced
    return tuple(field for field in scope.domains if field in read)


def _compile_reaction(
    reaction: Reaction,
    module: str,
    register: Any,
    cite: Any,
    obligations: Mapping[str, CompiledObligation],
    tables: Sequence[CompiledTable],
    scope: _Scope,
    emitters: dict[int, "Emitter"],
) -> list[CompiledReaction]:
    """The reaction compiled: for facts about escalations the engine knows, and (when it tests
    ``known``) for facts about escalations it does not (:func:`unknown`)."""
    _check_header(reaction, module, cite)
    facts = scope.terms.facts
    on = tuple(reaction.on) if isinstance(reaction.on, (tuple, list)) else (reaction.on,)
    if not on:
        raise PolicyDefinitionError(
            "on names no fact type, so the reaction can never fire", module=module, rule=reaction.id
        )
    if not isinstance(reaction.when, Mapping):
        raise PolicyDefinitionError(
            f"when is {reaction.when!r}, expected a dict of field: condition",
            module=module,
            rule=reaction.id,
        )
    types: set[str] = set()
    for fact_type in on:
        tag = getattr(fact_type, "TYPE", None)
        if not isinstance(fact_type, type) or facts.get(tag) is not fact_type:  # type: ignore[arg-type]
            raise PolicyDefinitionError(
                f"on: got {fact_type!r}, expected fact classes the policy declares in FACTS "
                f"({', '.join(cls.__name__ for cls in facts.values())})",
                module=module,
                rule=reaction.id,
            )
        types.add(fact_type.TYPE)
    fact_fields = scope.terms.context.fact_fields
    specific = {field for fields in fact_fields.values() for field in fields}
    conditions: list[Condition] = []
    when = dict(reaction.when)
    known = _compile_cell("known", when.pop("known", True), module, reaction.id, _BOOL)
    about_known = known is None or known.matches({"known": True})
    about_unknown = known is None or known.matches({"known": False})
    if about_unknown:
        _check_about_unknown(reaction, types, when, fact_fields, module)
    for field, cell in when.items():
        _check_field(field, scope.domains, module, reaction.id, "field")
        if field in specific:
            lacking = sorted(t for t in types if field not in fact_fields.get(t, ()))
            if lacking:
                raise PolicyDefinitionError(
                    f"field {field!r} is not in the context of {', '.join(lacking)} facts",
                    module=module,
                    rule=reaction.id,
                )
        compiled = _compile_cell(field, cell, module, reaction.id, scope.domain(field))
        if compiled is not None:
            conditions.append(compiled)
    if "in_scope" not in reaction.when:
        # Only escalations the process is for, unless the reaction says otherwise (a cell for
        # in_scope of its own: ANY for every escalation, False for those out of scope).
        conditions.append(Condition("in_scope", frozenset({True})))
    if not reaction.then:
        raise PolicyDefinitionError("then has no effect", module=module, rule=reaction.id)
    for effect in reaction.then:
        if not isinstance(effect, Effect):
            raise PolicyDefinitionError(
                f"then holds {effect!r}, expected effects such as Require or Violation",
                module=module,
                rule=reaction.id,
            )
        _check_effect(effect, module, reaction.id)
        allowed = {
            None: None,
            "planning": scope.planning,
            "opening": frozenset({scope.terms.opening.TYPE}),
        }[type(effect).FACTS]
        if allowed is not None and not types <= allowed:
            raise PolicyDefinitionError(
                f"{type(effect).__name__} cannot react to {', '.join(sorted(types - allowed))}: "
                f"{type(effect).FACTS_WHY}",
                module=module,
                rule=reaction.id,
            )
        if isinstance(effect, (Require, Fulfil, Cancel)):
            _check_obligation_effect(effect, types, obligations, tables, module, reaction.id, scope)
        if isinstance(effect, Emit):
            emitters[id(effect)] = _emitter(effect, types, module, reaction.id, scope)
    register(
        RuleInfo(
            id=reaction.id,
            title=reaction.title,
            cites=reaction.cites,
            module=module,
            kind="reaction",
        )
    )
    results = []
    if about_known:
        results.append(
            CompiledReaction(
                reaction=reaction,
                module=module,
                types=frozenset(types),
                conditions=tuple(conditions),
            )
        )
    if about_unknown:
        own = [c for c in conditions if c.field in when]  # no in_scope: there is no escalation
        results.append(
            CompiledReaction(
                reaction=reaction,
                module=module,
                types=frozenset(unknown(t) for t in types),
                conditions=tuple(own),
            )
        )
    return results


def unknown(fact_type: str) -> str:
    """The name under which reactions to a ``fact_type`` fact about an escalation the engine
    does not know are matched (both matchers key reactions by it)."""
    return f"{fact_type}?"


def _check_about_unknown(
    reaction: Reaction,
    types: set[str],
    when: Mapping[str, object],
    fact_fields: Mapping[str, frozenset[str]],
    module: str,
) -> None:
    """A reaction to facts about an escalation never opened tests the fact alone, and can
    only report a violation: there is no escalation to read or to change."""
    own: set[str] = set().union(*(fact_fields.get(t, ()) for t in types))
    for field in when:
        lacking = sorted(t for t in types if field not in fact_fields.get(t, ()))
        if lacking:
            raise PolicyDefinitionError(
                f"field {field!r} is not the fact's own, and a reaction to facts about an "
                "escalation the engine does not know (known: False) tests only the fact's own "
                f"fields ({', '.join(sorted(own))})",
                module=module,
                rule=reaction.id,
            )
    for effect in reaction.then:
        if not isinstance(effect, Violation):
            raise PolicyDefinitionError(
                f"{type(effect).__name__} needs an escalation, and a reaction to facts about an "
                "escalation the engine does not know (known: False) can only report a Violation",
                module=module,
                rule=reaction.id,
            )


def _check_obligation_effect(
    effect: "Require | Fulfil | Cancel",
    types: set[str],
    obligations: Mapping[str, CompiledObligation],
    tables: Sequence[CompiledTable],
    module: str,
    rule: str,
    scope: _Scope,
) -> None:
    named = effect.obligations if isinstance(effect, Cancel) else (effect.obligation,)
    kind = type(effect).__name__
    for obligation in named:
        if not isinstance(obligation, Obligation):
            raise PolicyDefinitionError(
                f"{kind}: got {obligation!r}, expected an Obligation", module=module, rule=rule
            )
    if isinstance(effect, Fulfil) and effect.key is not None:
        for fact_type in sorted(types):
            cls = scope.terms.facts.get(fact_type)
            if cls is None or effect.key not in attrs.fields_dict(cls):
                raise PolicyDefinitionError(
                    f"Fulfil.key: {fact_type} facts have no field {effect.key!r}",
                    module=module,
                    rule=rule,
                )
    if not isinstance(effect, Require):
        return
    obligation = effect.obligation
    if (effect.within is None) == (effect.every is None):
        raise PolicyDefinitionError(
            f"Require({obligation.id}): give within (a one-off) or every (a table output "
            "giving the period), not both or neither",
            module=module,
            rule=rule,
        )
    needs_key = obligation.key is not None and obligation.key_from is None
    if needs_key and effect.key is None:
        raise PolicyDefinitionError(
            f"Require({obligation.id}): the obligation is keyed by {obligation.key}: give key",
            module=module,
            rule=rule,
        )
    if not needs_key and effect.key is not None:
        raise PolicyDefinitionError(
            f"Require({obligation.id}): got key={effect.key!r}, but the obligation "
            + (
                f"reads its key from {obligation.key_from}" if obligation.key_from else "has no key"
            ),
            module=module,
            rule=rule,
        )
    if effect.every is not None:
        if not types <= scope.planning:
            raise PolicyDefinitionError(
                f"Require({obligation.id}, every=...) cannot react to "
                f"{', '.join(sorted(types - scope.planning))}: the period is planned on "
                f"{', '.join(sorted(scope.planning))} facts",
                module=module,
                rule=rule,
            )
        produced = {output: compiled for compiled in tables for output in compiled.table.outputs}
        source = produced.get(effect.every)
        if source is None:
            raise PolicyDefinitionError(
                f"Require({obligation.id}).every: got {effect.every!r}, expected a table output "
                f"giving the period{did_you_mean(effect.every, produced)}",
                module=module,
                rule=rule,
            )
        for row in source.table.rows:
            value = row.then.get(effect.every)
            if not isinstance(value, _OPTIONAL_DURATION):
                raise PolicyDefinitionError(
                    f"Require({obligation.id}).every reads {effect.every!r}, but row "
                    f"{row.id!r} of {source.table.id!r} gives {value!r}, not a timedelta or None",
                    module=module,
                    rule=rule,
                )
        remind = effect.remind_before
        shortest = min(
            (
                value
                for row in source.table.rows
                if isinstance(value := row.then.get(effect.every), dt.timedelta)
            ),
            default=None,
        )
        if isinstance(remind, dt.timedelta) and shortest is not None and remind >= shortest:
            raise PolicyDefinitionError(
                f"Require({obligation.id}).remind_before: got {remind}, expected less than the "
                f"shortest period {effect.every!r} gives ({shortest})",
                module=module,
                rule=rule,
            )


def _check_effect(effect: object, module: str, rule: str) -> None:
    within = getattr(effect, "within", None)
    if within is not None and (not isinstance(within, dt.timedelta) or within <= dt.timedelta(0)):
        raise PolicyDefinitionError(
            f"{type(effect).__name__}.within: got {within!r}, expected a positive timedelta",
            module=module,
            rule=rule,
        )
    remind = getattr(effect, "remind_before", None)
    if remind is not None and (not isinstance(remind, dt.timedelta) or remind <= dt.timedelta(0)):
        raise PolicyDefinitionError(
            f"{type(effect).__name__}.remind_before: got {remind!r}, expected a positive "
            "timedelta or None",
            module=module,
            rule=rule,
        )
    if remind is not None and within is not None and remind >= within:
        raise PolicyDefinitionError(
            f"{type(effect).__name__}.remind_before: got {remind}, expected less than "
            f"within ({within}): a reminder comes before the obligation falls due",
            module=module,
            rule=rule,
        )
    if isinstance(effect, Cancel) and not effect.obligations:
        raise PolicyDefinitionError("Cancel names no obligation", module=module, rule=rule)


def _violation_codes(
    obligations: Mapping[str, CompiledObligation], reactions: Sequence[CompiledReaction]
) -> tuple[str, ...]:
    codes = [str(scalar(compiled.violation)) for compiled in obligations.values()]
    codes += [
        str(scalar(effect.code))
        for compiled in reactions
        for effect in compiled.reaction.then
        if isinstance(effect, Violation)
    ]
    return tuple(dict.fromkeys(codes))


def _the_channel(obligations: Mapping[str, CompiledObligation]) -> str | None:
    channels = {
        str(compiled.obligation.announce_with["channel"])
        for compiled in obligations.values()
        if "channel" in compiled.obligation.announce_with
    }
    return channels.pop() if len(channels) == 1 else None


# --------------------------------------------------------------------------------------- emitting
Emitter = Callable[[str, dt.datetime, str, str, Any, Any], Any]
"""Builds an emitted action: (escalation id, at, rule, cites, record, fact) -> action."""


def _emitter(effect: Emit, types: set[str], module: str, rule: str, scope: _Scope) -> Emitter:
    """The function that builds ``effect``'s action, every field of it checked now."""

    def bad(message: str) -> PolicyDefinitionError:
        return PolicyDefinitionError(f"Emit({name}): {message}", module=module, rule=rule)

    cls: Any = effect.action
    name = getattr(cls, "__name__", repr(cls))
    if not (isinstance(cls, type) and issubclass(cls, Action) and cls.TYPE):
        raise bad(f"got {cls!r}, expected an action class")
    fields = {field.name: field for field in attrs.fields(cls)}
    attributes = scope.terms.attributes
    sources: dict[str, str] = {}
    for source, mapping in (
        ("values", effect.values),
        ("fact", effect.fact),
        ("escalation", effect.escalation),
        ("text", effect.text),
    ):
        for field in mapping:
            if field in ("escalation_id", "at", "rule", "cites"):
                raise bad(f"{source}: the engine fills {field!r}")
            if field not in fields:
                raise bad(
                    f"{source}: {cls.__name__} has no field {field!r}"
                    f"{did_you_mean(field, fields)}; it has {', '.join(fields)}"
                )
            if field in sources:
                raise bad(f"{field!r} is given in both {sources[field]} and {source}")
            sources[field] = source
    for field, name_in_fact in effect.fact.items():
        for tag in sorted(types):
            if name_in_fact not in attrs.fields_dict(scope.terms.facts[tag]):
                raise bad(f"fact: {tag} facts have no field {name_in_fact!r} (for {field})")
    readable = [*attributes, "owner", "cadence", "status", "opened_at", "closed_at"]
    for field, attribute in effect.escalation.items():
        if attribute not in readable:
            raise bad(
                f"escalation: no attribute {attribute!r} (for {field})"
                f"{did_you_mean(attribute, readable)}; the escalation has "
                f"{', '.join(readable)}"
            )
    for field, template in effect.text.items():
        try:
            named = [
                name for _, name, _, _ in string.Formatter().parse(template) if name is not None
            ]
        except ValueError as error:
            raise bad(f"text for {field}: {template!r} is not a template ({error})") from None
        for name in named:
            if name not in attributes:
                raise bad(
                    f"text for {field}: {template!r} names {name!r}, not an attribute of the "
                    f"escalation{did_you_mean(name, attributes)} ({', '.join(attributes)})"
                )
    missing = [
        field
        for field, declared in fields.items()
        if field not in sources
        and field not in ("escalation_id", "at", "rule", "cites")
        and declared.default is attrs.NOTHING
    ]
    if missing:
        raise bad(
            f"nothing fills {cls.__name__}.{missing[0]}: give it in values, fact, "
            "escalation or text"
        )
    # Generated, one keyword per field, as the announcements are.
    namespace: dict[str, Any] = {"cls": cls}
    arguments = ["escalation_id=escalation_id", "at=at", "rule=rule", "cites=cites"]
    for number, (field, value) in enumerate(effect.values.items()):
        namespace[f"value_{number}"] = value
        arguments.append(f"{field}=value_{number}")
    for field, source in effect.fact.items():
        arguments.append(f"{field}=fact.{source}")
    for field, source in effect.escalation.items():
        arguments.append(f"{field}=record.{source}")
    for number, (field, template) in enumerate(effect.text.items()):
        namespace[f"template_{number}"] = template
        named = sorted({name for _, name, _, _ in string.Formatter().parse(template) if name})
        filled = ", ".join(f"{name}=record.{name}" for name in named)
        arguments.append(f"{field}=template_{number}.format({filled})")
    emit: Emitter = generate(
        [
            "def emit(escalation_id, at, rule, cites, record, fact):",
            f"    return cls({', '.join(arguments)})",
        ],
        namespace,
        f"{cls.TYPE} emitted",
    )
    return emit


# ----------------------------------------------------------------------------------- obligations
_ANNOUNCED_BY_CORE = frozenset({"escalation_id", "at", "rule", "cites", "due"})


def _compile_obligation(
    obligation: Obligation, module: str, attributes: Sequence[str]
) -> CompiledObligation:
    def bad(message: str) -> PolicyDefinitionError:
        return PolicyDefinitionError(f"obligation {obligation.id!r}: {message}", module=module)

    if not isinstance(obligation.id, str) or not _ROW_ID.match(obligation.id):
        raise bad("expected an id of lower-case letters, digits and underscores")
    if not isinstance(obligation.missed, str):
        raise bad(f"missed: got {obligation.missed!r}, expected the violation's detail text")
    placeholders = {"due"} | ({obligation.key} if obligation.key is not None else set())
    try:
        obligation.missed.format(**dict.fromkeys(placeholders, ""))
    except (KeyError, IndexError, ValueError) as error:
        raise bad(
            f"missed: {obligation.missed!r} cannot be filled ({type(error).__name__}: {error}); "
            f"it may name {', '.join('{' + p + '}' for p in sorted(placeholders))}"
        ) from None
    if obligation.key_from is not None and obligation.key is None:
        raise bad("key_from reads the key from the escalation, so the obligation needs a key")
    if (obligation.one_at_a_time or obligation.once_per_key) and obligation.key is None:
        raise bad("one_at_a_time and once_per_key tell instances apart by key: declare a key")
    if obligation.key_from is not None and obligation.key_from not in attributes:
        raise bad(
            f"key_from: got {obligation.key_from!r}, expected an attribute of the escalation "
            f"({', '.join(attributes)})"
        )
    announce: Announce | None = None
    if obligation.announce is not None:
        announce = _announcer(obligation, bad, attributes)
    elif (
        obligation.announce_with
        or obligation.announce_from
        or obligation.owner_field
        or obligation.announce_again_on_new_owner
    ):
        raise bad(
            "announce_with, announce_from, owner_field and announce_again_on_new_owner need "
            "announce"
        )
    return CompiledObligation(
        obligation=obligation,
        module=module,
        id=obligation.id,
        violation=obligation.violation,
        key_from=obligation.key_from,
        one_at_a_time=obligation.one_at_a_time,
        once_per_key=obligation.once_per_key,
        renew_when_overdue=obligation.renew_when_overdue,
        announce_again_on_new_owner=obligation.announce_again_on_new_owner,
        announce=announce,
        owner_field=obligation.owner_field,
    )


def _announcer(
    obligation: Obligation,
    bad: Callable[[str], PolicyDefinitionError],
    attributes: Sequence[str],
) -> Announce:
    """The function that builds ``obligation``'s announcement, its fields checked now."""
    cls: Any = obligation.announce
    if not (isinstance(cls, type) and issubclass(cls, Action) and cls.TYPE):
        raise bad(f"announce: got {cls!r}, expected an action class such as PostToChannel")
    fields = {field.name: field for field in attrs.fields(cls)}
    hints = typing.get_type_hints(cls)
    given = dict(obligation.announce_with)
    from_escalation = dict(obligation.announce_from)
    readable = [*attributes, "owner", "cadence", "status", "opened_at"]
    for field, attribute in from_escalation.items():
        if attribute not in readable:
            raise bad(
                f"announce_from: no attribute {attribute!r} (for {field})"
                f"{did_you_mean(attribute, readable)}; the escalation has {', '.join(readable)}"
            )
    filled = set(_ANNOUNCED_BY_CORE) | set(given) | set(from_escalation)
    if obligation.key is not None:
        filled.add(obligation.key)
    if obligation.owner_field is not None:
        filled.add(obligation.owner_field)
    unknown = sorted(filled - set(fields))
    if unknown:
        raise bad(
            f"{cls.__name__} has no field {unknown[0]!r}{did_you_mean(unknown[0], fields)}; "
            f"it has {', '.join(fields)}"
        )
    missing = [
        name
        for name, field in fields.items()
        if name not in filled and field.default is attrs.NOTHING
    ]
    if missing:
        raise bad(
            f"nothing fills {cls.__name__}.{missing[0]}: give it in announce_with or "
            "announce_from, or name it as the key or the owner_field"
        )
    key_name = obligation.key
    key_type = _value_type(hints.get(key_name)) if key_name is not None else None
    owner_name = obligation.owner_field
    # Generated, one keyword per field: it runs for every obligation required or renewed, and
    # unrolled it costs a fraction of building the keywords as a dict (docs/design.md).
    namespace: dict[str, Any] = {"cls": cls, "key_type": key_type, "no_owner": _no_owner}
    arguments = [
        "escalation_id=escalation_id",
        "at=at",
        "rule=pending.rule",
        "cites=pending.cites",
        "due=pending.due",
    ]
    for number, (name, value) in enumerate(given.items()):
        namespace[f"given_{number}"] = value
        arguments.append(f"{name}=given_{number}")
    for name, attribute in from_escalation.items():
        arguments.append(f"{name}=record.{attribute}")
    body = []
    if key_name is not None:
        body.append("    key = pending.key")
        if key_type is not None:
            body.append("    key = None if key is None else key_type(key)")
        arguments.append(f"{key_name}=key")
    if owner_name is not None:
        body += ["    if owner is None:", f"        no_owner(escalation_id, {cls.TYPE!r})"]
        arguments.append(f"{owner_name}=owner")
    announce: Announce = generate(
        [
            "def announce(escalation_id, at, pending, owner, record):",
            *body,
            f"    return cls({', '.join(arguments)})",
        ],
        namespace,
        f"announcement of {obligation.id}",
    )
    return announce


def _no_owner(escalation_id: str, action: str) -> None:
    raise PolicyDefinitionError(
        f"escalation {escalation_id!r} needs a {action} by its owner but has no owner: a "
        "reaction that requires it must run after ApplyPlan"
    )


def _value_type(hint: object) -> Callable[[str], Any] | None:
    """The enumeration a field holds (its optional form too), to turn a key back into it."""
    candidates = typing.get_args(hint) if typing.get_origin(hint) is not None else (hint,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return candidate
    return None


def _check_all_required(
    obligations: Mapping[str, CompiledObligation], reactions: Sequence[CompiledReaction]
) -> None:
    required = {
        effect.obligation.id
        for compiled in reactions
        for effect in compiled.reaction.then
        if isinstance(effect, Require)
    }
    for name, compiled in obligations.items():
        if name not in required:
            raise PolicyDefinitionError(
                f"obligation {name!r} is never required (no reaction has Require for it), so "
                "it can never be pending",
                module=compiled.module,
                **_where(compiled.obligation),
            )


def _announces_period(
    obligations: Mapping[str, CompiledObligation], reactions: Sequence[CompiledReaction]
) -> Mapping[type[Any], frozenset[str]]:
    found: dict[type[Any], set[str]] = {}
    for compiled in reactions:
        for effect in compiled.reaction.then:
            if isinstance(effect, Require) and effect.every is not None:
                cls = obligations[effect.obligation.id].obligation.announce
                if cls is not None:
                    found.setdefault(cls, set()).add(effect.obligation.id)
    return {cls: frozenset(names) for cls, names in found.items()}
