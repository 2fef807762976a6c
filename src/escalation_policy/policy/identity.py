"""A policy's identity: one digest of everything it declares.

Two loads of the same rule package with the same settings have the same identity, on any
machine and any supported Python; any change to what the policy decides or says changes it: a
table's row or hit policy, a reaction, an obligation, a citation, a title, a fact or action
type and its fields, a value set, a setting's value, a computed context field's code. Where a
declaration sits in its file (``defined_at``), comments and formatting take no part.

The digest is the SHA-256 of :func:`document`, a canonical JSON form of the policy, written
with sorted keys: ``sha256:`` and 64 hexadecimal digits. A function in a declaration (a
computed context field's reader) is written as its qualified name, its syntax tree (without
comments, docstring or layout: the same tree on every supported Python) and, in turn, the
functions and values it names from its module and its closure; without source, by its name
alone. One the engine built from a declaration is written by its name. Module names take no
part: a copy of a package under another name is the same policy.
"""

import ast
import datetime as dt
import enum
import hashlib
import inspect
import json
import threading
import types
import typing
import weakref
from collections.abc import Mapping
from typing import Any

import attrs

from escalation_policy.calendar import Calendar

__all__ = ["FORMAT", "document", "identity"]

FORMAT = 1
"""The version of :func:`document`'s form: part of what is digested, so that a new form never
gives an old policy's identity to another policy."""

_NEW_AND_UNSET = frozenset({"replaces", "early_grace", "to_end_of_day", "covered_by"})
"""Fields of declarations added after their first release, left out while unset."""

_PARSING = threading.Lock()
"""Held while a source is parsed: Python 3.11 keeps the depth of the syntax tree it is building
in one place for all threads, and ``ast.parse`` in two threads at once may fail with
``SystemError: AST constructor recursion depth mismatch`` (CPython issue 106905)."""

_IDENTITIES: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()
"""Each policy's identity, computed once: a policy never changes once loaded."""


def identity(policy: Any) -> str:
    """``sha256:`` and the hexadecimal SHA-256 of the policy's canonical :func:`document`."""
    known = _IDENTITIES.get(policy)
    if known is None:
        text = json.dumps(document(policy), sort_keys=True, separators=(",", ":"))
        known = _IDENTITIES[policy] = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return known


def document(policy: Any) -> dict[str, Any]:
    """The policy (a :class:`~escalation_policy.policy.Policy`, which imports this module) as
    plain JSON data: what its identity digests."""
    terms = policy.terms
    writer = _Writer()
    _value, _class, _members = writer.value, writer.cls, writer.members
    return {
        "format": FORMAT,
        "facts": {tag: _class(cls) for tag, cls in terms.facts.items()},
        "opening": terms.opening.TYPE,
        "actions": {tag: _class(cls) for tag, cls in terms.actions.items()},
        "values": {cls.__name__: _members(cls) for cls in terms.values},
        "severity": terms.severity.__name__,
        "attributes": {
            name: [_type(kind), _value(default)]
            for name, (kind, default) in terms.attributes.items()
        },
        "statuses": list(terms.statuses),
        "sets": {tag: [list(pair) for pair in pairs] for tag, pairs in terms.sets.items()},
        "moves": {tag: dict(moves) for tag, moves in terms.moves.items()},
        "after_closing": sorted(terms.after_closing),
        "context": [
            {
                "name": field.name,
                "domain": _value(field.domain),
                "read": _value(field.read),
                "facts": None if field.facts is None else sorted(field.facts),
            }
            for field in terms.context.fields
        ],
        "outputs": dict(policy.outputs),
        "settings": {name: _value(value) for name, value in policy.settings.items()},
        "tables": [_value(compiled.table) for compiled in policy.tables],
        "reactions": [_value(compiled.reaction) for compiled in policy.reactions],
        "obligations": {
            name: _value(compiled.obligation) for name, compiled in policy.obligations.items()
        },
        "late_fulfilment_window": _value(policy.late_fulfilment_window),
        "opening_grace": _value(policy.opening_grace),
        **({"calendars": _value(policy.calendars)} if policy.calendars is not None else {}),
    }


