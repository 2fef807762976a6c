"""PolicyEngine: clock, atomic rejection of bad input, closing, snapshots, the pure core."""

import json
import threading
from typing import Any

import attrs
import pytest

from escalation_policy import (
    DuplicateEscalationError,
    EngineFailure,
    EngineState,
    EngineUnavailableError,
    EscalationClosedError,
    EscalationState,
    InputError,
    InvalidFactError,
    PolicyEngine,
    StaleFactError,
    UnknownEscalationError,
    advance,
    decide,
    make_converter,
)
from escalation_policy.model import Fact, Tick
from escalation_policy.policy.record import RARELY_SET, Record
from tests.conftest import CHANNEL, Scenario, at, owner_of, past_grace, violations

CONVERTER = make_converter()

CRITICAL_OWNER = owner_of("critical")


def _open(scenario: Scenario) -> None:
    scenario.open(severity="critical")
    scenario.post(at(minutes=10), "created", CRITICAL_OWNER)


REJECTED = [
    pytest.param(
        {"type": "severity_changed", "escalation_id": "ESC-9", "severity": "low"},
        UnknownEscalationError,
        id="unknown escalation",
    ),
    pytest.param(
        {
            "type": "opened",
            "escalation_id": "ESC-1",
            "customer": "Acme",
            "segment": "enterprise",
            "severity": "low",
        },
        DuplicateEscalationError,
        id="second opened",
    ),
    pytest.param(
        {"type": "severity_changed", "escalation_id": "ESC-1", "severity": "urgent"},
        InvalidFactError,
        id="malformed",
    ),
]


@pytest.mark.parametrize(("body", "error"), REJECTED)
def test_rejected_fact_leaves_the_engine_exactly_as_it_was(
    scenario: Scenario, body: dict[str, Any], error: type[Exception]
) -> None:
    _open(scenario)
    before = scenario.engine.snapshot()
    with pytest.raises(error):
        scenario.engine.handle({**body, "at": at(days=3).isoformat()})
    assert before == scenario.engine.snapshot()
    # time did not pass either: the two missed updates are reported by the next fact, once
    later = scenario.tick(at(days=3))
    assert [2] == [a.periods for a in later.actions if getattr(a, "code", None) == "update_overdue"]


def test_a_fact_older_than_the_clock_is_rejected(scenario: Scenario) -> None:
    _open(scenario)
    scenario.tick(at(hours=5))
    before = scenario.engine.snapshot()
    with pytest.raises(StaleFactError, match="time order") as caught:
        scenario.fact("meeting_held", at(hours=4), audience="internal")
    assert "$.at" == caught.value.path
    assert before == scenario.engine.snapshot()


def test_facts_at_the_same_time_are_accepted(scenario: Scenario) -> None:
    _open(scenario)
    scenario.fact("meeting_held", at(hours=4), audience="internal")
    scenario.fact("tam_assigned", at(hours=4), tam="alex")
    assert at(hours=4) == scenario.engine.clock


def test_a_closed_escalation_accepts_only_its_closing_posts(scenario: Scenario) -> None:
    _open(scenario)
    scenario.fact("closed", at(hours=3))
    before = scenario.engine.snapshot()
    with pytest.raises(EscalationClosedError, match="closed"):
        scenario.fact("severity_changed", at(hours=4), severity="low")
    assert before == scenario.engine.snapshot()
    decision = scenario.post(at(hours=5), "closed", CRITICAL_OWNER)
    assert [False] == [f.late for f in decision.fulfilled]
    assert 0 == len(scenario.engine)


def test_a_late_closing_post_is_still_recognised_then_forgotten(scenario: Scenario) -> None:
    _open(scenario)
    scenario.fact("closed", at(hours=3))
    assert [("post_overdue", "communication.post_when_closed")] == violations(
        scenario.tick(at(days=2)).actions
    )
    assert 1 == len(scenario.engine), "kept to recognise a late post"
    late = scenario.post(at(days=3), "closed", CRITICAL_OWNER)
    assert [True] == [f.late for f in late.fulfilled]
    assert 0 == len(scenario.engine)


