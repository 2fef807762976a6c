"""What the engines differ in: which table rows and reactions match. And the plan that the
decision tables give an escalation, which every matcher computes the same way.

The compiled :class:`~escalation_policy.Policy` is immutable data; each matcher owns whatever
it memoises.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from escalation_policy._language.context import Situation, scalar
from escalation_policy.errors import PolicyDefinitionError
from escalation_policy.model import EscalationFact
from escalation_policy.policy import Policy
from escalation_policy.policy.outputs import EXTRA_INVOLVEMENT, INVOLVEMENT
from escalation_policy.policy.record import Record
from escalation_policy.state import Decision
from escalation_policy.vocabulary import HitPolicy

__all__ = ["Generated", "Matcher", "Plan", "Reactor", "Step", "evaluate_plan"]


@attrs.frozen
class Plan:
    """What the decision tables give one escalation: every output, the row that gave it, and
    every row that matched."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]  # output -> the row id that produced it
    rows: tuple[str, ...]  # every row that matched, in table order
    involvement: tuple[Any, ...] = ()
    """The roles involved (``involvement`` and ``extra_involvement``), each once, in order:
    worked out once per plan, and shared by every escalation the plan applies to."""


def evaluate_plan(policy: Policy, matcher: "Matcher", base: Mapping[str, object]) -> Plan:
    """Run the decision tables, in dependency order, over the escalation's attributes
    (``base``: at least ``policy.plan_inputs``), asking ``matcher`` which rows match."""
    values: dict[str, Any] = dict(base)
    sources: dict[str, str] = {}
    rows_matched: list[str] = []
    for index, compiled in enumerate(policy.tables):
        table = compiled.table
        inputs = {field: scalar(values.get(field)) for field in table.inputs}
        rows = matcher.table_rows(index, inputs)
        if table.hit_policy is HitPolicy.COLLECT:
            rows_matched.extend(compiled.row_ids[row] for row in rows)
            for field in table.outputs:
                collected: tuple[Any, ...] = ()
                for row in rows:
                    collected += tuple(table.rows[row].then[field])
                values[field] = collected
                if rows:
                    sources[field] = compiled.row_ids[rows[0]]
            continue
        if not rows or (table.hit_policy is HitPolicy.UNIQUE and len(rows) > 1):
            shown = ", ".join(f"{k}={v!r}" for k, v in inputs.items())
            raise PolicyDefinitionError(
                f"{len(rows)} rows match {shown}, hit policy {table.hit_policy.value}",
                module=compiled.module,
                rule=table.id,
            )
        row = rows[0]
        rows_matched.append(compiled.row_ids[row])
        for field in table.outputs:
            values[field] = table.rows[row].then[field]
            sources[field] = compiled.row_ids[row]
    roles: list[object] = []
    for role in (*values.get(INVOLVEMENT, ()), *values.get(EXTRA_INVOLVEMENT, ())):
        if role not in roles:
            roles.append(role)
    return Plan(values=values, sources=sources, rows=tuple(rows_matched), involvement=tuple(roles))


Reactor = Callable[[Any, str, Mapping[str, object], object, object, list[str]], None]
"""Applies every reaction to one fact type that matches: (the fact's ``Work``, the status
before the fact, the attributes it set as they were, the owner and the cadence as planned, the
rule ids matched so far, to which it appends those it applies)."""

Step = Callable[[Policy, Any, Record, EscalationFact], tuple[Record | None, Decision]]
"""Decides one fact about an open escalation with nothing due before it, checked: (policy,
matcher, record, fact) to the record (``None``: settled) and the decision."""


class Opening(Protocol):
    """Decides a fact that opens an escalation no record holds: (policy, matcher, fact) to the
    new record (``None``: settled) and the decision; with ``frozen``, a decision that carries
    the new escalation's state (``Decision.state``, ``None`` once settled), as
    :func:`~escalation_policy.decide` returns it."""

    def __call__(
        self, policy: Policy, matcher: Any, fact: EscalationFact, frozen: bool = False, /
    ) -> tuple[Record | None, Decision]: ...


@attrs.frozen
class Generated:
    """What a matcher generates for one fact type (the native one: ``_engines/reactors.py``):
    its reactor, its whole step for a fact that opens nothing (``None`` for one that
    opens), and for one that opens, its whole opening of an escalation no record holds."""

    react: Reactor
    step: Step | None
    opening: Opening | None = None


class Matcher(Protocol):
    """Answers which rows and reactions match; the engines differ only here."""

    def table_rows(self, index: int, inputs: Mapping[str, object]) -> Sequence[int]:
        """Indices of the rows of ``policy.tables[index]`` whose cells match, in row order."""

    def reactions(self, fact_type: str, context: Mapping[str, object]) -> Sequence[int]:
        """Indices of ``policy.reactions`` that match, in declaration order."""

    def reactions_about_unknown(
        self, fact_type: str, context: Mapping[str, object]
    ) -> Sequence[int]:
        """:meth:`reactions`, among those compiled for facts about an escalation the engine
        does not know (``CompiledReaction.known`` false)."""

    def reactions_for(self, fact_type: str, situation: Situation) -> Sequence[int]:
        """:meth:`reactions` on the situation's context (``_context.context_of``)."""

    def plan(self, base: Mapping[str, object]) -> Plan:
        """:func:`evaluate_plan` with this matcher (a matcher may memoise whole plans)."""

    def generated(self, fact_type: str) -> Generated | None:
        """Functions generated for this fact type, which decide as the core's generic path
        (:meth:`reactions_for` and each effect's handler) would; ``None``: the core takes the
        generic path."""
