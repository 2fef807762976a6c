"""The converter of a loaded policy's JSON contract: its facts, actions and engine state.

Unknown keys are errors; the ``type`` tag chooses among the policy's facts and actions; every
problem is an :class:`~escalation_policy.errors.InvalidFactError` naming the field, the value
and what was expected. The well-formed case skips cattrs (see ``_fastpath``).
"""

import datetime as dt
import json
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from escalation_policy._language.typed import FieldProblem
from escalation_policy.errors import InvalidFactError, PolicyError, describe, did_you_mean
from escalation_policy.model import (
    AWAITING_OPENING,
    Action,
    EscalationFact,
    Fact,
    _enum_hook,
    _format_timestamp,
    _seconds,
    _strict_bool,
    _strict_int,
    _strict_str,
    _strings,
    explain,
    parse_timestamp,
)

if TYPE_CHECKING:  # cattrs is imported when a converter is built
    import cattrs

    from escalation_policy.policy import Policy

__all__ = [
    "action_json",
    "make_converter",
    "shared_answer_writers",
    "shared_converter",
    "shared_fact_reader",
    "shared_line_reader",
    "shared_text_writers",
]


def shared_converter(policy: "Policy | None" = None) -> "cattrs.Converter":
    """The converter of ``policy`` (by default the handbook's), built once for the policy:
    building one compiles code (milliseconds), and a built converter is never changed, so the
    engines and the command line of one policy share it (kept in ``Policy._kept``)."""
    if policy is None:
        from escalation_policy.policy import default_policy

        policy = default_policy()
    converter: cattrs.Converter | None = policy._kept.get(shared_converter)
    if converter is None:
        converter = policy._kept[shared_converter] = make_converter(policy)
    return converter


TextWriters = tuple[Callable[[Any], str], Mapping[type[Any], Callable[[Any], str]]]
"""A policy's writers of JSON text: for its escalation state (a record is written as its frozen
state), and for each of its action types."""


def shared_text_writers(policy: "Policy", *, spaced: bool = False) -> TextWriters:
    """The compact JSON text writers of ``policy``'s state and actions, exactly as its
    converter and ``json.dumps(..., separators=(",", ":"))`` write them (``spaced``: as
    ``json.dumps`` writes them by default), built once for the policy (see ``_fastpath``)."""
    writers: TextWriters | None = policy._kept.get((shared_text_writers, spaced))
    if writers is None:
        from escalation_policy._convert.fastpath import text_writer

        contract = policy.contract
        actions = {
            cls: _action_text(cls) if spaced else text_writer(cls, tag=cls.TYPE)
            for cls in contract.actions.values()
        }
        state_text = text_writer(contract.state, spaced=spaced)
        converter = shared_converter(policy)
        separators = (", ", ": ") if spaced else (",", ":")

        def write_state(state: Any) -> str:
            if state.status == AWAITING_OPENING:
                return json.dumps(awaiting_document(state, converter), separators=separators)
            return state_text(state)

        writers = policy._kept[(shared_text_writers, spaced)] = (write_state, actions)
    return writers


_ACTION_TEXTS: "weakref.WeakKeyDictionary[type[Any], Callable[[Any], str]]" = (
    weakref.WeakKeyDictionary()
)


def _action_text(cls: type[Any]) -> Callable[[Any], str]:
    """The writer of the JSON text of the action class ``cls``, built once for the process."""
    write = _ACTION_TEXTS.get(cls)
    if write is None:
        from escalation_policy._convert.fastpath import text_writer

        write = _ACTION_TEXTS[cls] = text_writer(cls, tag=cls.TYPE, spaced=True)
    return write


def action_json(action: Action) -> str:
    """The JSON text of ``action``, as the command line writes it and a host sends it on:
    exactly ``json.dumps(make_converter(policy).unstructure(action, Action))`` for the policy
    that emitted it, at a fraction of the cost (no dictionary is built). The text is one line,
    with a space after each ``,`` and ``:`` and non-ASCII characters escaped, as ``json.dumps``
    writes by default.

    :meth:`PolicyEngine.handle_json <escalation_policy.PolicyEngine.handle_json>` writes each
    action of a fact so.
    """
    write = _ACTION_TEXTS.get(type(action))
    if write is None:
        if not isinstance(action, Action) or not attrs.has(type(action)):
            raise TypeError(f"got {describe(action)}, expected an Action")
        write = _action_text(type(action))
    return write(action)