def test_a_never_made_closing_post_is_forgotten_after_the_late_window(scenario: Scenario) -> None:
    _open(scenario)
    scenario.fact("closed", at(hours=3))
    scenario.tick(at(days=20))
    assert 0 == len(scenario.engine)
    # Forgotten, the escalation is not open; a closing post, late, is taken as it is: it is
    # no initiation in the channel, and no one's mistake to refuse.
    assert [] == scenario.unopened_post(at(days=21), "closed", CRITICAL_OWNER)
    assert 0 == len(scenario.engine)
    # What a CRM records as an escalation closes (a closing meeting logged late) is taken,
    # held for an opening a while, then dropped with nothing reported; a change is refused.
    assert () == scenario.fact("meeting_held", at(days=22), audience="customer").actions
    assert () == scenario.tick(past_grace(at(days=22))).actions
    assert 0 == len(scenario.engine)
    with pytest.raises(UnknownEscalationError):
        scenario.fact("severity_changed", at(days=23), severity="low")


def test_an_id_can_be_reused_once_its_escalation_is_settled(scenario: Scenario) -> None:
    _open(scenario)
    scenario.fact("closed", at(hours=3))
    scenario.post(at(hours=4), "closed", CRITICAL_OWNER)
    assert ["assign_owner"] == [a.TYPE for a in scenario.open(at(days=1), severity="low").actions][
        :1
    ]


def test_the_engine_refuses_what_is_not_a_fact(engine: PolicyEngine) -> None:
    with pytest.raises(InvalidFactError, match="expected a Fact"):
        engine.handle("opened")  # type: ignore[arg-type]


def test_unknown_engine_is_a_clear_error() -> None:
    with pytest.raises(EngineUnavailableError, match="unknown engine 'drools'"):
        PolicyEngine(engine="drools")  # type: ignore[arg-type]


def test_snapshot_survives_json_and_the_restored_engine_continues(engine_name: str) -> None:
    first = Scenario(PolicyEngine(engine=engine_name))  # type: ignore[arg-type]
    _open(first)
    first.fact("status_changed", at(hours=2), status="triage")
    text = json.dumps(CONVERTER.unstructure(first.engine.snapshot()))
    restored = PolicyEngine.restore(
        CONVERTER.structure(json.loads(text), EngineState), engine=engine_name
    )  # type: ignore[arg-type]
    assert first.engine.snapshot() == restored.snapshot()
    tick = {"type": "tick", "at": at(days=2).isoformat()}
    assert first.engine.handle(tick).actions == restored.handle(tick).actions


def test_the_pure_core_gives_the_engines_decisions(scenario: Scenario) -> None:
    facts = [
        {
            "type": "opened",
            "at": at().isoformat(),
            "escalation_id": "ESC-1",
            "customer": "Acme",
            "segment": "enterprise",
            "severity": "medium",
            "tam": "alex",
        },
        {
            "type": "posted",
            "at": at(hours=1).isoformat(),
            "escalation_id": "ESC-1",
            "channel": CHANNEL,
            "purpose": "created",
            "by": "support_engineering",
        },
        {"type": "tick", "at": at(days=2).isoformat()},
        {
            "type": "severity_changed",
            "at": at(days=3).isoformat(),
            "escalation_id": "ESC-1",
            "severity": "high",
        },
        {"type": "tick", "at": at(days=9).isoformat()},
    ]
    state = None
    pure: list[Any] = []
    for body in facts:
        fact: Fact = CONVERTER.structure(body, Fact)
        if isinstance(fact, Tick):
            assert state is not None
            outcome = advance(state, fact.at)
        else:
            outcome = decide(state, fact)  # type: ignore[arg-type]
        state = outcome.state
        pure.extend(outcome.actions)
    engine_actions = [a for body in facts for a in scenario.engine.handle(body).actions]
    assert engine_actions == pure
    assert state == scenario.engine.escalation("ESC-1")


