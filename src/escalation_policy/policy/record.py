"""The engine's working copy of one escalation: a mutable record, and its frozen form.

The core changes a record in place; hosts only ever see the frozen
:class:`~escalation_policy.EscalationState`. A policy's escalations carry its own attributes
(the fields of its opening fact, and those its facts set): :func:`record_kind` derives, for
each policy, a record class and a state class with a slot for each, and the functions between
them, generated once per policy.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import attrs

from escalation_policy._language.codegen import generate
from escalation_policy._language.frozen import build_lines, quick_init
from escalation_policy.model import ACTIVE, AWAITING_OPENING, EscalationFact, Fact
from escalation_policy.state import (
    NOTHING_DONE,
    EarlyWork,
    EscalationState,
    PendingObligation,
    is_settled,
    next_due_of,
)

__all__ = ["CORE_FIELDS", "RARELY_SET", "Record", "RecordKind", "record_kind"]

CORE_FIELDS = tuple(field.name for field in attrs.fields(EscalationState))
"""The fields every escalation has, whatever the policy."""


class Rarely(NamedTuple):
    """The fields of a record that most open escalations never set: they are kept together,
    and every record that has not set any shares :data:`QUIET`. Never changed: a record that
    sets one gets one of its own (``_replace``)."""

    closed_at: dt.datetime | None = None
    retain_until: dt.datetime | None = None
    paused_since: dt.datetime | None = None
    paused_for: dt.timedelta = dt.timedelta(0)
    paused_open_for: dt.timedelta = dt.timedelta(0)
    held: tuple[Fact, ...] = ()


RARELY_SET = Rarely._fields
new_tuple = tuple.__new__
"""The fields of a record kept in its :class:`Rarely` (``record.rarely``)."""

QUIET = Rarely()
"""What an escalation that was never closed, paused or held has in those fields (shared)."""


class Record:
    """A mutable working copy of one escalation's state: what the core changes in place.

    The engine keeps one per escalation. The core checks a fact in full before it changes the
    record in place; where it cannot (an opening, a closed escalation time may settle), it is
    handed a :meth:`copy`, swapped in only once the fact applied in full: either way a fact
    that fails leaves the engine as it was. Hosts
    only ever see the immutable :class:`EscalationState` (:meth:`freeze`). ``next_due`` is kept
    current by :meth:`refresh`, so that the engine and the core never recompute it. Each
    policy's records are of a subclass with a slot for each of its attributes. The fields of
    :class:`Rarely` (a closing, a pause, facts held) are read and set as the
    others, but kept in one slot that records share until they set one: an open escalation is
    smaller.
    """

    __slots__ = (*(name for name in CORE_FIELDS if name not in RARELY_SET), "rarely", "next_due")

    # Declared for type checkers; tests/test_engine.py keeps them the state's fields exactly.
    escalation_id: str
    opened_at: dt.datetime
    clock: dt.datetime
    status: str
    in_scope: bool
    owner: Any
    cadence: Any
    involvement: tuple[Any, ...]
    pending: list[PendingObligation]
    done: Mapping[str, tuple[str, ...]]
    closed_at: dt.datetime | None
    retain_until: dt.datetime | None
    calendar: str | None
    calendar_identity: str | None
    paused_since: dt.datetime | None
    paused_for: dt.timedelta
    paused_open_for: dt.timedelta
    held: tuple[Fact, ...]
    early_work: tuple[EarlyWork, ...]
    next_due: dt.datetime | None
    rarely: Rarely

    KIND: ClassVar["RecordKind"]

    @classmethod
    def thaw(cls, state: EscalationState) -> "Record":
        """The working copy of ``state`` (of a policy's state class)."""
        kind: RecordKind = getattr(type(state), "KIND")  # noqa: B009  # set by record_kind
        record: Record = kind.thaw(state)
        return record

    def freeze(self) -> EscalationState:
        state: EscalationState = self.KIND.freeze(self)
        return state

    def copy(self) -> "Record":
        record: Record = self.KIND.copy(self)
        return record

    def refresh(self) -> None:
        self.next_due = next_due_of(self.pending, self.rarely.retain_until)

    @property
    def settled(self) -> bool:
        rarely = self.rarely
        return is_settled(self.status, self.pending, rarely.retain_until, self.clock, rarely.held)


def _rarely_set(name: str) -> property:
    """The field ``name`` of a record's :class:`Rarely`, read and set as its own."""
    index = RARELY_SET.index(name)

    def get_field(record: Record) -> Any:
        return record.rarely[index]  # by index: the interpreter's quickest read of a tuple

    def set_field(record: Record, value: Any) -> None:
        rarely = record.rarely  # a new tuple of the class, as _replace makes it, quicker
        record.rarely = new_tuple(Rarely, (*rarely[:index], value, *rarely[index + 1 :]))

    return property(get_field, set_field)


for _name in RARELY_SET:
    setattr(Record, _name, _rarely_set(_name))
del _name


@attrs.frozen
class RecordKind:
    """One policy's escalations: their record and state classes, and the generated functions
    that copy between them and open a record from the opening fact."""

    attributes: tuple[str, ...]
    record: type[Record]
    state: type[EscalationState]
    copy: Any
    thaw: Any
    freeze: Any
    open: Any  # (fact, in_scope) -> Record

    def awaiting(self, fact: EscalationFact) -> Record:
        """A record of an escalation not opened yet, holding nothing yet: its status
        ``awaiting_opening``, every attribute unset."""
        record = self.blank()
        record.escalation_id = fact.escalation_id
        record.opened_at = record.clock = fact.at
        record.status = AWAITING_OPENING
        return record

    def blank(self) -> Record:
        """A record of no escalation: every attribute unset, nothing pending. What computed
        context fields read for a fact about an escalation the engine does not know."""
        record: Record = self.record.__new__(self.record)
        for name in (*CORE_FIELDS, *self.attributes, "next_due"):
            if name not in RARELY_SET:
                setattr(record, name, None)
        record.pending = []
        record.involvement = ()
        record.done = NOTHING_DONE
        record.in_scope = False
        record.early_work = ()
        record.rarely = QUIET
        return record


def record_kind(
    opening: type[EscalationFact], attributes: Mapping[str, tuple[Any, object]]
) -> RecordKind:
    """The record and state classes for escalations with ``attributes`` (name: (type, default;
    ``attrs.NOTHING``: set by the ``opening`` fact, which has a field of that name))."""
    names = tuple(attributes)
    record_cls: type[Record] = type("Record", (Record,), {"__slots__": names})
    state_fields = {
        name: attrs.field(type=kind, default=default)
        for name, (kind, default) in attributes.items()
    }
    state_cls: type[EscalationState] = quick_init(
        attrs.make_class(
            "EscalationState",
            state_fields,
            bases=(EscalationState,),
            frozen=True,
            kw_only=True,
            slots=True,
        )
    )
    state_cls.__module__ = EscalationState.__module__
    state_cls.__doc__ = EscalationState.__doc__
    state_cls.ATTRIBUTES = names
    all_fields = (*CORE_FIELDS, *names)
    kept = [name for name in all_fields if name != "pending" and name not in RARELY_SET]
    namespace: dict[str, Any] = {
        "new_record": record_cls.__new__,
        "new_object": object.__new__,
        "Record": record_cls,
        "State": state_cls,
        "ACTIVE": ACTIVE,
        "NOTHING_DONE": NOTHING_DONE,
        "QUIET": QUIET,
        "Rarely": Rarely,
        **{f"default_{name}": default for name, (_, default) in attributes.items()},
    }

    def generated(name: str, parameters: str, body: list[str]) -> Any:
        return generate([f"def {name}({parameters}):", *body], namespace, f"record {name}")

    # Copies between the frozen state and records, one statement per field: these run per
    # fact, and unrolled they cost a fraction of attrs.evolve or a loop over the fields.
    copy = generated(
        "copy",
        "source",
        [
            "    new = new_record(Record)",
            *(f"    new.{name} = source.{name}" for name in kept),
            "    new.pending = list(source.pending)",
            "    new.rarely = source.rarely",
            "    new.next_due = source.next_due",
            "    return new",
        ],
    )
    thaw = generated(
        "thaw",
        "source",
        [
            "    new = new_record(Record)",
            *(f"    new.{name} = source.{name}" for name in kept),
            "    new.pending = list(source.pending)",
            f"    rarely = Rarely({', '.join(f'source.{name}' for name in RARELY_SET)})",
            "    new.rarely = QUIET if rarely == QUIET else rarely",
            "    new.refresh()",
            "    return new",
        ],
    )
    # The frozen state built as its quick __init__ builds it, without the keywords: every
    # field set from the record, whose values the core checked.
    freeze = generated(
        "freeze",
        "source",
        [
            f"    {', '.join(RARELY_SET)} = source.rarely",
            *build_lines(
                state_cls,
                [
                    *((name, f"source.{name}") for name in kept),
                    ("pending", "tuple(source.pending)"),
                    *((name, name) for name in RARELY_SET),
                ],
                namespace,
                prefix="state_",
            ),
            "    return new",
        ],
    )
    opened_fields = {field.name for field in attrs.fields(opening)}
    open_record = generated(
        "open",
        "fact, in_scope",
        [
            "    new = new_record(Record)",
            "    new.escalation_id = fact.escalation_id",
            "    new.opened_at = fact.at",
            "    new.clock = fact.at",
            "    new.status = ACTIVE",
            "    new.in_scope = in_scope",
            "    new.owner = None",
            "    new.cadence = None",
            "    new.involvement = ()",
            "    new.pending = []",
            "    new.done = NOTHING_DONE",
            "    new.calendar = None",
            "    new.calendar_identity = None",
            "    new.rarely = QUIET",
            "    new.early_work = ()",
            "    new.next_due = None",
            *(
                f"    new.{name} = fact.{name}"
                if name in opened_fields
                else f"    new.{name} = default_{name}"
                for name in names
            ),
            "    return new",
        ],
    )
    kind = RecordKind(
        attributes=names,
        record=record_cls,
        state=state_cls,
        copy=copy,
        thaw=thaw,
        freeze=freeze,
        open=open_record,
    )
    record_cls.KIND = kind
    setattr(state_cls, "KIND", kind)  # noqa: B010  # how Record.thaw finds the kind
    return kind
