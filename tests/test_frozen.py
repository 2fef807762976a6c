"""The quicker ``__init__`` of the output classes builds exactly what attrs' own builds."""

import copy
import datetime as dt
import inspect
import json
import pickle
import sys
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import escalation_policy
import escalation_policy.rules
from escalation_policy import (
    Decision,
    EscalationState,
    PendingObligation,
    PolicyEngine,
    decide,
    make_converter,
)
from escalation_policy._core.obligations import changed
from escalation_policy._language.codegen import generate
from escalation_policy._language.frozen import (
    ATTRS_INIT,
    build_lines,
    builder_of,
    construct_lines,
    kept_together,
    quick_init,
    twin_of,
)
from escalation_policy.model import Fact, Violation
from escalation_policy.rules import PostToChannel
from escalation_policy.testing import strategies
from tests.conftest import examples

CLASSES = sorted(ATTRS_INIT, key=lambda cls: cls.__qualname__)


def test_the_outputs_built_per_fact_have_a_quick_init() -> None:
    names = {cls.__name__ for cls in CLASSES}
    assert {"Decision", "PendingObligation", "Fulfilment", "Violation", "PostToChannel"} <= names
    exported = [
        getattr(module, name)
        for module in (escalation_policy, escalation_policy.rules)
        for name in module.__all__
    ]
    actions = {
        value
        for value in exported
        if isinstance(value, type) and issubclass(value, escalation_policy.Action)
    }
    assert actions <= set(CLASSES)


def _build(cls: type[Any], init: Any, arguments: dict[str, object]) -> object:
    instance = object.__new__(cls)
    init(instance, **arguments)
    return instance


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__qualname__)
@given(data=st.data())
def test_quick_init_builds_what_attrs_init_builds(cls: type[Any], data: st.DataObject) -> None:
    arguments: dict[str, object] = {}
    for field in attrs.fields(cls):
        # Values of any kind: neither __init__ checks them.
        if field.default is attrs.NOTHING or data.draw(st.booleans()):
            arguments[field.name] = data.draw(st.integers() | st.text(max_size=3) | st.none())
    quick = cls(**arguments)
    reference = _build(cls, ATTRS_INIT[cls], arguments)
    assert quick == reference
    assert repr(quick) == repr(reference)
    assert attrs.asdict(quick, recurse=False) == attrs.asdict(reference, recurse=False)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__qualname__)
def test_quick_init_refuses_what_attrs_init_refuses(cls: type[Any]) -> None:
    required = {f.name: 1 for f in attrs.fields(cls) if f.default is attrs.NOTHING}
    for init in (cls.__init__, ATTRS_INIT[cls]):
        instance = object.__new__(cls)
        with pytest.raises(TypeError, match="positional argument"):
            init(instance, *required.values())
        with pytest.raises(TypeError, match="unexpected keyword"):
            init(instance, **required, not_a_field=1)
        missing = dict(list(required.items())[1:])
        with pytest.raises(TypeError, match="missing"):
            init(instance, **missing)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__qualname__)
@given(data=st.data())
def test_a_builder_builds_what_attrs_init_builds(cls: type[Any], data: st.DataObject) -> None:
    """``builder_of(cls)`` takes the arguments of the class and builds the same object, of
    the class, defaults included, without calling it."""
    arguments: dict[str, object] = {}
    for field in attrs.fields(cls):
        if field.default is attrs.NOTHING or data.draw(st.booleans()):
            arguments[field.name] = data.draw(st.integers() | st.text(max_size=3) | st.none())
    built = builder_of(cls)(**arguments)
    reference = _build(cls, ATTRS_INIT[cls], arguments)
    assert type(built) is cls
    assert built == reference
    assert attrs.asdict(built, recurse=False) == attrs.asdict(reference, recurse=False)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(built, attrs.fields(cls)[0].name, 1)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__qualname__)
