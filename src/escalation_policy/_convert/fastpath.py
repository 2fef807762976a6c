"""The converter's fast paths for the JSON edge: one fact in; one action, one state out.

cattrs, with detailed validation, is the reference: it says exactly what is wrong with a bad
fact. It is also most of the cost of a fact read from JSON. So each fact type gets a plain
function, built from its attrs fields, that takes the well-formed case only and hands anything
else (an unknown or missing field, a value of another shape, a failing validator) back to
cattrs, which then accepts it or explains the error. Actions and escalation states are written
by a plain function per class giving exactly cattrs' output, as a dictionary or as compact JSON
text. ``tests/test_model.py`` checks them all against cattrs.
"""

import datetime as dt
import enum
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from escalation_policy._language.codegen import generate
from escalation_policy._language.frozen import build_lines
from escalation_policy._language.typed import (
    EARLIEST,
    LATEST,
    MAX_FACT_SIZE,
    MAX_ID_LENGTH,
    clean_string,
    text_limit,
)

__all__ = [
    "Fallback",
    "action_writer",
    "fact_reader",
    "object_writer",
    "text_writer",
]


class Fallback(Exception):
    """The fast path declines: let cattrs structure the value (or explain what is wrong)."""


Reader = Callable[[object], Any]

_MISSING = object()


def _plain(text: str) -> bool:
    """ASCII without NUL: text that needs no closer look (``clean_string`` decides the rest)."""
    return text.isascii() and "\x00" not in text


def _string(value: object) -> str:
    if type(value) is not str or not (_plain(value) or clean_string(value)):
        raise Fallback
    return value


def _boolean(value: object) -> bool:
    if type(value) is not bool:
        raise Fallback
    return value


def _enumeration(cls: type[enum.Enum]) -> Reader:
    members = {str(member.value): member for member in cls}

    def read(value: object) -> enum.Enum:
        member = members.get(value) if type(value) is str else None
        if member is None:
            raise Fallback
        return member

    return read


def _timestamp(parse: Callable[[object], dt.datetime]) -> Reader:
    def read(value: object) -> dt.datetime:
        if type(value) is not str:
            raise Fallback
        try:
            return parse(value)
        except ValueError:
            raise Fallback from None

    return read


def _strings(value: object) -> tuple[str, ...]:
    if type(value) is not list and type(value) is not tuple:
        raise Fallback
    items: tuple[object, ...] = tuple(value)
    for item in items:
        if type(item) is not str or not (_plain(item) or clean_string(item)):
            raise Fallback
    return items  # type: ignore[return-value]


def _optional(read: Reader) -> Reader:
    def optional(value: object) -> Any:
        return None if value is None else read(value)

    return optional


def _reader_for(kind: Any, parse_timestamp: Callable[[object], dt.datetime]) -> Reader:
    if kind is str:
        return _string
    if kind is bool:
        return _boolean
    if kind is dt.datetime:
        return _timestamp(parse_timestamp)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return _enumeration(kind)
    if typing.get_origin(kind) is tuple and typing.get_args(kind) == (str, ...):
        return _strings
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if len(others) == 1:
            return _optional(_reader_for(others[0], parse_timestamp))
    raise TypeError(f"no fast reader for {kind!r}")  # a new field type: add a reader


