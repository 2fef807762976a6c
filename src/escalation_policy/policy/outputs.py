"""The plan outputs: those the engine itself reads, the value sets they hold, and the checks
that the tables produce each declared output with a value of the kind the engine expects."""

import datetime as dt
import enum
from collections.abc import Mapping, Sequence

from escalation_policy.errors import PolicyDefinitionError
from escalation_policy.policy.compiled import CompiledTable
from escalation_policy.policy.locations import where
from escalation_policy.vocabulary import (
    DecisionTable,
)

# The plan outputs the engine itself reads, by the names the core reads them by.
IN_SCOPE = "in_scope"
OUT_OF_SCOPE_REASON = "out_of_scope_reason"
OWNER = "owner"
CADENCE = "cadence"
INVOLVEMENT = "involvement"
EXTRA_INVOLVEMENT = "extra_involvement"

ENGINE_OUTPUTS: Mapping[str, str] = {
    IN_SCOPE: "bool: the escalation follows this process",
    OUT_OF_SCOPE_REASON: "text or null: why it does not",
    OWNER: "one of the policy's teams: who owns the escalation and acts on its obligations",
    CADENCE: "one of the policy's cadences: of meetings and customer communication",
    INVOLVEMENT: "a tuple of the policy's roles: who is kept aware",
    EXTRA_INVOLVEMENT: "a tuple of roles: added to the involvement (optional)",
}
"""The plan outputs the engine itself uses, with what each holds; a policy declares its others
in ``OUTPUTS``."""

REQUIRED_OUTPUTS = (IN_SCOPE, OWNER, CADENCE, INVOLVEMENT)
"""The engine's outputs every policy's tables must produce."""

_VALUE_SETS: Mapping[str, tuple[str, str]] = {
    OWNER: (OWNER, "teams"),
    CADENCE: (CADENCE, "cadences"),
    INVOLVEMENT: ("roles", "roles"),
    EXTRA_INVOLVEMENT: ("roles", "roles"),
}
"""The engine's outputs that hold values of one of the policy's value sets: the value set's
key (the outputs of involvement share the roles) and what the policy's values are."""


def output_value_sets(
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
            for output, (key, wording) in _VALUE_SETS.items():
                if output not in then:
                    continue
                value = then[output]
                values = value if isinstance(value, tuple) else (value,)
                for item in values:
                    kind = type(item) if isinstance(item, enum.Enum) else None
                    if kind is None:
                        expected = "a tuple of values" if key == "roles" else "a value"
                        raise PolicyDefinitionError(
                            f"output {output}: got {value!r}, expected {expected} of an "
                            f"enumeration (the policy's {wording})",
                            module=module,
                            rule=f"{table.id}/{row.id}",
                            **where(row),
                        )
                    known = found.setdefault(key, kind)
                    if known is not kind:
                        raise PolicyDefinitionError(
                            f"output {output}: got {item!r}, a {kind.__name__}, but other rows "
                            f"give {known.__name__ if known else None} values",
                            module=module,
                            rule=f"{table.id}/{row.id}",
                            **where(row),
                        )
    return found


def check_outputs_produced(
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


def check_output(field: str, value: object, module: str, rule: str) -> None:
    """The engine's outputs hold what the engine expects; a duration is positive."""

    def bad(expected: str) -> PolicyDefinitionError:
        return PolicyDefinitionError(
            f"output {field}: got {value!r}, expected {expected}", module=module, rule=rule
        )

    if field == IN_SCOPE and not isinstance(value, bool):
        raise bad("True or False")
    if field in ("description",) and not isinstance(value, str):
        raise bad("text")
    if field == OUT_OF_SCOPE_REASON and not (value is None or isinstance(value, str)):
        raise bad("text or None")
    if field in (OWNER, CADENCE) and not isinstance(value, enum.Enum):
        raise bad("a value of an enumeration, e.g. Team.TAM")
    if field in (INVOLVEMENT, EXTRA_INVOLVEMENT) and not (
        isinstance(value, tuple) and all(isinstance(role, enum.Enum) for role in value)
    ):
        raise bad("a tuple of values, e.g. (Role.CEO, Role.CRO)")
    if isinstance(value, dt.timedelta) and value <= dt.timedelta(0):
        raise bad("a positive duration")
