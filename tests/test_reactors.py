"""The native engine's generated functions (``_engines/reactors.py``) decide as the generic
path does, for conditions they write as tests and for those they leave to the context."""

import abc
import datetime as dt
import inspect
from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation_policy import (
    Decision,
    InputError,
    PolicyEngine,
    decide,
    default_policy,
    engine,
    load_policy,
)
from escalation_policy._core import escalation as _core
from escalation_policy._engines import reactors, shared_matcher
from escalation_policy._engines.native import NativeMatcher
from escalation_policy._language.codegen import generate
from escalation_policy.model import EscalationFact, Fact
from escalation_policy.policy import Policy
from escalation_policy.policy.compiled import Condition
from escalation_policy.testing import strategies
from escalation_policy.vocabulary import (
    BusinessTime,
    EachBusinessDay,
    EveryBusinessDays,
    Rolling,
    TimesPerWeek,
)
from tests.conftest import T0, Scenario, examples


@attrs.frozen
class _Spelled(Condition):
    """A condition of a kind the generator does not know: it must ask the context."""


def _spelled(policy: Policy) -> Policy:
    """``policy`` with every reaction's conditions of the unknown kind."""
    reactions = tuple(
        attrs.evolve(
            compiled,
            conditions=tuple(_Spelled(c.field, c.values, c.negated) for c in compiled.conditions),
        )
        for compiled in policy.reactions
    )
    return attrs.evolve(policy, reactions=reactions)


def _outcomes(engine: PolicyEngine, history: list[Fact]) -> list[object]:
    outcomes: list[object] = []
    for fact in history:
        try:
            outcomes.append(engine.handle(fact))
        except InputError as error:
            outcomes.append((type(error), str(error)))
    return outcomes


def test_a_condition_the_generator_cannot_write_is_matched_on_the_context() -> None:
    policy = _spelled(default_policy())
    generated = NativeMatcher(policy).generate("posted")
    assert generated is not None
    assert ".matches(context" in inspect.getsource(generated.react)


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.histories())
def test_conditions_left_to_the_context_decide_as_the_tests_written_out(
    history: list[Fact],
) -> None:
    """The same policy, its conditions written out as tests or left to the context, and the
    generic path: the same decisions, refusals and state."""
    written = PolicyEngine(default_policy())
    spelled = PolicyEngine(_spelled(default_policy()))
    generic = PolicyEngine(spelled.policy)
    generic._matcher = NativeMatcher(spelled.policy, generated=False)
    expected = _outcomes(generic, history)
    assert expected == _outcomes(spelled, history)
    assert expected == _outcomes(written, history)
    assert generic.snapshot() == spelled.snapshot() == written.snapshot()


def _known_types(policy: Policy) -> set[str]:
    """The fact types with reactions about a known escalation: those the matcher generates
    functions for."""
    return {t for compiled in policy.reactions if compiled.known for t in compiled.types}


def _generated_types(engine: PolicyEngine) -> dict[str, bool]:
    """The types the engine's matcher has met so far, each with whether its functions were
    generated (``False``: the generic path decides it)."""
    matcher = engine._matcher
    assert isinstance(matcher, NativeMatcher)
    return {fact_type: found is not None for fact_type, found in matcher._generated.items()}


def test_a_fact_types_functions_are_generated_when_its_second_fact_arrives() -> None:
    """Building an engine generates nothing; the generic path decides each fact type's first
    fact, its second generates the type's functions, and every type of the handbook's policy
    can be generated."""
    engine = PolicyEngine()
    assert _generated_types(engine) == {}
    scenario = Scenario(engine)
    scenario.open()
    assert _generated_types(engine) == {}
    scenario.fact("severity_changed", T0, severity="high")
    assert _generated_types(engine) == {}
    Scenario(engine, "ESC-2").open()
    assert _generated_types(engine) == {"opened": True}
    scenario.fact("severity_changed", T0, severity="medium")
    assert _generated_types(engine) == {"opened": True, "severity_changed": True}
    matcher = engine._matcher
    assert isinstance(matcher, NativeMatcher)
    known = _known_types(engine.policy)
    assert len(known) > 10
    for fact_type in sorted(known):
        generated = matcher.generate(fact_type)
        assert generated is not None, fact_type
        assert matcher.generate(fact_type) is generated  # generated once, then kept
        assert matcher.generated(fact_type) is generated
    assert _generated_types(engine) == dict.fromkeys(known, True)


