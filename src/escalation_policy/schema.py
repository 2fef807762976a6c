"""The JSON Schema of a loaded policy's facts and actions, for hosts in other languages.

Derived from the policy's terms, as the converter is: one schema per fact and action type,
tagged by ``type``, every field with the values it takes, no other key allowed. The schema is
a first line of defence for a host: a fact it rejects, the library refuses too (the library
checks more, such as a timestamp's calendar date and the size of a whole fact).
"""

import datetime as dt
import enum
import types
import typing
from collections.abc import Mapping
from typing import Any

import attrs

from escalation_policy._language.typed import text_limit
from escalation_policy.model import _TIMESTAMP, Action, Fact
from escalation_policy.policy import Policy, default_policy

__all__ = ["json_schema"]

DRAFT = "http://json-schema.org/draft-07/schema#"


def _field(kind: object, non_empty: bool, limit: int = 0) -> dict[str, Any]:
    """The schema of one field's value (``limit``: the longest text it may hold, if any)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        others = [argument for argument in typing.get_args(kind) if argument is not type(None)]
        inner = _field(others[0], non_empty, limit) if len(others) == 1 else {}
        return {"anyOf": [inner, {"type": "null"}]}
    if kind is str:
        text: dict[str, Any] = {"type": "string"}
        if non_empty:
            text["minLength"] = 1
        if limit:
            text["maxLength"] = limit
        return text
    if kind is bool:
        return {"type": "boolean"}
    if kind is int:
        return {"type": "integer"}
    if kind is dt.datetime:
        return {"type": "string", "pattern": f"^(?:{_TIMESTAMP.pattern})$"}
    if kind is dt.timedelta:
        return {"type": "number", "description": "seconds"}
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return {"type": "string", "enum": [member.value for member in kind]}
    if typing.get_origin(kind) is tuple:
        return {"type": "array", "items": _field(typing.get_args(kind)[0], False, limit)}
    return {}


def _object(cls: type[Any]) -> dict[str, Any]:
    """The schema of one fact or action type: its ``type`` tag and its fields."""
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {"type": {"const": cls.TYPE}}
    required = ["type"]
    for field in attrs.fields(cls):
        kind = hints[field.name]
        # Facts are input: their texts have limits (actions are the library's own output).
        limit = text_limit(field.name, kind) if issubclass(cls, Fact) else 0
        properties[field.name] = _field(kind, bool(field.metadata.get("non_empty")), limit)
        if field.default is attrs.NOTHING:
            required.append(field.name)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    doc = cls.__doc__
    if doc and not doc.startswith(cls.__name__ + "("):
        schema["description"] = " ".join(doc.split("\n\n")[0].split())
    return schema


def json_schema(policy: Policy | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 07) of ``policy``'s facts and actions (by default the
    handbook's): ``definitions`` holds one schema per type (``fact.opened``,
    ``action.post_to_channel``, ...), ``definitions.fact`` and ``definitions.action`` the union
    of each, and the schema itself accepts a fact."""
    chosen = policy or default_policy()
    contract = chosen.contract
    definitions: dict[str, Any] = {}

    def union(noun: str, registry: Mapping[str, type[Any]]) -> None:
        for tag, cls in registry.items():
            definitions[f"{noun}.{tag}"] = _object(cls)
        definitions[noun] = {
            "oneOf": [{"$ref": f"#/definitions/{noun}.{tag}"} for tag in registry],
        }

    union("fact", {tag: cls for tag, cls in contract.facts.items() if issubclass(cls, Fact)})
    union("action", {tag: cls for tag, cls in contract.actions.items() if issubclass(cls, Action)})
    return {
        "$schema": DRAFT,
        "title": "The facts (and actions) of an escalation policy",
        "definitions": definitions,
        "allOf": [{"$ref": "#/definitions/fact"}],
    }
