"""Loading a policy: rule modules in, one checked, immutable :class:`Policy` out.

Everything a policy owner can get wrong is found here, at load time, with the module, the
rule and the bad value named: unknown fields and values, duplicate ids, overlapping rows under
a hit policy that forbids them, inputs no row covers, outputs nobody produces.
"""

import datetime as dt
import enum
import functools
import importlib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

import attrs

from escalation_policy._native import NativeMatcher
from escalation_policy.errors import PolicyDefinitionError, did_you_mean
from escalation_policy.model import FACT_TYPES, Cadence, Fact, Role, Team
from escalation_policy.rules import MODULES
from escalation_policy.vocabulary import (
    CONTEXT_FIELDS,
    FACT_FIELDS,
    PLAN_OUTPUTS,
    AnyValue,
    ApplyPlan,
    Cancel,
    DecisionTable,
    DeclareOutOfScope,
    EscalateToProduct,
    Flag,
    Fulfil,
    HitPolicy,
    NoneOf,
    Obligation,
    OneOf,
    OpenTrackerDocument,
    Reaction,
    RequirePost,
    RequireSummaryUpdate,
    RequireTamInformed,
    RouteToTam,
    Row,
    ScheduleMeetings,
    ScheduleUpdates,
)

__all__ = ["Condition", "Policy", "RuleInfo", "default_policy", "load_policy"]

_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_ROW_ID = re.compile(r"^[a-z0-9_]+$")
_EFFECTS = (
    RequirePost,
    RequireTamInformed,
    RequireSummaryUpdate,
    Fulfil,
    Cancel,
    Flag,
    ApplyPlan,
    ScheduleMeetings,
    ScheduleUpdates,
    DeclareOutOfScope,
    OpenTrackerDocument,
    RouteToTam,
    EscalateToProduct,
)
_PLANNED = frozenset({"opened", "severity_changed"})
# Effects that need something only some facts carry: the fact types they may react to.
_EFFECT_FACTS: Mapping[type, tuple[frozenset[str], str]] = {
    ApplyPlan: (_PLANNED, "the plan is made on opened and severity_changed facts"),
    ScheduleMeetings: (_PLANNED, "the plan is made on opened and severity_changed facts"),
    ScheduleUpdates: (_PLANNED, "the plan is made on opened and severity_changed facts"),
    DeclareOutOfScope: (frozenset({"opened"}), "scope is decided when an escalation opens"),
    RouteToTam: (frozenset({"account_issue"}), "it routes the account issue's kind"),
}
_REQUIRED_OUTPUTS = frozenset(PLAN_OUTPUTS) - {"extra_involvement", "description"}
_OPTIONAL_DURATION = (dt.timedelta, type(None))


def scalar(value: object) -> object:
    """The JSON scalar a condition or a context compares: enum members become their value."""
    return value.value if isinstance(value, enum.Enum) else value


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


@attrs.frozen
class Policy:
    """A loaded, validated policy. Build it with :func:`load_policy`."""

    tables: tuple[CompiledTable, ...]  # in dependency order
    reactions: tuple[CompiledReaction, ...]
    rules: Mapping[str, RuleInfo]
    channel: str
    late_fulfilment_window: dt.timedelta
    native: NativeMatcher = attrs.field(eq=False, repr=False)
    """The policy compiled for the native engine."""

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
        return channel.lstrip("#").casefold() == self.channel.lstrip("#").casefold()