def test_a_builder_refuses_what_attrs_init_refuses(cls: type[Any]) -> None:
    required = {f.name: 1 for f in attrs.fields(cls) if f.default is attrs.NOTHING}
    build = builder_of(cls)
    with pytest.raises(TypeError, match="positional argument"):
        build(*required.values())
    with pytest.raises(TypeError, match="unexpected keyword"):
        build(**required, not_a_field=1)
    with pytest.raises(TypeError, match="missing"):
        build(**dict(list(required.items())[1:]))


def _no_twin_class() -> type[Any]:
    """A quick-init class whose objects cannot change to a twin, as on Python 3.10 for a class
    with a weak-reference slot."""

    @quick_init
    @attrs.frozen(kw_only=True)
    class NoTwin:
        x: int
        y: str = "y"

    type.__setattr__(NoTwin, "_quick_twin", None)  # as twin_of finds it on Python 3.10
    return NoTwin


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__qualname__)
def test_a_twin_is_a_subclass_adding_no_slot_whose_call_sets_nothing(cls: type[Any]) -> None:
    """A class's twin has its layout (a subclass that adds no slot, not frozen): called, it
    makes an object with no field set, which turns into an object of the class."""
    twin = twin_of(cls)
    assert twin is not None
    assert twin.__bases__ == (cls,)
    assert twin.__dict__["__slots__"] == ()
    made = twin()
    assert type(made) is twin
    for field in attrs.fields(cls):
        assert not hasattr(made, field.name), field.name
    with pytest.raises(TypeError):
        twin(**{attrs.fields(cls)[0].name: 1})  # object's own __init__: no arguments
    made.__class__ = cls
    assert type(made) is cls


def test_a_builder_without_a_twin_builds_through_the_slots() -> None:
    NoTwin = _no_twin_class()
    built = builder_of(NoTwin)(x=1)
    assert type(built) is NoTwin
    assert built == NoTwin(x=1, y="y")


def test_constructed_announcements_are_what_the_class_builds() -> None:
    """What generated code builds field by field (the policy's announcements and emitted
    actions) is the object the class builds from the same keywords, defaults included."""
    namespace: dict[str, Any] = {}
    given = {"escalation_id": "e", "at": "at", "rule": "'r'", "cites": "'c'", "code": "'x'"}
    lines = construct_lines(Violation, {**given, "detail": "'d'"}, namespace, prefix="v_")
    assert lines is not None
    build = generate(["def build(e, at):", *lines, "    return new"], namespace, "test")
    built = build("ESC-1", 5)
    assert type(built) is Violation
    expected = Violation(escalation_id="ESC-1", at=5, rule="r", cites="c", code="x", detail="d")
    assert attrs.asdict(built) == attrs.asdict(expected)
    assert built == expected
    with pytest.raises(TypeError, match="no field 'nope'"):
        construct_lines(Violation, {**given, "detail": "''", "nope": "1"}, {}, prefix="v_")
    with pytest.raises(TypeError, match="nothing given for 'detail'"):
        construct_lines(Violation, given, {}, prefix="v_")

    @attrs.frozen(kw_only=True)
    class Plain:
        x: int

    assert construct_lines(Plain, {"x": "1"}, {}, prefix="p_") is None  # called as it is


