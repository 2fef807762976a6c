import datetime as dt
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from escalation_policy import ENGINES, Action, Decision, PolicyEngine
from escalation_policy._durable import durable_available

# Our own suite uses the testing kit too: `--policy-coverage` proves every rule is exercised.
pytest_plugins = ["escalation_policy.testing"]

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
CHANNEL = "#escalated_customers"


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> dt.datetime:
    """A moment relative to T0, the start of every scenario."""
    return T0 + dt.timedelta(days=days, hours=hours, minutes=minutes)


def engine_params() -> list[Any]:
    reason = durable_available()
    if reason is not None and os.environ.get("ESCALATION_POLICY_REQUIRE_DURABLE") == "1":
        raise RuntimeError(f"the durable engine is required here but unavailable: {reason}")
    return [
        pytest.param(name, marks=pytest.mark.skipif(reason is not None, reason=reason or ""))
        if name == "durable"
        else name
        for name in ENGINES
    ]


@pytest.fixture(params=engine_params())
def engine_name(request: pytest.FixtureRequest) -> str:
    """Every behavioural test runs on each engine: the two must agree."""
    return str(request.param)


@pytest.fixture
def engine(engine_name: str) -> PolicyEngine:
    return PolicyEngine(engine=engine_name)  # type: ignore[arg-type]


class Scenario:
    """Feeds facts written as JSON objects, with ``at`` given relative to T0."""

    def __init__(self, engine: PolicyEngine, escalation_id: str = "ESC-1") -> None:
        self.engine = engine
        self.escalation_id = escalation_id
        self.decisions: list[Decision] = []

    def fact(self, type_: str, when: dt.datetime, **fields: Any) -> Decision:
        body = {"type": type_, "at": when.isoformat(), **fields}
        if type_ != "tick":
            body.setdefault("escalation_id", self.escalation_id)
        decision = self.engine.handle(body)
        self.decisions.append(decision)
        return decision

    def open(self, when: dt.datetime = T0, **fields: Any) -> Decision:
        fields.setdefault("customer", "Acme")
        fields.setdefault("segment", "enterprise")
        fields.setdefault("severity", "critical")
        return self.fact("opened", when, **fields)

    def post(self, when: dt.datetime, purpose: str, by: str, channel: str = CHANNEL) -> Decision:
        return self.fact("posted", when, channel=channel, purpose=purpose, by=by)

    def tick(self, when: dt.datetime) -> Decision:
        return self.fact("tick", when)

    def actions(self) -> list[Action]:
        return [action for decision in self.decisions for action in decision.actions]


@pytest.fixture
def scenario(engine: PolicyEngine) -> Scenario:
    return Scenario(engine)


def of_type(actions: Iterator[Action] | list[Action] | tuple[Action, ...], type_: str) -> list[Any]:
    return [action for action in actions if action.TYPE == type_]


def violations(actions: Any) -> list[tuple[str, str]]:
    """``(code, rule)`` of each violation, in order."""
    return [(a.code.value, a.rule) for a in of_type(actions, "violation")]


Check = Callable[[Scenario], None]