def load_policy(
    modules: Iterable[str | ModuleType] = MODULES,
    *,
    late_fulfilment_window: dt.timedelta = dt.timedelta(days=7),
) -> Policy:
    """Load and check the rule modules (names or module objects), in the order given.

    ``late_fulfilment_window``: how long a closed escalation whose closing post is overdue
    waits for it (so that a late post is still recognised) before it is dropped from memory.
    """
    tables: list[tuple[DecisionTable, str]] = []
    reactions: list[tuple[Reaction, str]] = []
    for module in modules:
        loaded = importlib.import_module(module) if isinstance(module, str) else module
        name = loaded.__name__
        for attribute, kind in (("TABLES", DecisionTable), ("REACTIONS", Reaction)):
            declared = getattr(loaded, attribute, None)
            if declared is None:
                raise PolicyDefinitionError(
                    f"declares no {attribute}; a rule module declares TABLES and REACTIONS "
                    "(an empty tuple if it has none)",
                    module=name,
                )
            if not isinstance(declared, (tuple, list)):
                raise PolicyDefinitionError(
                    f"{attribute} is a {type(declared).__name__}, expected a tuple", module=name
                )
            for item in declared:
                if not isinstance(item, kind):
                    raise PolicyDefinitionError(
                        f"{attribute} holds {item!r}, expected {kind.__name__} objects",
                        module=name,
                    )
                if isinstance(item, DecisionTable):
                    tables.append((item, name))
                elif isinstance(item, Reaction):
                    reactions.append((item, name))

    rules: dict[str, RuleInfo] = {}

    def register(info: RuleInfo) -> None:
        if info.id in rules:
            raise PolicyDefinitionError(
                f"duplicate rule id {info.id!r}, first declared in {rules[info.id].module}",
                module=info.module,
                rule=info.id,
            )
        rules[info.id] = info

    compiled_tables = [_compile_table(table, module, register) for table, module in tables]
    ordered = _dependency_order(compiled_tables)
    compiled_reactions = [
        _compile_reaction(reaction, module, register) for reaction, module in reactions
    ]
    channel = _the_channel(compiled_reactions)
    return Policy(
        tables=tuple(ordered),
        reactions=tuple(compiled_reactions),
        rules=rules,
        channel=channel,
        late_fulfilment_window=late_fulfilment_window,
        native=NativeMatcher(ordered, compiled_reactions),
    )


@functools.lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The policy of the handbook, from :mod:`escalation_policy.rules` (loaded once)."""
    return load_policy()


# --------------------------------------------------------------------------------------- checks
def _check_header(item: DecisionTable | Reaction, module: str) -> None:
    if not isinstance(item.id, str) or not _ID.match(item.id):
        raise PolicyDefinitionError(
            f"id {item.id!r} is not a dotted lower-case name such as 'severity.levels'",
            module=module,
            rule=str(item.id),
        )
    for attribute in ("title", "cites"):
        value = getattr(item, attribute)
        if not isinstance(value, str) or not value.strip():
            raise PolicyDefinitionError(
                f"{attribute} is {value!r}, expected non-empty text", module=module, rule=item.id
            )


def _compile_cell(field: str, cell: object, module: str, rule: str) -> Condition | None:
    """The compiled condition for one cell, or ``None`` for :data:`ANY`."""
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
    domain = _input_domain(field)
    normalised = []
    for value in values:
        plain = scalar(value)
        if domain is None:
            ok = isinstance(plain, str)
            expected = "text"
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
    if field == "owner" and not isinstance(value, Team):
        raise bad("a Team, e.g. Team.TAM")
    if field == "cadence" and not isinstance(value, Cadence):
        raise bad("a Cadence, e.g. Cadence.DAILY")
    if field in ("involvement", "extra_involvement") and not (
        isinstance(value, tuple) and all(isinstance(role, Role) for role in value)
    ):
        raise bad("a tuple of Role values, e.g. (Role.CEO, Role.CRO)")
    if field in ("update_every", "meeting_every"):
        if not isinstance(value, _OPTIONAL_DURATION):
            raise bad("a datetime.timedelta or None")
        if isinstance(value, dt.timedelta) and value <= dt.timedelta(0):
            raise bad("a positive duration")


def _compile_table(table: DecisionTable, module: str, register: Any) -> CompiledTable:
    _check_header(table, module)
    if not isinstance(table.hit_policy, HitPolicy):
        raise PolicyDefinitionError(
            f"hit_policy is {table.hit_policy!r}, expected HitPolicy.UNIQUE, FIRST or COLLECT",
            module=module,
            rule=table.id,
        )
    known_inputs = list(CONTEXT_FIELDS) + list(PLAN_OUTPUTS)
    for field in table.inputs:
        _check_field(field, known_inputs, module, table.id, "input")
    for field in table.outputs:
        _check_field(field, PLAN_OUTPUTS, module, table.id, "output")
    row_ids: list[str] = []
    conditions: list[tuple[Condition, ...]] = []
    for row in table.rows:
        if not isinstance(row, Row):
            raise PolicyDefinitionError(
                f"rows holds {row!r}, expected Row objects", module=module, rule=table.id
            )
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
        cells = [_compile_cell(field, row.when[field], module, full_id) for field in table.inputs]
        conditions.append(tuple(c for c in cells if c is not None))
        row_ids.append(full_id)
        register(
            RuleInfo(
                id=full_id,
                title=f"{table.title}: {row.id.replace('_', ' ')}",
                cites=row.cites or table.cites,
                module=module,
                kind="row",
            )
        )
    domains = [_input_domain(field) for field in table.inputs]
    finite = all(domain is not None for domain in domains)
    compiled = CompiledTable(
        table=table,
        module=module,
        row_ids=tuple(row_ids),
        conditions=tuple(conditions),
        finite=finite,
    )
    if table.hit_policy is HitPolicy.UNIQUE:
        _check_no_overlap(compiled)
    if finite and table.hit_policy is not HitPolicy.COLLECT:
        _check_complete(compiled, domains)
    return compiled


def _input_domain(field: str) -> tuple[object, ...] | None:
    """The values ``field`` can take; ``None`` for free text and for tables' own outputs."""
    return CONTEXT_FIELDS.get(field)


