"""The engine's working copy of one escalation: a mutable record, and its frozen form.

The core changes a record in place; hosts only ever see the frozen
:class:`~escalation_policy.EscalationState`.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from escalation_policy._codegen import generate
from escalation_policy.model import Cadence, Role, Segment, Severity, Status, Team
from escalation_policy.state import EscalationState, PendingObligation, is_settled, next_due_of

__all__ = ["FIELDS", "Record"]


class Record:
    """A mutable working copy of one escalation's state: what the core changes in place.

    The engine keeps one per escalation and hands the core a :meth:`copy` per fact, swapped in
    only once the fact applied in full: a fact that fails leaves the engine as it was. Hosts
    only ever see the immutable :class:`EscalationState` (:meth:`freeze`). ``next_due`` is kept
    current by :meth:`refresh`, so that the engine and the core never recompute it.
    """

    __slots__ = (*(field.name for field in attrs.fields(EscalationState)), "next_due")

    # Declared for type checkers; tests/test_engine.py keeps them the state's fields exactly.
    escalation_id: str
    customer: str
    segment: Segment
    severity: Severity
    strategic_partnership: bool
    broad_impact: bool
    initiated_by: Team
    opened_by: str | None
    tam: str | None
    issue_type: str | None
    summary: str | None
    opened_at: dt.datetime
    clock: dt.datetime
    status: Status
    in_scope: bool
    owner: Team | None
    cadence: Cadence | None
    involvement: tuple[Role, ...]
    pending: list[PendingObligation]
    done: Mapping[str, str]
    engagement_status: str | None
    milestones: tuple[str, ...]
    severity_changes: int
    closed_at: dt.datetime | None
    retain_until: dt.datetime | None
    next_due: dt.datetime | None

    @classmethod
    def thaw(cls, state: EscalationState) -> "Record":
        record: Record = _THAW(state)
        return record

    def freeze(self) -> EscalationState:
        state: EscalationState = _FREEZE(self)
        return state

    def copy(self) -> "Record":
        record: Record = _COPY(self)
        return record

    def refresh(self) -> None:
        self.next_due = next_due_of(self.pending, self.retain_until)

    @property
    def settled(self) -> bool:
        return is_settled(self.status, self.pending, self.retain_until, self.clock)


def _generated(name: str, body: list[str]) -> Any:
    """A function unrolled over the state's field names (generated from those names only)."""
    namespace: dict[str, Any] = {
        "new_record": Record.__new__,
        "Record": Record,
        "EscalationState": EscalationState,
    }
    return generate([f"def {name}(source):", *body], namespace, f"record {name}")


# Copies between the frozen state and records, one statement per field: these run per fact,
# and unrolled they cost a fraction of attrs.evolve or a loop over the fields.
FIELDS = [field.name for field in attrs.fields(EscalationState)]
_COPY = _generated(
    "copy",
    [
        "    new = new_record(Record)",
        *(f"    new.{name} = source.{name}" for name in FIELDS if name != "pending"),
        "    new.pending = list(source.pending)",
        "    new.next_due = source.next_due",
        "    return new",
    ],
)
_THAW = _generated(
    "thaw",
    [
        "    new = new_record(Record)",
        *(f"    new.{name} = source.{name}" for name in FIELDS if name != "pending"),
        "    new.pending = list(source.pending)",
        "    new.refresh()",
        "    return new",
    ],
)
_FREEZE = _generated(
    "freeze",
    [
        "    return EscalationState(",
        *(f"        {name}=source.{name}," for name in FIELDS if name != "pending"),
        "        pending=tuple(source.pending),",
        "    )",
    ],
)
