"""The two engines agree exactly: same actions, same order, same state."""

import threading

import pytest
from hypothesis import HealthCheck, given, settings

from escalation_policy import EngineFailure, PolicyEngine
from escalation_policy._engines.durable import durable_available, layers
from escalation_policy.model import Fact
from escalation_policy.policy import Condition
from escalation_policy.testing import strategies
from tests.conftest import Scenario, at, examples

pytestmark = pytest.mark.skipif(durable_available() is not None, reason=durable_available() or "")


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.histories(max_escalations=5, max_steps=60))
def test_both_engines_produce_the_same_actions_in_order_and_the_same_state(
    history: list[Fact],
) -> None:
    native = PolicyEngine(engine="native")
    durable = PolicyEngine(engine="durable")
    for fact in history:
        assert native.handle(fact) == durable.handle(fact)
    assert native.snapshot() == durable.snapshot()


def test_every_matching_rule_is_honoured_though_durable_fires_one_per_event() -> None:
    """A wrong-poster "created" post matches two reactions; both must take effect."""
    scenario = Scenario(PolicyEngine(engine="durable"))
    scenario.open(severity="critical")
    decision = scenario.post(at(hours=1), "created", "support_engineering")
    assert ["communication.post_when_created"] == [f.rule for f in decision.fulfilled]
    assert ["wrong_poster"] == [a.code.value for a in decision.actions if a.TYPE == "violation"]


def test_rules_that_may_match_one_event_never_share_a_ruleset() -> None:
    created = [Condition(field="purpose", values=frozenset({"created"}))]
    also_created = [Condition(field="by_owner", values=frozenset({False}))]
    update = [Condition(field="purpose", values=frozenset({"update"}))]
    not_update = [Condition(field="purpose", values=frozenset({"update"}), negated=True)]
    assert [[0, 2], [1]] == layers([created, also_created, update])
    assert [[0], [1]] == layers([not_update, created])
    assert [[0, 1]] == layers([update, not_update])


def test_an_exception_in_a_durable_action_surfaces_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Exploding(list[int]):
        def append(self, index: int) -> None:
            raise RuntimeError("boom")

    engine = PolicyEngine(engine="durable")
    scenario = Scenario(engine)
    scenario.open(severity="high")
    before = engine.snapshot()
    # Every rule's action records its index in this list: the failure this test needs.
    monkeypatch.setattr(engine._matcher._rulesets, "fired", Exploding())
    with pytest.raises(EngineFailure, match="boom"):
        scenario.post(at(hours=1), "created", "tam")
    assert before == engine.snapshot()
    monkeypatch.undo()
    assert 1 == len(scenario.post(at(hours=1), "created", "tam").fulfilled)


def test_the_durable_engine_starts_no_threads() -> None:
    before = threading.active_count()
    engine = PolicyEngine(engine="durable")
    Scenario(engine).open(severity="low")
    assert before == threading.active_count()


@pytest.mark.slow
def test_more_escalations_open_at_once_than_durable_has_sessions() -> None:
    """durable_rules holds 1024 live sessions per ruleset; the policy holds 5,000 open."""
    engine = PolicyEngine(engine="durable")
    scenario = Scenario(engine)
    for number in range(5000):
        scenario.escalation_id = f"ESC-{number}"
        scenario.open(severity="low")
    assert 5000 == len(engine)
    for number in range(5000):
        scenario.escalation_id = f"ESC-{number}"
        scenario.fact("closed", at(minutes=1))
    for number in range(5000):
        scenario.escalation_id = f"ESC-{number}"
        scenario.post(at(minutes=2), "closed", "support_engineering")
    assert 0 == len(engine)
