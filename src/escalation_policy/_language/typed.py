"""Checking values against the types their fields declare: one set of rules for every edge.

A fact built in Python is checked as strictly as its JSON form: the same rules, the same
messages. Timestamps are normalised here too: time is arithmetic on instants, so every
timestamp is converted to UTC on the way in (the same instant in any zone gives the same
decisions), and must fall within the range the library supports.
"""

import datetime as dt
import enum
import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from escalation_policy.errors import InvalidFactError, describe, did_you_mean

__all__ = [
    "EARLIEST",
    "ID_FIELDS",
    "LATEST",
    "MAX_FACT_SIZE",
    "MAX_ID_LENGTH",
    "MAX_TEXT_LENGTH",
    "FieldProblem",
    "check_fact_size",
    "check_fields",
    "checker",
    "clean_string",
    "text_limit",
    "to_instant",
]

UTC = dt.timezone.utc
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=UTC)
"""The earliest timestamp accepted."""
LATEST = dt.datetime(9000, 1, 1, tzinfo=UTC)
"""Timestamps must be before this: due times computed from them never overflow."""

# The size of what a fact may carry (docs/json-contract.md, "Limits"). A store keeps every
# text it is given and writes an escalation's attributes again with each of its facts: the
# limits keep that work, and the store, bounded whatever a producer sends.
ID_FIELDS = frozenset({"id", "escalation_id"})
"""The fields that hold ids: stores index them."""
MAX_ID_LENGTH = 256
"""The longest id, in characters: at most 1,024 bytes in UTF-8, which PostgreSQL's indexes
hold with room to spare (an index entry may take about 2,700 bytes), in an action's id
(``ESCALATION/SEQUENCE``) too; the ids of the systems facts come from are far shorter."""
MAX_TEXT_LENGTH = 16_384
"""The longest text in any other field (and in each item of a list), in characters."""
MAX_FACT_SIZE = 65_536
"""The most text one fact may carry in all: the characters of its texts and ids, each
counting one more (so that a list of many empty texts counts too). A JSON line of a fact
within this limit is at most 786,432 bytes however its text is escaped: always under the
1 MiB the command line reads in one line."""


class FieldProblem(ValueError):
    """A value that does not fit its field; the caller adds where it was.

    ``step`` is the part of the path below the field (``[1]`` for a list's second item).
    """

    def __init__(self, message: str, *, step: str = "") -> None:
        super().__init__(message)
        self.step = step


Check = Callable[[object], Any]


def clean_string(value: str) -> bool:
    """Whether ``value`` is text every host can store: no NUL character (PostgreSQL's text
    cannot hold one) and no lone surrogates."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def to_instant(value: object) -> dt.datetime:
    """``value`` as a UTC datetime in the supported range, else a :class:`FieldProblem`."""
    if not isinstance(value, dt.datetime):
        raise FieldProblem(f"got {describe(value)}, expected a timezone-aware datetime")
    try:
        offset = value.utcoffset()
    except Exception as error:  # a host's tzinfo that fails is a bad value, not a crash
        raise FieldProblem(
            f"got a datetime whose timezone fails ({type(error).__name__}), "
            "expected a timezone such as UTC"
        ) from None
    if value.tzinfo is None or offset is None:
        raise FieldProblem(
            f"got naive {value.isoformat()} without a timezone, "
            "expected a timezone such as 'Z' or '+00:00'"
        )
    if value.tzinfo is not UTC:
        try:
            value = value.astimezone(UTC)
        except (OverflowError, TypeError, ValueError):
            raise FieldProblem(
                f"got {value.isoformat()}, expected a time from {EARLIEST.isoformat()} "
                f"to before {LATEST.isoformat()}"
            ) from None
    if not EARLIEST <= value < LATEST:
        raise FieldProblem(
            f"got {value.isoformat()}, expected a time from {EARLIEST.isoformat()} "
            f"to before {LATEST.isoformat()}"
        )
    return value


def _string(value: object) -> str:
    if type(value) is not str:
        if isinstance(value, str) and not isinstance(value, enum.Enum):
            value = str.__str__(value)
        else:
            raise FieldProblem(f"got {describe(value)}, expected a string")
    if not clean_string(value):
        raise FieldProblem(f"got {describe(value)}, expected text without NUL or lone surrogates")
    return value


def _value_text(value: object) -> str:
    """One of a policy's values: a member of its enumeration, or its text (as JSON gives)."""
    if not isinstance(value, str):
        raise FieldProblem(f"got {describe(value)}, expected a string")
    return value if isinstance(value, enum.Enum) else _string(value)


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise FieldProblem(f"got {describe(value)}, expected true or false")
    return value


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldProblem(f"got {describe(value)}, expected an integer")
    if value < 0:
        raise FieldProblem(f"got {describe(value)}, expected an integer of 0 or more")
    return value


