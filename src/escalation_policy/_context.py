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
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from escalation_policy.model import (
    AccountIssueKind,
    Cadence,
    EscalationFact,
    MeetingAudience,
    Posted,
    PostPurpose,
    Segment,
    Severity,
    Status,
    Team,
)

if TYPE_CHECKING:
    from escalation_policy._record import Record

__all__ = [
    "CONTEXT",
    "ContextField",
    "Situation",
    "context_of",
    "fields_for",
    "key_order",
    "key_reader",
]


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
        """``channel``: the policy's channel as :func:`channel_key` gives it."""
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
    (``None``: absent), and the fact types that have it (``None``: every fact).

    ``read`` is a function of the situation, or, for a value that is an attribute of it, the
    dotted path to that attribute (``"record.severity._value_"``): reading a path costs a
    fraction of calling a function, and a memo key of paths only is one call for all of them.
    """

    name: str
    domain: tuple[object, ...] | None
    read: Read | str
    facts: frozenset[str] | None = None

    @property
    def reader(self) -> Read:
        """The function that reads the field from a situation."""
        read = self.read
        return operator.attrgetter(read) if isinstance(read, str) else read


def _values(enum_cls: type[enum.Enum]) -> tuple[object, ...]:
    return tuple(member.value for member in enum_cls)


BOOL: tuple[object, ...] = (False, True)


def channel_key(channel: str) -> str:
    """A channel's name as channels are compared: ``#`` and case do not matter."""
    return channel.lstrip("#").casefold()


def _escalation_channel(situation: Situation) -> bool:
    fact: Posted = situation.fact  # type: ignore[assignment]  # a posted fact's field only
    return channel_key(fact.channel) == situation.channel


def _by_owner(situation: Situation) -> bool:
    fact: Posted = situation.fact  # type: ignore[assignment]  # a posted fact's field only
    return fact.by is situation.record.owner


CONTEXT: tuple[ContextField, ...] = (
    ContextField("severity", _values(Severity), "record.severity._value_"),
    ContextField(
        "previous_severity",
        _values(Severity),
        "severity_before._value_",
        frozenset({"severity_changed"}),
    ),
    ContextField("segment", _values(Segment), "record.segment._value_"),
    ContextField("strategic_partnership", BOOL, "record.strategic_partnership"),
    ContextField("broad_impact", BOOL, "record.broad_impact"),
    ContextField("initiated_by", _values(Team), "record.initiated_by._value_"),
    ContextField("issue_type", None, "record.issue_type"),
    ContextField("in_scope", BOOL, "record.in_scope"),
    ContextField("owner", _values(Team), lambda s: None if s.owner is None else s.owner._value_),
    ContextField(
        "cadence", _values(Cadence), lambda s: None if s.cadence is None else s.cadence._value_
    ),
    ContextField("status", _values(Status), "status_before._value_"),
    ContextField("tam_assigned", BOOL, lambda s: s.record.tam is not None),
    ContextField(
        "purpose",
        _values(PostPurpose),
        "fact.purpose._value_",
        frozenset({"posted"}),
    ),
    ContextField("by", _values(Team), "fact.by._value_", frozenset({"posted"})),
    ContextField(
        "escalation_channel",
        BOOL,
        _escalation_channel,
        frozenset({"posted"}),
    ),
    ContextField("by_owner", BOOL, _by_owner, frozenset({"posted"})),
    ContextField(
        "audience",
        _values(MeetingAudience),
        "fact.audience._value_",
        frozenset({"meeting_held"}),
    ),
    ContextField(
        "kind",
        _values(AccountIssueKind),
        "fact.kind._value_",
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
        value = _BY_NAME[name].reader(situation)
        if value is not None:
            context[name] = value
    return context


@functools.cache
def key_reader(fields: tuple[str, ...]) -> Callable[[Situation], tuple[object, ...]]:
    """A function from a situation to the tuple of these fields' values (``None``: absent):
    what ``context_of(...).get(field)`` gives for each, without building the context."""
    declared = [_BY_NAME[name].read for name in fields]
    paths = [read for read in declared if isinstance(read, str)]
    computed = tuple(read for read in declared if not isinstance(read, str))
    if len(paths) > 1 and paths == declared[: len(paths)] and not computed:
        together: Callable[[Situation], tuple[object, ...]] = operator.attrgetter(*paths)
        return together  # one call reads them all
    if len(paths) > 1 and paths == declared[: len(paths)]:
        head = operator.attrgetter(*paths)

        def key(situation: Situation) -> tuple[object, ...]:
            return (*head(situation), *[read(situation) for read in computed])

        return key
    if len(paths) == 1 == len(declared):
        single = operator.attrgetter(paths[0])

        def one(situation: Situation) -> tuple[object, ...]:
            return (single(situation),)

        return one
    reads = tuple(_BY_NAME[name].reader for name in fields)

    def each(situation: Situation) -> tuple[object, ...]:
        return tuple([read(situation) for read in reads])

    return each


def key_order(fields: Iterable[str]) -> tuple[str, ...]:
    """``fields`` in the order :func:`key_reader` reads them fastest: attribute paths first."""
    return tuple(sorted(fields, key=lambda name: (not isinstance(_BY_NAME[name].read, str), name)))
