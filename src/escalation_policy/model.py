"""Facts (host to library) and actions (library to host), and the JSON edge that reads them.

The engine's own: the bases a policy declares its facts and actions on, the ``tick`` fact, the
actions every policy may emit, and the converter of a loaded policy's JSON contract. Which
facts, values and other actions there are is the policy's to declare (the handbook's are in
:mod:`escalation_policy.rules.terms`). The JSON shape is a public contract, documented in
``docs/json-contract.md``: every object has a ``"type"`` tag, timestamps are ISO-8601 with a
timezone, enumerations are lower-case strings.
"""

import datetime as dt
import enum
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from escalation_policy._language.frozen import quick_init
from escalation_policy._language.typed import (
    NON_EMPTY,
    VALUES,
    FieldProblem,
    check_fact_size,
    check_fields,
    clean_string,
    to_instant,
)
from escalation_policy.errors import InvalidFactError, describe, did_you_mean

__all__ = [
    "ACTION_FIELDS",
    "ACTIVE",
    "CLOSED",
    "COMMON_FIELDS",
    "ENGINE_ACTIONS",
    "Action",
    "AssignOwner",
    "Contract",
    "EscalationFact",
    "Fact",
    "OutOfScope",
    "OverdueNotice",
    "Reminder",
    "SetCadence",
    "SetInvolvement",
    "Tick",
    "Values",
    "Violation",
]


class Values(str, enum.Enum):
    """A policy's value set: a JSON string enumeration whose members also carry the
    handbook's wording (``CRITICAL = "critical", "Critical"``; without one, the label is the
    value, capitalised). The members' order is the values' order (severities: the most
    severe first)."""

    label: str

    def __new__(cls, value: str, label: str = "") -> "Values":
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value.replace("_", " ").capitalize()
        return member

    def __str__(self) -> str:
        return str(self.value)


OMIT_IF_DEFAULT: Mapping[str, bool] = {"omit_if_default": True}
"""Field metadata: the JSON form leaves the field out while it holds its default."""


# ---------------------------------------------------------------------------------------- facts
@attrs.frozen(kw_only=True)
class Fact:
    """Something that happened, reported by the host. ``at`` is when it happened.

    A fact built in Python is checked as strictly as its JSON form: a value that does not fit
    its field raises :class:`~escalation_policy.errors.InvalidFactError` naming the field. An
    enumeration's value may be given as its JSON string (``severity="low"``). Timestamps must
    carry a timezone and are kept in UTC.
    """

    TYPE: ClassVar[str] = ""
    at: dt.datetime
    id: str | None = attrs.field(default=None, metadata={**NON_EMPTY, **OMIT_IF_DEFAULT})
    """The fact's id in the system it came from, if it has one: a store-backed
    :class:`~escalation_policy.service.Service` handles each id once, so a redelivered fact
    changes nothing. The in-memory engine does not read it."""

    def __attrs_post_init__(self) -> None:
        check_fact_size(check_fields(self))


COMMON_FIELDS: tuple[str, ...] = ("id", "at", "escalation_id")
"""The fields the engine gives every fact about an escalation: none is a policy's own term."""


@attrs.frozen(kw_only=True)
class EscalationFact(Fact):
    """A fact about one escalation. A policy declares its fact types as subclasses, and what
    each does to the escalation before any rule runs, in class attributes:

    - ``OPENS``: it opens an escalation; its fields are the escalation's attributes. A policy
      has exactly one such fact type, with a ``customer`` and an ordered ``severity`` field.
    - ``SETS``: the escalation's attributes it sets, each from one of its fields
      (``{"severity": "severity"}``); a new attribute starts unset (``None``, or empty). One
      set from the fact's ``at`` is the time of the change: beside others, it is set only
      when one of them changes.
    - ``STATUS``: how it moves the escalation's status (``{"active": "risk_reduced"}``). The
      engine knows ``active``, where an escalation starts, and ``closed``, where it ends.
    - ``STATUS_WHEN``: for a fact that sets the severity, which change of it moves the status:
      ``"raised"`` (to a more severe one), ``"lowered"`` or ``"changed"``. Unset (``None``),
      the fact moves the status whenever it arrives. A move to ``closed`` is never
      conditional.
    - ``AFTER_CLOSING``: it is still accepted once the escalation is closed (the posts its
      closing requires); any other fact about a closed escalation is refused.
    """

    OPENS: ClassVar[bool] = False
    SETS: ClassVar[Mapping[str, str]] = {}
    STATUS: ClassVar[Mapping[str, str]] = {}
    STATUS_WHEN: ClassVar[str | None] = None
    AFTER_CLOSING: ClassVar[bool] = False
    escalation_id: str = attrs.field(metadata=NON_EMPTY)


@attrs.frozen(kw_only=True)
class Tick(Fact):
    """Time passed; nothing else happened."""

    TYPE = "tick"


