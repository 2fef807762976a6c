"""Why a rule fired on one fact, or why not: the explanation of one decision, as data.

:func:`explain` replays a history up to one fact about an escalation, lets the engine decide it
as ever, then decides it once more on a copy of the escalation, through a matcher that notes
what the core asked it: the attributes the decision tables read and the context the reactions
were matched against. Every compiled condition is then evaluated on its own against those
values. The engines' own matchers are not touched: the explanation costs one extra decision,
for the one fact explained.
"""

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._convert import read_fact, shared_converter
from escalation_policy._core import escalation as _core
from escalation_policy._core.matching import Plan, evaluate_plan
from escalation_policy._engines.native import NativeMatcher
from escalation_policy._language.context import Situation, scalar
from escalation_policy.engine import PolicyEngine
from escalation_policy.errors import InputError, InvalidFactError, did_you_mean
from escalation_policy.model import AWAITING_OPENING, Action, EscalationFact, Fact
from escalation_policy.periods import BusinessTime, Period
from escalation_policy.policy import CompiledReaction, Condition, Policy, default_policy
from escalation_policy.policy.record import Record
from escalation_policy.state import EarlyWork, EscalationState, Fulfilment
from escalation_policy.vocabulary import HitPolicy, NoneOf, OneOf

__all__ = [
    "CheckedCondition",
    "CheckedReaction",
    "CheckedRow",
    "CheckedTable",
    "Explanation",
    "PendingDue",
    "WhyNot",
    "condition_json",
    "explain",
    "explain_numbered",
    "target_of",
]


# ------------------------------------------------------------------------------------- the data
@attrs.frozen(kw_only=True)
class CheckedCondition:
    """One condition tested: the ``field``, the ``value`` it had (a JSON scalar; ``None``:
    not set, or not in the context of this fact), what was ``expected``, and whether it
    ``passed``. ``implied``: the condition a reaction has without saying so (it applies to
    escalations in scope unless it tests ``in_scope`` itself)."""

    field: str
    value: object
    expected: str
    passed: bool
    implied: bool = False

    def __str__(self) -> str:
        implied = " (implied: reactions apply to escalations in scope)" if self.implied else ""
        return f"{self.field} is {_shown(self.value)}, expected {self.expected}{implied}"


@attrs.frozen(kw_only=True)
class CheckedRow:
    """One row of a decision table: its full ``id`` (``table/row``), each cell tested, whether
    all of them ``matched``, and whether it gave the table's outputs (``won``: every matching
    row under COLLECT, the first under FIRST, the only one under UNIQUE)."""

    id: str
    cells: tuple[CheckedCondition, ...]
    matched: bool
    won: bool


@attrs.frozen(kw_only=True)
class CheckedTable:
    """One decision table as it decided the plan on this fact: the ``inputs`` it read, its
    rows and the ``outputs`` the winning rows gave. ``consulted`` is false when the plan was
    not made on this fact (its rows are then empty)."""

    id: str
    hit_policy: str
    consulted: bool
    inputs: Mapping[str, object] = attrs.field(factory=dict)
    rows: tuple[CheckedRow, ...] = ()
    outputs: Mapping[str, object] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class CheckedReaction:
    """One reaction: the fact types it reacts ``on``, whether it takes facts about escalations
    the engine knows and about those it does not (``known``, ``unknown``), whether it
    ``applies`` to this fact at all (its type, and whether the engine knew the escalation),
    each condition tested (when it applies) and whether it ``matched``."""

    id: str
    on: tuple[str, ...]
    known: bool
    unknown: bool
    applies: bool
    conditions: tuple[CheckedCondition, ...]
    matched: bool
    effects: tuple[str, ...]


@attrs.frozen(kw_only=True)
class PendingDue:
    """An obligation pending, and what set its due time: the ``rule`` that required it and
    the ``calendar`` it was counted on (``None``: calendar time, a plain duration or period),
    by name and ``calendar_identity``."""

    obligation: str
    key: str | None
    due: dt.datetime
    rule: str
    overdue: bool
    paused: bool
    calendar: str | None
    calendar_identity: str | None


@attrs.frozen(kw_only=True)
class WhyNot:
    """The answer to "why did ``rule`` not fire here?": whether it ``fired`` after all, and
    the ``reason``, which names the rule; ``condition``: the first condition that failed, when
    that is the reason."""

    rule: str
    fired: bool
    reason: str
    condition: CheckedCondition | None = None

    def __str__(self) -> str:
        return self.reason


