"""What a reaction's conditions test: the context of one fact, read from its situation.

The *situation* is what the core knows when a fact applies: the escalation's record (the
fact's own changes applied, no rule's yet), the fact, the status before it, the attributes the
fact changed as they were before it, and the owner and cadence as planned. A policy's
:class:`Context` declares every field a condition may test, once: its domain, the fact types
that have it, and how it is read (a dotted attribute path, or a plain, type-checked function).
The loader derives the fields from the policy's terms (the escalation's attributes, the facts'
fields, the engine's own ``in_scope``, ``status``, ``owner`` and ``cadence``) and adds those the
policy computes itself. The full context (for matching) and the native matcher's memo keys (only
the fields a fact type's reactions test) are both read through it, so the two cannot disagree.
"""

import datetime as dt
import enum
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

__all__ = [
    "BOOL",
    "Context",
    "ContextField",
    "Situation",
    "scalar",
]

BOOL: tuple[object, ...] = (False, True)
"""The domain of a yes/no field."""


def scalar(value: object) -> object:
    """The JSON scalar a condition or a context compares: enum members become their value."""
    return value._value_ if isinstance(value, enum.Enum) else value


class Situation:
    """Everything the conditions of one fact's reactions may read.

    ``record`` is the escalation (its attributes by name: ``situation.record.tam``), ``fact``
    the fact, ``status_before`` the status before it, ``previous`` the attributes the fact
    set, as they were before it, and ``owner`` and ``cadence`` as planned. ``policy`` is the
    loaded policy, for :attr:`calendar` and :meth:`open_time`.
    """

    __slots__ = ("cadence", "fact", "owner", "policy", "previous", "record", "status_before")

    def __init__(
        self,
        policy: Any,
        record: Any,
        fact: Any,
        status_before: str,
        previous: Mapping[str, object],
        owner: object,
        cadence: object,
    ) -> None:
        self.policy: Any = policy
        self.record: Any = record
        self.fact: Any = fact
        self.status_before = status_before
        self.previous = previous
        self.owner = owner
        self.cadence = cadence

    @property
    def calendar(self) -> Any:
        """The escalation's calendar (:class:`~escalation_policy.Calendar`; open at every
        instant, for a policy that declares none): its local dates (``day_of``), its business
        days, its open time."""
        record = self.record
        return self.policy.calendar(record.calendar, record.calendar_identity)

    def open_time(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """The open time from ``start`` to ``end`` on the escalation's calendar (its business
        hours; every instant, for a policy that declares no calendar): what a window of
        business time is compared with; zero for an ``end`` not after ``start``."""
        if end <= start:
            return dt.timedelta(0)
        elapsed: dt.timedelta = self.calendar.elapsed(start, end)
        return elapsed


Read = Callable[[Situation], object]


@attrs.frozen
class ContextField:
    """A field conditions may test: its ``domain`` (``None``: free text), how it is read,
    and the fact types that have it (``None``: every fact).

    ``read`` is a function of the situation, or, for a value that is an attribute of it, the
    dotted path to that attribute (``"record.severity._value_"``): reading a path costs a
    fraction of calling a function, and a memo key of paths only is one call for all of them.
    A function returns the JSON scalar (an enumeration's value, not the member), or ``None``
    for a field the fact does not have. The fields a policy declares in its ``CONTEXT`` are
    read by a function; paths are for those the engine makes of the facts and the record.
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


class Context:
    """The fields one policy's conditions may test, and how a situation's are read."""

    def __init__(
        self,
        fields: Iterable[ContextField],
        fact_types: Iterable[str],
        origin: Mapping[str, str] | None = None,
    ) -> None:
        self.fields: tuple[ContextField, ...] = tuple(fields)
        self.origin: Mapping[str, str] = dict(origin or {})
        """What each field is, as the policy's reference says it (``the attribute 'tam'``)."""
        self.by_name: Mapping[str, ContextField] = {field.name: field for field in self.fields}
        self.domains: Mapping[str, tuple[object, ...] | None] = {
            field.name: field.domain for field in self.fields
        }
        """Every field a condition may test, with its domain (``None``: free text)."""
        types = sorted({t for f in self.fields if f.facts is not None for t in f.facts})
        self.fact_fields: Mapping[str, frozenset[str]] = {
            fact_type: frozenset(
                f.name for f in self.fields if f.facts is not None and fact_type in f.facts
            )
            for fact_type in types
        }
        """Fields that only some fact types have; the others are there for every fact."""
        self._for: Mapping[str, tuple[str, ...]] = {
            fact_type: tuple(f.name for f in self.fields if f.facts is None or fact_type in f.facts)
            for fact_type in fact_types
        }

    def fields_for(self, fact_type: str) -> tuple[str, ...]:
        """The context fields a fact of this type has."""
        return self._for[fact_type]

    def context_of(self, fact_type: str, situation: Situation) -> dict[str, object]:
        """The flat record a fact's reactions are matched against; absent fields are left
        out."""
        context: dict[str, object] = {}
        by_name = self.by_name
        for name in self.fields_for(fact_type):
            value = by_name[name].reader(situation)
            if value is not None:
                context[name] = value
        return context

    def key_reader(self, fields: tuple[str, ...]) -> Callable[[Situation], tuple[object, ...]]:
        """A function from a situation to the tuple of these fields' values (``None``:
        absent): what ``context_of(...).get(field)`` gives for each, without building the
        context. Built once by each matcher, for each fact type."""
        by_name = self.by_name
        declared = [by_name[name].read for name in fields]
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
        reads = tuple(by_name[name].reader for name in fields)

        def each(situation: Situation) -> tuple[object, ...]:
            return tuple([read(situation) for read in reads])

        return each

    def key_order(self, fields: Iterable[str]) -> tuple[str, ...]:
        """``fields`` in the order :meth:`key_reader` reads them fastest: paths first."""
        by_name = self.by_name
        return tuple(
            sorted(fields, key=lambda name: (not isinstance(by_name[name].read, str), name))
        )