def _duration(value: object) -> dt.timedelta:
    if not isinstance(value, dt.timedelta):
        raise FieldProblem(f"got {describe(value)}, expected a duration")
    return value


def _enumeration(cls: type[enum.Enum]) -> Check:
    members = {str(member.value): member for member in cls}
    values = list(members)

    def check(value: object) -> enum.Enum:
        if isinstance(value, cls):
            return value
        if isinstance(value, enum.Enum):  # a host's own enumeration: by its value
            value = value.value
        member = members.get(str.__str__(value)) if isinstance(value, str) else None
        if member is None:
            raise FieldProblem(
                f"got {describe(value)}, expected one of {', '.join(values)}"
                + did_you_mean(value, values)
            )
        return member

    return check


def _items(item: Check) -> Check:
    def check(value: object) -> tuple[Any, ...]:
        if not isinstance(value, (list, tuple)):
            raise FieldProblem(f"got {describe(value)}, expected a list")
        checked = []
        for index, element in enumerate(value):
            try:
                checked.append(item(element))
            except FieldProblem as problem:
                raise FieldProblem(str(problem), step=f"[{index}]{problem.step}") from None
        return tuple(checked)

    return check


def _mapping(item: Check) -> Check:
    def check(value: object) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise FieldProblem(f"got {describe(value)}, expected an object")
        checked = {}
        for key, element in value.items():
            if not isinstance(key, str):
                raise FieldProblem(f"got the key {describe(key)}, expected string keys")
            try:
                checked[key] = item(element)
            except FieldProblem as problem:
                raise FieldProblem(str(problem), step=f"[{key!r}]{problem.step}") from None
        return checked

    return check


def _optional(inner: Check) -> Check:
    def check(value: object) -> Any:
        return None if value is None else inner(value)

    return check


def _record(cls: type[Any]) -> Check:
    def check(value: object) -> Any:
        if not isinstance(value, cls):
            raise FieldProblem(f"got {describe(value)}, expected a {cls.__name__}")
        try:
            check_fields(value)
        except InvalidFactError as error:  # its path continues the field's
            raise FieldProblem(error.reason, step=(error.path or "$")[1:]) from None
        return value

    return check


@functools.cache
def checker(kind: Any) -> Check:
    """The check (and normalisation) for a value declared as ``kind``."""
    if kind is str:
        return _string
    if kind is bool:
        return _boolean
    if kind is int:
        return _integer
    if kind is dt.datetime:
        return _instant
    if kind is dt.timedelta:
        return _duration
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return _enumeration(kind)
    if isinstance(kind, type) and attrs.has(kind):
        return _record(kind)
    origin = typing.get_origin(kind)
    if origin is tuple:
        arguments = typing.get_args(kind)
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return _items(checker(arguments[0]))
    if origin in (dict, Mapping):
        key, value = typing.get_args(kind)
        if key is str:
            return _mapping(checker(value))
    if origin in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if len(others) == 1:
            return _optional(checker(others[0]))
    raise TypeError(f"no check for fields of type {kind!r}")  # a new field type: add one


def _instant(value: object) -> dt.datetime:
    return to_instant(value)


def check_fields(obj: Any, path: str = "$") -> int:
    """Check every field of the attrs instance ``obj``, normalising values in place, and
    return the size of its text (as :data:`MAX_FACT_SIZE` counts it).

    Raises :class:`~escalation_policy.errors.InvalidFactError` naming the first field that
    does not fit (``@ $.severity``), what arrived and what was expected.
    """
    size = 0
    for name, check, non_empty, limit in _plan(type(obj)):
        value = getattr(obj, name)
        try:
            checked = check(value)
            if limit and checked is not None:
                size += _text_size(checked, limit)
        except FieldProblem as problem:
            raise InvalidFactError(str(problem), path=f"{path}.{name}{problem.step}") from None
        if non_empty and checked == "":
            raise InvalidFactError("got '', expected a non-empty string", path=f"{path}.{name}")
        if checked is not value:
            object.__setattr__(obj, name, checked)
    return size