@attrs.frozen(kw_only=True)
class Explanation:
    """Why the policy decided as it did on one fact about one escalation.

    ``line`` is the fact's place in the history (its line in a file, for the command line).
    ``known``: whether the engine knew the escalation (else the fact was matched as one about
    an escalation it does not know, on the fact's own fields). ``planning``: the fact types on
    which the plan is made. ``refused``: why the policy refused the fact, if it did (then
    nothing else was decided). ``matched`` and ``actions`` are the engine's own decision.
    """

    escalation_id: str
    line: int
    fact: Fact
    known: bool
    planning: tuple[str, ...]
    tables: tuple[CheckedTable, ...]
    reactions: tuple[CheckedReaction, ...]
    matched: tuple[str, ...]
    actions: tuple[Action, ...]
    pending_before: tuple[PendingDue, ...]
    pending_after: tuple[PendingDue, ...]
    kept_early: tuple[EarlyWork, ...] = ()
    """Work the fact did that met nothing now, kept for an obligation that counts work done a
    little before it is required (its ``early_grace``)."""
    met: tuple[Fulfilment, ...] = ()
    """What the fact met, each with the time it was met: that of the work done a little
    before, for an obligation the fact required that such work met at once (its
    ``early_grace``)."""
    context: Mapping[str, object] = attrs.field(factory=dict)
    """Every field the reactions could test on this fact, with its value."""
    refused: str | None = None
    held: bool = False
    """The fact is about an escalation not opened yet, and is held for the policy's opening
    grace for its opening to arrive: nothing is decided on it yet (its reactions show what
    would fire were it decided now, as one about an escalation the engine does not know)."""
    released: tuple[Fact, ...] = ()
    """At an opening: the facts held for it (the policy's opening grace), applied right after
    it, in order. Their actions are among :attr:`actions`, their rules among :attr:`matched`
    and :attr:`released_matched`."""
    released_matched: tuple[str, ...] = ()
    """The rules that fired on the :attr:`released` facts only, not on the opening itself."""
    file: str | None = None
    """The file the fact was read from, when the command line read it from one."""
    rules: tuple[str, ...] = ()
    """Every rule id the explanation answers for: each table's rows, each reaction."""
    policy: Policy | None = attrs.field(default=None, eq=False, repr=False)

    def why_not(self, rule: str) -> WhyNot:
        """Why ``rule`` (a reaction's id, a table row's ``table/row`` or a table's id) did or
        did not fire on this fact. A ``KeyError`` names close ids for an id the policy does
        not have."""
        if self.refused is not None:
            self._known_rule(rule)
            return WhyNot(
                rule=rule,
                fired=False,
                reason=f"{rule} did not fire: the policy refused the fact ({self.refused})",
            )
        if self.held:
            self._known_rule(rule)
            return WhyNot(
                rule=rule,
                fired=False,
                reason=f"{rule} did not fire: {self._what()} is held for the opening of "
                f"{self.escalation_id!r} (the policy's opening grace), and nothing is decided on "
                "it yet",
            )
        if rule in self.released_matched:
            released = ", ".join(f"{f.TYPE} ({f.at.isoformat()})" for f in self.released)
            return WhyNot(
                rule=rule,
                fired=True,
                reason=f"{rule} fired on a fact held for this opening and applied right after "
                f"it: {released}",
            )
        for reaction in self.reactions:
            if reaction.id == rule:
                return self._reaction(reaction)
        for table in self.tables:
            if table.id == rule:
                return self._table(table)
            prefix = f"{table.id}/"
            if rule.startswith(prefix):
                return self._row(table, rule)
        self._known_rule(rule)
        raise KeyError(f"no rule {rule!r}")  # pragma: no cover - every rule is listed

    def _known_rule(self, rule: str) -> None:
        known = [*self.rules, *(table.id for table in self.tables)]
        if rule not in known:
            raise KeyError(f"no rule {rule!r}{did_you_mean(rule, known)}")

    def _what(self) -> str:
        where = f"{self.file}:{self.line}" if self.file is not None else f"line {self.line}"
        return f"the {self.fact.TYPE} fact at {where}"

    def _reaction(self, reaction: CheckedReaction) -> WhyNot:
        rule = reaction.id
        if reaction.matched:
            return WhyNot(rule=rule, fired=True, reason=f"{rule} fired: every condition passed")
        if self.fact.TYPE not in reaction.on:
            return WhyNot(
                rule=rule,
                fired=False,
                reason=f"{rule} reacts to {', '.join(reaction.on)} facts, not to {self._what()}",
            )
        if not reaction.applies:
            which = "knows" if reaction.known else "does not know"
            now = "knows" if self.known else "does not know"
            return WhyNot(
                rule=rule,
                fired=False,
                reason=f"{rule} takes facts about escalations the engine {which}, and the "
                f"engine {now} {self.escalation_id!r} at {self._what()}",
            )
        failed = next(c for c in reaction.conditions if not c.passed)
        return WhyNot(
            rule=rule,
            fired=False,
            reason=f"{rule} did not fire on {self._what()}: {failed}",
            condition=failed,
        )

    def _not_consulted(self, rule: str, table: CheckedTable) -> WhyNot:
        why = (
            f"the engine does not know {self.escalation_id!r}"
            if not self.known and self.fact.TYPE in self.planning
            else f"the plan is made on {', '.join(self.planning)} facts"
        )
        return WhyNot(
            rule=rule,
            fired=False,
            reason=f"{rule} did not fire: the table {table.id} was not consulted on "
            f"{self._what()} ({why})",
        )

    def _table(self, table: CheckedTable) -> WhyNot:
        if not table.consulted:
            return self._not_consulted(table.id, table)
        won = [row.id for row in table.rows if row.won]
        return WhyNot(
            rule=table.id,
            fired=bool(won),
            reason=f"{table.id} gave its outputs from {', '.join(won)}"
            if won
            else f"{table.id}: no row matched",
        )

    def _row(self, table: CheckedTable, rule: str) -> WhyNot:
        if not table.consulted:
            self._known_rule(rule)
            return self._not_consulted(rule, table)
        for index, row in enumerate(table.rows):
            if row.id != rule:
                continue
            if row.won:
                return WhyNot(rule=rule, fired=True, reason=f"{rule} fired: every cell matched")
            if row.matched:
                first = next(r.id for r in table.rows[:index] if r.won)
                return WhyNot(
                    rule=rule,
                    fired=False,
                    reason=f"{rule} matched, but {first} above it matched first (hit policy "
                    f"{table.hit_policy})",
                )
            failed = next(c for c in row.cells if not c.passed)
            return WhyNot(
                rule=rule,
                fired=False,
                reason=f"{rule} did not match on {self._what()}: {failed}",
                condition=failed,
            )
        self._known_rule(rule)
        raise KeyError(f"no rule {rule!r}")  # pragma: no cover - every row is listed

    def to_json(self) -> dict[str, Any]:
        """The explanation as JSON-able data (the fact and actions as their JSON objects)."""
        converter = shared_converter(self.policy)
        return {
            "escalation_id": self.escalation_id,
            "file": self.file,
            "line": self.line,
            "fact": converter.unstructure(self.fact, Fact),
            "known": self.known,
            "refused": self.refused,
            "held": self.held,
            "released": [converter.unstructure(fact, Fact) for fact in self.released],
            "released_matched": list(self.released_matched),
            "context": {name: _json(value) for name, value in self.context.items()},
            "tables": [
                {
                    "id": table.id,
                    "hit_policy": table.hit_policy,
                    "consulted": table.consulted,
                    "inputs": {name: _json(value) for name, value in table.inputs.items()},
                    "rows": [
                        {
                            "id": row.id,
                            "matched": row.matched,
                            "won": row.won,
                            "cells": [condition_json(cell) for cell in row.cells],
                        }
                        for row in table.rows
                    ],
                    "outputs": {name: _json(value) for name, value in table.outputs.items()},
                }
                for table in self.tables
            ],
            "reactions": [
                {
                    "id": reaction.id,
                    "on": list(reaction.on),
                    "applies": reaction.applies,
                    "matched": reaction.matched,
                    "conditions": [condition_json(c) for c in reaction.conditions],
                    "effects": list(reaction.effects),
                }
                for reaction in self.reactions
            ],
            "matched": list(self.matched),
            "actions": [converter.unstructure(action, Action) for action in self.actions],
            "pending_before": [_pending_json(p) for p in self.pending_before],
            "pending_after": [_pending_json(p) for p in self.pending_after],
            "kept_early": [
                {"obligation": kept.obligation, "key": kept.key, "at": kept.at.isoformat()}
                for kept in self.kept_early
            ],
            "met": [
                {
                    "obligation": met.obligation,
                    "key": met.key,
                    "due": met.due.isoformat(),
                    "at": met.at.isoformat(),
                    "rule": met.rule,
                }
                for met in self.met
            ],
        }