ACTIVE = "active"
"""The status of an escalation from its opening."""
CLOSED = "closed"
"""The status of a closed escalation."""
AWAITING_OPENING = "awaiting_opening"
"""The status of an escalation not opened yet, of which facts that arrived before its opening
are held (:attr:`~escalation_policy.EscalationState.held`) for the policy's
``opening_grace``."""


# -------------------------------------------------------------------------------------- actions
@quick_init
@attrs.frozen(kw_only=True)
class Action:
    """Something the host should do. ``rule`` produced it; ``cites`` is its handbook section.

    Actions are outputs, built by the engine from validated facts: unlike facts they run no
    validators (the JSON edge still refuses a timestamp without a timezone when reading one).
    """

    TYPE: ClassVar[str] = ""
    escalation_id: str
    at: dt.datetime
    rule: str
    cites: str


ACTION_FIELDS: tuple[str, ...] = tuple(field.name for field in attrs.fields(Action))
"""The fields the engine fills in every action (``escalation_id``, ``at``, ``rule``,
``cites``): none is a policy's own."""


@quick_init
@attrs.frozen(kw_only=True)
class AssignOwner(Action):
    """The escalation's owner, as the policy's tables plan it: one of its teams."""

    TYPE = "assign_owner"
    owner: str = attrs.field(metadata=VALUES)


@quick_init
@attrs.frozen(kw_only=True)
class SetInvolvement(Action):
    """Who is kept aware of the escalation (the policy's roles), and what changed."""

    TYPE = "set_involvement"
    roles: tuple[str, ...] = attrs.field(metadata=VALUES)
    added: tuple[str, ...] = attrs.field(metadata=VALUES)
    removed: tuple[str, ...] = attrs.field(metadata=VALUES)


@quick_init
@attrs.frozen(kw_only=True)
class SetCadence(Action):
    """The cadence of meetings and communication (one of the policy's cadences)."""

    TYPE = "set_cadence"
    cadence: str = attrs.field(metadata=VALUES)


@quick_init
@attrs.frozen(kw_only=True)
class Violation(Action):
    """The policy was not followed. ``due`` is when the missed obligation fell due, if any.

    Consecutive missed periods of a periodic obligation noticed at once are one violation:
    ``periods`` counts them and ``last_due`` is the due time of the last (both are left out of
    the JSON form when one period was missed).
    """

    TYPE = "violation"
    code: str = attrs.field(metadata=VALUES)
    detail: str
    due: dt.datetime | None = None
    periods: int = attrs.field(default=1, metadata=OMIT_IF_DEFAULT)
    last_due: dt.datetime | None = attrs.field(default=None, metadata=OMIT_IF_DEFAULT)


@quick_init
@attrs.frozen(kw_only=True)
class Reminder(Action):
    """An obligation falls due soon and is not met yet: nudge ``owner`` before it is missed.

    Sent once per due time, ``remind_before`` ahead of it as the rule that made the obligation
    says. ``key`` says which instance, for a keyed obligation (the reason of a required post).
    """

    TYPE = "reminder"
    obligation: str
    due: dt.datetime
    owner: str | None = attrs.field(default=None, metadata=VALUES)
    key: str | None = attrs.field(default=None, metadata=OMIT_IF_DEFAULT)


@quick_init
@attrs.frozen(kw_only=True)
class OverdueNotice(Action):
    """An obligation stays unmet past its due time: tell ``notify`` (the owner's manager, a
    director...), the obligation's tier number ``tier`` (1 for the first), as the obligation's
    ``tiers`` say. Its rule and citation are those of the rule that required the obligation,
    as for a ``reminder``; ``owner`` is the escalation's owner, who was expected to act."""

    TYPE = "overdue_notice"
    obligation: str
    due: dt.datetime
    tier: int
    notify: str
    owner: str | None = attrs.field(default=None, metadata=VALUES)
    key: str | None = attrs.field(default=None, metadata=OMIT_IF_DEFAULT)


@quick_init
@attrs.frozen(kw_only=True)
class OutOfScope(Action):
    TYPE = "out_of_scope"
    reason: str


ENGINE_ACTIONS: tuple[type[Action], ...] = (
    AssignOwner,
    SetInvolvement,
    SetCadence,
    Violation,
    OutOfScope,
    Reminder,
    OverdueNotice,
)
"""The actions every policy may emit; a policy declares the others."""


@attrs.frozen
class Contract:
    """The JSON contract of a loaded policy: the fact and action types by their ``type`` tag,
    the value sets (enumerations) their fields hold, and the policy's escalation state."""

    facts: Mapping[str, type[Fact]]
    actions: Mapping[str, type[Action]]
    values: tuple[type[enum.Enum], ...]
    state: type[Any]


# ------------------------------------------------------------------------------------ converter
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{3}(\d{3})?)?)?([Zz]|[+-]\d{2}:[0-5]\d)"
)
"""The timestamps of the contract, the same on every Python: date, time to the microsecond
(3 or 6 digits), and a timezone (``Z`` or an offset in hours and minutes, the minutes from 00
to 59: Python would read ``+01:99`` as an offset of 2 hours 39 minutes)."""
_OFFSET_MINUTES = re.compile(r"[+-]\d{2}:[6-9]\d$")
"""An offset whose minutes are out of range, said so in the message."""