def fact_reader(
    cls: type[Any], parse_timestamp: Callable[[object], dt.datetime], *, line: bool = False
) -> Callable[..., Any]:
    """A function from a fact's JSON object (with its ``type``) to the fact, or Fallback.

    Unrolled over the class's fields (generated from their names and types only): this runs
    once per fact read, and calls per field cost more than the checks themselves. The reader
    checks everything the class's own check (``_typed.check_fields``) does, for the
    well-formed case (the length of each text and the size of the whole fact too), and sets
    the fields directly without running it again.

    A key the class does not have declines: the reader counts the keys it finds, and an
    object holding more (or not a ``dict``) is the converter's.

    ``line``: a reader of the object that a JSON line without a backslash held, read by a
    decoder that lets a repeated key pass (the last one wins), called as
    ``read(body, quotes, short)``; it returns the fact and the text of its time, without its
    quotes, where the line gave it as an action's JSON writes it (else ``None``). ``quotes``
    counts the line's ``"``: without a backslash, two for each text (each key, each text
    value), so the reader declines the object (Fallback) unless its keys and texts account
    for them all, and a key given twice, or anything else the object does not show, is left
    to the decoder that refuses it. ``short``: the line is ASCII and at most
    :data:`SHORT_LINE` characters long, so each of its texts is ASCII without NUL (JSON
    allows no control character in a text unescaped) and within every length limit, and
    the reader does not look at them again.
    """
    fields = attrs.fields(cls)
    namespace: dict[str, Any] = {
        "cls": cls,
        "Fallback": Fallback,
        "MISSING": _MISSING,
        "new": object.__new__,
        "clean": clean_string,
        "NUL": "\x00",
    }
    # Its own keys only: a dictionary (as JSON gives it) holds no other key when it holds as
    # many as the fields found in it and its type (an object of another kind is the
    # converter's); counted as they are found, without a pass over its keys.
    # The checks, in a try: a required field missing (KeyError) declines as any other
    # problem does. Then the fact, built once they all passed.
    lines = [
        "    if type(body) is not dict:",
        "        raise Fallback",
        "    size = 0",
        "    found = 0",  # the optional fields found
    ]
    if line:
        lines += ["    texts = 0", "    at_text = None"]
    texts = 1  # the type's
    required = 1  # the type
    for field in fields:
        name = field.name
        check = "non_empty" if field.metadata.get("non_empty") else None
        read = _read_lines(name, field.type, check, namespace, parse_timestamp, line=line)
        if line:  # the texts of the value, on the line
            count = _texts_of(field.type)
            if count == 1 and field.default is attrs.NOTHING:
                texts += 1  # a required text is one
            elif count == 1:
                read.append("    texts += 1")
            elif isinstance(count, list):
                read += count
        if field.default is attrs.NOTHING:  # a missing one raises KeyError: Fallback below
            required += 1
            lines += [f"    value = body[{name!r}]", *read]
        else:  # only a value that arrived is read
            namespace[f"default_{name}"] = field.default
            lines += [
                f"    value = body.get({name!r}, MISSING)",
                "    if value is MISSING:",
                f"        value = default_{name}",
                "    else:",
                "        found += 1",
            ]
            lines += [f"    {each}" for each in read]
        lines += _size_lines(field.type, text_limit(name, field.type), line=line)
        lines.append(f"    field_{name} = value")  # named apart from the reader's own
    namespace["MAX_FACT_SIZE"] = MAX_FACT_SIZE
    # Built as the class's quick __init__ builds it: through its twin where there is one.
    build = build_lines(
        cls, [(field.name, f"field_{field.name}") for field in fields], namespace, prefix=""
    )
    lines += [
        "    if size > MAX_FACT_SIZE:",
        "        raise Fallback",
        f"    if len(body) != found + {required}:",
        "        raise Fallback",
        *(
            [f"    if quotes != 2 * (len(body) + texts + {texts}):", "        raise Fallback"]
            if line
            else []
        ),
    ]
    lines = [
        "def read(body, quotes, short):" if line else "def read(body):",
        "    try:",
        *(f"    {each}" for each in lines),
        "    except KeyError:",
        "        raise Fallback from None",
        *build,
        "    return new, at_text" if line else "    return new",
    ]
    what = "line reader" if line else "reader"
    reader: Callable[..., Any] = generate(lines, namespace, f"{what} for {cls.__qualname__}")
    return reader


SHORT_LINE = MAX_ID_LENGTH
"""The longest line whose texts a line reader takes as within every length limit: none can be
longer than the line."""


