"""Reactions compiled: the facts they take, their conditions, and each effect checked."""

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._language.context import BOOL, scalar
from escalation_policy._language.wording import DetailFields, label
from escalation_policy.calendar import HORIZON_DAYS
from escalation_policy.errors import PolicyDefinitionError, did_you_mean
from escalation_policy.periods import BusinessTime, Period
from escalation_policy.policy.compiled import (
    CompiledObligation,
    CompiledReaction,
    CompiledTable,
    Condition,
    Emitter,
    RuleInfo,
    RuleKind,
)
from escalation_policy.policy.emitters import compile_emitter
from escalation_policy.policy.scope import Scope, check_field, check_header, compile_cell
from escalation_policy.vocabulary import (
    EFFECTS,
    Accept,
    ApplyPlan,
    Cancel,
    Effect,
    Emit,
    Fulfil,
    Obligation,
    OutOfScope,
    Pause,
    Reaction,
    ReactsTo,
    Require,
    Resume,
    Violation,
)

_PERIOD = (dt.timedelta, Period, type(None))


def named_obligations(
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


def compile_reaction(
    reaction: Reaction,
    module: str,
    register: Any,
    cite: Any,
    obligations: Mapping[str, CompiledObligation],
    tables: Sequence[CompiledTable],
    scope: Scope,
) -> list[CompiledReaction]:
    """The reaction compiled: for facts about escalations the engine knows, and (when it tests
    ``known``) for facts about escalations it does not."""
    check_header(reaction, module, cite)
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
    known = compile_cell("known", when.pop("known", True), module, reaction.id, BOOL)
    about_known = known is None or known.matches({"known": True})
    about_unknown = known is None or known.matches({"known": False})
    if about_unknown:
        _check_about_unknown(reaction, types, when, fact_fields, module)
    for field, cell in when.items():
        check_field(field, scope.domains, module, reaction.id, "field")
        if field in specific:
            lacking = sorted(t for t in types if field not in fact_fields.get(t, ()))
            if lacking:
                raise PolicyDefinitionError(
                    f"field {field!r} is not in the context of {', '.join(lacking)} facts",
                    module=module,
                    rule=reaction.id,
                )
        compiled = compile_cell(field, cell, module, reaction.id, scope.domain(field))
        if compiled is not None:
            conditions.append(compiled)
    if "in_scope" not in reaction.when:
        # Only escalations the process is for, unless the reaction says otherwise (a cell for
        # in_scope of its own: ANY for every escalation, False for those out of scope).
        conditions.append(Condition("in_scope", frozenset({True})))
    if not reaction.then:
        raise PolicyDefinitionError("then has no effect", module=module, rule=reaction.id)
    site = _Site(
        types=frozenset(types),
        obligations=obligations,
        tables=tables,
        module=module,
        rule=reaction.id,
        scope=scope,
        about_unknown=about_unknown,
    )
    then = tuple((effect, _compile_effect(effect, site)) for effect in reaction.then)
    register(
        RuleInfo(
            id=reaction.id,
            title=reaction.title,
            cites=reaction.cites,
            module=module,
            kind=RuleKind.REACTION,
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
                then=then,
            )
        )
    if about_unknown:
        own = [c for c in conditions if c.field in when]  # no in_scope: there is no escalation
        results.append(
            CompiledReaction(
                reaction=reaction,
                module=module,
                types=frozenset(types),
                conditions=tuple(own),
                known=False,
                then=then,
            )
        )
    return results


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
        if not getattr(type(effect), "ABOUT_UNKNOWN", False):
            raise PolicyDefinitionError(
                f"{type(effect).__name__} needs an escalation, and a reaction to facts about an "
                "escalation the engine does not know (known: False) can only report a Violation "
                "or Accept it",
                module=module,
                rule=reaction.id,
            )


@attrs.frozen
class _Site:
    """Where an effect is checked: the reaction's facts, module and rule, and what it may
    name."""

    types: frozenset[str]
    obligations: Mapping[str, CompiledObligation]
    tables: Sequence[CompiledTable]
    module: str
    rule: str
    scope: Scope
    about_unknown: bool = False
    """Whether the reaction takes facts about an escalation the engine does not know: its
    effects read the fact alone."""


def _compile_effect(effect: object, site: _Site) -> object:
    """``effect`` checked as its kind says, and what the loader compiles of it for the core's
    handler (``None`` for most kinds)."""
    module, rule = site.module, site.rule
    if not isinstance(effect, Effect):
        raise PolicyDefinitionError(
            f"then holds {effect!r}, expected effects such as Require or Violation",
            module=module,
            rule=rule,
        )
    kind = type(effect)
    check = _CHECKS.get(kind)
    if check is None:
        raise PolicyDefinitionError(
            f"then holds an effect of kind {kind.__name__} (from {kind.__module__}), which the "
            "policy language does not know; expected one of "
            f"{', '.join(known.__name__ for known in EFFECTS)}",
            module=module,
            rule=rule,
        )
    _check_timing(effect, module, rule)
    allowed = {
        ReactsTo.ANY_FACT: None,
        ReactsTo.PLANNING_FACTS: site.scope.planning,
        ReactsTo.OPENING_FACT: frozenset({site.scope.terms.opening.TYPE}),
    }[kind.REACTS_TO]
    if allowed is not None and not site.types <= allowed:
        raise PolicyDefinitionError(
            f"{kind.__name__} cannot react to {', '.join(sorted(site.types - allowed))}: "
            f"{kind.REACTS_TO_WHY}",
            module=module,
            rule=rule,
        )
    return check(effect, site)


_BRACES = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
"""In a detail: a brace written twice, a name in braces, or a brace alone."""

_CORE_ATTRIBUTES = ("owner", "cadence", "status")
"""The escalation's attributes every policy has, besides those its terms declare."""


def _detail_fields(detail: object, site: _Site) -> DetailFields | None:
    """The names a violation's ``detail`` gives in braces (``"posted by {by}"``), each read
    from the fact (a field of every fact the reaction is on) or else from the escalation (an
    attribute); ``None`` when it has no brace (it is written as it is)."""
    if not isinstance(detail, str) or ("{" not in detail and "}" not in detail):
        return None
    parsed: list[str] = []  # the text in each pair of braces, as str.format reads them
    for found in _BRACES.finditer(detail):
        if found[0] in ("{{", "}}"):
            continue  # a brace written twice: a brace
        if found[1] is None:
            raise PolicyDefinitionError(
                f"Violation detail {detail!r}: a brace alone (write a brace as {{{{ or }}}})",
                module=site.module,
                rule=site.rule,
            )
        parsed.append(found[1])
    terms = site.scope.terms
    shared = set.intersection(
        *({field.name for field in attrs.fields(terms.facts[t])} for t in sorted(site.types))
    ) - {"id"}
    attributes = set(_CORE_ATTRIBUTES) | set(terms.attributes)
    fields: list[tuple[str, bool]] = []
    for name in parsed:
        if not name.isidentifier():
            raise PolicyDefinitionError(
                f"Violation detail {detail!r}: got {{{name}}}, expected a name in braces, such "
                "as {by}",
                module=site.module,
                rule=site.rule,
            )
        if name in shared:
            fields.append((name, True))
        elif name in attributes and not site.about_unknown:
            fields.append((name, False))
        else:
            where = (
                "a field of the fact (the escalation is not known)"
                if site.about_unknown
                else "a field of every fact it reacts to, or an attribute of the escalation"
            )
            choices = sorted(shared if site.about_unknown else shared | attributes)
            raise PolicyDefinitionError(
                f"Violation detail {detail!r} names {name!r}, expected {where}: "
                f"{', '.join(choices)}{did_you_mean(name, choices)}",
                module=site.module,
                rule=site.rule,
            )
    return tuple(dict.fromkeys(fields))


class _Checks:
    """The loader's check of each kind of effect, named after it (``Effect.NAME``): it raises
    a :class:`PolicyDefinitionError` for an effect that cannot work, and returns what the core's
    handler of the kind is given besides the effect."""

    @staticmethod
    def require(effect: Require, site: _Site) -> None:
        _check_obligation_effect(effect, site)

    @staticmethod
    def fulfil(effect: Fulfil, site: _Site) -> None:
        _check_obligation_effect(effect, site)

    @staticmethod
    def cancel(effect: Cancel, site: _Site) -> None:
        if not effect.obligations:
            raise PolicyDefinitionError(
                "Cancel names no obligation", module=site.module, rule=site.rule
            )
        _check_obligation_effect(effect, site)

    @staticmethod
    def violation(effect: Violation, site: _Site) -> DetailFields | None:
        return _detail_fields(effect.detail, site)

    @staticmethod
    def apply_plan(_effect: ApplyPlan, _site: _Site) -> None:
        return None

    @staticmethod
    def out_of_scope(_effect: OutOfScope, _site: _Site) -> None:
        return None

    @staticmethod
    def emit(effect: Emit, site: _Site) -> Emitter:
        return compile_emitter(effect, set(site.types), site.module, site.rule, site.scope)

    @staticmethod
    def accept(_effect: Accept, _site: _Site) -> None:
        return None

    @staticmethod
    def pause(_effect: Pause, _site: _Site) -> None:
        return None

    @staticmethod
    def resume(_effect: Resume, _site: _Site) -> None:
        return None


_CHECKS: Mapping[type[Effect], Callable[[Any, _Site], object]] = {
    kind: getattr(_Checks, kind.NAME) for kind in EFFECTS
}
"""The check of each kind of effect, found by its name: a kind without one fails here."""


def _check_obligation_effect(effect: "Require | Fulfil | Cancel", site: _Site) -> None:
    types, tables = site.types, site.tables
    module, rule, scope = site.module, site.rule, site.scope
    named = effect.obligations if isinstance(effect, Cancel) else (effect.obligation,)
    kind = type(effect).__name__
    for obligation in named:
        if not isinstance(obligation, Obligation):
            raise PolicyDefinitionError(
                f"{kind}: got {obligation!r}, expected an Obligation", module=module, rule=rule
            )
    if isinstance(effect, Fulfil) and effect.part is not None:
        parts = effect.obligation.parts
        if effect.part not in parts:
            raise PolicyDefinitionError(
                f"Fulfil.part: got {effect.part!r}, expected one of the parts of "
                f"{effect.obligation.id}: {', '.join(parts) or 'it has none'}"
                f"{did_you_mean(effect.part, parts)}",
                module=module,
                rule=rule,
            )
    if isinstance(effect, Fulfil) and effect.obligation.parts and effect.part is None:
        raise PolicyDefinitionError(
            f"Fulfil({effect.obligation.id}): the obligation has parts "
            f"({', '.join(effect.obligation.parts)}): give the part the fact fulfils",
            module=module,
            rule=rule,
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
        if obligation.tiers:
            raise PolicyDefinitionError(
                f"Require({obligation.id}, every=...): the obligation has tiers, which chase "
                "a one-off obligation that stays unmet; a missed period of a periodic one is "
                "reported and the next period starts: require it within a time",
                module=module,
                rule=rule,
            )
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
            if not isinstance(value, _PERIOD):
                raise PolicyDefinitionError(
                    f"Require({obligation.id}).every reads {effect.every!r}, but row "
                    f"{row.id!r} of {source.table.id!r} gives {value!r}, not a timedelta, a "
                    "period (EachBusinessDay(), TimesPerWeek(2)...) or None",
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
                f"Require({obligation.id}).remind_before: got {label(remind)}, expected less "
                f"than the shortest period {effect.every!r} gives ({label(shortest)})",
                module=module,
                rule=rule,
            )


def _check_timing(effect: object, module: str, rule: str) -> None:
    within = getattr(effect, "within", None)
    if isinstance(within, BusinessTime):
        within = within.duration
    elif within is not None and (not isinstance(within, dt.timedelta) or within <= dt.timedelta(0)):
        raise PolicyDefinitionError(
            f"{type(effect).__name__}.within: got {within!r}, expected a positive timedelta, "
            "or a BusinessTime",
            module=module,
            rule=rule,
        )
    remind = getattr(effect, "remind_before", None)
    if remind is not None and (not isinstance(remind, dt.timedelta) or remind <= dt.timedelta(0)):
        why = (
            ": a reminder's lead is counted on the obligation's clock (in open time, for one "
            "due in business time), so it is a plain timedelta even when within is a "
            "BusinessTime"
            if isinstance(remind, BusinessTime)
            else ""
        )
        raise PolicyDefinitionError(
            f"{type(effect).__name__}.remind_before: got {remind!r}, expected a positive "
            f"timedelta or None{why}",
            module=module,
            rule=rule,
        )
    if remind is not None and within is not None and remind >= within:
        given = getattr(effect, "within", within)
        raise PolicyDefinitionError(
            f"{type(effect).__name__}.remind_before: got {label(remind)}, expected less than "
            f"within ({label(given)}): a reminder comes before the obligation falls due",
            module=module,
            rule=rule,
        )


def violation_codes_of(
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


def horizon_of(
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
    # On a calendar, a duration or period may stretch over closed days, weeks and holidays:
    # as far as the calendar's search for open time reaches, and two weeks' periods.
    on_calendar = any(
        isinstance(getattr(effect, "within", None), BusinessTime)
        for compiled in reactions
        for effect in compiled.reaction.then
    ) or any(
        isinstance(value, Period)
        for compiled in tables
        for row in compiled.table.rows
        for value in row.then.values()
    )
    stretch = dt.timedelta(days=2 * HORIZON_DAYS) if on_calendar else zero
    return max(within, default=zero) + max(periods, default=zero) + stretch + late_fulfilment_window