def test_a_type_with_no_reaction_is_remembered_without_functions() -> None:
    matcher = NativeMatcher(default_policy())
    others = set(default_policy().contract.facts) - _known_types(default_policy())
    for fact_type in others:
        assert matcher.generated(fact_type) is None
    assert matcher.generated("no such type") is None
    assert set(matcher._generated) == others  # an undeclared type is not kept


def _failing_for(broken: str) -> object:
    generate = reactors.generated

    def failing(policy: Policy, fact_type: str, *arguments: object) -> object:
        if fact_type == broken:
            raise RuntimeError(f"cannot generate {fact_type}")
        return generate(policy, fact_type, *arguments)  # type: ignore[arg-type]

    return failing


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    strategies.histories(),
    st.sampled_from(sorted(_known_types(default_policy()))),
)
def test_a_type_whose_functions_cannot_be_generated_is_decided_on_the_generic_path(
    history: list[Fact], broken: str
) -> None:
    """The generator failing for one fact type refuses no fact and changes no decision: that
    type takes the generic path, the others their generated functions."""
    generic = PolicyEngine()
    generic._matcher = NativeMatcher(generic.policy, generated=False)
    expected = _outcomes(generic, history)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reactors, "generated", _failing_for(broken))
        engine = PolicyEngine()
        assert _outcomes(engine, history) == expected
    assert engine.snapshot() == generic.snapshot()
    seen = _generated_types(engine)
    assert seen.pop(broken, False) is False
    assert all(seen[t] for t in seen.keys() & _known_types(engine.policy))


def test_a_failing_generator_on_the_opening_still_opens() -> None:
    """The same, for certain: the very first fact's type cannot be generated."""
    generic = Scenario(PolicyEngine())
    generic.engine._matcher = NativeMatcher(generic.engine.policy, generated=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reactors, "generated", _failing_for("opened"))
        broken = Scenario(PolicyEngine())
        for scenario in (generic, broken):
            second = Scenario(scenario.engine, "ESC-2")
            for each in (scenario, second):  # the second of each type: its functions
                each.open()
                each.post(T0, "created", "support_engineering")
            scenario.tick(T0.replace(hour=17))
            scenario.decisions += second.decisions
    assert broken.decisions == generic.decisions
    assert _generated_types(broken.engine) == {"opened": False, "posted": True}
    assert broken.engine.snapshot() == generic.engine.snapshot()


