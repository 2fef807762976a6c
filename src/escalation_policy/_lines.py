"""Reading histories of facts as JSON lines, one fact a line: each line bounded, numbered, its
JSON read with repeated keys refused, a byte order mark taken off the first. The command line,
the audit in parts and the impact of a change read their files through it."""

import sys
import typing
from collections.abc import Iterator, Sequence
from typing import IO, Any

from escalation_policy._convert import lines as _json_lines
from escalation_policy._convert import shared_line_reader
from escalation_policy._convert.lines import fact_of_line, json_value
from escalation_policy.errors import InputError
from escalation_policy.model import Fact
from escalation_policy.policy import Policy, default_policy

STDIN = "<stdin>"
"""How standard input (``-``) is named in messages and refused records."""

# Where a line's JSON is read (the engine's handle_json reads it the same way), under the names
# the command line has imported from here.
_DECODER = _json_lines.DECODER
_RepeatedKey = _json_lines.RepeatedKey
_object = _json_lines.json_object


def _fact(line: str | bytes, converter: Any) -> Fact:
    """The fact on one line; :class:`InputError` (without a line number) if there is none."""
    return fact_of_line(line, lambda data: converter.structure(data, Fact))


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
            skip_rest(stream)
            continue
        yield line


def skip_rest(stream: IO[str] | IO[bytes]) -> None:
    """Read past the end of the line being read, keeping none of it."""
    while True:
        rest = stream.readline(MAX_LINE)
        if not rest or rest[-1:] in ("\n", b"\n"):
            return


def too_long() -> InputError:
    """The error of a line longer than :data:`MAX_LINE`."""
    return InputError(
        f"the line is longer than {MAX_LINE:,} bytes; expected one JSON object a line"
    )


def _numbered(
    stream: IO[str] | IO[bytes],
    policy: Policy | None = None,
    unfinished: list[int] | None = None,
) -> Iterator[tuple[int, Fact | InputError]]:
    """``(line number, fact or the reason there is none)`` for each non-blank line.

    ``unfinished``, if given: a last line without a newline that is not a fact is taken as
    one still being written: it is not yielded, and its number is appended to the list."""
    # handle_json's reader: a well-formed fact's line straight to its type's line reader,
    # anything else read as fact_of_line reads it, with the same errors.
    read = shared_line_reader(default_policy() if policy is None else policy)
    # _bounded's lines, read in this loop: a history is millions of lines.
    readline = stream.readline
    number = 0
    while line := readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE and line[-1:] not in ("\n", b"\n"):
            yield number, too_long().at_line(number)  # said first, as _bounded says it
            skip_rest(stream)
            continue
        if number == 1:  # a byte order mark, as some editors write
            line = (
                line.removeprefix(b"\xef\xbb\xbf")
                if isinstance(line, bytes)
                else line.removeprefix("\ufeff")
            )
        if not line or line.isspace():  # as `not line.strip()`, without copying the line
            continue
        try:
            item: Fact | InputError = read(line)[0]
        except InputError as error:
            if unfinished is not None and line[-1:] not in ("\n", b"\n"):
                unfinished.append(number)  # only the last line of a stream lacks one
                return
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
            open_lines(path).close()
    for path, name in zip(paths, names, strict=True):
        stream = open_lines(path)
        try:
            for number, line in enumerate(_bounded(stream), start=1):
                if line is None:
                    yield name, number, too_long()
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
        return json_value(line)
    except InputError as error:
        return error


def read_json_items(paths: Sequence[str], names: Sequence[str]) -> Iterator[tuple[str, int, Any]]:
    """``(file, line number, JSON data or the InputError of a line that is not JSON)`` for each
    non-blank line of the files, in order."""
    for name, number, line in read_json_lines(paths, names):
        yield name, number, line if isinstance(line, InputError) else json_data(line)


def display_name(path: str) -> str:
    return STDIN if path == "-" else path


def open_lines(path: str) -> IO[bytes]:
    """The file at ``path`` (``-``: standard input) to read as bytes; an :class:`InputError`
    says why it cannot be opened."""
    if path == "-":
        if sys.stdin is None:
            raise InputError("cannot read standard input: it is closed")
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