def condition_json(condition: CheckedCondition) -> dict[str, Any]:
    return {
        "field": condition.field,
        "value": _json(condition.value),
        "expected": condition.expected,
        "passed": condition.passed,
        "implied": condition.implied,
    }


def _pending_json(pending: PendingDue) -> dict[str, Any]:
    return {
        "obligation": pending.obligation,
        "key": pending.key,
        "due": pending.due.isoformat(),
        "rule": pending.rule,
        "overdue": pending.overdue,
        "paused": pending.paused,
        "calendar": pending.calendar,
        "calendar_identity": pending.calendar_identity,
    }


def _json(value: object) -> object:
    """A value as JSON holds it: a value's text, a list, seconds for a duration, a period's
    text."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list, frozenset)):
        return [_json(item) for item in value]
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Period):
        return value.text
    if isinstance(value, BusinessTime):
        return value.written(f"{value.duration.total_seconds():g}s")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _shown(value: object) -> str:
    if value is None:
        return "not set"
    return repr(_json(value))


# ------------------------------------------------------------------------------- the recording
class _Recorder:
    """A matcher that answers as the native one does, and notes what the core asked it about
    one fact: the plan's inputs and the context its reactions were matched against."""

    def __init__(self, policy: Policy, fact: Fact) -> None:
        self._policy = policy
        self._fact = fact
        self._inner = NativeMatcher(policy)
        self.plan_inputs: dict[int, dict[str, object]] | None = None
        self._inputs: dict[int, dict[str, object]] = {}
        self.planned: Plan | None = None
        self.context: dict[str, object] | None = None
        self.known = True

    def plan(self, base: Mapping[str, object]) -> Plan:
        recording = self.planned is None
        plan = evaluate_plan(self._policy, self, base)
        if recording:
            self.planned, self.plan_inputs = plan, self._inputs
        return plan

    def table_rows(self, index: int, inputs: Mapping[str, object]) -> Sequence[int]:
        if self.planned is None:
            self._inputs[index] = dict(inputs)
        return self._inner.table_rows(index, inputs)

    def reactions(self, fact_type: str, context: Mapping[str, object]) -> Sequence[int]:
        return self._inner.reactions(fact_type, context)

    def reactions_about_unknown(
        self, fact_type: str, context: Mapping[str, object]
    ) -> Sequence[int]:
        if self.context is None or not self.known:
            self.context, self.known = dict(context), False  # its own comes last
        return self._inner.reactions_about_unknown(fact_type, context)

    def generated(self, fact_type: str) -> None:
        return None  # what matched is seen in reactions_for

    def reactions_for(self, fact_type: str, situation: Situation) -> Sequence[int]:
        context = self._policy.context.context_of(fact_type, situation)
        if situation.fact is self._fact and (self.context is None or not self.known):
            self.context, self.known = context, True
        return self._inner.reactions(fact_type, context)