def awaiting_document(state: Any, converter: "cattrs.Converter") -> dict[str, Any]:
    """The JSON of an escalation awaiting its opening (a state or a record): its id, times and
    the facts held, nothing else (it has no attributes yet)."""
    return {
        "escalation_id": state.escalation_id,
        "opened_at": _format_timestamp(state.opened_at),
        "clock": _format_timestamp(state.clock),
        "status": AWAITING_OPENING,
        "in_scope": False,
        "held": [converter.unstructure(fact, Fact) for fact in state.held],
    }


def _awaiting_state(
    data: Mapping[str, Any], converter: "cattrs.Converter", policy: "Policy"
) -> Any:
    """An escalation awaiting its opening, read from :func:`awaiting_document`'s JSON."""
    extra = sorted(
        set(data) - {"escalation_id", "opened_at", "clock", "status", "in_scope", "held"}
    )
    if extra:
        raise InvalidFactError(
            f"got the field {extra[0]!r}, which an escalation awaiting its opening does not have",
            path=f"$.{extra[0]}",
        )
    held = data.get("held")
    if not isinstance(held, (list, tuple)) or not held:
        raise InvalidFactError(
            f"got {describe(held)}, expected the facts held for the opening (a non-empty list)",
            path="$.held",
        )
    facts = []
    for index, item in enumerate(held):
        try:
            fact = converter.structure(item, Fact)
        except InvalidFactError as error:
            inner = (error.path or "$")[1:]
            raise InvalidFactError(error.reason, path=f"$.held[{index}]{inner}") from None
        escalation_id = getattr(fact, "escalation_id", None)
        if (
            not isinstance(fact, EscalationFact)
            or escalation_id != data.get("escalation_id")
            or fact.OPENS
        ):
            raise InvalidFactError(
                f"got a {fact.TYPE!r} fact about {describe(escalation_id)}, expected a fact "
                f"about {describe(data.get('escalation_id'))} that does not open it",
                path=f"$.held[{index}]",
            )
        facts.append(fact)
    record = policy.terms.record.awaiting(facts[0])
    record.held = tuple(facts)
    record.clock = max(fact.at for fact in facts)
    record.retain_until = policy.held_until(facts[0].at)
    record.refresh()
    return record.freeze()


