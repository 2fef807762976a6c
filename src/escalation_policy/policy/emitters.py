"""The functions that build a policy's own actions, generated once at load time and checked
field by field: an :class:`~escalation_policy.vocabulary.Emit` effect's action and an
obligation's announcement."""

import enum
import keyword
import typing
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from escalation_policy._language.codegen import generate
from escalation_policy._language.frozen import construct_lines
from escalation_policy.errors import PolicyDefinitionError, did_you_mean
from escalation_policy.model import ACTION_FIELDS, Action
from escalation_policy.policy.compiled import Announce, Emitter
from escalation_policy.policy.scope import Scope
from escalation_policy.vocabulary import (
    Emit,
    Obligation,
)

try:  # string.Formatter().parse, without importing string (which compiles a pattern)
    from _string import formatter_parser  # type: ignore[import-not-found]
except ImportError:  # a Python without CPython's private module
    import string

    formatter_parser = string.Formatter().parse


def compile_emitter(effect: Emit, types: set[str], module: str, rule: str, scope: Scope) -> Emitter:
    """The function that builds ``effect``'s action, every field of it checked now."""

    def bad(message: str) -> PolicyDefinitionError:
        return PolicyDefinitionError(f"Emit({name}): {message}", module=module, rule=rule)

    cls: Any = effect.action
    name = getattr(cls, "__name__", repr(cls))
    if not (isinstance(cls, type) and issubclass(cls, Action) and cls.TYPE):
        raise bad(f"got {cls!r}, expected an action class")
    fields = {field.name: field for field in attrs.fields(cls)}
    attributes = scope.terms.attributes
    sources: dict[str, str] = {}
    for source, mapping in (
        ("values", effect.values),
        ("fact", effect.fact),
        ("escalation", effect.escalation),
        ("text", effect.text),
    ):
        for field in mapping:
            if field in ACTION_FIELDS:
                raise bad(f"{source}: the engine fills {field!r}")
            if field not in fields:
                raise bad(
                    f"{source}: {cls.__name__} has no field {field!r}"
                    f"{did_you_mean(field, fields)}; it has {', '.join(fields)}"
                )
            if field in sources:
                raise bad(f"{field!r} is given in both {sources[field]} and {source}")
            sources[field] = source
    for field, name_in_fact in effect.fact.items():
        for tag in sorted(types):
            if name_in_fact not in attrs.fields_dict(scope.terms.facts[tag]):
                raise bad(f"fact: {tag} facts have no field {name_in_fact!r} (for {field})")
    readable = [*attributes, "owner", "cadence", "status", "opened_at", "closed_at"]
    for field, attribute in effect.escalation.items():
        if attribute not in readable:
            raise bad(
                f"escalation: no attribute {attribute!r} (for {field})"
                f"{did_you_mean(attribute, readable)}; the escalation has "
                f"{', '.join(readable)}"
            )
    for field, template in effect.text.items():
        try:
            named = [name for _, name, _, _ in formatter_parser(template) if name is not None]
        except ValueError as error:
            raise bad(f"text for {field}: {template!r} is not a template ({error})") from None
        for name in named:
            if name not in attributes:
                raise bad(
                    f"text for {field}: {template!r} names {name!r}, not an attribute of the "
                    f"escalation{did_you_mean(name, attributes)} ({', '.join(attributes)})"
                )
    missing = [
        field
        for field, declared in fields.items()
        if field not in sources and field not in ACTION_FIELDS and declared.default is attrs.NOTHING
    ]
    if missing:
        raise bad(
            f"nothing fills {cls.__name__}.{missing[0]}: give it in values, fact, "
            "escalation or text"
        )
    # Generated, one keyword per field, as the announcements are.
    namespace: dict[str, Any] = {"cls": cls}
    arguments = [f"{field}={field}" for field in ACTION_FIELDS]
    for number, (field, value) in enumerate(effect.values.items()):
        namespace[f"value_{number}"] = value
        arguments.append(f"{field}=value_{number}")
    for field, source in effect.fact.items():
        arguments.append(f"{field}=fact.{source}")
    for field, source in effect.escalation.items():
        arguments.append(f"{field}=record.{source}")
    for number, (field, template) in enumerate(effect.text.items()):
        formatted = _formatted(template)
        if formatted is not None:
            arguments.append(f"{field}={formatted}")
            continue
        namespace[f"template_{number}"] = template
        named = sorted({name for _, name, _, _ in formatter_parser(template) if name})
        filled = ", ".join(f"{name}=record.{name}" for name in named)
        arguments.append(f"{field}=template_{number}.format({filled})")
    emit: Emitter = generate(
        [
            "def emit(escalation_id, at, rule, cites, record, fact):",
            *_returning(cls, arguments, namespace),
        ],
        namespace,
        f"{cls.TYPE} emitted",
    )
    return emit