def _type(kind: Any) -> str:
    """A field's type as text, the same on every Python version."""
    if kind is type(None):
        return "null"
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(sorted(_type(argument) for argument in typing.get_args(kind)))
    if origin is not None:
        name = getattr(origin, "__qualname__", str(origin))
        return f"{name}[{', '.join(_type(argument) for argument in typing.get_args(kind))}]"
    if kind is Ellipsis:
        return "..."
    if isinstance(kind, type):
        tag = getattr(kind, "TYPE", None)
        if isinstance(tag, str) and tag:
            return f"type:{tag}"
        prefix = "enum:" if issubclass(kind, enum.Enum) else ""
        return prefix + kind.__qualname__
    return str(kind)


class _Writer:
    """Writes one policy's declarations as plain JSON data, the same on every machine and
    Python version; a function once however often it is named."""

    def __init__(self) -> None:
        self.functions: dict[int, str] = {}  # the functions written or being written
        self.definitions: dict[str, tuple[list[str], list[ast.AST]]] = {}
        """Each source file read so far, its lines and its functions and lambdas: a module is
        parsed once, however many of its functions the policy names."""

    def cls(self, cls: type[Any]) -> dict[str, Any]:
        """A fact or action type: its fields (name, type, default, metadata) and class
        settings."""
        hints = typing.get_type_hints(cls)
        fields = [
            [
                field.name,
                _type(hints.get(field.name, field.type)),
                None if field.default is attrs.NOTHING else self.value(field.default),
                self.value(dict(field.metadata)),
            ]
            for field in attrs.fields(cls)
        ]
        settings = {
            name: self.value(getattr(cls, name))
            for name in ("OPENS", "SETS", "STATUS", "AFTER_CLOSING")
            if hasattr(cls, name)
        }
        if getattr(cls, "STATUS_WHEN", None) is not None:  # unset, as before it existed
            settings["STATUS_WHEN"] = self.value(cls.STATUS_WHEN)
        return {"fields": fields, "class": settings}

    def members(self, cls: type[enum.Enum]) -> list[list[Any]]:
        return [
            [member.name, self.value(member.value), self.value(getattr(member, "label", None))]
            for member in cls
        ]

    def value(self, value: Any) -> Any:
        """``value`` as plain JSON data."""
        if value is attrs.NOTHING:  # an attribute's "default": the opening fact sets it
            return {"set_by": "the opening fact"}
        if isinstance(value, enum.Enum):  # before str: most of the policy's values are both
            return {
                "member": f"{type(value).__qualname__}.{value.name}",
                "value": self.value(value.value),
            }
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, Calendar):  # its hours, dates and sources: what it is
            return {"calendar": value.document()}
        if isinstance(value, dt.timedelta):
            return {"seconds": value.total_seconds()}
        if isinstance(value, dt.datetime):
            return {"time": value.isoformat()}
        if isinstance(value, type):
            return {"class": _type(value)}
        if isinstance(value, Mapping):
            return {str(key): self.value(item) for key, item in value.items()}
        if isinstance(value, (tuple, list)):
            return [self.value(item) for item in value]
        if isinstance(value, (set, frozenset)):
            items = [self.value(item) for item in value]
            return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
        if attrs.has(type(value)):
            body = {
                field.name: self.value(getattr(value, field.name))
                for field in attrs.fields(type(value))
                if field.name != "defined_at"  # where it was declared takes no part
                # a rule that replaces none, an obligation that counts no early work and is
                # covered by none, a business time that ends when its open time does: the
                # identity it had before ``replaces``, ``early_grace``, ``covered_by`` and
                # ``to_end_of_day`` existed
                and not (field.name in _NEW_AND_UNSET and not getattr(value, field.name))
            }
            return {"kind": type(value).__qualname__, **body}
        if isinstance(value, types.ModuleType):
            return {"module": value.__name__}
        if isinstance(value, (types.FunctionType, types.MethodType)) or callable(value):
            return self.function(value)
        if isinstance(value, (bytes, complex)) or value is Ellipsis:
            return {"literal": repr(value)}
        return {"object": type(value).__qualname__}

    def function(self, function: Any) -> dict[str, Any]:
        """A policy's own function by its name and its code: its syntax tree (comments,
        docstring and layout left out), and what it names from its module and its closure, in
        turn; one of the engine's (a reader the loader builds for a declared field) by its
        name alone: its code is the engine's, and a new version of the library does not make
        another policy of the same one."""
        name = getattr(function, "__qualname__", None) or type(function).__qualname__
        written: dict[str, Any] = {"function": name}  # module names take no part
        module = getattr(function, "__module__", None) or ""
        if module.partition(".")[0] == "escalation_policy" and not module.startswith(_RULES):
            return written
        if id(function) in self.functions:  # recursion, or named twice: once is enough
            return written
        self.functions[id(function)] = name
        nodes = _syntax(function, self.definitions)
        if not nodes:  # no source to read: its name is all there is
            return written
        written["code"] = [_tree(node) for node in nodes]
        named = getattr(function, "__globals__", {})
        written["uses"] = {
            used: self.value(named[used])
            for used in sorted(_names(nodes))
            if used in named and named[used] is not function
        }
        cells = getattr(function, "__closure__", None) or ()
        written["closure"] = [self.value(cell.cell_contents) for cell in cells]
        return written


