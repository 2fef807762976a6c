"""What a reaction's conditions test: the context of one fact, read from its situation.

The *situation* is what the core knows when a fact applies: the policy, the escalation's
record (the fact's own changes applied, no rule's yet), the fact, the status and severity
before it, and the owner and cadence as planned. :data:`READS` says how each field of
``vocabulary.CONTEXT_FIELDS`` is read from it; the full context (for matching) and the native
matcher's memo keys (only the fields a fact type's reactions test) are both generated from
it, so the two cannot disagree.
"""

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from escalation_policy._codegen import generate
from escalation_policy.vocabulary import CONTEXT_FIELDS, FACT_FIELDS

if TYPE_CHECKING:
    from escalation_policy._record import Record
    from escalation_policy.model import Cadence, EscalationFact, Severity, Team
    from escalation_policy.policy import Policy
    from escalation_policy.vocabulary import Status

__all__ = ["READS", "Situation", "context_of", "fields_for", "key_reader"]

Situation = tuple[
    "Policy", "Record", "EscalationFact", "Status", "Severity", "Team | None", "Cadence | None"
]
"""(policy, record, fact, status before, severity before, owner, cadence)."""

_PARAMETERS = "policy, record, fact, status_before, severity_before, owner, cadence"

READS: dict[str, str] = {
    "severity": "record.severity._value_",
    "previous_severity": "severity_before._value_",
    "segment": "record.segment._value_",
    "strategic_partnership": "record.strategic_partnership",
    "broad_impact": "record.broad_impact",
    "initiated_by": "record.initiated_by._value_",
    "issue_type": "record.issue_type",
    "in_scope": "record.in_scope",
    "owner": "None if owner is None else owner._value_",
    "cadence": "None if cadence is None else cadence._value_",
    "status": "status_before._value_",
    "tam_assigned": "record.tam is not None",
    "purpose": "fact.purpose._value_",
    "by": "fact.by._value_",
    "escalation_channel": "policy.is_escalation_channel(fact.channel)",
    "by_owner": "fact.by is record.owner",
    "audience": "fact.audience._value_",
    "kind": "fact.kind._value_",
}
"""Each context field as a Python expression over the situation; ``None`` means absent."""

_SPECIFIC = frozenset(field for fields in FACT_FIELDS.values() for field in fields)


def fields_for(fact_type: str) -> tuple[str, ...]:
    """The context fields a fact of this type has (``vocabulary.FACT_FIELDS``)."""
    own = FACT_FIELDS.get(fact_type, frozenset())
    return tuple(field for field in CONTEXT_FIELDS if field not in _SPECIFIC or field in own)


def context_of(fact_type: str, situation: Situation) -> dict[str, object]:
    """The flat record a fact's reactions are matched against; absent fields are left out."""
    build: Callable[..., dict[str, object]] = _builder(fields_for(fact_type))
    return build(*situation)


@functools.cache
def key_reader(fields: tuple[str, ...]) -> Callable[..., tuple[object, ...]]:
    """A function from a situation's parts to the tuple of these fields' values (``None``:
    absent): what ``context_of(...).get(field)`` gives for each, without building the context.
    Generated once per field list (from :data:`READS` only)."""
    values = "".join(f"{READS[field]}, " for field in fields)
    key: Callable[..., tuple[object, ...]] = _compiled(
        [f"def key({_PARAMETERS}):", f"    return ({values})"]
    )
    return key


@functools.cache
def _builder(fields: tuple[str, ...]) -> Callable[..., dict[str, object]]:
    lines = [f"def build({_PARAMETERS}):", "    context = {}"]
    for field in fields:
        lines += [
            f"    value = {READS[field]}",
            "    if value is not None:",
            f"        context[{field!r}] = value",
        ]
    build: Callable[..., dict[str, object]] = _compiled([*lines, "    return context"])
    return build


def _compiled(lines: list[str]) -> Any:
    return generate(lines, {}, "context reader")