# ------------------------------------------------------------------------------ the explanation
def _expected(condition: Condition | None, cell: object = None) -> str:
    if condition is None:
        return "any value"
    values = sorted((_shown(value) for value in condition.values), key=str)
    if isinstance(cell, (OneOf, NoneOf)) or len(values) > 1:
        listed = "one of " + ", ".join(values)
    else:
        listed = values[0]
    return f"not {listed}" if condition.negated else listed


def _check(condition: Condition, context: Mapping[str, object], implied: bool = False) -> Any:
    return CheckedCondition(
        field=condition.field,
        value=context.get(condition.field),
        expected=_expected(condition),
        passed=condition.matches(context),
        implied=implied,
    )


def _unconsulted(policy: Policy) -> tuple[CheckedTable, ...]:
    return tuple(
        CheckedTable(id=c.table.id, hit_policy=c.table.hit_policy.value, consulted=False)
        for c in policy.tables
    )


def _tables(policy: Policy, recorder: _Recorder) -> tuple[CheckedTable, ...]:
    checked = []
    inputs_of = recorder.plan_inputs
    plan = recorder.planned
    for index, compiled in enumerate(policy.tables):
        table = compiled.table
        if inputs_of is None or plan is None or index not in inputs_of:
            checked.append(
                CheckedTable(id=table.id, hit_policy=table.hit_policy.value, consulted=False)
            )
            continue
        inputs = inputs_of[index]
        rows = []
        winners: list[int] = []
        for number, conditions in enumerate(compiled.conditions):
            by_field = {condition.field: condition for condition in conditions}
            cells = tuple(
                CheckedCondition(
                    field=field,
                    value=inputs.get(field),
                    expected=_expected(by_field.get(field), table.rows[number].when.get(field)),
                    passed=field not in by_field or by_field[field].matches(inputs),
                )
                for field in table.inputs
            )
            matched = all(cell.passed for cell in cells)
            if matched and (table.hit_policy is HitPolicy.COLLECT or not winners):
                winners.append(number)
            rows.append((number, cells, matched))
        outputs: dict[str, object] = {
            field: plan.values.get(field) for field in table.outputs if field in plan.values
        }
        checked.append(
            CheckedTable(
                id=table.id,
                hit_policy=table.hit_policy.value,
                consulted=True,
                inputs={field: scalar(value) for field, value in inputs.items()},
                rows=tuple(
                    CheckedRow(
                        id=compiled.row_ids[number],
                        cells=cells,
                        matched=matched,
                        won=number in winners,
                    )
                    for number, cells, matched in rows
                ),
                outputs=outputs,
            )
        )
    return tuple(checked)


