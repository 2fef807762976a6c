"""The native engine's generated functions (``_engines/reactors.py``) decide as the generic
path does, for conditions they write as tests and for those they leave to the context."""

import inspect

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from escalation_policy import InputError, PolicyEngine, default_policy
from escalation_policy._engines import reactors
from escalation_policy._engines.native import NativeMatcher
from escalation_policy.model import Fact
from escalation_policy.policy import Policy
from escalation_policy.policy.compiled import Condition
from escalation_policy.testing import strategies
from tests.conftest import examples


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
    generated = NativeMatcher(policy).generated("posted")
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


def test_the_step_refuses_to_build_objects_it_would_leave_half_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The generated step builds its Work, its Situation and its Decision slot by slot: a slot
    or a field it does not set (one added to the class later) stops the engine's making,
    rather than leave an attribute unset."""
    policy = default_policy()
    NativeMatcher(policy)  # as they are, every one is set
    for name, value in (
        ("_WORK", {key: v for key, v in reactors._WORK.items() if key != "announced"}),
        ("_DECISION", {key: v for key, v in reactors._DECISION.items() if key != "state"}),
        ("_SITUATION_VALUES", reactors._SITUATION_VALUES[1:]),
    ):
        with monkeypatch.context() as patched:
            patched.setattr(reactors, name, value)
            with pytest.raises(TypeError, match="the generated"):
                NativeMatcher(policy)
