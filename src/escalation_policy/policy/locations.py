"""Where a declaration was made, so that an error about it names the file and the line."""

import contextlib
import inspect
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
