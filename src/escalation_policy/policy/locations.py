"""Where a declaration was made, so that an error about it names the file and the line."""

import contextlib
import inspect
import re
from collections.abc import Iterator
from types import ModuleType
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


def assigned_in(module: ModuleType, name: str) -> dict[str, Any]:
    """``file`` and ``line`` of the statement that last binds ``name`` at the top of
    ``module`` (an assignment, or the import of a value declared elsewhere), where Python can
    tell."""
    import ast  # here: only a mistake needs it

    try:
        lines, _ = inspect.getsourcelines(module)
        file = inspect.getsourcefile(module)
        tree = ast.parse("".join(lines))
    except (OSError, TypeError, SyntaxError, ValueError):
        return {}
    found: int | None = None
    statements: list[ast.AST] = list(tree.body)
    while statements:
        statement = statements.pop()
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue  # a name bound in there is not the module's
        targets: list[ast.AST] = []
        if isinstance(statement, ast.Assign):
            targets = list(statement.targets)
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
            targets = [statement.target]
        bound = set()
        while targets:  # a name, or names unpacked: a, (b, *c) = ...
            target = targets.pop()
            if isinstance(target, ast.Name):
                bound.add(target.id)
            elif isinstance(target, (ast.Tuple, ast.List)):
                targets.extend(target.elts)
            elif isinstance(target, ast.Starred):
                targets.append(target.value)
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            bound = {(alias.asname or alias.name).partition(".")[0] for alias in statement.names}
        line = getattr(statement, "lineno", None)
        if name in bound and line is not None and (found is None or line > found):
            found = line
        for block in ("body", "orelse", "finalbody", "handlers"):  # if, try, with at the top
            statements.extend(getattr(statement, block, ()))
    return {"file": file, "line": found} if file is not None and found is not None else {}
