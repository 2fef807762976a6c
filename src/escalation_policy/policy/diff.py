"""What differs between two policies: every difference of their identity documents, by place.

Two policies have the same identity exactly when they have no difference here: both read the
canonical document of :mod:`escalation_policy.policy.identity`. A difference is named by its path in
that document, with the rule ids as they are written: ``tables/severity.levels/rows/high/then``
is the outputs of the row ``high`` of the table ``severity.levels``; ``reactions/...``,
``obligations/...``, ``settings/...``, ``facts/...`` and ``actions/...`` name the others.
"""

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from escalation_policy._language.wording import label
from escalation_policy.periods import (
    BusinessTime,
    EachBusinessDay,
    EveryBusinessDays,
    Rolling,
    TimesPerWeek,
)
from escalation_policy.policy.identity import document

__all__ = ["PolicyDifference", "differences"]

_SHORT = 120
"""The longest value shown whole beside a place added or removed (a row, a value)."""
_KEYS = ("id", "name")
"""What names the items of a list of declarations (tables, rows, reactions; context fields)."""


@attrs.frozen
class PolicyDifference:
    """One place where two policies differ: ``old`` and ``new`` are the JSON values there in
    the identity document (``None`` where the place is ``added`` or ``removed``)."""

    kind: Literal["added", "removed", "changed"]
    path: str
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        if self.kind in ("added", "removed"):
            sign, value = ("+", self.new) if self.kind == "added" else ("-", self.old)
            shown = _shown(value)
            return f"{sign} {self.path}" + (f": {shown}" if len(shown) <= _SHORT else "")
        if self.path.endswith("/code"):  # a function's syntax tree: its file says more
            return f"~ {self.path}: the function's code changed"
        old, new = _shown(self.old), _shown(self.new)
        if old == new:  # members that differ by their names only
            old, new = _shown(self.old, plain=False), _shown(self.new, plain=False)
        old, new = _focused(old, new)
        return f"~ {self.path}: {old} -> {new}"


def differences(old: Any, new: Any) -> tuple[PolicyDifference, ...]:
    """Every difference from the policy ``old`` to the policy ``new``, in document order."""
    found: list[PolicyDifference] = []
    _compare(document(old), document(new), "", found)
    return tuple(found)


def _compare(old: Any, new: Any, path: str, found: list[PolicyDifference]) -> None:
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping) and not _leaf(old) and not _leaf(new):
        _compare_mappings(old, new, path, found)
        return
    keyed_old, keyed_new = _keyed(old), _keyed(new)
    if keyed_old is not None and keyed_new is not None:
        _compare_mappings(keyed_old, keyed_new, path, found)
        kept = [key for key in keyed_old if key in keyed_new]
        moved = [key for key in keyed_new if key in keyed_old]
        if kept != moved:  # the same items in another order (a first-hit table's rows)
            found.append(PolicyDifference("changed", f"{path} (order)", kept, moved))
        return
    found.append(PolicyDifference("changed", path or "/", old, new))


def _compare_mappings(
    old: Mapping[str, Any], new: Mapping[str, Any], path: str, found: list[PolicyDifference]
) -> None:
    for key in [*old, *(key for key in new if key not in old)]:
        place = f"{path}/{key}" if path else str(key)
        if key not in new:
            found.append(PolicyDifference("removed", place, old=old[key]))
        elif key not in old:
            found.append(PolicyDifference("added", place, new=new[key]))
        elif key == "code" and "function" in old and old[key] != new[key]:
            found.append(PolicyDifference("changed", place, old[key], new[key]))  # one line
        else:
            _compare(old[key], new[key], place, found)


def _keyed(items: Any) -> dict[str, Any] | None:
    """A list of declarations as a mapping by their ids (or names), if it is one: objects with
    an ``id`` or a ``name``, or lists headed by a name (a type's fields, a value set's
    members)."""
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        return None
    named: dict[str, Any] | None = None
    for key in _KEYS:
        if all(isinstance(item, Mapping) and isinstance(item.get(key), str) for item in items):
            named = {item[key]: item for item in items}
            break
    else:
        if all(isinstance(item, list) and item and isinstance(item[0], str) for item in items):
            named = {item[0]: item[1:] for item in items}
    return named if named is not None and len(named) == len(items) else None


def _leaf(value: Mapping[str, Any]) -> bool:
    """A value the document writes as an object but that reads as one value: a member of a
    value set, a duration."""
    return set(value) in ({"member", "value"}, {"seconds"})


def _plain(value: Any) -> Any:
    """``value`` as a reader would name it: a member by its value, a duration as ``3d 12h``,
    a period as its text (``each business day``), a business time as ``2h of business time``."""
    if isinstance(value, Mapping):
        if set(value) == {"member", "value"}:
            return _plain(value["value"])
        if set(value) == {"seconds"} and isinstance(value["seconds"], (int, float)):
            return _duration(value["seconds"])
        if (period := _period(value)) is not None:
            return period
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _period(value: Mapping[str, Any]) -> str | None:
    """A period or a business time, as the document writes it, in the words settings take."""
    kinds: dict[str, Any] = {
        cls.__qualname__: cls
        for cls in (EachBusinessDay, EveryBusinessDays, TimesPerWeek, Rolling, BusinessTime)
    }
    kind = kinds.get(value.get("kind"))  # type: ignore[arg-type]
    if kind is None:
        return None
    fields = {
        name: dt.timedelta(seconds=item["seconds"]) if isinstance(item, Mapping) else item
        for name, item in value.items()
        if name != "kind"
    }
    try:
        built = kind(**fields)
    except (TypeError, ValueError):
        return None
    return label(built)


def _duration(seconds: float) -> str:
    parts, left = [], int(seconds)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "0s"


def _shown(value: Any, *, plain: bool = True) -> str:
    return json.dumps(_plain(value) if plain else value, sort_keys=True, ensure_ascii=False)


def _focused(old: str, new: str, *, longest: int = _SHORT, context: int = 30) -> tuple[str, str]:
    """Two long texts cut to where they differ, with some context on each side: what they
    have in common at either end is left out (``…``), never what differs."""
    if len(old) <= longest and len(new) <= longest:
        return old, new
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(old), len(new)) - prefix
        and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]
    ):
        suffix += 1
    start = max(prefix - context, 0)
    kept = max(suffix - context, 0)

    def cut(text: str) -> str:
        head = "\u2026" if start else ""
        tail = "\u2026" if kept else ""
        return head + text[start : len(text) - kept] + tail

    return cut(old), cut(new)
