"""Where a declaration was made, so that an error about it names the file and the line."""

import contextlib
import inspect
import re
from collections.abc import Iterator
from typing import Any

from escalation_policy.errors import PolicyDefinitionError
from escalation_policy.vocabulary import (
    Location,
)


def where(item: object) -> dict[str, Any]:
    """``file`` and ``line`` for an error about ``item``, where it records them."""
    location = getattr(item, "defined_at", None)
    if isinstance(location, Location):
        return {"file": location.file, "line": location.line}
    return {}


@contextlib.contextmanager
def declared_at(item: object) -> Iterator[None]:
    """Errors raised inside that name no file are located where ``item`` was declared."""
    try:
        yield
    except PolicyDefinitionError as error:
        location = where(item)
        if error.file is not None or not location:
            raise
        raise PolicyDefinitionError(
            error.reason, module=error.module, rule=error.rule, **location
        ) from None


def source_of(cls: type[Any]) -> dict[str, Any]:
    """``file`` and ``line`` of a class's definition, where Python can tell."""
    try:
        lines, line = inspect.getsourcelines(cls)
        file = inspect.getsourcefile(cls)
    except (OSError, TypeError):
        return {}
    return {"file": file, "line": line} if file is not None and lines else {}


def field_of(cls: type[Any], name: str) -> dict[str, Any]:
    """``file`` and ``line`` of the field ``name`` in the definition of ``cls`` (or of the
    base class that declares it), else of the class, where Python can tell."""
    pattern = re.compile(rf"^\s*{re.escape(name)}\s*:")
    for owner in cls.__mro__:
        if name not in getattr(owner, "__annotations__", {}):
            continue
        try:
            lines, start = inspect.getsourcelines(owner)
            file = inspect.getsourcefile(owner)
        except (OSError, TypeError):
            break
        for offset, text in enumerate(lines):
            if file is not None and pattern.match(text):
                return {"file": file, "line": start + offset}
        break
    return source_of(cls)
