"""The native engine's reactors: for each fact type, one generated function that applies the
reactions that match a fact of that type, as a host would write it by hand.

Built from the compiled policy's data alone, once, by each :class:`NativeMatcher`: every
condition becomes a Python test of the situation's attribute it reads (``record.in_scope in
V1``), a field the policy computes is read once and only when a condition needs it, and each
effect is a direct call of its handler with its compiled arguments bound. Nothing is looked up
by name while a fact applies: no context, no memo key, no dispatch on the kind of effect.

A condition the generator does not know how to write (not a plain
:class:`~escalation_policy.policy.compiled.Condition`, or a field the context does not
declare) is matched as the generic matcher does, on the fact's context built on demand. The
generic path (:meth:`Matcher.reactions_for` and :data:`HANDLERS`) stays the reference: a
property test checks that both decide the same for any history.
"""

import keyword
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from escalation_policy._core.effects import HANDLERS, Reactor
from escalation_policy._language.codegen import generate
from escalation_policy._language.context import Situation
from escalation_policy.policy.compiled import Condition

if TYPE_CHECKING:
    from escalation_policy.policy import Policy

__all__ = ["reactors"]

_SITUATION = frozenset(Situation.__slots__)
"""The names a field's dotted path may start with: the reactor's own arguments."""

_UNSET = object()
"""A computed field not read yet."""


def reactors(policy: "Policy") -> dict[str, Reactor]:
    """A reactor for each fact type some reaction about a known escalation takes."""
    by_type: dict[str, list[int]] = {}
    for index, compiled in enumerate(policy.reactions):
        if compiled.known:
            for fact_type in compiled.types:
                by_type.setdefault(fact_type, []).append(index)
    return {
        fact_type: _reactor(policy, fact_type, indices)
        for fact_type, indices in sorted(by_type.items())
    }


def _path(read: object) -> str | None:
    """The Python expression for a field read by a dotted path, or ``None``."""
    if not isinstance(read, str):
        return None
    parts = read.split(".")
    if parts[0] not in _SITUATION:
        return None
    if not all(part.isidentifier() and not keyword.iskeyword(part) for part in parts):
        return None
    return read


def _reactor(policy: "Policy", fact_type: str, indices: Sequence[int]) -> Reactor:
    context = policy.context
    namespace: dict[str, Any] = {
        "Situation": Situation,
        "_UNSET": _UNSET,
        "CONTEXT_OF": context.context_of,
        "TYPE": fact_type,
    }
    body: list[str] = []
    computed: dict[str, str] = {}  # field -> the local that holds it once read
    uses_context = False

    def constant(prefix: str, value: object) -> str:
        name = f"{prefix}{len(namespace)}"
        namespace[name] = value
        return name

    def value_of(field: str) -> str:
        declared = context.by_name[field]
        if declared.facts is not None and fact_type not in declared.facts:
            return "None"  # not in this fact type's context
        path = _path(declared.read)
        if path is not None:
            return path
        local = computed.get(field)
        if local is None:
            local = computed[field] = f"v{len(computed)}"
            namespace[f"R_{local}"] = declared.reader
        return f"({local} if {local} is not _UNSET else ({local} := R_{local}(situation)))"

    def test(condition: Condition) -> str:
        nonlocal uses_context
        if type(condition) is not Condition or condition.field not in context.by_name:
            uses_context = True
            return (
                f"{constant('C', condition)}.matches(context if context is not None "
                "else (context := CONTEXT_OF(TYPE, situation)))"
            )
        values = constant("V", condition.values)
        operator = "not in" if condition.negated else "in"
        return f"{value_of(condition.field)} {operator} {values}"

    for index in indices:
        compiled = policy.reactions[index]
        rule, cites = compiled.reaction.id, compiled.reaction.cites
        # The fields every escalation has, read by a path, first: the cheapest tests first.
        ordered = sorted(
            compiled.conditions,
            key=lambda c: (
                type(c) is not Condition
                or c.field not in context.by_name
                or _path(context.by_name[c.field].read) is None
            ),
        )
        tests = " and ".join(test(condition) for condition in ordered) or "True"
        body.append(f"    if {tests}:")
        body.append(f"        matched.append({constant('RULE', rule)})")
        for effect, prepared in compiled.then:
            handler = constant("H", HANDLERS[type(effect)])
            body.append(
                f"        {handler}(work, {constant('E', effect)}, {constant('P', prepared)}, "
                f"{constant('RULE', rule)}, {constant('CITES', cites)})"
            )
    head = [
        "def react(work, status_before, previous, owner, cadence, matched):",
        "    record = work.record",
        "    fact = work.fact",
    ]
    if computed or uses_context:
        head.append(
            "    situation = Situation(record, fact, status_before, previous, owner, cadence)"
        )
    head.extend(f"    {local} = _UNSET" for local in computed.values())
    if uses_context:
        head.append("    context = None")
    return generate(head + body, namespace, f"reactor for {fact_type}")  # type: ignore[no-any-return]
