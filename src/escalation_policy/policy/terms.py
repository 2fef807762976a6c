"""A policy's terms, compiled: the facts it takes, the actions it emits, the values their fields
hold, the escalation's attributes and statuses, and the context its conditions may test.

The engine knows none of them in advance: the loader reads them from the policy's modules
(``FACTS``, ``ACTIONS``, ``CONTEXT``) and from the obligations and effects its rules declare,
checks them, and derives from them the policy's record and state classes, its JSON contract and
its context.
"""

import enum
import operator
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._language.context import BOOL, Context, ContextField, Read, Situation, scalar
from escalation_policy._language.typed import FACT_FIELD_TYPES, readable
from escalation_policy.errors import PolicyDefinitionError, did_you_mean
from escalation_policy.model import (
    ACTIVE,
    CLOSED,
    COMMON_FIELDS,
    ENGINE_ACTIONS,
    Action,
    Contract,
    EscalationFact,
    Fact,
    Tick,
)
from escalation_policy.policy.locations import field_of, source_of
from escalation_policy.policy.record import CORE_FIELDS, Record, RecordKind, record_kind
from escalation_policy.state import EscalationState

__all__ = ["Terms", "compile_terms", "value_set"]

_NAME = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


@attrs.frozen(eq=False)
class Terms:
    """What one policy is written in (see the module's documentation)."""

    facts: Mapping[str, type[EscalationFact]]
    """The policy's fact types by their ``type`` tag (the engine's ``tick`` aside)."""
    opening: type[EscalationFact]
    actions: Mapping[str, type[Action]]
    """Every action type the policy may emit, the engine's own included."""
    values: tuple[type[enum.Enum], ...]
    """The value sets the facts' and actions' fields hold."""
    severity: type[enum.Enum]
    """The severities, most severe first: the type of the opening fact's ``severity``."""
    attributes: Mapping[str, tuple[Any, object]]
    """The escalation's attributes: name: (type, default; ``attrs.NOTHING``: from opening)."""
    statuses: tuple[str, ...]
    sets: Mapping[str, tuple[tuple[str, str], ...]]
    """For each fact type, the (attribute, field) pairs it sets."""
    moves: Mapping[str, Mapping[str, str]]
    """For each fact type, how it moves the status (before: after)."""
    move_when: Mapping[str, str]
    """For the fact types whose move depends on the severity they set, which change moves
    the status (``STATUS_WHEN``: ``raised``, ``lowered`` or ``changed``)."""
    after_closing: frozenset[str]
    record: RecordKind
    contract: Contract
    context: Context
    hints: Mapping[str, Mapping[str, Any]]
    """For each fact type, its class's ``typing.get_type_hints``."""


def value_set(kind: object) -> type[enum.Enum] | None:
    """The enumeration a field of type ``kind`` holds (alone, optional, or as a tuple)."""
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType, tuple):
        for argument in typing.get_args(kind):
            found = value_set(argument)
            if found is not None:
                return found
    return None


def _optional_of(kind: object) -> object:
    """The type that is not ``None`` in ``kind | None`` (``kind`` itself otherwise)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        others = [argument for argument in typing.get_args(kind) if argument is not type(None)]
        if len(others) == 1:
            return others[0]
    return kind


class _Fields(dict[type[Any], dict[str, Any]]):
    """A fact or action class's fields and their types, worked out once for one compilation
    of the terms (which reads each fact type's fields several times, and
    ``typing.get_type_hints`` is not cheap); each class's type hints in ``hints``."""

    def __init__(self) -> None:
        super().__init__()
        self.hints: dict[type[Any], dict[str, Any]] = {}

    def __missing__(self, cls: type[Any]) -> dict[str, Any]:
        try:
            hints = self.hints[cls] = typing.get_type_hints(cls)
        except Exception as error:  # a name it cannot resolve, an annotation that is no type
            raise PolicyDefinitionError(
                f"{cls.__name__}: an annotation cannot be read: {error}",
                module=cls.__module__,
                **source_of(cls),
            ) from None
        found = self[cls] = {
            field.name: hints.get(field.name, field.type) for field in attrs.fields(cls)
        }
        return found


_RESERVED = frozenset(
    {*CORE_FIELDS, *(name for name in dir(Record) if not name.startswith("__"))}
    | {name for name in dir(EscalationState) if not name.startswith("__")}
)
"""Names an escalation's attribute may not take: the engine's own fields and methods, of its
working record and of the state it gives hosts."""

_SETS_EXPECTED = "a mapping of the attributes it sets to the fields they come from"
_STATUS_EXPECTED = "a mapping of a status to the one the fact moves it to"


