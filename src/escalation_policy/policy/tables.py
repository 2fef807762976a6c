"""Decision tables compiled: each row's cells, and the checks its hit policy asks for (no
overlap, no hidden row, every input covered), exact over finitely many cases; then the
tables in dependency order."""

import collections
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from escalation_policy.errors import PolicyDefinitionError
from escalation_policy.policy.compiled import CompiledTable, Condition, RuleInfo, RuleKind
from escalation_policy.policy.locations import declared_at, where
from escalation_policy.policy.outputs import REQUIRED_OUTPUTS, check_output
from escalation_policy.policy.scope import ROW_ID, Scope, check_field, check_header, compile_cell
from escalation_policy.vocabulary import (
    DecisionTable,
    HitPolicy,
    Row,
)


def compile_table(
    table: DecisionTable, module: str, register: Any, cite: Any, scope: Scope
) -> CompiledTable:
    check_header(table, module, cite)
    if not isinstance(table.hit_policy, HitPolicy):
        raise PolicyDefinitionError(
            f"hit_policy is {table.hit_policy!r}, expected HitPolicy.UNIQUE, FIRST or COLLECT",
            module=module,
            rule=table.id,
        )
    known_inputs = list(dict.fromkeys([*scope.domains, *scope.outputs]))
    for field in table.inputs:
        check_field(field, known_inputs, module, table.id, "input")
    for field in table.outputs:
        check_field(field, scope.outputs, module, table.id, "output")
    row_ids: list[str] = []
    conditions: list[tuple[Condition, ...]] = []
    for row in table.rows:
        if not isinstance(row, Row):
            raise PolicyDefinitionError(
                f"rows holds {row!r}, expected Row objects", module=module, rule=table.id
            )
        with declared_at(row):
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
    table: DecisionTable, row: Row, module: str, register: Any, cite: Any, scope: Scope
) -> tuple[Condition, ...]:
    full_id = f"{table.id}/{row.id}"
    if not isinstance(row.id, str) or not ROW_ID.match(row.id):
        raise PolicyDefinitionError(
            f"row id {row.id!r} is not a lower-case name", module=module, rule=full_id
        )
    for field in row.when:
        check_field(field, table.inputs, module, full_id, "input")
    missing = [field for field in table.inputs if field not in row.when]
    if missing:
        raise PolicyDefinitionError(
            f"no cell for input {missing[0]!r} (use ANY for 'any value')",
            module=module,
            rule=full_id,
        )
    for field in row.then:
        check_field(field, table.outputs, module, full_id, "output")
    for field in table.outputs:
        if field not in row.then:
            raise PolicyDefinitionError(
                f"no value for output {field!r}", module=module, rule=full_id
            )
        check_output(field, row.then[field], module, full_id)
    cells = [
        compile_cell(field, row.when[field], module, full_id, scope.domain(field))
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
            kind=RuleKind.ROW,
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

    def __init__(self, compiled: CompiledTable, scope: Scope) -> None:
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
    admitted = [[frozenset(cell) for cell in row] for row in cases.admitted]
    for i, j in itertools.combinations(range(len(compiled.conditions)), 2):
        if all(
            not first.isdisjoint(second)
            for first, second in zip(admitted[i], admitted[j], strict=True)
        ):
            raise PolicyDefinitionError(
                f"rows {compiled.row_ids[i]!r} and {compiled.row_ids[j]!r} overlap, and the hit "
                "policy UNIQUE allows one matching row for every input",
                module=compiled.module,
                rule=table.id,
                **where(table.rows[j]),
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
                **where(compiled.table.rows[row]),
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


def dependency_order(tables: list[CompiledTable], scope: Scope) -> list[CompiledTable]:
    producer: dict[str, CompiledTable] = {}
    for compiled in tables:
        for field in compiled.table.outputs:
            if field in producer:
                raise PolicyDefinitionError(
                    f"output {field!r} is produced by {producer[field].table.id!r} already; "
                    "each output comes from one table",
                    module=compiled.module,
                    rule=compiled.table.id,
                    **where(compiled.table),
                )
            producer[field] = compiled
    missing = sorted(set(REQUIRED_OUTPUTS) - producer.keys())
    if missing:
        raise PolicyDefinitionError(
            f"no table produces {', '.join(missing)}; "
            f"the policy needs {', '.join(sorted(REQUIRED_OUTPUTS))}"
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
                **where(compiled.table),
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
                    **where(compiled.table),
                )
            if field not in attributes:
                raise PolicyDefinitionError(
                    f"input {field!r} is not an attribute of the escalation; a table reads "
                    f"{', '.join(sorted(attributes))} or another table's outputs",
                    module=compiled.module,
                    rule=compiled.table.id,
                    **where(compiled.table),
                )
    return ordered


def plan_inputs_of(tables: Sequence[CompiledTable], scope: Scope) -> tuple[str, ...]:
    """The escalation's attributes the tables read (inputs no table produces), in the order
    the context declares them."""
    produced = {field for compiled in tables for field in compiled.table.outputs}
    read = {field for compiled in tables for field in compiled.table.inputs} - produced
    return tuple(field for field in scope.domains if field in read)