def test_the_engines_working_record_mirrors_the_public_state(scenario: Scenario) -> None:
    """The engine keeps a mutable record per escalation: exactly the fields of the public
    state plus its next due time, every one of them set once the escalation is open (those
    most escalations never set kept together, ``rarely``); each policy's record and state add a
    slot for each of the policy's attributes."""
    fields = {field.name for field in attrs.fields(EscalationState)} | {"next_due"}
    declared = {name for name in Record.__annotations__ if name not in ("KIND", "rarely")}
    assert fields - set(RARELY_SET) | {"rarely"} == set(Record.__slots__)
    assert fields == declared
    scenario.open(severity="high")
    state = scenario.engine.escalation("ESC-1")
    assert state is not None
    kind = scenario.engine.policy.terms.record
    assert set(kind.attributes) == set(kind.record.__slots__)
    assert fields | set(kind.attributes) == {f.name for f in attrs.fields(type(state))} | {
        "next_due"
    }
    assert state.attributes == {name: getattr(state, name) for name in kind.attributes}
    assert state == Record.thaw(state).freeze()
    assert state.next_due == Record.thaw(state).next_due


def test_time_passing_reports_only_what_fell_due(scenario: Scenario) -> None:
    """Escalations with nothing due are untouched by a tick (their clock does not move)."""
    for number in range(50):
        scenario.escalation_id = f"ESC-{number}"
        scenario.open(severity="low" if number else "critical")
    decision = scenario.tick(at(hours=3))
    assert {"ESC-0"} | {f"ESC-{n}" for n in range(1, 50)} == {
        a.escalation_id for a in decision.actions
    }
    quiet = scenario.tick(at(hours=4))
    assert () == quiet.actions


def test_threads_sharing_an_engine_lose_and_duplicate_nothing(engine_name: str) -> None:
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    solo = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    per_thread = 25
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def facts(worker: int, step: int) -> list[dict[str, Any]]:
        when = at(hours=step).isoformat()
        out = []
        for number in range(per_thread):
            escalation_id = f"W{worker}-{number}"
            if step == 0:
                out.append(
                    {
                        "type": "opened",
                        "at": when,
                        "escalation_id": escalation_id,
                        "customer": "Acme",
                        "segment": "enterprise",
                        "severity": "medium",
                        "tam": "alex",
                    }
                )
            elif step == 1:
                out.append(
                    {
                        "type": "posted",
                        "at": when,
                        "escalation_id": escalation_id,
                        "channel": CHANNEL,
                        "purpose": "created",
                        "by": "support_engineering",
                    }
                )
            else:
                out.append({"type": "closed", "at": when, "escalation_id": escalation_id})
        return out

    def run(worker: int) -> None:
        try:
            for step in range(3):
                barrier.wait()
                for body in facts(worker, step):
                    engine.handle(body)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [] == errors
    for step in range(3):
        for worker in range(4):
            for body in facts(worker, step):
                solo.handle(body)
    assert solo.snapshot() == engine.snapshot()


def test_input_errors_are_value_errors_and_policy_errors() -> None:
    assert issubclass(InputError, ValueError)
    assert issubclass(StaleFactError, InputError)


def test_the_lazily_loaded_audit_is_the_function_every_time() -> None:
    import escalation_policy

    first = escalation_policy.audit
    import escalation_policy._audit

    assert callable(first)
    assert first is escalation_policy.audit
    assert escalation_policy.AuditReport is escalation_policy.audit([]).__class__