def _text_size(value: str | tuple[str, ...], limit: int) -> int:
    """The size of a checked text (or list of texts) no item of which is over ``limit``."""
    if isinstance(value, str):
        if len(value) > limit:
            raise FieldProblem(_too_long(value, limit))
        return len(value) + 1
    size = 0
    for index, item in enumerate(value):
        if len(item) > limit:
            raise FieldProblem(_too_long(item, limit), step=f"[{index}]")
        size += len(item) + 1
    return size


def _too_long(value: str, limit: int) -> str:
    what = "an id" if limit == MAX_ID_LENGTH else "a text"
    return (
        f"got {describe(value)} ({len(value):,} characters), expected {what} of at most "
        f"{limit:,} characters"
    )


def check_fact_size(size: int) -> None:
    """A fact whose text (see :data:`MAX_FACT_SIZE`) is over the limit is an input error."""
    if size > MAX_FACT_SIZE:
        raise InvalidFactError(
            f"got a fact of {size:,} characters of text, expected at most {MAX_FACT_SIZE:,} "
            "in all (each text counting one more)",
            path="$",
        )


_PLANS: dict[type[Any], tuple[tuple[str, Check, bool, int], ...]] = {}


def _plan(cls: type[Any]) -> tuple[tuple[str, Check, bool, int], ...]:
    """(field, check, non-empty, length limit) for each field of ``cls``, worked out once per
    class; the limit is 0 for a field that holds no text."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        steps = []
        for field in attrs.fields(cls):
            kind = hints.get(field.name, field.type)  # a class made by attrs.make_class
            check = _values_checker(kind) if field.metadata.get("values") else checker(kind)
            limit = text_limit(field.name, kind)
            steps.append((field.name, check, bool(field.metadata.get("non_empty")), limit))
        plan = _PLANS[cls] = tuple(steps)
    return plan


def text_limit(name: str, kind: Any) -> int:
    """The length limit of a field ``name`` declared as ``kind``: :data:`MAX_ID_LENGTH` for
    an id, :data:`MAX_TEXT_LENGTH` for any other text or list of texts, 0 for the rest."""
    if kind not in (str, str | None, tuple[str, ...], tuple[str, ...] | None):
        return 0
    return MAX_ID_LENGTH if name in ID_FIELDS else MAX_TEXT_LENGTH


def _values_checker(kind: Any) -> Check:
    """The check of a field that holds a policy's values as text (``str``, ``str | None`` or
    ``tuple[str, ...]``): an enumeration's member is kept as it is."""
    if kind is str:
        return _value_text
    if kind == str | None:
        return _optional(_value_text)
    if kind == tuple[str, ...]:
        return _items(_value_text)
    raise TypeError(f"no check of values for fields of type {kind!r}")


NON_EMPTY: Mapping[str, bool] = {"non_empty": True}
"""Field metadata: the string may not be empty."""

VALUES: Mapping[str, bool] = {"values": True}
"""Field metadata: the field holds one of the policy's values (or several), as its member of
the policy's enumeration or as its text: the engine's fields for the owner, the roles, the
cadence and violation codes, whose value sets each policy declares."""


FACT_FIELD_TYPES = (
    "str, bool, datetime.datetime, one of the policy's Values, tuple[str, ...], or any of them "
    "| None"
)
"""The types a fact's field may have, as the loader's error says them."""


def readable(kind: Any) -> bool:
    """Whether a fact's field of type ``kind`` can be read from JSON (:data:`FACT_FIELD_TYPES`):
    the types the fast reader reads (``escalation_policy._convert.fastpath``; a test keeps the
    two the same)."""
    if kind is str or kind is bool or kind is dt.datetime:
        return True
    if isinstance(kind, type) and typing.get_origin(kind) is None:
        return issubclass(kind, enum.Enum)
    if typing.get_origin(kind) is tuple:
        return typing.get_args(kind) == (str, ...)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return len(others) == 1 and readable(others[0])
    return False
