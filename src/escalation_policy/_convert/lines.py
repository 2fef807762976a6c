"""One JSON line in: its value, read with repeated keys refused; a fact from it.

The command line, the audit in parts and :meth:`PolicyEngine.handle_json` read lines through
it, so a bad line is refused with the same words wherever it arrives.
"""

import json
from collections.abc import Callable
from typing import Any

from escalation_policy.errors import InputError, describe
from escalation_policy.model import Fact

__all__ = ["RepeatedKey", "fact_of_line", "json_value", "scan_lenient"]


class RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused if a key comes twice: JSON readers differ on which one wins
    (Python's, the last), so ``{"type": "tick", "type": "opened"}`` means nothing certain."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise RepeatedKey(key)
            seen.add(key)
    return data


DECODER = json.JSONDecoder(object_pairs_hook=json_object)
"""Built once: ``json.loads`` with a hook builds a decoder for every line."""
_decode = DECODER.decode
_scan: Callable[[str, int], tuple[Any, int]] = DECODER.scan_once  # type: ignore[attr-defined]
"""The decoder's own scanner: a line that is one JSON value and nothing else (or a newline)
is read by it directly, without ``decode``'s two calls and two whitespace matches; anything
else goes through ``decode``, which reads it the same way or says what is wrong."""

scan_lenient: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
"""The scanner of a decoder that lets a repeated key pass (the last one wins), a third
cheaper than :data:`DECODER`'s (whose hook builds each object again from a list of pairs). For
readers that tell by other means that no key came twice (the line readers of
``_convert.fastpath.fact_reader`` count a line's ``"``), and read the line with
:func:`json_value` where they cannot."""


def json_value(line: str | bytes) -> Any:
    """The JSON value of one line (text, or UTF-8 bytes); an :class:`InputError` (without a
    line number) says why there is none."""
    if not isinstance(line, str):
        if not isinstance(line, (bytes, bytearray)):
            raise InputError(f"got {describe(line)}, expected a line of JSON text (str or bytes)")
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(
                f"not UTF-8 (byte 0x{line[error.start]:02x} at column {error.start + 1})"
            ) from None
    try:
        value, end = _scan(line, 0)
    except Exception:  # decode says what is wrong, or reads what this cannot
        pass
    else:
        if end == len(line) or line[end:] == "\n":
            return value
    try:
        return _decode(line)
    except RepeatedKey as repeated:
        raise InputError(
            f"the key {describe(repeated.key)} is given more than once in one object; "
            "expected each key once (which one was meant cannot be told)"
        ) from None
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    except RecursionError:
        raise InputError("not valid JSON (nested too deeply to read)") from None
    except ValueError:  # Python's limit on the digits of an integer
        raise InputError("not valid JSON (a number with too many digits to read)") from None


def fact_of_line(line: str | bytes, read: Callable[[Any], Fact]) -> Fact:
    """The fact on one line, read from its JSON value by ``read``; an :class:`InputError`
    (without a line number) if there is none, with the ``fact_id`` of an object that has
    one."""
    data = json_value(line)
    try:
        return read(data)
    except InputError as error:
        found = data.get("id") if isinstance(data, dict) else None
        error.fact_id = found if isinstance(found, str) else None  # kept with the refusal
        raise
