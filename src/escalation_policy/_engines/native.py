"""The native matcher: conditions precompiled into per-fact-type lists and memoised tables."""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from escalation_policy._core.effects import PeriodMemo
from escalation_policy._core.matching import Generated, Plan, evaluate_plan
from escalation_policy._engines import reactors
from escalation_policy._language.context import Situation

if TYPE_CHECKING:
    from escalation_policy.policy import Condition, Policy


_MEMO_LIMIT = 4096

_NOT_YET = Generated(react=None, step=None)  # type: ignore[arg-type]
"""In :attr:`NativeMatcher._generated`: the type's functions not generated yet (private)."""


class NativeMatcher:
    """Matches in plain Python. It owns its memos: table results over finite domains, whole
    plans by the escalation's attributes, and reactions by the fields they test. And what it
    generates for each fact type (``reactors.py``), which the core calls in place of matching
    and applying reactions one by one (``generated=False``: none, the
    core's generic path only, as the reference the reactors are checked against).

    A fact type's functions are generated at its second fact, not when it is built: the
    generic path decides the first (:attr:`_met` holds the types it has matched a fact of),
    as it decides any fact identically, and a process that sees one fact of a type, a host's
    start, does not pay for writing and compiling them. :attr:`_generated` holds, for each
    type asked for since, its functions, or ``None`` where the type has none or they could
    not be generated (the generic path decides it, identically)."""

    def __init__(self, policy: "Policy", *, generated: bool = True) -> None:
        self._policy = policy
        self._periods: PeriodMemo = {}
        self._generates = generated
        self._generated: dict[str, Generated | None] = {}
        self._met: set[str] = set()
        self._context = context = policy.context
        tables, reactions = policy.tables, policy.reactions
        self._rows: list[tuple[tuple[Condition, ...], ...]] = [t.conditions for t in tables]
        self._inputs = [t.table.inputs for t in tables]
        self._plans: dict[tuple[object, ...], Plan] = {}
        self._memo: list[dict[tuple[object, ...], tuple[int, ...]] | None] = [
            {} if t.finite else None for t in tables
        ]
        by_type: dict[str, list[tuple[int, tuple[Condition, ...]]]] = {}
        about_unknown: dict[str, list[tuple[int, tuple[Condition, ...]]]] = {}
        for index, compiled in enumerate(reactions):
            for fact_type in sorted(compiled.types):
                found = by_type if compiled.known else about_unknown
                found.setdefault(fact_type, []).append((index, compiled.conditions))
        self._by_type = {key: tuple(value) for key, value in by_type.items()}
        self._about_unknown = {key: tuple(value) for key, value in about_unknown.items()}
        # Which reactions match depends only on the fields their conditions test: memoise the
        # answer on those fields' values, per fact type.
        self._tested = {
            key: context.key_order({c.field for _, conditions in value for c in conditions})
            for key, value in self._by_type.items()
        }
        self._reaction_memo: dict[str, dict[tuple[object, ...], list[int]]] = {
            key: {} for key in self._by_type
        }
        self._keys = {key: context.key_reader(tested) for key, tested in self._tested.items()}
        self._unknown_tested = {
            key: context.key_order({c.field for _, conditions in value for c in conditions})
            for key, value in self._about_unknown.items()
        }
        self._unknown_memo: dict[str, dict[tuple[object, ...], list[int]]] = {
            key: {} for key in self._about_unknown
        }

    def plan(self, base: Mapping[str, object]) -> Plan:
        # Tables are pure functions of the escalation's attributes: a plan is made once.
        key = tuple([base.get(field) for field in self._policy.plan_inputs])
        plan = self._plans.get(key)
        if plan is None:
            plan = evaluate_plan(self._policy, self, base)
            if len(self._plans) < _MEMO_LIMIT:  # free-text issue types could grow it forever
                self._plans[key] = plan
        return plan

    def table_rows(self, index: int, inputs: Mapping[str, object]) -> Sequence[int]:
        memo = self._memo[index]
        if memo is not None:
            key = tuple(inputs[field] for field in self._inputs[index])
            found = memo.get(key)
            if found is None:
                found = memo[key] = self._match_rows(index, inputs)
            return found
        return self._match_rows(index, inputs)

    def _match_rows(self, index: int, inputs: Mapping[str, object]) -> tuple[int, ...]:
        return tuple(
            row
            for row, conditions in enumerate(self._rows[index])
            if all(c.matches(inputs) for c in conditions)
        )

    def generated(self, fact_type: str) -> Generated | None:
        found = self._generated.get(fact_type, _NOT_YET)
        if found is _NOT_YET:
            if fact_type not in self._met and fact_type in self._by_type and self._generates:
                return None  # its first fact: the generic path, which meets the type
            return self.generate(fact_type)
        return found

    def generate(self, fact_type: str) -> Generated | None:
        """The type's functions, whether or not a fact of the type was decided yet: generated
        now, or those generated before; ``None``: the generic path decides it. Whatever the
        generator fails on, the generic path decides the fact as the generated functions would
        have: a policy the generator cannot write still works, and no fact is refused for
        it."""
        known = self._generated.get(fact_type, _NOT_YET)
        if known is not _NOT_YET:
            return known
        reactions = self._by_type.get(fact_type) if self._generates else None
        if reactions is None:
            if fact_type not in self._policy.contract.facts:
                return None  # not remembered: a type no policy declares is refused later
            found = None
        else:
            try:
                found = reactors.generated(
                    self._policy,
                    fact_type,
                    [index for index, _ in reactions],
                    self._periods,
                    self._plans,
                )
            except Exception:  # the generator's failure: the reference path decides instead
                found = None
        self._generated[fact_type] = found
        return found

    def reactions_for(self, fact_type: str, situation: Situation) -> Sequence[int]:
        self._met.add(fact_type)  # its next fact: generated functions (generated())
        # The memo key read straight from the situation: no context is built unless missed.
        memo = self._reaction_memo.get(fact_type)
        if memo is None:
            return ()
        found = memo.get(self._keys[fact_type](situation))
        if found is None:
            return self.reactions(fact_type, self._context.context_of(fact_type, situation))
        return found

    def reactions_about_unknown(
        self, fact_type: str, context: Mapping[str, object]
    ) -> Sequence[int]:
        return _matching(
            self._about_unknown, self._unknown_tested, self._unknown_memo, fact_type, context
        )

    def reactions(self, fact_type: str, context: Mapping[str, object]) -> Sequence[int]:
        return _matching(self._by_type, self._tested, self._reaction_memo, fact_type, context)


def _matching(
    by_type: Mapping[str, tuple[tuple[int, tuple["Condition", ...]], ...]],
    tested: Mapping[str, tuple[str, ...]],
    memos: Mapping[str, dict[tuple[object, ...], list[int]]],
    fact_type: str,
    context: Mapping[str, object],
) -> Sequence[int]:
    """The reactions of ``by_type[fact_type]`` that match, memoised on the fields they test."""
    memo = memos.get(fact_type)
    if memo is None:
        return ()
    key = tuple([context.get(field) for field in tested[fact_type]])
    found = memo.get(key)
    if found is None:
        found = [
            index
            for index, conditions in by_type[fact_type]
            if all(c.matches(context) for c in conditions)
        ]
        if len(memo) < _MEMO_LIMIT:  # free-text fields could otherwise grow it forever
            memo[key] = found
    return found
