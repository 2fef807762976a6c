"""Invariants of the policy over generated histories (hypothesis)."""

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation_policy import (
    Decision,
    EngineState,
    InputError,
    PolicyEngine,
    default_policy,
    make_converter,
)
from escalation_policy._engines.native import NativeMatcher
from escalation_policy.model import Fact
from escalation_policy.testing import strategies
from tests.conftest import examples

CONVERTER = make_converter()
SETTINGS = settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _run(history: list[Fact], engine: str = "native") -> list[Decision]:
    policy_engine = PolicyEngine(engine=engine)  # type: ignore[arg-type]
    return [policy_engine.handle(fact) for fact in history]


@SETTINGS
@given(strategies.histories())
def test_valid_histories_never_raise_and_the_engine_is_deterministic(history: list[Fact]) -> None:
    assert _run(history) == _run(history)


@SETTINGS
@given(strategies.histories())
def test_every_action_names_a_rule_that_exists_and_cites_it(history: list[Fact]) -> None:
    rules = default_policy().rules
    for decision in _run(history):
        for action in decision.actions:
            assert action.rule in rules
            assert rules[action.rule].cites == action.cites


@SETTINGS
@given(strategies.histories(), st.data())
def test_a_rejected_fact_leaves_state_unchanged_and_only_documented_errors_are_raised(
    history: list[Fact], data: st.DataObject
) -> None:
    """Arbitrary facts thrown into a valid history: each is taken whole or refused whole."""
    engine = PolicyEngine()

    def attempt(fact: Fact) -> None:
        before = engine.snapshot()
        try:
            engine.handle(fact)
        except InputError:
            assert before == engine.snapshot()
        except Exception as error:  # the failure this test looks for
            raise AssertionError(f"undocumented {type(error).__name__}: {error}") from error

    for fact in history:
        intruder = data.draw(st.none() | strategies.facts())
        if intruder is not None:
            attempt(intruder)
        attempt(fact)


@SETTINGS
@given(strategies.histories(), st.data())
def test_the_generated_reactors_decide_as_the_generic_matcher_does(
    history: list[Fact], data: st.DataObject
) -> None:
    """The native engine applies a fact's reactions through a function generated per fact
    type; matching each reaction and applying each effect one by one (the reference, which
    the durable engine uses too) gives the same decisions, the same refusals and the same
    state, with arbitrary facts thrown in."""
    generated = PolicyEngine()
    generic = PolicyEngine()
    generic._matcher = NativeMatcher(generic.policy, generated=False)

    def outcome(engine: PolicyEngine, fact: Fact) -> object:
        try:
            return engine.handle(fact)
        except InputError as error:
            return (type(error), str(error))

    matcher = generated._matcher
    assert isinstance(matcher, NativeMatcher)
    assert not matcher._generated  # nothing until a fact arrives: each type's first fact
    seen: set[str] = set()  # generates its functions mid-history
    for fact in history:
        intruder = data.draw(st.none() | strategies.facts())
        for each in (fact,) if intruder is None else (intruder, fact):
            assert outcome(generic, each) == outcome(generated, each)
            seen.add(each.TYPE)
    assert generic.snapshot() == generated.snapshot()
    known = {t for compiled in generated.policy.reactions if compiled.known for t in compiled.types}
    assert set(matcher._generated) <= seen
    assert all(matcher._generated[t] is not None for t in known & set(matcher._generated))


@SETTINGS
@given(strategies.histories(), st.data())
def test_state_survives_json_mid_history(history: list[Fact], data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(history)))
    straight = PolicyEngine()
    expected = [straight.handle(fact) for fact in history]
    first = PolicyEngine()
    decisions = [first.handle(fact) for fact in history[:cut]]
    text = json.dumps(CONVERTER.unstructure(first.snapshot()))
    second = PolicyEngine.restore(CONVERTER.structure(json.loads(text), EngineState))
    decisions += [second.handle(fact) for fact in history[cut:]]
    assert expected == decisions
    assert straight.snapshot() == second.snapshot()


@SETTINGS
@given(strategies.histories())
def test_time_in_any_offset_gives_the_same_decisions(history: list[Fact]) -> None:
    """A host in another timezone (same instants, other offsets) gets the same actions."""
    import datetime as dt

    import attrs

    shift = dt.timezone(dt.timedelta(hours=-7))

    def moved(obj: Any) -> Any:
        return attrs.evolve(obj, at=obj.at.astimezone(shift))

    def summary(decisions: list[Decision]) -> list[Any]:
        # Aware datetimes compare as instants; details quote times in the host's offset.
        return [[(a.TYPE, a.rule, a.at) for a in d.actions] for d in decisions]

    assert summary(_run(history)) == summary(_run([moved(f) for f in history]))