def test_quickly_built_objects_are_still_frozen() -> None:
    post = PostToChannel(
        escalation_id="ESC-1", at=1, rule="r", cites="c", channel="#x", by=2, reason=3, due=4
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        post.channel = "#y"  # type: ignore[misc]
    assert hash(post) == hash(_build(PostToChannel, ATTRS_INIT[PostToChannel], attrs.asdict(post)))


def test_a_class_shows_attrs_signature_before_and_after_its_first_object() -> None:
    """The quick ``__init__`` is generated when its class builds its first object (not when
    the class is made): before and after, the class takes attrs' own arguments."""

    @quick_init
    @attrs.frozen(kw_only=True)
    class Late:
        x: int
        y: str = "y"

    before = inspect.signature(Late)
    first = Late(x=1)
    assert "(*, x: int, y: str = 'y') -> None" == str(before)
    assert before == inspect.signature(Late)
    assert _build(Late, ATTRS_INIT[Late], {"x": 1}) == first == Late(x=1, y="y")
    with pytest.raises(TypeError, match="positional argument"):
        Late(1)  # type: ignore[misc]


def test_a_class_whose_objects_cannot_change_class_is_built_through_its_slots() -> None:
    """Where the interpreter refuses to let an object change to its class's twin (Python 3.10,
    for a class with a weak-reference slot), the quick ``__init__`` and the generated
    builders set each field through its slot, and build the same objects."""

    NoTwin = _no_twin_class()
    namespace: dict[str, Any] = {}
    build = generate(
        [
            "def build(x):",
            *build_lines(NoTwin, [("x", "x"), ("y", "'z'")], namespace, prefix="n_"),
            "    return new",
        ],
        namespace,
        "test build",
    )
    built = build(2)
    assert NoTwin(x=1) == _build(NoTwin, ATTRS_INIT[NoTwin], {"x": 1})
    assert type(built) is NoTwin
    assert NoTwin(x=2, y="z") == built
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.x = 3  # type: ignore[misc]


def test_defaults_are_attrs_defaults() -> None:
    pending = PendingObligation(obligation=1, due=2, rule="r", cites="c")  # type: ignore[arg-type]
    defaults = (pending.key, pending.every, pending.overdue, pending.remind_before)
    assert defaults == (None, None, False, None)
    decision = Decision(fact=1, actions=())  # type: ignore[arg-type]
    assert (decision.fulfilled, decision.matched) == ((), ())
    assert EscalationState.__init__ is not ATTRS_INIT[EscalationState]


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        (attrs.field(validator=attrs.validators.instance_of(int)), "validator"),
        (attrs.field(converter=int), "converter"),
        (attrs.field(factory=list), "factory"),
        (attrs.field(alias="other"), "alias"),
        (attrs.field(init=False, default=0), "init=False"),
    ],
)
def test_quick_init_refuses_fields_it_cannot_copy_exactly(field: Any, problem: str) -> None:
    cls = attrs.make_class("Odd", {"x": field}, frozen=True, slots=True, kw_only=True)
    with pytest.raises(TypeError, match=problem):
        quick_init(cls)


def test_quick_init_refuses_hooks_and_positional_fields() -> None:
    @attrs.frozen(kw_only=True)
    class Hooked:
        x: int

        def __attrs_post_init__(self) -> None:
            pass

    with pytest.raises(TypeError, match="__attrs_post_init__"):
        quick_init(Hooked)
    with pytest.raises(TypeError, match="positional"):
        quick_init(attrs.make_class("Positional", ["x"], frozen=True, slots=True))
    with pytest.raises(TypeError, match="not a slotted attrs class"):
        quick_init(attrs.make_class("Unslotted", ["x"], frozen=True, slots=False, kw_only=True))


def test_a_subclass_without_attrs_keeps_its_class() -> None:
    class Mine(PendingObligation):
        pass

    mine = Mine(obligation="update", due=1, rule="r", cites="c")  # type: ignore[arg-type]
    assert type(mine) is Mine
    assert (mine.obligation, mine.due, mine.key) == ("update", 1, None)