def _syntax(
    function: Any, definitions: dict[str, tuple[list[str], list[ast.AST]]]
) -> list[ast.AST]:
    """The syntax tree of a function or lambda, found in its module's source by its name and
    first line (several lambdas on one line: all of them); empty if Python has no source.
    ``definitions``: by file name, each source already parsed, its lines and its functions
    and lambdas in the order ``ast.walk`` gives them."""
    code = getattr(function, "__code__", None)
    if code is None:
        return []
    try:
        lines, _ = inspect.findsource(function)
    except (OSError, TypeError, SyntaxError, ValueError):
        return []
    known = definitions.get(code.co_filename)
    if known is not None and known[0] == lines:
        candidates = known[1]
    else:
        try:
            with _PARSING:
                tree = ast.parse("".join(lines))
        except (OSError, TypeError, SyntaxError, ValueError):
            return []
        candidates = [
            node
            for node in ast.walk(tree)
            if isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef))
        ]
        definitions[code.co_filename] = (lines, candidates)
    found: list[ast.AST] = []
    for node in candidates:
        if code.co_name == "<lambda>":
            if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno:
                found.append(node)
        elif (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name
        ):
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            if first == code.co_firstlineno:
                found.append(node)
    return found


def _tree(node: Any) -> Any:
    """A syntax tree as nested lists: each node's type and its fields, leaving out fields that
    are empty (the same tree on every Python version) and a function's docstring."""
    if isinstance(node, ast.AST):
        written: list[Any] = [type(node).__name__]
        for field in node._fields:
            value = getattr(node, field, None)
            if field == "body" and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                value = _without_docstring(value)
            if value is None or value == []:
                continue
            written.append([field, _tree(value)])
        return written
    if isinstance(node, list):
        return [_tree(item) for item in node]
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    return {"literal": repr(node)}


def _without_docstring(body: Any) -> Any:
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return body[1:]
    return body


def _names(nodes: list[ast.AST]) -> set[str]:
    """The names the code reads (some may be its own locals: looked up in its module, they are
    not found there)."""
    return {
        node.id
        for tree in nodes
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


_RULES = "escalation_policy.rules"
"""The handbook's policy package: its functions are the policy's own."""