def _texts_of(kind: Any) -> int | list[str]:
    """How many texts a value of ``kind`` is in JSON, read: 1 for a text (a string, a time,
    a member of an enumeration), 0 for none; or statements that add them to ``texts``."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        inner = _texts_of(others[0]) if len(others) == 1 else 0
        if inner == 1:
            inner = ["    texts += 1"]
        if not inner or isinstance(inner, int):
            return 0
        return ["    if value is not None:", *(f"    {line}" for line in inner)]
    if kind is str or kind is dt.datetime:
        return 1
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return 1
    if typing.get_origin(kind) is tuple:
        return ["    texts += len(value)"]
    return 0


def _size_lines(kind: Any, limit: int, *, line: bool = False) -> list[str]:
    """Statements that check the length of ``value``, a text or a list of texts of a field
    with that ``limit`` (0: no text), and add it to ``size`` as ``check_fields`` counts it
    (``line``: a text of a short line is within every limit, and not counted)."""
    if not limit:
        return []
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        inner_kind = next(a for a in typing.get_args(kind) if a is not type(None))
        if line and inner_kind is str:
            inner = _size_lines(inner_kind, limit)
            return ["    if value is not None and not short:", *(f"    {x}" for x in inner)]
        inner = _size_lines(inner_kind, limit, line=line)
        return ["    if value is not None:", *(f"    {x}" for x in inner)]
    if kind is str:
        checks = [
            f"    if len(value) > {limit}:",
            "        raise Fallback",
            "    size += len(value) + 1",
        ]
        return ["    if not short:", *(f"    {x}" for x in checks)] if line else checks
    return [  # a tuple of texts
        "    for item in value:",
        f"        if len(item) > {limit}:",
        "            raise Fallback",
        "        size += len(item) + 1",
    ]


_SEPARATORS = "--T::+:"
"""The characters at every third place from the fifth of a timestamp as ``isoformat`` writes
a UTC time on a whole second (``2026-03-02T09:00:00+00:00``)."""


def _read_lines(
    name: str,
    kind: Any,
    check: str | None,
    namespace: dict[str, Any],
    parse_timestamp: Callable[[object], dt.datetime],
    *,
    line: bool = False,
) -> list[str]:
    """Statements that check ``value`` as a ``kind`` and leave it read, or raise Fallback
    (``line``: a time as isoformat writes it in UTC leaves its JSON text in ``at_text``)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if len(others) == 1:
            inner = _read_lines(name, others[0], check, namespace, parse_timestamp, line=line)
            return ["    if value is not None:", *(f"    {line}" for line in inner)]
    if kind is str:
        empty = " or not value" if check == "non_empty" else ""
        if line:  # a short line's texts are ASCII without NUL (see fact_reader)
            return [
                f"    if type(value) is not str{empty} or not (short or (value.isascii() and NUL"
                " not in value) or clean(value)):",
                "        raise Fallback",
            ]
        return [
            f"    if type(value) is not str{empty} or not ((value.isascii() and NUL not in value)"
            " or clean(value)):",
            "        raise Fallback",
        ]
    if kind is bool:
        return ["    if type(value) is not bool:", "        raise Fallback"]
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        namespace[f"members_{name}"] = {str(member.value): member for member in kind}
        return [
            f"    value = members_{name}.get(value) if type(value) is str else None",
            "    if value is None:",
            "        raise Fallback",
        ]
    namespace[f"read_{name}"] = _reader_for(kind, parse_timestamp)
    if kind is dt.datetime:
        # The time as isoformat writes it, which every time this library writes is, is read
        # by fromisoformat alone: what it reads of that shape (the separators in their places,
        # ASCII, 25 characters) is what parse_timestamp's pattern takes, and gives the same
        # time. Any other text is parse_timestamp's.
        namespace.update(
            SEPARATORS=_SEPARATORS,
            from_iso=dt.datetime.fromisoformat,
            UTC=_UTC,
            EARLIEST=EARLIEST,
            LATEST=LATEST,
        )
        # A time in UTC as this shape writes it, on a line: the action's JSON text of it.
        text = ["            at_text = value"] if line and name == "at" else []
        ascii_text = "(short or value.isascii())" if line else "value.isascii()"
        return [
            "    if (type(value) is str and len(value) == 25 and value[4::3] == SEPARATORS"
            f" and {ascii_text}):",
            "        try:",
            "            parsed = from_iso(value)",
            "        except ValueError:",
            "            raise Fallback from None",
            "        if parsed.tzinfo is UTC and EARLIEST <= parsed < LATEST:",
            *text,
            "            value = parsed",
            "        else:",
            f"            value = read_{name}(value)",
            "    else:",
            f"        value = read_{name}(value)",
        ]
    # Lists of strings: one call.
    return [f"    value = read_{name}(value)"]


