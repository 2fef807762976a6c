"""What the engine does for any policy around an escalation's life: facts about escalations it
does not know, and scope that follows the plan."""

import datetime as dt
import types
from typing import Any

import attrs
import pytest

from escalation_policy import (
    PolicyDefinitionError,
    PolicyEngine,
    UnknownEscalationError,
    load_policy,
)
from escalation_policy.rules import MODULES, communication, scope
from escalation_policy.rules.terms import Posted, Severity, ViolationCode
from escalation_policy.vocabulary import ANY, HitPolicy, Reaction, Require, Row, Violation
from tests.conftest import at

POST = {
    "type": "posted",
    "escalation_id": "ESC-9",
    "channel": "#escalated_customers",
    "purpose": "initiation",
    "by": "other",
}


def _with(module: types.ModuleType, **attributes: Any) -> list[Any]:
    edited = types.ModuleType(module.__name__)
    edited.__dict__.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    edited.__dict__.update(attributes)
    return [edited if name == module.__name__ else name for name in MODULES]


def _initiated_in_the_channel(**when: Any) -> Reaction:
    return Reaction(
        id="communication.heard_of_first_in_the_channel",
        title="An escalation initiated in the channel",
        cites="Communication Process",
        on=(Posted,),
        when={"known": False, "escalation_channel": True, **when},
        then=(Violation(code=ViolationCode.CHANNEL_MISUSE, detail="initiated in the channel"),),
    )


def _reporting_unknown(**when: Any) -> Any:
    reactions = (*communication.REACTIONS, _initiated_in_the_channel(**when))
    return load_policy(_with(communication, REACTIONS=reactions))


def test_a_fact_about_an_unknown_escalation_is_refused_unless_a_reaction_takes_it(
    engine_name: str,
) -> None:
    """The handbook's policy takes a post to its channel about an escalation never opened, to
    report the misuse; without that reaction, or about anything else, it is refused."""
    stripped = _with(
        communication,
        REACTIONS=tuple(
            r for r in communication.REACTIONS if r.id != "communication.initiated_in_the_channel"
        ),
    )
    with pytest.raises(UnknownEscalationError):
        PolicyEngine(load_policy(stripped), engine=engine_name).handle(
            {**POST, "at": at().isoformat()}
        )
    # Decided at once, without the grace for an opening a moment behind (test_opening_grace).
    engine = PolicyEngine(load_policy(opening_grace=dt.timedelta(0)), engine=engine_name)
    decision = engine.handle({**POST, "at": at().isoformat()})
    assert [("violation", "channel_misuse", "ESC-9")] == [
        (a.TYPE, a.code, a.escalation_id)  # type: ignore[attr-defined]
        for a in decision.actions
    ]
    assert ("communication.initiated_in_the_channel",) == decision.matched
    assert 0 == len(engine), "nothing is kept about an escalation that was never opened"
    elsewhere = {**POST, "at": at(minutes=1).isoformat(), "channel": "#acme"}
    with pytest.raises(UnknownEscalationError):
        engine.handle(elsewhere)  # no reaction takes it: the usual error


def test_a_reaction_about_known_escalations_does_not_fire_on_unknown_ones() -> None:
    engine = PolicyEngine()
    engine.handle(
        {
            "type": "opened",
            "at": at().isoformat(),
            "escalation_id": "ESC-9",
            "customer": "Acme",
            "segment": "enterprise",
            "severity": "critical",
            "initiated_by": "tam",
        }
    )
    decision = engine.handle({**POST, "at": at(minutes=5).isoformat()})
    assert "communication.initiated_in_the_channel" not in decision.matched
    assert "communication.not_for_initiation" in decision.matched


@pytest.mark.parametrize(
    ("reaction", "words"),
    [
        (
            _initiated_in_the_channel(severity=Severity.HIGH),
            ("field 'severity' is not the fact's own",),
        ),
        (
            attrs.evolve(
                _initiated_in_the_channel(),
                then=(
                    Require(
                        obligation=communication.CHANNEL_POST, key="created", within=at() - at()
                    ),
                ),
            ),
            ("Require needs an escalation",),
        ),
    ],
)
def test_a_reaction_to_unknown_escalations_reads_and_reports_only_the_fact(
    reaction: Reaction, words: tuple[str, ...]
) -> None:
    with pytest.raises(PolicyDefinitionError) as caught:
        load_policy(_with(communication, REACTIONS=(*communication.REACTIONS, reaction)))
    for word in words:
        assert word in str(caught.value)


def _scope_by_severity() -> Any:
    """The handbook's scope, with Low escalations out of it."""
    table = scope.TABLES[0]
    low = Row(
        id="low",
        when={**dict.fromkeys(table.inputs, ANY), "severity": Severity.LOW},
        then={"in_scope": False, "out_of_scope_reason": "low escalations follow support"},
    )
    rows = tuple(attrs.evolve(row, when={**row.when, "severity": ANY}) for row in table.rows)
    edited = attrs.evolve(
        table,
        inputs=(*table.inputs, "severity"),
        hit_policy=HitPolicy.FIRST,
        rows=(low, *rows),
    )
    return load_policy(_with(scope, TABLES=(edited,)))


def test_scope_follows_the_plan_when_what_it_reads_changes(engine_name: str) -> None:
    """A Low escalation out of scope is in scope once raised to Critical, with an owner and
    obligations; lowered again it leaves scope, and owes nothing more."""
    engine = PolicyEngine(_scope_by_severity(), engine=engine_name)
    opened = engine.handle(
        {
            "type": "opened",
            "at": at().isoformat(),
            "escalation_id": "ESC-1",
            "customer": "Acme",
            "segment": "enterprise",
            "severity": "low",
        }
    )
    assert ["out_of_scope"] == [a.TYPE for a in opened.actions]
    raised = engine.handle(
        {
            "type": "severity_changed",
            "at": at(hours=1).isoformat(),
            "escalation_id": "ESC-1",
            "severity": "critical",
        }
    )
    state = engine.escalation("ESC-1")
    assert state is not None
    assert state.in_scope
    assert "assign_owner" in [a.TYPE for a in raised.actions]
    assert state.pending, "raised into scope, the escalation owes updates and meetings"
    engine.handle(
        {
            "type": "severity_changed",
            "at": at(hours=2).isoformat(),
            "escalation_id": "ESC-1",
            "severity": "low",
        }
    )
    lowered = engine.escalation("ESC-1")
    assert lowered is not None
    assert (False, ()) == (lowered.in_scope, lowered.pending)
    assert () == engine.handle({"type": "tick", "at": at(days=30).isoformat()}).actions