def make_converter(policy: "Policy | None" = None) -> "cattrs.Converter":
    """The converter for the JSON edge of ``policy`` (by default the handbook's): its facts,
    its actions and its engine state.

    Unknown keys are errors; ``type`` tags the union of facts and of actions. Problems raise
    :class:`~escalation_policy.errors.InvalidFactError` naming the field, the value and what
    was expected.
    """
    import cattrs
    from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
    from cattrs.gen import make_dict_unstructure_fn, override

    from escalation_policy._convert.fastpath import Fallback, action_writer, object_writer
    from escalation_policy.calendar import Calendar
    from escalation_policy.state import EngineState, EscalationState, PendingObligation

    if policy is None:
        from escalation_policy.policy import default_policy

        policy = default_policy()
    contract = policy.contract

    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(dt.datetime, lambda value, _: parse_timestamp(value))
    converter.register_unstructure_hook(dt.datetime, _format_timestamp)
    converter.register_structure_hook(dt.timedelta, _seconds)
    converter.register_unstructure_hook(dt.timedelta, lambda value: value.total_seconds())
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook_func(lambda kind: kind == tuple[str, ...], _strings)
    # Each enumeration by its class: being str-based, it would otherwise take the str hook.
    for enum_cls in contract.values:
        converter.register_structure_hook(enum_cls, _enum_hook(enum_cls))
        converter.register_unstructure_hook(enum_cls, lambda member: member.value)

    # The well-formed case skips cattrs (see _fastpath); anything else is cattrs' to judge.
    writers = {cls: action_writer(cls) for cls in contract.actions.values()}

    # cattrs' reader of each fact and action type, for what its fast reader declines: built
    # at the first such object of its type (most runs read none, and each is compiled code).
    generated: dict[type[Any], Callable[[Any, Any], Any]] = {}

    def tagged(base: type[Any], registry: Mapping[str, type[Any]], noun: str) -> None:
        def structure(value: object, _type: object) -> Any:
            return structure_tagged(value, registry, noun)

        def unstructure(obj: Any) -> dict[str, Any]:
            return unstructure_one[type(obj)](obj)

        def with_tag(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
            untagged = converter.gen_unstructure_attrs_fromdict(cls)
            tag = cls.TYPE

            def unstructure(obj: Any) -> dict[str, Any]:
                return {"type": tag, **untagged(obj)}

            return unstructure

        def one_type(cls: type[Any]) -> Callable[[object, object], Any]:
            only = {cls.TYPE: cls}

            def structure(value: object, _type: object) -> Any:
                if isinstance(value, Mapping) and "type" not in value:
                    value = {"type": cls.TYPE, **value}
                return structure_tagged(value, only, noun)

            return structure

        # Registered on the base, a hook would also catch every subclass (singledispatch):
        # each concrete class gets its own hooks first. Each writes the "type" tag, and reads
        # it (or its absence) when asked for the class itself.
        unstructure_one: dict[type[Any], Callable[[Any], dict[str, Any]]] = {}
        for cls in registry.values():
            converter.register_structure_hook(cls, one_type(cls))
            unstructure_one[cls] = writers.get(cls) or with_tag(cls)
            converter.register_unstructure_hook(cls, unstructure_one[cls])
        converter.register_structure_hook(base, structure)
        converter.register_unstructure_hook(base, unstructure)

    def structure_tagged(value: object, registry: Mapping[str, type[Any]], noun: str) -> Any:
        if not isinstance(value, Mapping):
            raise InvalidFactError(
                f"got {describe(value)}, expected a JSON object with a 'type'", path="$"
            )
        tag = value.get("type")
        if tag is None:
            raise InvalidFactError(
                f"required field is missing; expected one of {', '.join(registry)}",
                path="$.type",
            )
        cls = registry.get(tag) if isinstance(tag, str) else None
        if cls is None:
            raise InvalidFactError(
                f"unknown {noun} type {describe(tag)}{did_you_mean(tag, registry)}; "
                f"expected one of {', '.join(registry)}",
                path="$.type",
            )
        reader = _fact_reader(policy, cls)
        if reader is not None:
            try:
                return reader(value)
            except Fallback:
                pass
        body = {key: item for key, item in value.items() if key != "type"}
        read = generated.get(cls)
        if read is None:
            read = generated[cls] = converter.gen_structure_attrs_fromdict(cls)
        try:
            return read(body, cls)
        except InvalidFactError:
            raise
        except (ClassValidationError, ForbiddenExtraKeysError, FieldProblem) as error:
            message, path = explain(error, "$")
            raise InvalidFactError(message, path=path) from None

    tagged(Fact, contract.facts, "fact")
    tagged(Action, contract.actions, "action")
    # The policy's escalation state adds its attributes to the engine's fields: read and
    # written as that class wherever an EscalationState is.
    state = contract.state
    state_fields = converter.gen_structure_attrs_fromdict(state)
    state_document = object_writer(state)  # exactly cattrs' output, a fraction of its cost

    def state_structure(data: Any, cls: Any) -> Any:
        if isinstance(data, Mapping) and data.get("status") == AWAITING_OPENING:
            return _awaiting_state(data, converter, policy)
        return state_fields(data, cls)

    def state_unstructure(value: Any) -> dict[str, Any]:
        if value.status == AWAITING_OPENING:
            return awaiting_document(value, converter)
        return state_document(value)

    converter.register_structure_hook(state, state_structure)
    converter.register_unstructure_hook(state, state_unstructure)
    converter.register_structure_hook(EscalationState, state_structure)
    converter.register_unstructure_hook(EscalationState, state_unstructure)

    # A snapshot keeps the calendars its escalations are pinned to as their documents, and
    # writes them only when there are any.
    def structure_calendar(value: object, _type: object) -> Calendar:
        if not isinstance(value, Mapping):
            raise InvalidFactError(f"got {describe(value)}, expected a calendar's document")
        try:
            return Calendar.from_document(value)
        except PolicyError as error:
            raise InvalidFactError(str(error)) from None

    converter.register_structure_hook(Calendar, structure_calendar)
    converter.register_unstructure_hook(Calendar, lambda calendar: calendar.document())
    converter.register_unstructure_hook(
        EngineState,
        make_dict_unstructure_fn(
            EngineState,
            converter,
            calendars=override(omit_if_default=True),
            policy=override(omit_if_default=True),
        ),
    )
    # Its pending obligations leave out the fields that hold their defaults, as the state's
    # own writer does.
    converter.register_unstructure_hook(PendingObligation, object_writer(PendingObligation))
    return converter


def _fact_reader(policy: "Policy", cls: type[Any]) -> Callable[[Any], Any] | None:
    """The fast reader of ``cls`` if it is one of ``policy``'s facts (see ``_fastpath``), built
    on first use and kept with the policy: the converter tries it first, and
    :func:`read_fact` without the converter (cattrs, imported and built, costs a start-up
    more than the rest of the engine)."""
    readers: dict[type[Any], Callable[[Any], Any]] | None = policy._kept.get(_fact_reader)
    if readers is None:
        readers = policy._kept[_fact_reader] = {}
    reader = readers.get(cls)
    if reader is None:
        if policy.contract.facts.get(getattr(cls, "TYPE", "")) is not cls:
            return None
        from escalation_policy._convert.fastpath import fact_reader

        reader = readers[cls] = fact_reader(cls, parse_timestamp)
    return reader


def _read_well_formed(data: object, policy: "Policy") -> Fact | None:
    """The fact, if ``data`` is one of ``policy``'s facts that its fast reader accepts;
    ``None`` leaves it to the converter, which reads it the same way or says what is wrong."""
    from escalation_policy._convert.fastpath import Fallback

    if not isinstance(data, Mapping):
        return None
    tag = data.get("type")
    cls = policy.contract.facts.get(tag) if isinstance(tag, str) else None
    if cls is None:
        return None
    reader = _fact_reader(policy, cls)
    if reader is None:
        return None
    try:
        fact: Fact = reader(data)
    except Fallback:
        return None
    return fact


def shared_fact_reader(policy: "Policy") -> Callable[[Mapping[str, Any]], Fact]:
    """:func:`read_fact` for ``policy``, built once for the policy: a JSON object as
    ``json.loads`` gives it, whose ``type`` names one of the policy's facts, goes straight
    to that fact's fast reader (built when the type is first read), without the converter's
    dispatch; anything else (or what the fast reader declines) is read by :func:`read_fact`,
    which explains what is wrong."""
    reader: Callable[[Mapping[str, Any]], Fact] | None = policy._kept.get(shared_fact_reader)
    if reader is None:
        by_tag: dict[str, Callable[[Any], Any]] = {}

        def read(data: Mapping[str, Any]) -> Fact:
            if type(data) is dict:
                tag = data.get("type")
                fast = by_tag.get(tag) if type(tag) is str else None
                if fast is None and type(tag) is str:
                    cls = policy.contract.facts.get(tag)
                    fast = _fact_reader(policy, cls) if cls is not None else None
                    if fast is not None:
                        by_tag[tag] = fast
                if fast is not None:
                    try:
                        fact: Fact = fast(data)
                    except Exception:  # declined: read_fact reads it or says what is wrong
                        pass
                    else:
                        return fact
            return read_fact(data, policy)

        reader = policy._kept[shared_fact_reader] = read
    return reader


LineReader = Callable[[str | bytes], tuple[Fact, str | None]]
"""A fact from one JSON line, and the text of its time (without its quotes) where the line
gave it as an action's JSON writes it (else ``None``)."""


def shared_line_reader(policy: "Policy") -> LineReader:
    """The fact on one JSON line (``str`` or UTF-8 ``bytes``) of ``policy``, as
    :func:`~escalation_policy._convert.lines.fact_of_line` with :func:`shared_fact_reader`
    reads it, with the same errors, built once for the policy (with a reader for each of
    the policy's facts). A line without a backslash whose object names one of the policy's
    facts is read by the scanner that builds no list of pairs, and by that fact's line
    reader, which declines unless every key came once (see ``_fastpath.fact_reader``);
    anything else, or what it declines, is read by ``fact_of_line``."""
    reader: LineReader | None = policy._kept.get(shared_line_reader)
    if reader is None:
        from escalation_policy._convert.fastpath import SHORT_LINE, fact_reader
        from escalation_policy._convert.lines import fact_of_line, scan_lenient

        facts = policy.contract.facts
        by_tag: dict[str, Any] = {}  # a fact's line reader, made at its type's first line

        def fast_reader(tag: str) -> Any:
            cls = facts.get(tag)
            if cls is None:
                return None  # not the policy's: fact_of_line says so (and nothing is kept)
            made = by_tag[tag] = fact_reader(cls, parse_timestamp, line=True)
            return made

        read_object = shared_fact_reader(policy)

        def read(line: str | bytes) -> tuple[Fact, str | None]:
            text: str | bytes | None = line
            if type(text) is bytes:  # looked into as text: ``in`` of bytes costs more
                try:
                    text = text.decode()
                except UnicodeDecodeError:
                    text = None
            if type(text) is str and "\\" not in text:
                try:
                    data, end = scan_lenient(text, 0)
                except Exception:  # fact_of_line says what is wrong
                    data = None
                else:
                    if end != len(text) and text[end:] != "\n":
                        data = None
                if type(data) is dict:
                    tag = data.get("type")
                    fast = (by_tag.get(tag) or fast_reader(tag)) if type(tag) is str else None
                    if fast is not None:
                        try:
                            read_fast: tuple[Fact, str | None] = fast(
                                data,
                                text.count('"'),
                                len(text) <= SHORT_LINE and text.isascii(),
                            )
                        except Exception:  # declined: fact_of_line reads it or says why not
                            pass
                        else:
                            return read_fast
            return fact_of_line(line, read_object), None

        reader = policy._kept[shared_line_reader] = read
    return reader


def shared_answer_writers(policy: "Policy") -> Mapping[type[Any], Callable[..., str]]:
    """The writers of ``policy``'s actions as :func:`action_json` writes them, each called as
    ``write(action, at, at_text)``: a time of the action that is the object ``at`` (the time
    of the fact it answers) is written as ``at_text``, its JSON text (see
    ``_fastpath.text_writer``). Built once for the policy."""
    writers: Mapping[type[Any], Callable[..., str]] | None = policy._kept.get(shared_answer_writers)
    if writers is None:
        from escalation_policy._convert.fastpath import text_writer

        writers = policy._kept[shared_answer_writers] = _Writers(
            lambda cls: text_writer(cls, tag=cls.TYPE, spaced=True, at=True)
        )
    return writers


class _Writers(dict[type[Any], Callable[..., str]]):
    """A writer for each action class, made when the first action of that class is written
    (the policy's actions are the engine's only classes of action)."""

    def __init__(self, make: Callable[[type[Any]], Callable[..., str]]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, cls: type[Any]) -> Callable[..., str]:
        made = self[cls] = self._make(cls)
        return made


def read_fact(data: Mapping[str, Any], policy: "Policy | None" = None) -> Fact:
    """A fact of ``policy`` (by default the handbook's) from its JSON form; anything wrong
    with it, even a mapping that fails when read, is an
    :class:`~escalation_policy.errors.InputError`."""
    if policy is None:
        from escalation_policy.policy import default_policy

        policy = default_policy()
    try:
        well_formed = _read_well_formed(data, policy)
        if well_formed is not None:
            return well_formed
        fact: Fact = shared_converter(policy).structure(data, Fact)
    except PolicyError:
        raise
    except Exception as error:  # a host's mapping that fails while it is read
        raise InvalidFactError(
            f"could not read the object ({type(error).__name__}: {describe(error)})", path="$"
        ) from None
    return fact


def check_declared(fact: Fact, policy: "Policy") -> None:
    """A fact object of a type the policy does not take (another policy's) is an input
    error, as its JSON form would be."""
    if policy.contract.facts.get(fact.TYPE) is not type(fact):
        raise InvalidFactError(
            f"got a {type(fact).__qualname__} fact, which this policy does not take; expected "
            f"one of {', '.join(policy.contract.facts)}",
            path="$.type",
        )