def _objects(value: object) -> Iterator[object]:
    """``value`` and every attrs object within it (fields, tuples and mappings of them)."""
    if attrs.has(type(value)):
        yield value
        for field in attrs.fields(type(value)):
            yield from _objects(getattr(value, field.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _objects(item)


def _as_attrs_builds_it(value: Any) -> Any:
    cls = type(value)
    init = ATTRS_INIT.get(cls, cls.__init__)
    return _build(cls, init, attrs.asdict(value, recurse=False))


def _check_built_as_attrs_builds(value: object) -> None:
    for built in _objects(value):
        reference = _as_attrs_builds_it(built)
        assert type(reference) is type(built)
        assert reference == built
        assert repr(reference) == repr(built)
        try:
            hashed = hash(reference)
        except TypeError:  # a state's mapping of what was done: neither hashes
            with pytest.raises(TypeError):
                hash(built)
        else:
            assert hashed == hash(built)
        try:
            pickled = pickle.dumps(reference)
        except pickle.PicklingError:  # a policy's own state class: neither pickles
            with pytest.raises(pickle.PicklingError):
                pickle.dumps(built)
        else:
            assert pickle.loads(pickle.dumps(built)) == pickle.loads(pickled) == built
        assert attrs.evolve(built) == built
        field = attrs.fields(type(built))[0].name
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(built, field, None)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=list(HealthCheck))
@given(strategies.histories())
def test_what_the_engine_builds_is_what_the_public_constructors_build(history: list[Fact]) -> None:
    """Decisions, actions, fulfilments, states and their pending obligations, built inside the
    engine from values it checked, equal the objects attrs' own constructors build from the same
    values, of the same public class: same repr and hash, frozen, pickled and evolved alike."""
    engine = PolicyEngine()
    states: dict[str, EscalationState | None] = {}
    for fact in history:
        decision = engine.handle(fact)
        _check_built_as_attrs_builds(decision)
        for state in engine.escalations():
            _check_built_as_attrs_builds(state)
        escalation_id = getattr(fact, "escalation_id", None)
        if escalation_id is not None and (escalation_id in states or fact.TYPE == "opened"):
            try:
                decided = decide(states.get(escalation_id), fact)
            except escalation_policy.InputError:
                continue  # refused here as in the engine's step: nothing to compare
            _check_built_as_attrs_builds(decided)
            states[escalation_id] = decided.state
            assert decided.state == engine.escalation(escalation_id)


# ------------------------------------------------------------------ fields kept together
_ANY = (
    st.none()
    | st.booleans()
    | st.integers(-2, 300)
    | st.text(max_size=2)
    | st.just(())
    | st.tuples(st.integers(0, 3))
)
"""Values of any kind (neither ``__init__`` checks them), defaults and values equal to a
default but of another type (``0`` for ``False``, ``False`` for ``0``) among them."""


def _some_fields(data: st.DataObject, required: bool) -> dict[str, object]:
    return {
        field.name: data.draw(_ANY)
        for field in attrs.fields(PendingObligation)
        if (required and field.default is attrs.NOTHING) or data.draw(st.booleans())
    }


def _read_back(pending: PendingObligation, arguments: dict[str, object]) -> None:
    for field in attrs.fields(PendingObligation):
        expected = arguments.get(field.name, field.default)
        assert getattr(pending, field.name) is expected, field.name


@settings(max_examples=examples(200))
@given(data=st.data())
def test_a_pending_obligation_reads_back_any_combination_of_fields(data: st.DataObject) -> None:
    """Whichever fields an obligation is built with (those kept together in one slot or not,
    at their defaults or not), each reads back as the very object given, through every way
    an obligation is built: its constructor, attrs' own, ``attrs.evolve``, the core's
    ``changed``, pickling and copying."""
    arguments = _some_fields(data, required=True)
    pending = PendingObligation(**arguments)  # type: ignore[arg-type]
    _read_back(pending, arguments)
    reference = _build(PendingObligation, ATTRS_INIT[PendingObligation], arguments)
    _read_back(reference, arguments)  # type: ignore[arg-type]
    assert reference == pending
    assert repr(reference) == repr(pending)
    for again in (
        pickle.loads(pickle.dumps(pending)),
        copy.copy(pending),
        copy.deepcopy(pending),
        attrs.evolve(pending),
    ):
        assert type(again) is PendingObligation
        assert again == pending
        assert repr(again) == repr(pending)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        pending.tier = 1  # type: ignore[misc]
    changes = _some_fields(data, required=False)
    evolved = attrs.evolve(pending, **changes)
    _read_back(evolved, {**arguments, **changes})
    quickly = changed(pending, **changes)
    _read_back(quickly, {**arguments, **changes})
    assert type(quickly) is PendingObligation
    assert quickly == evolved
    assert repr(quickly) == repr(evolved)
    assert hash(reference) == hash(pending)
    assert pending.__getstate__() == {  # type: ignore[attr-defined]
        field.name: arguments.get(field.name, field.default)
        for field in attrs.fields(PendingObligation)
    }


_TIMES = st.datetimes(
    min_value=dt.datetime(2020, 1, 1),
    max_value=dt.datetime(2030, 1, 1),
    timezones=st.just(dt.timezone.utc),
)
_SPANS = st.timedeltas(min_value=dt.timedelta(seconds=1), max_value=dt.timedelta(days=30))
# A key as a fact can give one: text without NUL or lone surrogates, which input refuses.
_KEYS = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=3)