def _writer_for(kind: Any) -> Callable[[Any], Any] | None:
    """How a field's value is written, or ``None`` when it is written as it is."""
    if kind is dt.datetime:
        return dt.datetime.isoformat
    if kind is dt.timedelta:
        return dt.timedelta.total_seconds
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return _enum_value
    if typing.get_origin(kind) in (Mapping, dict):  # of strings, or of lists of strings
        if typing.get_origin(typing.get_args(kind)[1]) is tuple:
            return _of_lists
        return dict
    if typing.get_origin(kind) is tuple:  # written as a JSON array
        item = typing.get_args(kind)[0]
        if isinstance(item, type) and issubclass(item, enum.Enum):
            return _enum_values
        if attrs.has(item):
            write_item = object_writer(item)
            return lambda items: [write_item(each) for each in items]
        return list
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        inner = _writer_for(others[0]) if len(others) == 1 else None
        return _or_none(inner) if inner is not None else None
    return None


def _of_lists(mapping: Mapping[str, tuple[str, ...]]) -> dict[str, list[str]]:
    return {key: list(items) for key, items in mapping.items()}


def _enum_value(member: Any) -> Any:  # an enum.Enum, or its value as text
    # A value read back from a stored state's JSON is its text already. ``_value_`` is what
    # ``value`` reads, without the descriptor's cost.
    return member if type(member) is str else member._value_


def _enum_values(members: tuple[Any, ...]) -> list[Any]:
    return [member if type(member) is str else member._value_ for member in members]