def _mapping(cls: type[Any], name: str, module: str, expected: str) -> Mapping[Any, Any]:
    """A fact type's ``SETS`` or ``STATUS`` (``name``), once checked that it is a mapping."""
    value = getattr(cls, name)
    if not isinstance(value, Mapping):
        raise PolicyDefinitionError(
            f"{cls.__name__}.{name}: got {value!r}, expected {expected}",
            module=module,
            **source_of(cls),
        )
    return value


STATUS_CHANGES = ("raised", "lowered", "changed")
"""What ``STATUS_WHEN`` may name: the change of severity that moves the status."""


def status_condition(terms: Terms, tag: str) -> typing.Callable[[object, object], bool] | None:
    """For a fact type whose status move depends on the severity it sets (``STATUS_WHEN``),
    whether a change from one severity to another moves it; ``None`` for any other type.
    Severities are given as members or as their values, ranked most severe first."""
    when = terms.move_when.get(tag)
    if when is None:
        return None
    rank: dict[object, int] = {}
    for index, member in enumerate(terms.severity):
        rank[member] = rank[member.value] = index

    def moves(before: object, after: object) -> bool:
        old, new = rank.get(before), rank.get(after)
        if old is None or new is None or old == new:
            return False
        return when == "changed" or (new < old) == (when == "raised")

    return moves


def _status_when_problem(
    when: object, move: Mapping[str, str], pairs: Sequence[tuple[str, str]]
) -> str | None:
    """What is wrong with a fact type's ``STATUS_WHEN``, if anything."""
    if type(when) is not str or when not in STATUS_CHANGES:  # a plain text, as it is digested
        return f"expected one of {', '.join(map(repr, STATUS_CHANGES))}, or None"
    if not move:
        return "the fact type moves no status (STATUS is empty)"
    if CLOSED in move.values():
        return "a move to 'closed' is never conditional"
    if not any(attribute == "severity" for attribute, _ in pairs):
        return "the fact type does not set the severity (SETS)"
    return None


def _value_read(path: str, kind: object) -> tuple[Read | str, tuple[object, ...] | None] | None:
    """How a context field of type ``kind`` at the dotted ``path`` is read, and its domain;
    ``None`` if conditions cannot test such a field (timestamps, lists, numbers)."""
    optional = _optional_of(kind) is not kind
    inner = _optional_of(kind)
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        domain = tuple(member.value for member in inner)
        if not optional:
            return f"{path}._value_", domain
        get = operator.attrgetter(path)

        def read(situation: Situation) -> object:
            value = get(situation)
            return None if value is None else value._value_

        return read, domain
    if inner is bool:
        return path, BOOL
    if inner is str:
        return path, None
    return None


def _shown(kind: object) -> str:
    """A field's annotation as a policy writes it, each class by its name without its
    module: ``int``, ``date | None``, ``Mapping[str, Part]``, ``Optional[Opened]``."""
    if kind is type(None):
        return "None"
    if kind is Ellipsis:
        return "..."
    if isinstance(kind, list):  # the parameters of a Callable
        return f"[{', '.join(map(_shown, kind))}]"
    origin = typing.get_origin(kind)
    if origin is None:
        if isinstance(kind, type):
            return kind.__qualname__
        return repr(kind).removeprefix("typing.")  # Any, a type variable
    arguments = typing.get_args(kind)
    if origin is types.UnionType:
        return " | ".join(map(_shown, arguments))
    if origin is typing.Union:
        others = [argument for argument in arguments if argument is not type(None)]
        if len(others) == 1 and len(arguments) == 2:
            return f"Optional[{_shown(others[0])}]"
        return f"Union[{', '.join(map(_shown, arguments))}]"
    if origin is typing.Literal:
        return f"Literal[{', '.join(map(repr, arguments))}]"
    name = getattr(kind, "_name", None) or getattr(origin, "__qualname__", None)
    if not isinstance(name, str):
        return repr(kind).removeprefix("typing.")
    return f"{name}[{', '.join(map(_shown, arguments))}]" if arguments else name


def _check_readable(cls: type[EscalationFact], module: str, fields_of: _Fields) -> None:
    """Every field of a fact type holds what a fact read from JSON can: else no fact of the
    type could be read."""
    for name, kind in fields_of[cls].items():
        if not readable(kind):
            raise PolicyDefinitionError(
                f"{cls.__name__}.{name} is annotated {_shown(kind)}, which a fact read from JSON "
                f"cannot hold; expected {FACT_FIELD_TYPES}",
                module=module,
                **field_of(cls, name),
            )