@settings(max_examples=examples(100))
@given(
    due=_TIMES,
    key=st.none() | _KEYS,
    every=st.none() | _SPANS,
    overdue=st.booleans(),
    remind_before=st.none() | _SPANS,
    reminded=st.booleans(),
    period=st.none() | st.sampled_from(["each business day", "2 per week"]),
    since=st.none() | _TIMES,
    required=st.integers(1, 3),
    counts=st.tuples() | st.tuples(st.integers(0, 3), st.integers(0, 3)),
    paused_left=st.none() | _SPANS,
    reminder_at=st.none() | _TIMES,
    tier=st.integers(0, 3),
    next_tier_at=st.none() | _TIMES,
)
def test_a_pending_obligation_keeps_its_json_form(**fields: Any) -> None:
    """Its JSON form (in a snapshot) is written from its fields by name and read back equal,
    the fields kept together in one slot included, those at their default left out as
    before."""
    converter = make_converter()
    pending = PendingObligation(obligation="update", rule="r", cites="c", **fields)
    written = converter.unstructure(pending, PendingObligation)
    expected = {
        "obligation": "update",
        "due": converter.unstructure(fields["due"], dt.datetime),
        "rule": "r",
        "cites": "c",
        **{
            name: converter.unstructure(value, type(value))
            for name, value in fields.items()
            if name != "due"
            and not (name in ("reminder_at", "tier", "next_tier_at") and value in (None, 0))
        },
    }
    assert expected == json.loads(json.dumps(written))
    assert converter.structure(json.loads(json.dumps(written)), PendingObligation) == pending


def test_fields_kept_together_share_one_slot_until_one_is_set() -> None:
    """An obligation neither reminded, paused nor chased keeps those fields in a slot all such
    obligations share: it takes one slot for them, however many they are."""
    quiet = [
        PendingObligation(obligation=name, due=dt.datetime(2026, 1, 1), rule="r", cites="c")
        for name in ("a", "b")
    ]
    assert quiet[0]._rarely is quiet[1]._rarely  # type: ignore[attr-defined]
    assert changed(quiet[0], due=dt.datetime(2026, 1, 2))._rarely is quiet[0]._rarely  # type: ignore[attr-defined]
    tiered = changed(quiet[0], tier=1)
    assert tiered._rarely is not quiet[0]._rarely  # type: ignore[attr-defined]
    assert changed(tiered, tier=0)._rarely is quiet[0]._rarely  # type: ignore[attr-defined]
    kept = len(PendingObligation._KEPT.names)  # type: ignore[attr-defined]
    fields = len(attrs.fields(PendingObligation))
    assert fields - kept + 1 == len(PendingObligation.__slots__)
    plain = attrs.make_class(
        "Plain",
        {f.name: attrs.field(default=f.default) for f in attrs.fields(PendingObligation)},
        frozen=True,
        slots=True,
        kw_only=True,
        weakref_slot=False,
    )
    assert sys.getsizeof(quiet[0]) == sys.getsizeof(object.__new__(plain)) - 8 * (kept - 1)


def test_kept_together_refuses_what_is_not_a_field_of_its_own() -> None:
    @attrs.frozen(kw_only=True)
    class Small:
        x: int = 0

    with pytest.raises(TypeError, match="not slotted fields of its own"):
        kept_together("y")(Small)
    unslotted = attrs.make_class("U", {"x": attrs.field(default=0)}, slots=False, kw_only=True)
    with pytest.raises(TypeError, match="not slotted fields of its own"):
        kept_together("x")(unslotted)
