"""Generate the reference pages from the code: ``python docs/generate.py``.

- ``docs/reference.md``: the public API (``escalation_policy.__all__`` and the testing kit),
  with signatures and docstrings.
- ``docs/rules.md``: every rule of the handbook's policy (reactions and decision-table rows),
  with its id, title and citation: what an action's ``rule`` and ``cites`` refer to.

``tests/test_docs.py`` fails when a committed page differs from what this script generates.
"""

import enum
import inspect
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs

import escalation_policy
import escalation_policy.testing
import escalation_policy.testing.strategies
from escalation_policy import default_policy
from escalation_policy.render import policy_reference
from escalation_policy.schema import json_schema

DOCS = Path(__file__).resolve().parent

TESTING_CLASSES = ("Timeline", "PolicyCoverage")
TESTING_FUNCTIONS = ("assert_actions", "assert_compliant")
TESTING_FIXTURES = ("policy_engine", "timeline", "make_timeline")


def _doc(obj: object) -> str:
    if inspect.isclass(obj):
        # A class's own docstring only: inherited ones describe the base class, not this one.
        text = obj.__dict__.get("__doc__")
        if issubclass(obj, enum.Enum) and text == "An enumeration.":
            text = None  # what Python 3.10 gives an enumeration without a docstring
    else:
        text = inspect.getdoc(obj)
    return inspect.cleandoc(text or "")


_MODULE_PATH = re.compile(
    r"\b(?:escalation_policy(?:\.\w+)*|collections\.abc|typing"
    r"|hypothesis\.strategies(?:\._internal\.\w+)*)\."
)
_QUOTED = re.compile(r"('[^']*'|\"[^\"]*\")")


def _short(signature: str) -> str:
    """Annotations without module paths: ``EscalationState``, not ``escalation_policy....``.
    Quoted defaults keep their text: ``'escalation_policy.rules'`` is a value, not a path."""
    parts = _QUOTED.split(signature)
    return "".join(
        part if index % 2 else _MODULE_PATH.sub("", part) for index, part in enumerate(parts)
    )


def _signature(obj: object, *, drop_self: bool = False, returns: bool = True) -> str:
    try:
        signature = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "(...)"
    if drop_self:
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    if not returns:
        signature = signature.replace(return_annotation=inspect.Signature.empty)
    return _short(str(signature))


def _own_init(cls: type) -> bool:
    """Whether the library itself defines how the class is built (not attrs, not Python)."""
    return not attrs.has(cls) and any(
        "__init__" in base.__dict__
        for base in cls.__mro__
        if base.__module__.startswith("escalation_policy")
    )


def members(cls: type) -> Iterator[tuple[str, object]]:
    """A class's public methods and properties, as its body defines them (not inherited)."""
    for name, value in cls.__dict__.items():
        if name.startswith("_"):
            continue
        if isinstance(value, (property, staticmethod, classmethod)) or inspect.isfunction(value):
            yield name, value


def _describe_member(owner: str, name: str, value: object) -> list[str]:
    if isinstance(value, property):
        returns = inspect.signature(value.fget).return_annotation  # type: ignore[arg-type]
        kind = (
            "" if returns is inspect.Signature.empty else f": {inspect.formatannotation(returns)}"
        )
        heading = f"#### `{owner}.{name}{_short(kind)}` (property)"
    elif isinstance(value, (staticmethod, classmethod)):
        kind = "static" if isinstance(value, staticmethod) else "class"
        signature = _signature(value.__func__, drop_self=isinstance(value, classmethod))
        heading = f"#### `{owner}.{name}{signature}` ({kind} method)"
    else:
        heading = f"#### `{owner}.{name}{_signature(value, drop_self=True)}`"
    doc = _doc(_function(value))
    return [heading, "", *([doc, ""] if doc else [])]


def _function(member: object) -> object:
    """The function behind a method or property, which holds its docstring."""
    if isinstance(member, property):
        return member.fget
    if isinstance(member, (staticmethod, classmethod)):
        return member.__func__
    return member