def parse_timestamp(value: object) -> dt.datetime:
    """An ISO-8601 timestamp with a timezone (``Z`` allowed), in UTC, else a FieldProblem."""
    if isinstance(value, str):
        if _TIMESTAMP.fullmatch(value) is None:
            if _TIMESTAMP.fullmatch(value + "Z") is not None:
                raise FieldProblem(
                    f"got {describe(value)} without a timezone, "
                    "expected a timezone such as 'Z' or '+00:00'"
                )
            if _OFFSET_MINUTES.search(value) is not None:
                raise FieldProblem(
                    f"got {describe(value)}, expected a timezone offset whose minutes are 00 "
                    "to 59, such as '+01:00' or '+05:30'"
                )
            raise FieldProblem(
                f"got {describe(value)}, expected an ISO-8601 timestamp with a timezone, "
                "such as '2026-03-02T09:00:00Z' or '2026-03-02T10:00:00+01:00'"
            )
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise FieldProblem(
                f"got {describe(value)}, expected an ISO-8601 timestamp with a timezone"
            ) from None
        return to_instant(parsed)
    if isinstance(value, dt.datetime):
        return to_instant(value)
    raise FieldProblem(
        f"got {describe(value)}, expected an ISO-8601 timestamp string with a timezone"
    )


def _format_timestamp(value: dt.datetime) -> str:
    return value.isoformat()


def _strict_str(value: object, _type: object) -> str:
    if not isinstance(value, str):
        raise FieldProblem(f"got {describe(value)}, expected a string")
    if not clean_string(value):
        raise FieldProblem(f"got {describe(value)}, expected text without NUL or lone surrogates")
    return value


def _strict_bool(value: object, _type: object) -> bool:
    if not isinstance(value, bool):
        raise FieldProblem(f"got {describe(value)}, expected true or false")
    return value


def _strict_int(value: object, _type: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldProblem(f"got {describe(value)}, expected an integer")
    return value


def _strings(value: object, _type: object) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise FieldProblem(f"got {describe(value)}, expected a list of strings")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise FieldProblem(f"got {describe(item)}, expected a string", step=f"[{index}]")
        if not clean_string(item):
            raise FieldProblem(
                f"got {describe(item)}, expected text without NUL or lone surrogates",
                step=f"[{index}]",
            )
    return tuple(value)


def _seconds(value: object, _type: object) -> dt.timedelta:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FieldProblem(f"got {describe(value)}, expected a number of seconds")
    try:
        return dt.timedelta(seconds=value)
    except OverflowError:
        raise FieldProblem(f"got {describe(value)}, expected a number of seconds") from None


E = TypeVar("E", bound=enum.Enum)


def _enum_hook(cls: type[E]) -> Callable[[object, object], E]:
    values = [str(member.value) for member in cls]

    def structure(value: object, _type: object) -> E:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                pass
        raise FieldProblem(
            f"got {describe(value)}, expected one of {', '.join(values)}"
            + did_you_mean(value, values)
        )

    return structure


def explain(error: BaseException, path: str) -> tuple[str, str]:
    """The first leaf problem in a cattrs error tree, as (message, JSON path)."""
    from cattrs.errors import (
        ClassValidationError,
        ForbiddenExtraKeysError,
        IterableValidationError,
    )

    if isinstance(error, ForbiddenExtraKeysError):
        extra = sorted(error.extra_fields, key=lambda key: (not isinstance(key, str), str(key)))
        known = [a.name for a in attrs.fields(error.cl)]
        if getattr(error.cl, "TYPE", ""):
            known.append("type")
        first = extra[0]
        takes = f"{getattr(error.cl, 'TYPE', '') or error.cl.__name__!r} takes"
        if not isinstance(first, str):
            return (
                f"got the key {describe(first)}, expected field names (strings); "
                f"{takes} {', '.join(sorted(known))}",
                path,
            )
        return (
            f"unknown field {describe(first)}{did_you_mean(first, known)}; "
            f"{takes} {', '.join(sorted(known))}",
            f"{path}.{first}" if first.isidentifier() else f"{path}[{describe(first)}]",
        )
    if isinstance(error, (ClassValidationError, IterableValidationError)):
        for sub in error.exceptions:
            step = ""
            for note in getattr(sub, "__notes__", ()):
                name = getattr(note, "name", None)
                index = getattr(note, "index", None)
                if name is not None:
                    step = f".{name}"
                elif index is not None:
                    step = f"[{index}]"
            if isinstance(sub, KeyError) and step:
                return "required field is missing", f"{path}{step}"
            return explain(sub, f"{path}{step}")
    if isinstance(error, FieldProblem):
        return str(error), path + error.step
    if isinstance(error, InvalidFactError):  # a check of the class itself
        return error.reason, path + (error.path or "$")[1:]
    return f"invalid value ({type(error).__name__})", path