def _or_none(write: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def or_none(value: Any) -> Any:
        return None if value is None else write(value)

    return or_none


def action_writer(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    """A function from an action to its JSON object (with its ``type``), exactly as cattrs
    writes it: :func:`object_writer` with the tag first."""
    return object_writer(cls, tag=cls.TYPE)


def _unless_default(field: Any, namespace: dict[str, Any], statement: str) -> list[str]:
    """Lines that run ``statement`` only when the field holds another value than its default
    (a field whose metadata says ``omit_if_default``)."""
    namespace[f"default_{field.name}"] = field.default
    return [f"    if source.{field.name} != default_{field.name}:", f"        {statement}"]


def object_writer(cls: type[Any], *, tag: str | None = None) -> Callable[[Any], dict[str, Any]]:
    """A function from an instance of the attrs class ``cls`` to its JSON object, exactly as
    cattrs writes it (``tag``: a ``type`` written first).

    Unrolled over the class's fields (generated from their names and types only). A field
    whose metadata says ``omit_if_default`` is written only when it holds another value. The
    function reads the fields by name only: an escalation's working record is written as its
    frozen state would be.
    """
    namespace: dict[str, Any] = {}
    items = [] if tag is None else [f"        'type': {tag!r},"]
    optional: list[str] = []
    for field in attrs.fields(cls):
        writer = _writer_for(field.type)
        if writer is None:
            value = f"source.{field.name}"
        else:
            namespace[f"write_{field.name}"] = writer
            value = f"write_{field.name}(source.{field.name})"
        if field.metadata.get("omit_if_default"):
            optional += _unless_default(field, namespace, f"body[{field.name!r}] = {value}")
        else:
            items.append(f"        {field.name!r}: {value},")
    lines = ["def write(source):", "    body = {", *items, "    }", *optional, "    return body"]
    writer_function: Callable[[Any], dict[str, Any]] = generate(
        lines, namespace, f"writer for {cls.__qualname__}"
    )
    return writer_function


_COMPACT = json.JSONEncoder(separators=(",", ":")).encode
"""Compact JSON: what the text writers must equal, and what they fall back on."""
_SPACED = json.JSONEncoder().encode
"""JSON as ``json.dumps`` writes it by default (a space after each ``,`` and ``:``): what the
spaced text writers must equal."""
_ascii: Callable[[str], str] = json.encoder.encode_basestring_ascii
"""A string as a JSON string, quoted, as ``_COMPACT`` writes it."""


def _text_of(
    kind: Any, value: str, namespace: dict[str, Any], spaced: bool = False, at: bool = False
) -> str:
    """An expression for the JSON text of ``value`` (an expression of a field of ``kind``),
    as ``_COMPACT`` (``spaced``: ``_SPACED``) would write what :func:`_writer_for` makes of
    it. ``at``: a time that is the object ``at`` is written as ``at_text``."""
    comma = ", " if spaced else ","
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if len(others) == 1:
            inner = _text_of(others[0], value, namespace, spaced, at)
            return f"(NULL if {value} is None else {inner})"
    if kind is str:
        return f"string({value})"  # a text, or a member of a str-based enumeration: its text
    if kind is bool:
        return f"(TRUE if {value} is True else FALSE if {value} is False else dumps({value}))"
    if kind is dt.datetime:
        if at:
            return f"(at_text if {value} is at else timestamp({value}))"
        return f"timestamp({value})"
    if kind is dt.timedelta:
        return f"number({value}.total_seconds())"
    if _text_members(kind):
        return f"string({value})"
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return f"member({value})"
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        if item is str:
            return f"('[' + {comma!r}.join(map(string, {value})) + ']')"
        if _text_members(item):
            return f"('[' + {comma!r}.join(map(string, {value})) + ']')"
        if isinstance(item, type) and issubclass(item, enum.Enum):
            return f"('[' + {comma!r}.join(map(member, {value})) + ']')"
        if attrs.has(item):
            name = f"text_of_{item.__name__}"
            namespace[name] = text_writer(item, spaced=spaced)
            return f"('[' + {comma!r}.join(map({name}, {value})) + ']')"
    write = _writer_for(kind)
    if write is None:
        return f"dumps({value})"
    name = f"write_{len(namespace)}"
    namespace[name] = write
    return f"dumps({name}({value}))"


def _text_members(kind: Any) -> bool:
    """Whether ``kind`` is an enumeration of texts each of whose members is a ``str`` of its
    value's text: its JSON string is the member's own, as for any text."""
    return (
        isinstance(kind, type)
        and issubclass(kind, enum.Enum)
        and issubclass(kind, str)
        and all(
            type(member._value_) is str and str.__str__(member) == member._value_ for member in kind
        )
    )


_TWO_DIGITS = tuple(f"{number:02d}" for number in range(100))
_UTC = dt.timezone.utc


def _timestamp_text(value: dt.datetime) -> str:
    """``value.isoformat()`` as a JSON string. A UTC time on a whole second (every time the
    engine writes, but for a fact's own fractions) is joined from its numbers' texts, in half
    the time: ``isoformat`` formats each number with C's ``sprintf``."""
    year = value.year
    if value.tzinfo is not _UTC or value.microsecond or year < 1000:
        return '"' + value.isoformat() + '"'
    two = _TWO_DIGITS
    return (
        f'"{year}-{two[value.month]}-{two[value.day]}T{two[value.hour]}:'
        f'{two[value.minute]}:{two[value.second]}+00:00"'
    )


_DATETIME = dt.datetime
_KNOWN_TIMES = 1024
"""How many times' texts a writer keeps (it forgets them all when it has as many)."""


def _timestamp_texts() -> Callable[[dt.datetime], str]:
    """:func:`_timestamp_text` for one writer, keeping the texts of the UTC times it wrote.

    The actions of a stream name the same times again and again (a deadline, a meeting's
    time), and a text found again costs half of one joined anew. The key is the time's own
    state as ``__reduce__`` gives it (its year, month, day, hour, minute, second and
    microsecond, in bytes), read for a ``datetime`` in UTC only: two equal times in other
    zones are written differently, and the state says everything ``isoformat`` writes of a
    time in UTC."""
    known: dict[bytes, str] = {}

    def timestamp(value: dt.datetime) -> str:
        if type(value) is _DATETIME:
            state: tuple[Any, ...] = value.__reduce__()[1]  # type: ignore[assignment]
            if state[-1] is _UTC:  # (state, zone): a time with a zone, and that zone UTC
                text = known.get(state[0])
                if text is None:
                    if len(known) >= _KNOWN_TIMES:
                        known.clear()
                    text = known[state[0]] = _timestamp_text(value)
                return text
        return _timestamp_text(value)

    return timestamp


def _member_text(member: Any) -> str:  # an enum.Enum, or its value as text
    value = member if type(member) is str else member._value_
    return _ascii(value) if type(value) is str else _COMPACT(value)


def text_writer(
    cls: type[Any], *, tag: str | None = None, spaced: bool = False, at: bool = False
) -> Callable[..., str]:
    """A function from an instance of the attrs class ``cls`` to its compact JSON text:
    exactly ``json.dumps(object_writer(cls, tag=tag)(value), separators=(",", ":"))``, in a
    third of the time (no dictionary is built). ``spaced``: exactly
    ``json.dumps(object_writer(cls, tag=tag)(value))`` instead, as the command line writes
    its JSON lines. It reads the fields by name only, as :func:`object_writer` does.

    ``at``: called as ``write(source, at, at_text)``, where ``at_text`` is the JSON text of
    the time ``at`` (the time of the fact that the action answers, which most of its times
    are): a time that is that object is written as that text, without formatting it again.
    """
    encode = _SPACED if spaced else _COMPACT
    comma, colon = (", ", ": ") if spaced else (",", ":")
    namespace: dict[str, Any] = {
        "NULL": "null",
        "TRUE": "true",
        "FALSE": "false",
        "timestamp": _timestamp_texts(),
        "string": _ascii,
        "number": float.__repr__,
        "member": _member_text,
        "dumps": encode,
    }
    # The object's text is joined from its parts once (adding them one by one would copy the
    # growing text at each step).
    always: list[str] = [] if tag is None else [repr('"type"' + colon + encode(tag))]
    optional: list[str] = []
    for field in attrs.fields(cls):
        key = encode(field.name) + colon
        text = _text_of(field.type, f"source.{field.name}", namespace, spaced, at)
        if field.metadata.get("omit_if_default"):
            optional += _unless_default(field, namespace, f"parts += ({comma + key!r}, {text})")
        else:
            always += [repr((comma if always else "") + key), text]
    if not always:  # nothing to open the object with: the dictionary way
        write = object_writer(cls, tag=tag)
        if at:
            return lambda source, at, at_text: encode(write(source))
        return lambda source: encode(write(source))
    head = "def write(source, at, at_text):" if at else "def write(source):"
    if optional:
        lines = [
            head,
            f"    parts = ['{{', {', '.join(always)}]",
            *optional,
            "    parts.append('}')",
            "    return ''.join(parts)",
        ]
    else:
        lines = [head, f"    return ''.join(('{{', {', '.join(always)}, '}}'))"]
    writer_function: Callable[..., str] = generate(
        lines, namespace, f"text writer for {cls.__qualname__}"
    )
    return writer_function