def _reactions(
    policy: Policy, recorder: _Recorder, fact: Fact, held: bool
) -> tuple[CheckedReaction, ...]:
    context = recorder.context or {}
    compilations: dict[str, list[CompiledReaction]] = {}
    for compiled in policy.reactions:
        compilations.setdefault(compiled.reaction.id, []).append(compiled)
    checked = []
    for rule, each in compilations.items():
        reaction = each[0].reaction
        applying = [
            compiled
            for compiled in each
            if fact.TYPE in compiled.types and compiled.known == recorder.known
        ]
        conditions: tuple[CheckedCondition, ...] = ()
        if applying:
            conditions = tuple(
                _check(
                    condition,
                    context,
                    implied=condition.field == "in_scope" and "in_scope" not in reaction.when,
                )
                for condition in applying[0].conditions
            )
        checked.append(
            CheckedReaction(
                id=rule,
                on=tuple(sorted(each[0].types)),
                known=any(compiled.known for compiled in each),
                unknown=any(not compiled.known for compiled in each),
                applies=bool(applying),
                conditions=conditions,
                matched=bool(applying) and not held and all(c.passed for c in conditions),
                effects=tuple(type(effect).__name__ for effect in reaction.then),
            )
        )
    return tuple(checked)


def _pending(state: EscalationState | None) -> tuple[PendingDue, ...]:
    if state is None:
        return ()
    return tuple(
        PendingDue(
            obligation=pending.obligation,
            key=pending.key,
            due=pending.due,
            rule=pending.rule,
            overdue=pending.overdue,
            paused=pending.paused_left is not None,
            calendar=state.calendar if pending.period is not None else None,
            calendar_identity=state.calendar_identity if pending.period is not None else None,
        )
        for pending in state.pending
    )


def target_of(
    numbered: Iterable[tuple[int, Fact | InputError]],
    escalation_id: str | None,
    *,
    line: int | None = None,
    at: dt.datetime | None = None,
) -> tuple[int, str]:
    """The line of the fact to explain and its escalation: the fact at ``line``, or the last
    fact about ``escalation_id`` at or before ``at``. An :class:`InputError` if there is
    none."""
    if (line is None) == (at is None):
        raise InvalidFactError("expected a line or a time, not both or neither", path="line")
    found: int | None = None
    for number, item in numbered:
        if line is not None:
            if number != line:
                continue
            if isinstance(item, InputError):
                where = f" @ {item.path}" if item.path else ""
                raise InvalidFactError(
                    f"line {line} holds no fact: {item.reason}{where}", path="line"
                ) from None
            if not isinstance(item, EscalationFact):
                raise InvalidFactError(
                    f"line {line} holds a {item.TYPE!r} fact, expected a fact about one escalation",
                    path="line",
                )
            if escalation_id is not None and item.escalation_id != escalation_id:
                raise InvalidFactError(
                    f"line {line} is a fact about {item.escalation_id!r}, not {escalation_id!r}",
                    path="line",
                )
            return line, item.escalation_id
        if (
            isinstance(item, EscalationFact)
            and item.escalation_id == escalation_id
            and at is not None
        ):
            if item.at > at:
                break
            found = number
    if line is not None:
        raise InvalidFactError(f"got line {line}, which holds no fact of the history", path="line")
    if found is None or escalation_id is None:
        shown = at.isoformat() if at is not None else ""
        raise InvalidFactError(
            f"no fact about {escalation_id!r} at or before {shown} in the history",
            path="escalation_id",
        )
    return found, escalation_id