def _cell_values(condition: Condition | None, domain: tuple[object, ...] | None) -> Any:
    """The values a cell admits, as a set; ``None`` for 'everything' over an open domain."""
    if condition is None:
        return None if domain is None else frozenset(domain)
    if condition.negated:
        if domain is None:
            return ("not", condition.values)
        return frozenset(domain) - condition.values
    return condition.values


def _may_overlap(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return True
    if isinstance(a, tuple) or isinstance(b, tuple):
        return True  # a negation over free text overlaps nearly everything
    return bool(a & b)


def _check_no_overlap(compiled: CompiledTable) -> None:
    table = compiled.table
    by_field = [{c.field: c for c in conditions} for conditions in compiled.conditions]
    for (i, first), (j, second) in itertools.combinations(enumerate(by_field), 2):
        overlap = True
        for field in table.inputs:
            domain = _input_domain(field)
            if not _may_overlap(
                _cell_values(first.get(field), domain), _cell_values(second.get(field), domain)
            ):
                overlap = False
                break
        if overlap:
            raise PolicyDefinitionError(
                f"rows {compiled.row_ids[i]!r} and {compiled.row_ids[j]!r} overlap, and the hit "
                "policy UNIQUE allows one matching row for every input",
                module=compiled.module,
                rule=table.id,
            )


def _check_complete(compiled: CompiledTable, domains: Sequence[tuple[object, ...] | None]) -> None:
    table = compiled.table
    finite_domains = [domain for domain in domains if domain is not None]
    for combination in itertools.product(*finite_domains):
        context = dict(zip(table.inputs, combination, strict=True))
        if not any(
            all(c.matches(context) for c in conditions) for conditions in compiled.conditions
        ):
            shown = ", ".join(f"{field}={value!r}" for field, value in context.items())
            raise PolicyDefinitionError(
                f"no row covers {shown}: every input needs a row",
                module=compiled.module,
                rule=table.id,
            )


def _dependency_order(tables: list[CompiledTable]) -> list[CompiledTable]:
    producer: dict[str, CompiledTable] = {}
    for compiled in tables:
        for field in compiled.table.outputs:
            if field in producer:
                raise PolicyDefinitionError(
                    f"output {field!r} is produced by {producer[field].table.id!r} already; "
                    "each output comes from one table",
                    module=compiled.module,
                    rule=compiled.table.id,
                )
            producer[field] = compiled
    missing = sorted(_REQUIRED_OUTPUTS - producer.keys())
    if missing:
        raise PolicyDefinitionError(
            f"no table produces {', '.join(missing)}; "
            f"the policy needs {', '.join(sorted(_REQUIRED_OUTPUTS))}"
        )
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
            if field not in CONTEXT_FIELDS and field not in producer:
                raise PolicyDefinitionError(
                    f"input {field!r} is produced by no table",
                    module=compiled.module,
                    rule=compiled.table.id,
                )
    return ordered


def _compile_reaction(reaction: Reaction, module: str, register: Any) -> CompiledReaction:
    _check_header(reaction, module)
    on = reaction.on if isinstance(reaction.on, tuple) else (reaction.on,)
    if not on:
        raise PolicyDefinitionError("on names no fact type", module=module, rule=reaction.id)
    types: set[str] = set()
    for fact_type in on:
        if not (isinstance(fact_type, type) and issubclass(fact_type, Fact)) or fact_type.TYPE in (
            "",
            "tick",
        ):
            raise PolicyDefinitionError(
                f"on: got {fact_type!r}, expected fact classes such as Opened or Posted "
                f"(one of {', '.join(t for t in FACT_TYPES if t != 'tick')})",
                module=module,
                rule=reaction.id,
            )
        types.add(fact_type.TYPE)
    specific = {field for fields in FACT_FIELDS.values() for field in fields}
    conditions: list[Condition] = []
    for field, cell in reaction.when.items():
        _check_field(field, CONTEXT_FIELDS, module, reaction.id, "field")
        if field in specific:
            lacking = sorted(t for t in types if field not in FACT_FIELDS.get(t, ()))
            if lacking:
                raise PolicyDefinitionError(
                    f"field {field!r} is not in the context of {', '.join(lacking)} facts",
                    module=module,
                    rule=reaction.id,
                )
        compiled = _compile_cell(field, cell, module, reaction.id)
        if compiled is not None:
            conditions.append(compiled)
    if not reaction.then:
        raise PolicyDefinitionError("then has no effect", module=module, rule=reaction.id)
    for effect in reaction.then:
        if not isinstance(effect, _EFFECTS):
            raise PolicyDefinitionError(
                f"then holds {effect!r}, expected effects such as RequirePost or Flag",
                module=module,
                rule=reaction.id,
            )
        _check_effect(effect, module, reaction.id)
        allowed = _EFFECT_FACTS.get(type(effect))
        if allowed is not None and not types <= allowed[0]:
            raise PolicyDefinitionError(
                f"{type(effect).__name__} cannot react to {', '.join(sorted(types - allowed[0]))}: "
                f"{allowed[1]}",
                module=module,
                rule=reaction.id,
            )
        if (
            isinstance(effect, Fulfil)
            and effect.obligation in (Obligation.CHANNEL_POST, Obligation.CHANNEL_UPDATE)
            and types != {"posted"}
        ):
            raise PolicyDefinitionError(
                f"Fulfil({effect.obligation.value}) reacts to posted facts only",
                module=module,
                rule=reaction.id,
            )
    register(
        RuleInfo(
            id=reaction.id,
            title=reaction.title,
            cites=reaction.cites,
            module=module,
            kind="reaction",
        )
    )
    return CompiledReaction(
        reaction=reaction, module=module, types=frozenset(types), conditions=tuple(conditions)
    )


def _check_effect(effect: object, module: str, rule: str) -> None:
    within = getattr(effect, "within", None)
    if within is not None and (not isinstance(within, dt.timedelta) or within <= dt.timedelta(0)):
        raise PolicyDefinitionError(
            f"{type(effect).__name__}.within: got {within!r}, expected a positive timedelta",
            module=module,
            rule=rule,
        )
    if isinstance(effect, Cancel) and not effect.obligations:
        raise PolicyDefinitionError("Cancel names no obligation", module=module, rule=rule)
    if isinstance(effect, OpenTrackerDocument) and "(CUSTOMER)" not in effect.title:
        raise PolicyDefinitionError(
            f"OpenTrackerDocument.title {effect.title!r} has no (CUSTOMER) placeholder",
            module=module,
            rule=rule,
        )


def _the_channel(reactions: Sequence[CompiledReaction]) -> str:
    channels = {
        effect.channel
        for compiled in reactions
        for effect in compiled.reaction.then
        if isinstance(effect, RequirePost)
    }
    if len(channels) != 1:
        raise PolicyDefinitionError(
            "the policy's posts must all go to one channel; RequirePost names "
            + (", ".join(sorted(channels)) or "no channel")
        )
    return channels.pop()