def test_the_step_refuses_to_build_objects_it_would_leave_half_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The generated step builds its Work, its Situation and its Decision slot by slot: a slot
    or a field it does not set (one added to the class later) stops the generation of the
    type's functions, rather than leave an attribute unset; the type is then decided on the
    generic path."""
    policy = default_policy()

    def failures() -> list[str]:
        matcher = NativeMatcher(policy)
        found = []
        for fact_type in sorted(_known_types(policy)):
            indices = [index for index, _ in matcher._by_type[fact_type]]
            try:
                reactors.generated(policy, fact_type, indices, matcher._periods)
            except TypeError as error:
                message = str(error)
            else:
                continue
            assert "the generated" in message
            assert matcher.generate(fact_type) is None  # the generic path decides it
            found.append(fact_type)
        return found

    assert failures() == []  # as they are, every one is set
    for name, value in (
        ("_WORK", {key: v for key, v in reactors._WORK.items() if key != "announced"}),
        ("_DECISION", {key: v for key, v in reactors._DECISION.items() if key != "state"}),
        ("_SITUATION_VALUES", reactors._SITUATION_VALUES[1:]),
    ):
        with monkeypatch.context() as patched:
            patched.setattr(reactors, name, value)
            assert failures(), name


_NOTED = reactors._Function(
    [
        "def noted(work, rule):",
        "    owner = PREFIX + rule",
        "    matched = [owner]",
        "    count = 0",
        "    for found in record:",
        "        count += found",
        "    if (total := count) == 0:",
        "        return  # nothing to note",
        "    actions.append((owner, matched, total))",
    ],
    {"PREFIX": "noted by "},
)
"""A function to write in place that binds names the function it is written in also uses
(``owner``, ``matched``, ``count``, ``found``) and returns early."""


@pytest.mark.parametrize("record", [[], [1, 2]])
def test_a_function_written_in_place_does_what_its_call_does_and_keeps_the_callers_locals(
    record: list[int],
) -> None:
    """Written in place twice, one after the other, the function notes what its call would
    note, each time; its return leaves only its own lines; and the locals of the function it
    is written in that it binds under the same names keep their values."""
    source = reactors._Source(default_policy(), "posted")
    enclosing = generate(
        [
            "def enclosing(work, record, actions):",
            "    owner, matched, count, found = 'theirs', ['theirs'], -1, None",
            *source.in_place(_NOTED, ["'R1'"], "    "),
            *source.in_place(_NOTED, ["'R2'"], "    "),
            "    return owner, matched, count, found",
        ],
        source.namespace,
        "test of in_place",
    )
    called: list[object] = []  # what its calls note, one after the other
    noted = generate(_NOTED.lines, {**_NOTED.namespace, "record": record, "actions": called}, "")
    noted(None, "R1")
    noted(None, "R2")

    actions: list[object] = []
    kept = enclosing(None, record, actions)

    assert ("theirs", ["theirs"], -1, None) == kept
    assert called == actions
    assert (2 if record else 0) == len(actions)


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (["    return 1"], "returns nothing"),
        (["    for found in record:", "        return"], "no return within a loop"),
        (["    actions = []"], "binds 'actions', a name it shares"),
        (["    work = None"], "binds 'work', a name it shares"),
        (["    PREFIX = 'again'"], "binds 'PREFIX', a name it gives one of its constants"),
        (["    actions.append(situation)"], "reads 'situation'"),
        (["    actions.append(lambda: rule)"], "no Lambda"),
        (["    import os"], "no Import"),
        (["    break"], "no break or continue out of a loop"),
    ],
)
def test_a_function_that_cannot_be_written_in_place_as_its_call_is_refused(
    body: list[str], refused: str
) -> None:
    """A function whose lines in place would not do what its call does is refused with a
    TypeError that says why (the type's functions are then left to the generic path)."""
    source = reactors._Source(default_policy(), "posted")
    function = reactors._Function(["def noted(work, rule):", *body], {"PREFIX": ""})

    with pytest.raises(TypeError, match=refused):
        source.in_place(function, ["'R1'"], "    ")


def _in_calendar_time(value: object) -> object:
    """A business time or period as the calendar time it stands for."""
    if isinstance(value, BusinessTime):
        return value.duration
    if isinstance(value, EachBusinessDay):
        return dt.timedelta(days=1)
    if isinstance(value, TimesPerWeek):
        return dt.timedelta(days=7 * value.weeks) / value.times
    if isinstance(value, EveryBusinessDays):
        return dt.timedelta(days=value.days)
    if isinstance(value, Rolling):
        return value.every
    return value


_OPENING_POLICIES = (
    default_policy(),  # business time, on a calendar a time zone may move
    load_policy(
        settings={
            name: _in_calendar_time(value) for name, value in default_policy().settings.items()
        }
    ),
)


def _opening(
    policy: Policy, matcher: NativeMatcher, fact: Fact, *, unshared: bool = False
) -> object:
    """The decision and state of an opening, or its refusal; ``unshared``: by an opening
    generated without the matcher's plans (it asks the matcher for each)."""
    assert isinstance(fact, EscalationFact)
    try:
        if unshared:
            indices = [index for index, _ in matcher._by_type[fact.TYPE]]
            opening = reactors.generated(policy, fact.TYPE, indices, {}).opening
            assert opening is not None
            record, decision = opening(policy, matcher, fact)
        else:
            record, decision = _core.decide(policy, matcher, None, fact)
    except InputError as error:
        return type(error), str(error), error.path
    return decision, None if record is None else record.freeze()


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_OPENING_POLICIES), st.data())
def test_the_generated_opening_decides_as_the_generic_path(
    policy: Policy, data: st.DataObject
) -> None:
    """An opening no record holds, of any severity, segment, time, zone or calendar: the
    generated opening and the generic path give the same decision and the same state, or the
    same refusal."""
    opening = policy.terms.opening
    fact = data.draw(strategies.facts(opening, policy=policy))
    generated = NativeMatcher(policy)
    generated.generate(opening.TYPE)  # else the generic path decides the first fact
    expected = _opening(policy, NativeMatcher(policy, generated=False), fact)
    assert _opening(policy, generated, fact) == expected
    assert _opening(policy, NativeMatcher(policy), fact, unshared=True) == expected
    found = generated.generated(opening.TYPE)
    assert found is not None
    assert found.opening is not None