def compile_terms(
    facts: Sequence[tuple[object, str]],
    actions: Sequence[tuple[object, str]],
    computed: Sequence[tuple[object, str]],
    output_values: Mapping[str, type[enum.Enum] | None],
) -> Terms:
    """Check and compile the policy's terms.

    ``facts``, ``actions`` and ``computed`` (context fields the policy computes) come with the
    module that declares each; ``output_values`` gives the value sets of the plan's ``owner``
    and ``cadence`` (the domains of those context fields).
    """
    fact_types: dict[str, type[EscalationFact]] = {}
    declared_in: dict[str, str] = {}
    fields_of = _Fields()
    for item, module in facts:
        cls: Any = item
        if not (isinstance(cls, type) and attrs.has(cls) and issubclass(cls, EscalationFact)):
            raise PolicyDefinitionError(
                f"FACTS holds {cls!r}, expected attrs classes derived from EscalationFact",
                module=module,
            )
        tag = cls.TYPE
        if not isinstance(tag, str) or not tag or not set(tag) <= _NAME or tag == Tick.TYPE:
            raise PolicyDefinitionError(
                f"{cls.__name__}.TYPE is {tag!r}, expected a lower-case name other than 'tick'",
                module=module,
                **source_of(cls),
            )
        other = fact_types.get(tag)
        if other is not None and other is not cls:
            raise PolicyDefinitionError(
                f"two fact types are named {tag!r}: {other.__qualname__} (in "
                f"{declared_in[tag]}) and {cls.__qualname__}",
                module=module,
                **source_of(cls),
            )
        _check_readable(cls, module, fields_of)
        fact_types[tag] = cls
        declared_in[tag] = module
    openers = [cls for cls in fact_types.values() if cls.OPENS]
    if len(openers) != 1:
        raise PolicyDefinitionError(
            "the policy needs exactly one fact type that opens an escalation (OPENS = True); "
            f"got {', '.join(c.TYPE for c in openers) or 'none'}"
        )
    opening = openers[0]
    opening_fields = fields_of[opening]
    where = declared_in[opening.TYPE]
    for required in ("customer", "severity"):
        if required not in opening_fields:
            raise PolicyDefinitionError(
                f"{opening.__name__} has no field {required!r}: the fact that opens an "
                "escalation names its customer and its severity",
                module=where,
                **source_of(opening),
            )
    severity = opening_fields["severity"]
    if not (isinstance(severity, type) and issubclass(severity, enum.Enum)):
        raise PolicyDefinitionError(
            f"{opening.__name__}.severity is annotated {_shown(severity)}, expected an "
            "enumeration of the severities, most severe first",
            module=where,
            **field_of(opening, "severity"),
        )

    # The escalation's attributes: the opening fact's fields, and those facts set.
    attributes: dict[str, tuple[Any, object]] = {
        name: (kind, attrs.NOTHING)
        for name, kind in opening_fields.items()
        if name not in COMMON_FIELDS
    }
    for name in attributes:
        if name in _RESERVED:
            raise PolicyDefinitionError(
                f"{opening.__name__} has a field {name!r}, which would be an attribute of the "
                f"escalation, and the engine keeps one of that name; expected another name (the "
                f"engine keeps {', '.join(CORE_FIELDS)})",
                module=declared_in[opening.TYPE],
                **field_of(opening, name),
            )
    sets: dict[str, tuple[tuple[str, str], ...]] = {}
    moves: dict[str, Mapping[str, str]] = {}
    move_when: dict[str, str] = {}
    statuses = [ACTIVE]
    for tag, cls in fact_types.items():
        module = declared_in[tag]
        fields = fields_of[cls]
        pairs = []
        if cls is not opening and cls.OPENS:
            raise PolicyDefinitionError(
                f"{cls.__name__} also opens", module=module, **source_of(cls)
            )
        for attribute, field in _mapping(cls, "SETS", module, _SETS_EXPECTED).items():
            if field not in fields:
                raise PolicyDefinitionError(
                    f"{cls.__name__}.SETS: {attribute!r} from {field!r}, but {tag} facts have "
                    f"no field {field!r}{did_you_mean(field, fields)}",
                    module=module,
                    **source_of(cls),
                )
            if not isinstance(attribute, str) or attribute in _RESERVED:
                raise PolicyDefinitionError(
                    f"{cls.__name__}.SETS: {attribute!r} is not an attribute a fact may set "
                    f"(the engine keeps {', '.join(CORE_FIELDS)})",
                    module=module,
                    **source_of(cls),
                )
            kind = fields[field]
            known = attributes.get(attribute)
            if known is None:
                is_tuple = typing.get_origin(kind) is tuple
                attributes[attribute] = (kind, ()) if is_tuple else (kind | None, None)
            elif _optional_of(known[0]) != _optional_of(kind):
                raise PolicyDefinitionError(
                    f"{cls.__name__}.SETS: {attribute!r} is a {known[0]!r}, but the field "
                    f"{field!r} is a {kind!r}",
                    module=module,
                    **source_of(cls),
                )
            pairs.append((attribute, field))
        sets[tag] = tuple(pairs)
        declared = _mapping(cls, "STATUS", module, _STATUS_EXPECTED)
        move = {str(scalar(k)): str(scalar(v)) for k, v in declared.items()}
        if cls is opening and move:
            raise PolicyDefinitionError(
                f"{cls.__name__}.STATUS: an escalation opens as {ACTIVE!r}",
                module=module,
                **source_of(cls),
            )
        for before, after in move.items():
            if before == CLOSED:
                raise PolicyDefinitionError(
                    f"{cls.__name__}.STATUS: nothing moves a closed escalation",
                    module=module,
                    **source_of(cls),
                )
            for status in (before, after):
                if not set(status) <= _NAME or not status:
                    raise PolicyDefinitionError(
                        f"{cls.__name__}.STATUS: {status!r} is not a lower-case name",
                        module=module,
                        **source_of(cls),
                    )
                if status not in statuses:
                    statuses.append(status)
        moves[tag] = move
        when = cls.STATUS_WHEN
        if when is not None:
            problem = _status_when_problem(when, move, pairs)
            if problem:
                raise PolicyDefinitionError(
                    f"{cls.__name__}.STATUS_WHEN: got {when!r}; {problem}",
                    module=module,
                    **source_of(cls),
                )
            move_when[tag] = when
    if CLOSED not in statuses:
        raise PolicyDefinitionError(
            f"no fact type closes an escalation (STATUS = {{'{ACTIVE}': '{CLOSED}'}})"
        )
    statuses.remove(CLOSED)
    statuses.append(CLOSED)

    # Actions: the engine's, then the policy's.
    action_types: dict[str, type[Action]] = {kind.TYPE: kind for kind in ENGINE_ACTIONS}
    for item, module in actions:
        cls = item
        if not (isinstance(cls, type) and attrs.has(cls) and issubclass(cls, Action)):
            raise PolicyDefinitionError(
                f"ACTIONS holds {cls!r}, expected attrs classes derived from Action",
                module=module,
            )
        tag = cls.TYPE
        if not isinstance(tag, str) or not tag or not set(tag) <= _NAME:
            raise PolicyDefinitionError(
                f"{cls.__name__}.TYPE is {tag!r}, expected a lower-case name",
                module=module,
                **source_of(cls),
            )
        known_action = action_types.get(tag)
        if known_action is not None and known_action is not cls:
            raise PolicyDefinitionError(
                f"two action types are named {tag!r}: {known_action.__qualname__} and "
                f"{cls.__qualname__}",
                module=module,
                **source_of(cls),
            )
        action_types[tag] = cls

    values: list[type[enum.Enum]] = []
    for cls in (*fact_types.values(), *action_types.values()):
        for kind in fields_of[cls].values():
            found = value_set(kind)
            if found is not None and found not in values:
                values.append(found)
    for kind, _ in attributes.values():
        found = value_set(kind)
        if found is not None and found not in values:
            values.append(found)

    kind = record_kind(opening, attributes)
    all_facts: dict[str, type[Fact]] = {**fact_types, Tick.TYPE: Tick}
    contract = Contract(
        facts=all_facts, actions=action_types, values=tuple(values), state=kind.state
    )
    context = _context(
        fact_types, attributes, sets, tuple(statuses), output_values, computed, fields_of
    )
    return Terms(
        facts=fact_types,
        opening=opening,
        actions=action_types,
        values=tuple(values),
        severity=severity,
        attributes=attributes,
        statuses=tuple(statuses),
        sets=sets,
        moves=moves,
        move_when=move_when,
        after_closing=frozenset(t for t, c in fact_types.items() if c.AFTER_CLOSING),
        record=kind,
        contract=contract,
        context=context,
        hints={tag: fields_of.hints[cls] for tag, cls in fact_types.items()},
    )