def explain_numbered(
    policy: Policy,
    numbered: Iterable[tuple[int, Fact | InputError]],
    line: int,
) -> Explanation:
    """The explanation of the fact at ``line`` of ``numbered`` (line, fact or why there is
    none): every fact before it replayed (those the policy refuses skipped, as the audit's
    ``--keep-going`` does), then it decided and explained."""
    engine = PolicyEngine(policy)
    for number, item in numbered:
        if number < line:
            if isinstance(item, InputError):
                continue
            try:
                engine.handle(item)
            except InputError:
                continue
            continue
        if number != line or not isinstance(item, EscalationFact):
            break
        return _explained(policy, engine, item, line)
    raise InvalidFactError(f"got line {line}, which holds no fact of the history", path="line")


def _explained(
    policy: Policy, engine: PolicyEngine, fact: EscalationFact, line: int
) -> Explanation:
    escalation_id = fact.escalation_id
    before = engine.escalation(escalation_id)
    planning = tuple(sorted(policy.planning))
    try:
        decision = engine.handle(fact)
    except InputError as error:
        return Explanation(
            escalation_id=escalation_id,
            line=line,
            fact=fact,
            known=before is not None,
            planning=planning,
            reactions=(),
            matched=(),
            actions=(),
            pending_before=_pending(before),
            pending_after=_pending(before),
            refused=str(error),
            rules=tuple(policy.rules),
            tables=_unconsulted(policy),
            policy=policy,
        )
    recorder = _Recorder(policy, fact)
    record = Record.thaw(before) if before is not None else None
    _core.decide(policy, recorder, record, fact)
    after = engine.escalation(escalation_id)
    held = after is not None and after.status == AWAITING_OPENING and fact in after.held
    released: tuple[Fact, ...] = ()
    if before is not None and before.status == AWAITING_OPENING and not held:
        released = tuple(before.held)
    reactions = _reactions(policy, recorder, fact, held)
    tables = _tables(policy, recorder)
    own = {r.id for r in reactions if r.matched}
    own |= {row.id for table in tables for row in table.rows if row.won}
    return Explanation(
        escalation_id=escalation_id,
        line=line,
        fact=fact,
        known=recorder.known,
        planning=planning,
        tables=tables,
        reactions=reactions,
        matched=decision.matched,
        released=released,
        released_matched=tuple(rule for rule in decision.matched if rule not in own)
        if released
        else (),
        actions=decision.actions,
        pending_before=_pending(before),
        pending_after=_pending(after),
        met=decision.fulfilled,
        kept_early=tuple(
            work
            for work in (after.early_work if after is not None else ())
            if work.at == fact.at and work not in (before.early_work if before is not None else ())
        ),
        context=dict(recorder.context or {}),
        held=held,
        rules=tuple(policy.rules),
        policy=policy,
    )


def explain(
    facts: Iterable[Fact | Mapping[str, Any]],
    escalation_id: str | None = None,
    *,
    line: int | None = None,
    at: dt.datetime | None = None,
    policy: Policy | None = None,
) -> Explanation:
    """Why the policy decided as it did on one fact of a history: the fact at ``line`` (its
    place among ``facts``, from 1), or the last fact about ``escalation_id`` at or before
    ``at``.

    ``facts`` are fact objects or their JSON objects, in time order; a fact the policy refuses
    before the one explained is skipped. The :class:`Explanation` gives the values each
    decision table read and the row that matched, each reaction's conditions with the value
    tested and whether it passed, the obligations pending before and after, and the calendar
    that set each due time; :meth:`Explanation.why_not` says why a rule did not fire. Raises
    an :class:`~escalation_policy.errors.InputError` if there is no such fact.
    """
    chosen = policy or default_policy()
    numbered: list[tuple[int, Fact | InputError]] = []
    for number, item in enumerate(facts, start=1):
        if isinstance(item, Fact):
            numbered.append((number, item))
            continue
        try:
            numbered.append((number, read_fact(item, chosen)))
        except InputError as error:
            numbered.append((number, error))
    target, _ = target_of(numbered, escalation_id, line=line, at=at)
    return explain_numbered(chosen, numbered, target)