def _public_opening(policy: Policy, fact: Fact) -> object:
    """``decide(None, fact)``, or its refusal."""
    try:
        return decide(None, fact, policy=policy)  # type: ignore[arg-type]
    except InputError as error:
        return type(error), str(error), error.path


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_OPENING_POLICIES), st.data())
def test_decide_opens_as_the_generic_path_then_freezes(policy: Policy, data: st.DataObject) -> None:
    """``decide(None, fact)`` on an opening, which builds its decision with the new state in
    the generated opening: the decision the generic path makes, with the state it freezes."""
    fact = data.draw(strategies.facts(policy.terms.opening, policy=policy))
    shared_matcher(policy).generate(fact.TYPE)  # else the generic path decides the first fact
    expected = _opening(policy, NativeMatcher(policy, generated=False), fact)
    found = _public_opening(policy, fact)
    if isinstance(found, tuple):
        assert found == expected
        return
    assert isinstance(found, Decision)
    assert isinstance(expected, tuple)
    decision, state = expected
    assert found == attrs.evolve(decision, state=state)
    assert found.state == state
    assert _public_opening(policy, fact) == found  # again, from the shared matcher's memos


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_OPENING_POLICIES), st.data())
def test_decide_goes_straight_to_the_opening_only_for_the_classes_the_policy_takes(
    policy: Policy, data: st.DataObject
) -> None:
    """Once ``decide`` opened with a fact object of a class the policy declares, the next one
    goes straight to the generated opening, and decides as the generic path; an object of a
    class the policy does not declare never does, and once a class is registered with an ABC,
    the policy is asked again."""
    opening = policy.terms.opening
    fact = data.draw(strategies.facts(opening, policy=policy))
    shared_matcher(policy).generate(opening.TYPE)  # else the generic path decides the first
    expected = _opening(policy, NativeMatcher(policy, generated=False), fact)
    first = _public_opening(policy, fact)
    key = (engine._OPENING, type(fact))
    kept = policy._kept[key]
    found = shared_matcher(policy).generated(opening.TYPE)
    assert found is not None
    assert kept[1] is found.opening
    assert _public_opening(policy, fact) == first  # straight to the opening
    if isinstance(first, Decision):
        assert isinstance(expected, tuple)
        assert first == attrs.evolve(expected[0], state=expected[1])
    else:
        assert first == expected
    subclass = attrs.frozen(type("Subclass", (opening,), {"__module__": __name__}))
    other = subclass(**attrs.asdict(fact, recurse=False))
    undeclared = _public_opening(policy, other)
    assert (engine._OPENING, subclass) not in policy._kept
    assert _public_opening(policy, other) == undeclared
    Mapping.register(type("Registered", (), {}))  # the ABCs' cache token changes
    assert _public_opening(policy, fact) == first
    assert policy._kept[key][0] == abc.get_cache_token()