def _planned_value(name: str) -> Any:
    # The readers below run once per condition per fact: ``scalar`` is inlined.
    def read(situation: Situation) -> object:
        value = getattr(situation, name)
        return value._value_ if isinstance(value, enum.Enum) else value

    return read


def _previous(name: str) -> Any:
    def read(situation: Situation) -> object:
        value = situation.previous.get(name)
        return value._value_ if isinstance(value, enum.Enum) else value

    return read


def _context(
    fact_types: Mapping[str, type[EscalationFact]],
    attributes: Mapping[str, tuple[Any, object]],
    sets: Mapping[str, tuple[tuple[str, str], ...]],
    statuses: tuple[str, ...],
    output_values: Mapping[str, type[enum.Enum] | None],
    computed: Sequence[tuple[object, str]],
    fields_of: _Fields,
) -> Context:
    fields: dict[str, ContextField] = {}
    origin: dict[str, str] = {}

    def add(field: ContextField, what: str, module: str | None = None) -> None:
        if field.name == "known":
            raise PolicyDefinitionError(
                f"{what} is named 'known', which conditions use for whether the engine knows "
                "the fact's escalation; rename it",
                module=module,
            )
        known = fields.get(field.name)
        if known is not None:
            raise PolicyDefinitionError(
                f"two context fields are named {field.name!r}: {origin[field.name]} and {what}; "
                "rename one",
                module=module,
            )
        fields[field.name] = field
        origin[field.name] = what

    def domain_of(enum_cls: type[enum.Enum] | None) -> tuple[object, ...] | None:
        return None if enum_cls is None else tuple(member.value for member in enum_cls)

    # The escalation's attributes, as they stand once the fact applied.
    for name, (kind, _) in attributes.items():
        read = _value_read(f"record.{name}", kind)
        if read is not None:
            add(ContextField(name, read[1], read[0]), f"the attribute {name!r}")
    add(ContextField("in_scope", BOOL, "record.in_scope"), "the engine's 'in_scope'")
    add(
        ContextField("owner", domain_of(output_values.get("owner")), _planned_value("owner")),
        "the engine's 'owner'",
    )
    add(
        ContextField("cadence", domain_of(output_values.get("cadence")), _planned_value("cadence")),
        "the engine's 'cadence'",
    )
    add(ContextField("status", statuses, "status_before"), "the engine's 'status'")
    # The attributes a fact sets, as they were before it: for the fact types that set them.
    setters: dict[str, set[str]] = {}
    for tag, pairs in sets.items():
        for attribute, _ in pairs:
            setters.setdefault(attribute, set()).add(tag)
    for attribute, tags in setters.items():
        read = _value_read("x", attributes[attribute][0])
        if read is not None:
            add(
                ContextField(
                    f"previous_{attribute}", read[1], _previous(attribute), frozenset(tags)
                ),
                f"the previous value of {attribute!r}",
            )
    # The facts' own fields that hold values or yes/no (free text is for computed fields). A
    # name several fact types share is one field: read as optional if any has it optional.
    by_name: dict[str, tuple[object, set[str], bool]] = {}
    for tag, cls in fact_types.items():
        set_fields = {field for _, field in sets[tag]}
        for name, kind in fields_of[cls].items():
            if name in COMMON_FIELDS or name in set_fields:
                continue
            read = _value_read(f"fact.{name}", kind)
            if read is None or read[1] is None:
                continue
            if name in attributes and cls.OPENS:
                continue
            optional = _optional_of(kind) is not kind
            known = by_name.get(name)
            if known is not None and known[0] != _optional_of(kind):
                raise PolicyDefinitionError(
                    f"the field {name!r} of {tag} facts holds other values than the field of "
                    f"that name of {', '.join(sorted(known[1]))} facts; rename one"
                )
            if known is None:
                by_name[name] = (_optional_of(kind), {tag}, optional)
            else:
                by_name[name] = (known[0], {*known[1], tag}, known[2] or optional)
    for name, (inner, tags, optional) in by_name.items():
        read = _value_read(f"fact.{name}", inner | None if optional else inner)  # type: ignore[operator]
        assert read is not None  # checked above
        add(
            ContextField(name, read[1], read[0], frozenset(tags)),
            f"the field {name!r} of {', '.join(sorted(tags))} facts",
        )
    for field, module in computed:
        if not isinstance(field, ContextField) or isinstance(field.read, str):
            raise PolicyDefinitionError(
                f"CONTEXT holds {field!r}, expected ContextField objects read by a function "
                "of the situation",
                module=module,
            )
        if field.facts is not None:
            unknown = sorted(set(field.facts) - set(fact_types))
            if unknown:
                raise PolicyDefinitionError(
                    f"context field {field.name!r}: no fact type {unknown[0]!r}"
                    + did_you_mean(unknown[0], fact_types),
                    module=module,
                )
        add(field, f"the computed field in {module}", module)
    return Context(fields.values(), (*fact_types, Tick.TYPE), origin)