def test_an_unexpected_error_mid_fact_stops_the_native_engine_until_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fact about an open escalation changes its record in place once it has been checked;
    an error no check foresaw (a bug, a policy's own code raising) may strike after the record
    changed, so the engine refuses to go on, or to be snapshotted, and a snapshot taken before
    restores it."""
    engine = PolicyEngine()
    scenario = Scenario(engine)
    scenario.open(severity="high")
    before = engine.snapshot()

    def exploding(*_: object, **__: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr("escalation_policy._core.step.pass_time", exploding)
    with pytest.raises(RuntimeError, match="boom"):
        scenario.post(at(hours=1), "created", "tam")
    monkeypatch.undo()
    with pytest.raises(EngineFailure, match=r"stopped after an unexpected error, RuntimeError"):
        scenario.post(at(hours=2), "created", "tam")
    with pytest.raises(EngineFailure, match="restore one from a snapshot"):
        engine.snapshot()
    restored = PolicyEngine.restore(before)
    assert 1 == len(Scenario(restored).post(at(hours=1), "created", "tam").fulfilled)


def test_a_policy_no_longer_used_goes_with_everything_the_library_built_for_it() -> None:
    """What the library builds once for a policy (its shared matcher, its fact readers and
    writers, its converter, the opening a fact class goes to, its test strategies) is kept
    with the policy, so a host that loads policies again and again (a policy owner's edits, a
    test suite) holds no more memory for the policies it dropped."""
    import gc
    import weakref

    from escalation_policy import audit, load_policy
    from escalation_policy.rules import Opened
    from escalation_policy.testing import strategies

    opened = {
        "type": "opened",
        "at": "2026-03-02T09:00:00Z",
        "customer": "Acme",
        "segment": "enterprise",
        "severity": "critical",
    }

    def used() -> "weakref.ref[Any]":
        policy = load_policy()
        fact = CONVERTER.structure({**opened, "escalation_id": "ESC-1"}, Opened)
        state = decide(None, fact, policy=policy).state
        decide(None, fact, policy=policy)  # the second goes straight to the opening
        assert state is not None
        closing = {"type": "closed", "at": "2026-03-04T09:00:00Z", "escalation_id": "ESC-1"}
        decide(state, closing, policy=policy)
        decide(None, {**opened, "escalation_id": "ESC-2"}, policy=policy)
        advance(state, at(days=3), policy=policy)
        engine = PolicyEngine(policy)
        engine.handle({**opened, "escalation_id": "ESC-3"})
        engine.handle_json(json.dumps({**opened, "escalation_id": "ESC-4"}))
        for bad in ('{"type": "opened", "at": 3}', "{", '{"type": "nothing"}'):
            with pytest.raises(InputError):
                engine.handle_json(bad)
        with pytest.raises(InputError):
            engine.handle({"type": "opened", "at": "not a time"})
        engine.handle_json('{"type": "tick", "at": "2026-03-05T09:00:00Z"}')
        PolicyEngine(policy).restore(engine.snapshot(), replan=True)
        audit([{**opened, "escalation_id": "ESC-5"}], policy=policy)
        strategies.fact_types(policy)
        return weakref.ref(policy)

    dropped = [used() for _ in range(3)]
    gc.collect()
    assert [reference() for reference in dropped] == [None, None, None]


def test_reopening_an_id_whose_closing_is_still_owed_says_what_is_owed(
    scenario: Scenario,
) -> None:
    """Closed with its closed post not made yet, the id is not free: the refusal says so, and
    what it waits for, rather than calling the escalation open."""
    _open(scenario)
    scenario.fact("closed", at(days=1))
    body = {"customer": "Acme", "segment": "enterprise", "severity": "low"}
    with pytest.raises(DuplicateEscalationError) as refused:
        scenario.fact("opened", at(days=1, hours=2), **body)
    message = str(refused.value)
    assert "'ESC-1' was closed at 2026-03-03T09:00:00+00:00" in message
    assert "('channel_post', due " in message
    assert "already open" not in message
    # Reported overdue, the post is still taken late for a while, and the id kept as long.
    scenario.tick(at(days=3))
    with pytest.raises(DuplicateEscalationError) as refused:
        scenario.fact("opened", at(days=3, hours=1), **body)
    assert "('channel_post', reported overdue, and a late one is still taken until " in str(
        refused.value
    )
