"""Reading histories of facts as JSON lines, one fact a line: each line bounded, numbered, its
JSON read with repeated keys refused, a byte order mark taken off the first. The command line,
the audit in parts and the impact of a change read their files through it."""

import json
import sys
import typing
from collections.abc import Iterator, Sequence
from typing import IO, Any

from escalation_policy._convert import shared_converter
from escalation_policy.errors import InputError
from escalation_policy.errors import describe as describe_value
from escalation_policy.model import Fact
from escalation_policy.policy import Policy

STDIN = "<stdin>"
"""How standard input (``-``) is named in messages and refused records."""


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused if a key comes twice: JSON readers differ on which one wins
    (Python's, the last), so ``{"type": "tick", "type": "opened"}`` means nothing certain."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return data


_DECODER = json.JSONDecoder(object_pairs_hook=_object)
"""Built once: ``json.loads`` with a hook builds a decoder for every line."""


def _fact(line: str | bytes, converter: Any) -> Fact:
    """The fact on one line; :class:`InputError` (without a line number) if there is none."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(
                f"not UTF-8 (byte 0x{line[error.start]:02x} at column {error.start + 1})"
            ) from None
    try:
        data = _DECODER.decode(line)
    except _RepeatedKey as repeated:
        raise InputError(
            f"the key {describe_value(repeated.key)} is given more than once in one object; "
            "expected each key once (which one was meant cannot be told)"
        ) from None
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    except RecursionError:
        raise InputError("not valid JSON (nested too deeply to read)") from None
    except ValueError:  # Python's limit on the digits of an integer
        raise InputError("not valid JSON (a number with too many digits to read)") from None
    try:
        fact: Fact = converter.structure(data, Fact)
    except InputError as error:
        found = data.get("id") if isinstance(data, dict) else None
        error.fact_id = found if isinstance(found, str) else None  # kept with the refusal
        raise
    return fact


MAX_LINE = 1 << 20
"""The longest line read, in bytes: a fact is a few hundred; a binary file may have none."""


def _bounded(stream: IO[str] | IO[bytes]) -> Iterator[str | bytes | None]:
    """The stream's lines, each at most :data:`MAX_LINE` long; ``None`` for a longer one,
    which is skipped to its end without being kept."""
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and line[-1:] not in ("\n", b"\n"):
            yield None  # said first: a reader that stops at it never reads the rest
            while True:
                rest = stream.readline(MAX_LINE)
                if not rest or rest[-1:] in ("\n", b"\n"):
                    break
            continue
        yield line


def _numbered(
    stream: IO[str] | IO[bytes], policy: Policy | None = None
) -> Iterator[tuple[int, Fact | InputError]]:
    """``(line number, fact or the reason there is none)`` for each non-blank line."""
    converter = shared_converter(policy)
    for number, line in enumerate(_bounded(stream), start=1):
        if line is None:
            yield (
                number,
                InputError(
                    f"the line is longer than {MAX_LINE:,} bytes; expected one JSON object a line"
                ).at_line(number),
            )
            continue
        if number == 1:  # a byte order mark, as some editors write
            line = (
                line.removeprefix(b"\xef\xbb\xbf")
                if isinstance(line, bytes)
                else line.removeprefix("\ufeff")
            )
        if not line.strip():
            continue
        try:
            item: Fact | InputError = _fact(line, converter)
        except InputError as error:
            item = error.at_line(number)
        yield number, item


def read_facts(
    stream: IO[str] | IO[bytes], policy: Policy | None = None
) -> Iterator[tuple[int, Fact]]:
    """``(line number, fact)`` for each non-blank JSON line, read as facts of ``policy`` (by
    default the handbook's); errors carry the line."""
    for number, item in _numbered(stream, policy):
        if isinstance(item, InputError):
            raise item
        yield number, item


class _AsData:
    """A converter that leaves each line's JSON data as it is: each policy reads it."""

    @staticmethod
    def structure(data: Any, _type: object) -> Any:
        return data


def read_json_lines(
    paths: Sequence[str], names: Sequence[str]
) -> Iterator[tuple[str, int, bytes | InputError]]:
    """``(file, line number, the line as read or the InputError of one too long)`` for each
    non-blank line of the files, in order (a byte order mark taken off the first)."""
    for path in paths:
        if path != "-":
            _open(path).close()
    for path, name in zip(paths, names, strict=True):
        stream = _open(path)
        try:
            for number, line in enumerate(_bounded(stream), start=1):
                if line is None:
                    yield (
                        name,
                        number,
                        InputError(
                            f"the line is longer than {MAX_LINE:,} bytes; expected one JSON "
                            "object a line"
                        ),
                    )
                    continue
                if number == 1 and isinstance(line, bytes):
                    line = line.removeprefix(b"\xef\xbb\xbf")
                if not line.strip():
                    continue
                yield name, number, typing.cast(bytes, line)
        except OSError as error:
            raise InputError(f"cannot read {name}: {error.strerror or error}") from None
        finally:
            if path != "-":
                stream.close()


def json_data(line: bytes) -> Any:
    """A line's JSON data, or the InputError of a line that is not JSON."""
    try:
        return _fact(line, _AsData)
    except InputError as error:
        return error


def read_json_items(paths: Sequence[str], names: Sequence[str]) -> Iterator[tuple[str, int, Any]]:
    """``(file, line number, JSON data or the InputError of a line that is not JSON)`` for each
    non-blank line of the files, in order."""
    for name, number, line in read_json_lines(paths, names):
        yield name, number, line if isinstance(line, InputError) else json_data(line)


def display_name(path: str) -> str:
    return STDIN if path == "-" else path


def _open(path: str) -> IO[bytes]:
    if path == "-":
        if sys.stdin is None:
            raise InputError("cannot read standard input: it is closed")
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
