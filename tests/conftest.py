import datetime as dt
import enum
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import pytest

from escalation_policy import ENGINES, Action, Decision, PolicyEngine, default_policy
from escalation_policy._engines.durable import durable_available
from escalation_policy.rules import Severity
from escalation_policy.vocabulary import AnyValue, NoneOf, OneOf

# Our own suite uses the testing kit too: `--policy-coverage` proves every rule is exercised.
pytest_plugins = ["escalation_policy.testing", "tests.stores"]


@pytest.hookimpl(tryfirst=True)  # before hypothesis' plugin loads --hypothesis-profile
def pytest_configure(config: pytest.Config) -> None:
    """No hypothesis deadline: the machines this suite runs on are shared, and a slow example
    is not a wrong one. The ``fast`` profile, which ``python dev.py test`` selects for its quick
    set, draws fewer examples where a test does not choose its own number. (Imported here, once
    the plugins above are registered.)"""
    from hypothesis import settings

    settings.register_profile("escalation-policy", deadline=None)
    settings.register_profile(
        "fast", settings.get_profile("escalation-policy"), max_examples=FAST_EXAMPLES
    )
    settings.load_profile(config.getoption("hypothesis_profile", None) or "escalation-policy")


FAST_EXAMPLES = 25
"""Examples per property in the quick set, where a test does not choose its own number
(hypothesis' default, which the full set keeps, is 100)."""


def examples(full: int) -> int:
    """The examples a property that chooses its own number draws: ``full`` in the full set, in
    the quick set as many in proportion as the ``fast`` profile draws (a quarter)."""
    from hypothesis import settings

    everything = settings.get_profile("escalation-policy").max_examples
    return max(5, full * settings.default.max_examples // everything)


T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
CHANNEL = default_policy().channel
SEVERITIES = [severity.value for severity in Severity]


# Tests read what the policy decides from the loaded policy, never from a copy of its values:
# a policy owner who changes a rule changes its module, and the tests follow.
class Match(NamedTuple):
    """The row of a decision table that matched: its rule id and its outputs."""

    rule: str
    then: Mapping[str, Any]


TAM = "alex"
"""The TAM scenarios assign unless told otherwise."""
DOC = "https://docs.example.com/acme-escalation-tracker"
"""The escalation document posts link unless told otherwise."""


def _plain(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


def _cell_matches(cell: object, value: object) -> bool:
    if isinstance(cell, AnyValue):
        return True
    if isinstance(cell, (OneOf, NoneOf)):
        return (value in {_plain(v) for v in cell.values}) is isinstance(cell, OneOf)
    return _plain(cell) == value


def row(table_id: str, **inputs: object) -> Match:
    """The row of the handbook policy's table ``table_id`` that ``inputs`` (JSON values) match;
    an input not given is not set."""
    table = default_policy().table(table_id)
    wanted = {key: _plain(value) for key, value in inputs.items()}
    for candidate in table.rows:
        if all(_cell_matches(candidate.when[key], wanted.get(key)) for key in table.inputs):
            return Match(f"{table_id}/{candidate.id}", candidate.then)
    raise LookupError(f"no row of {table_id} matches {wanted}")


def owner_of(severity: str, tam: str | None = TAM) -> str:
    """Who owns an escalation of this severity (``"tam"``, ...), with a TAM assigned unless
    ``tam=None``."""
    return str(row("responsibilities.owner", severity=severity, tam=tam).then["owner"].value)


def other_team(team: str) -> str:
    """A team that is not ``team``."""
    return "support_engineering" if team != "support_engineering" else "tam"


def meetings(severity: str) -> Match:
    """The ``severity.cadence`` row for the severity's cadence (``then["cadence_every"]``)."""
    cadence = row("severity.levels", severity=severity).then["cadence"]
    return row("severity.cadence", cadence=cadence)


def updates(severity: str) -> Match:
    """The ``communication.updates`` row for the severity (``then["update_every"]``)."""
    return row("communication.updates", severity=severity)


def severities_where(test: Callable[[str], bool]) -> list[str]:
    """The severities for which ``test`` holds, in the model's order."""
    return [severity for severity in SEVERITIES if test(severity)]


def past_grace(when: dt.datetime) -> dt.datetime:
    """A moment after a fact at ``when`` about an escalation not opened stops being held (by
    the handbook's policy)."""
    return default_policy().held_until(when) + dt.timedelta(seconds=1)


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
        """An escalation opened: Acme, enterprise, critical, with a TAM, unless said otherwise
        (``tam=None`` for none)."""
        fields.setdefault("customer", "Acme")
        fields.setdefault("segment", "enterprise")
        fields.setdefault("severity", "critical")
        fields.setdefault("tam", TAM)
        return self.fact("opened", when, **fields)

    def post(
        self,
        when: dt.datetime,
        purpose: str,
        by: str,
        channel: str = CHANNEL,
        url: str | None = DOC,
    ) -> Decision:
        """A post, linking the escalation document unless ``url=None``."""
        return self.fact("posted", when, channel=channel, purpose=purpose, by=by, url=url)

    def tick(self, when: dt.datetime) -> Decision:
        return self.fact("tick", when)

    def unopened_post(
        self, when: dt.datetime, purpose: str, by: str, **fields: Any
    ) -> list[Action]:
        """A post about an escalation not open: what it and the end of its grace report."""
        held = self.post(when, purpose, by, **fields)
        return [*held.actions, *self.tick(past_grace(when)).actions]

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