def _describe(name: str, obj: object) -> list[str]:
    lines = []
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        values = ", ".join(f"`{member.value}`" for member in obj)
        lines += [f"### `{name}`", "", f"Enumeration: {values}.", ""]
    elif inspect.isclass(obj) and attrs.has(obj):
        fields = ", ".join(f"`{field.name}`" for field in attrs.fields(obj))
        tag = getattr(obj, "TYPE", "")
        lines += [f"### `{name}`", ""]
        if tag:
            lines += [f'JSON `"type"`: `{tag}`.', ""]
        lines += [f"Fields: {fields}.", ""]
    elif inspect.isclass(obj):
        signature = _signature(obj, returns=False) if _own_init(obj) else ""
        lines += [f"### `{name}{signature}`", ""]
    elif inspect.isroutine(obj):
        lines += [f"### `{name}{_signature(obj)}`", ""]
    else:  # a constant or a type alias: its value is what there is to say
        return [f"### `{name}`", "", f"`{_short(repr(obj))}`", ""]
    doc = _doc(obj)
    if doc:
        lines += [doc, ""]
    if inspect.isclass(obj):
        for member, value in members(obj):
            lines += _describe_member(name, member, value)
    return lines


def public_api() -> Iterator[tuple[str, object]]:
    """Everything the reference documents, by the name a user imports it under."""
    for name in sorted(escalation_policy.__all__, key=str.lower):
        if not name.startswith("__"):
            yield f"escalation_policy.{name}", getattr(escalation_policy, name)
    for name in (*TESTING_CLASSES, *TESTING_FUNCTIONS, *TESTING_FIXTURES):
        yield f"escalation_policy.testing.{name}", getattr(escalation_policy.testing, name)
    strategies = escalation_policy.testing.strategies
    for name in sorted(strategies.__all__, key=str.lower):
        yield f"escalation_policy.testing.strategies.{name}", getattr(strategies, name)


def undocumented() -> list[str]:
    """Public functions, classes (other than plain data), methods and properties with no
    docstring of their own."""
    missing = []
    for qualified, obj in public_api():
        if inspect.isclass(obj):
            plain_data = attrs.has(obj) or issubclass(obj, enum.Enum)
            if not plain_data and not _doc(obj):
                missing.append(qualified)
            for member, value in members(obj):
                if not _doc(_function(value)):
                    missing.append(f"{qualified}.{member}")
        elif inspect.isroutine(obj) and not _doc(obj):
            missing.append(qualified)
    return missing


def reference() -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the code by `python docs/generate.py`; do not edit by hand.",
        "",
        "## `escalation_policy`",
        "",
    ]
    for name in sorted(escalation_policy.__all__, key=str.lower):
        if name.startswith("__"):
            continue
        lines += _describe(name, getattr(escalation_policy, name))
    lines += ["## `escalation_policy.testing`", ""]
    for name in (*TESTING_CLASSES, *TESTING_FUNCTIONS):
        lines += _describe(name, getattr(escalation_policy.testing, name))
    lines += [
        "### Fixtures",
        "",
        'With `pytest_plugins = ["escalation_policy.testing"]` in the root `conftest.py`.',
        "",
    ]
    for name in TESTING_FIXTURES:
        fixture = getattr(escalation_policy.testing, name)
        lines += [f"#### `{name}`", "", _doc(fixture), ""]
    lines += ["## `escalation_policy.testing.strategies`", ""]
    strategies = escalation_policy.testing.strategies
    lines += [_doc(strategies), ""]
    for name in sorted(strategies.__all__, key=str.lower):
        lines += _describe(name, getattr(strategies, name))
    return "\n".join(lines).rstrip() + "\n"


def rules() -> str:
    """The handbook's policy's reference (``escalation-policy rules`` prints it for any)."""
    return policy_reference(default_policy(), "The rules of the handbook's policy")


def schema() -> str:
    """The JSON Schema of the handbook's policy (``escalation-policy schema`` for any)."""
    return json.dumps(json_schema(default_policy()), indent=2) + "\n"


PAGES = {"reference.md": reference, "rules.md": rules, "schema.json": schema}


def main() -> int:
    for name, build in PAGES.items():
        (DOCS / name).write_text(build())
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