def _formatted(template: str) -> str | None:
    """An f-string that makes what ``template.format(name=record.name, ...)`` makes, for a
    template of text and plain fields (``{name}``, an attribute of the escalation), at least
    two of them; ``None`` for any other (a conversion, a format spec, a lone field)."""
    pieces: list[str] = []
    for text, name, spec, conversion in formatter_parser(template):
        if text:
            pieces.append(text.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        if spec or conversion is not None or not name.isidentifier() or keyword.iskeyword(name):
            return None
        pieces.append(f"{{record.{name}}}")
    if len(pieces) < 2:  # one field alone: str.format's own str, whatever the value formats to
        return None
    return "f" + repr("".join(pieces))


_ANNOUNCED_BY_CORE = frozenset({*ACTION_FIELDS, "due"})


def announcer(
    obligation: Obligation,
    bad: Callable[[str], PolicyDefinitionError],
    attributes: Sequence[str],
) -> Announce:
    """The function that builds ``obligation``'s announcement, its fields checked now."""
    cls: Any = obligation.announce
    if not (isinstance(cls, type) and issubclass(cls, Action) and cls.TYPE):
        raise bad(f"announce: got {cls!r}, expected an action class such as PostToChannel")
    fields = {field.name: field for field in attrs.fields(cls)}
    hints = typing.get_type_hints(cls)
    given = dict(obligation.announce_with)
    from_escalation = dict(obligation.announce_from)
    readable = [*attributes, "owner", "cadence", "status", "opened_at"]
    for field, attribute in from_escalation.items():
        if attribute not in readable:
            raise bad(
                f"announce_from: no attribute {attribute!r} (for {field})"
                f"{did_you_mean(attribute, readable)}; the escalation has {', '.join(readable)}"
            )
    filled = set(_ANNOUNCED_BY_CORE) | set(given) | set(from_escalation)
    if obligation.key is not None:
        filled.add(obligation.key)
    if obligation.owner_field is not None:
        filled.add(obligation.owner_field)
    unknown = sorted(filled - set(fields))
    if unknown:
        raise bad(
            f"{cls.__name__} has no field {unknown[0]!r}{did_you_mean(unknown[0], fields)}; "
            f"it has {', '.join(fields)}"
        )
    missing = [
        name
        for name, field in fields.items()
        if name not in filled and field.default is attrs.NOTHING
    ]
    if missing:
        raise bad(
            f"nothing fills {cls.__name__}.{missing[0]}: give it in announce_with or "
            "announce_from, or name it as the key or the owner_field"
        )
    key_name = obligation.key
    key_type = _value_type(hints.get(key_name)) if key_name is not None else None
    owner_name = obligation.owner_field
    # Generated, one keyword per field: it runs for every obligation required or renewed, and
    # unrolled it costs a fraction of building the keywords as a dict (docs/design.md).
    namespace: dict[str, Any] = {"cls": cls, "key_type": key_type, "no_owner": _no_owner}
    arguments = [
        "escalation_id=escalation_id",
        "at=at",
        "rule=pending.rule",
        "cites=pending.cites",
        "due=pending.due",
    ]
    for number, (name, value) in enumerate(given.items()):
        namespace[f"given_{number}"] = value
        arguments.append(f"{name}=given_{number}")
    for name, attribute in from_escalation.items():
        arguments.append(f"{name}=record.{attribute}")
    body = []
    if key_name is not None:
        body.append("    key = pending.key")
        if key_type is not None:
            # key_type(key), its member found as the call of the class first looks for it
            namespace["key_members"] = key_type._value2member_map_  # type: ignore[attr-defined]
            body += [
                "    if key is not None:",
                "        member = key_members.get(key)",
                "        key = member if member is not None else key_type(key)",
            ]
        arguments.append(f"{key_name}=key")
    if owner_name is not None:
        body += ["    if owner is None:", f"        no_owner(escalation_id, {cls.TYPE!r})"]
        arguments.append(f"{owner_name}=owner")
    announce: Announce = generate(
        [
            "def announce(escalation_id, at, pending, owner, record):",
            *body,
            *_returning(cls, arguments, namespace),
        ],
        namespace,
        f"announcement of {obligation.id}",
    )
    return announce


def _returning(cls: Any, arguments: list[str], namespace: dict[str, Any]) -> list[str]:
    """The lines that return ``cls(*arguments)`` (each ``field=expression``): built field by
    field where the class has a quick ``__init__`` (no call of the class with keywords)."""
    given = dict(argument.split("=", 1) for argument in arguments)
    lines = construct_lines(cls, given, namespace, prefix="built_")
    if lines is None:
        return [f"    return cls({', '.join(arguments)})"]
    return [*lines, "    return new"]


def _no_owner(escalation_id: str, action: str) -> None:
    raise PolicyDefinitionError(
        f"escalation {escalation_id!r} needs a {action} by its owner but has no owner: a "
        "reaction that requires it must run after ApplyPlan"
    )


def _value_type(hint: object) -> Callable[[str], Any] | None:
    """The enumeration a field holds (its optional form too), to turn a key back into it."""
    candidates = typing.get_args(hint) if typing.get_origin(hint) is not None else (hint,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return candidate
    return None
