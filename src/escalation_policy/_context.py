"""What a reaction's conditions test: the context of one fact, read from its situation.

The *situation* is what the core knows when a fact applies: the escalation's record (the
fact's own changes applied, no rule's yet), the fact, the status and severity before it, the
owner and cadence as planned, and the policy's channel. :data:`CONTEXT` declares every field a
condition may test, once: its domain, the fact types that have it, and how it is read (a
plain, type-checked function). The full context (for matching) and the native matcher's memo
keys (only the fields a fact type's reactions test) are both read through it, so the two
cannot disagree; the loader checks rules against the same declaration.
"""

import enum
import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, cast

import attrs

from escalation_policy.model import (
    AccountIssue,
    AccountIssueKind,
    Cadence,
    EscalationFact,
    MeetingAudience,
    MeetingHeld,
    Posted,
    PostPurpose,
    Segment,
    Severity,
    Status,
    Team,
)

if TYPE_CHECKING:
    from escalation_policy._record import Record

__all__ = ["CONTEXT", "ContextField", "Situation", "context_of", "fields_for", "key_reader"]


class Situation:
    """Everything the conditions of one fact's reactions may read."""

    __slots__ = (
        "cadence",
        "channel",
        "fact",
        "owner",
        "record",
        "severity_before",
        "status_before",
    )

    def __init__(
        self,
        record: "Record",
        fact: EscalationFact,
        status_before: Status,
        severity_before: Severity,
        owner: Team | None,
        cadence: Cadence | None,
        channel: str,
    ) -> None:
        self.record = record
        self.fact = fact
        self.status_before = status_before
        self.severity_before = severity_before
        self.owner = owner
        self.cadence = cadence
        self.channel = channel


Read = Callable[[Situation], object]


@attrs.frozen
class ContextField:
    """A field conditions may test: its ``domain`` (``None``: free text), how it is read
    (``None``: absent), and the fact types that have it (``None``: every fact)."""

    name: str
    domain: tuple[object, ...] | None
    read: Read
    facts: frozenset[str] | None = None


def _values(enum_cls: type[enum.Enum]) -> tuple[object, ...]:
    return tuple(member.value for member in enum_cls)


BOOL: tuple[object, ...] = (False, True)


def _channel(channel: str) -> str:
    return channel.lstrip("#").casefold()


def _posted(situation: Situation) -> Posted:
    return cast(Posted, situation.fact)


CONTEXT: tuple[ContextField, ...] = (
    ContextField("severity", _values(Severity), lambda s: s.record.severity._value_),
    ContextField(
        "previous_severity",
        _values(Severity),
        lambda s: s.severity_before._value_,
        frozenset({"severity_changed"}),
    ),
    ContextField("segment", _values(Segment), lambda s: s.record.segment._value_),
    ContextField("strategic_partnership", BOOL, lambda s: s.record.strategic_partnership),
    ContextField("broad_impact", BOOL, lambda s: s.record.broad_impact),
    ContextField("initiated_by", _values(Team), lambda s: s.record.initiated_by._value_),
    ContextField("issue_type", None, lambda s: s.record.issue_type),
    ContextField("in_scope", BOOL, lambda s: s.record.in_scope),
    ContextField("owner", _values(Team), lambda s: None if s.owner is None else s.owner._value_),
    ContextField(
        "cadence", _values(Cadence), lambda s: None if s.cadence is None else s.cadence._value_
    ),
    ContextField("status", _values(Status), lambda s: s.status_before._value_),
    ContextField("tam_assigned", BOOL, lambda s: s.record.tam is not None),
    ContextField(
        "purpose",
        _values(PostPurpose),
        lambda s: _posted(s).purpose._value_,
        frozenset({"posted"}),
    ),
    ContextField("by", _values(Team), lambda s: _posted(s).by._value_, frozenset({"posted"})),
    ContextField(
        "escalation_channel",
        BOOL,
        lambda s: _channel(_posted(s).channel) == _channel(s.channel),
        frozenset({"posted"}),
    ),
    ContextField(
        "by_owner", BOOL, lambda s: _posted(s).by is s.record.owner, frozenset({"posted"})
    ),
    ContextField(
        "audience",
        _values(MeetingAudience),
        lambda s: cast(MeetingHeld, s.fact).audience._value_,
        frozenset({"meeting_held"}),
    ),
    ContextField(
        "kind",
        _values(AccountIssueKind),
        lambda s: cast(AccountIssue, s.fact).kind._value_,
        frozenset({"account_issue"}),
    ),
)
"""Every field a condition may test, declared once."""

_BY_NAME: Mapping[str, ContextField] = {field.name: field for field in CONTEXT}


def fields_for(fact_type: str) -> tuple[str, ...]:
    """The context fields a fact of this type has."""
    return tuple(f.name for f in CONTEXT if f.facts is None or fact_type in f.facts)


def context_of(fact_type: str, situation: Situation) -> dict[str, object]:
    """The flat record a fact's reactions are matched against; absent fields are left out."""
    context: dict[str, object] = {}
    for name in fields_for(fact_type):
        value = _BY_NAME[name].read(situation)
        if value is not None:
            context[name] = value
    return context


@functools.cache
def key_reader(fields: tuple[str, ...]) -> Callable[[Situation], tuple[object, ...]]:
    """A function from a situation to the tuple of these fields' values (``None``: absent):
    what ``context_of(...).get(field)`` gives for each, without building the context."""
    reads = tuple(_BY_NAME[name].read for name in fields)

    def key(situation: Situation) -> tuple[object, ...]:
        return tuple([read(situation) for read in reads])

    return key