@settings(max_examples=examples(5), deadline=None)
@given(st.data())
def test_a_policy_takes_as_objects_its_declared_fact_classes_not_mappings(
    data: st.DataObject,
) -> None:
    """``Policy._takes_as_object`` answers as ``decide`` asked before: an object of the class
    the policy declares for its type, a fact about one escalation, not a ``Mapping``; and asks
    the ABCs again once a class is registered with one (the cache token changes)."""
    policy = _OPENING_POLICIES[1]
    opening = policy.terms.opening
    fact = data.draw(strategies.facts(opening, policy=policy))

    def asked(candidate: object) -> bool:
        return (
            isinstance(candidate, EscalationFact)
            and policy.contract.facts.get(candidate.TYPE) is type(candidate)
            and not isinstance(candidate, Mapping)
        )

    subclass = attrs.frozen(type("Subclass", (opening,), {"__module__": __name__}))
    candidates = [fact, {"type": opening.TYPE}, object(), None, subclass(**attrs.asdict(fact))]
    assert [policy._takes_as_object(c) for c in candidates] == [asked(c) for c in candidates]
    assert policy._takes_as_object(fact)
    token = policy._fact_classes[0][0]
    Mapping.register(type("Registered", (), {}))
    assert policy._takes_as_object(fact)
    assert policy._fact_classes[0][0] != token
    assert [policy._takes_as_object(c) for c in candidates] == [asked(c) for c in candidates]


def test_a_computed_field_reads_the_escalation_as_before_the_facts_effects() -> None:
    """The handbook's ``by_owner`` reads the updates still owed; a post's first reaction meets
    the raise's update. Read lazily after that effect, the field saw it gone, and the TAM who
    posted the update a High spell owed was ``wrong_poster``. Each path reads it as the
    generic path does: before any effect."""
    at = "2026-03-0{}T{}:00Z".format
    history: list[Any] = [
        {"type": "opened", "at": at(2, "09:00"), "escalation_id": "E", "customer": "Acme",
         "segment": "enterprise", "severity": "medium", "tam": "Kim"},
        # the first post: the type's functions are generated at its second fact
        {"type": "posted", "at": at(2, "09:10"), "escalation_id": "E", "purpose": "created",
         "by": "support_engineering", "channel": "#escalated_customers"},
        {"type": "tam_informed", "at": at(2, "09:20"), "escalation_id": "E"},
        {"type": "severity_changed", "at": at(3, "10:00"), "escalation_id": "E",
         "severity": "high"},
        {"type": "severity_changed", "at": at(3, "14:00"), "escalation_id": "E",
         "severity": "medium"},
        {"type": "posted", "at": at(3, "16:00"), "escalation_id": "E", "by": "tam",
         "channel": "#escalated_customers", "purpose": "update"},
    ]  # fmt: skip
    written = PolicyEngine(default_policy())
    spelled = PolicyEngine(_spelled(default_policy()))
    generic = PolicyEngine(spelled.policy)
    generic._matcher = NativeMatcher(spelled.policy, generated=False)
    expected = _outcomes(generic, history)
    assert expected == _outcomes(spelled, history) == _outcomes(written, history)
    update = expected[-1]
    assert isinstance(update, Decision)
    assert [] == [a.code.value for a in update.actions if a.TYPE == "violation"]
    assert "raise_update" in [f.obligation for f in update.fulfilled]
