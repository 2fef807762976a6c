"""What the rules of one policy may name, and the checks every table and reaction shares: a
rule's header, a field it names, and one condition cell compiled."""

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from escalation_policy._language.context import scalar
from escalation_policy.errors import PolicyDefinitionError, did_you_mean
from escalation_policy.policy.compiled import Condition
from escalation_policy.policy.terms import Terms
from escalation_policy.vocabulary import (
    AnyValue,
    DecisionTable,
    NoneOf,
    OneOf,
    Reaction,
)

RULE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
"""A table's or reaction's id: a dotted lower-case name."""
ROW_ID = re.compile(r"^[a-z0-9_]+$")
"""A row's, an obligation's or an output's name: lower-case letters, digits, underscores."""


@attrs.frozen
class Scope:
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


def check_header(item: DecisionTable | Reaction, module: str, cite: Any) -> None:
    if not isinstance(item.id, str) or not RULE_ID.match(item.id):
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


def compile_cell(
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


def check_field(field: object, known: Iterable[str], module: str, rule: str, what: str) -> str:
    known = list(known)
    if not isinstance(field, str) or field not in known:
        raise PolicyDefinitionError(
            f"unknown {what} {field!r}{did_you_mean(field, known)}; known: {', '.join(known)}",
            module=module,
            rule=rule,
        )
    return field
