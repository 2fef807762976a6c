"""Work a little before the fact that asks for it: an obligation's ``early_grace``.

A host often records the work before the change that asks for it (the chat post, then the
CRM's change it announces). With an ``early_grace``, work that fulfilled nothing is kept that
long, and an instance required meanwhile is met at once, at the work's time, on both engines,
through a snapshot and in the identity only where it is declared."""

import datetime as dt
import json
import re
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from escalation_policy import (
    EngineState,
    InvalidSnapshotError,
    PolicyDefinitionError,
    PolicyEngine,
    load_policy,
    make_converter,
)
from escalation_policy.policy.identity import document
from escalation_policy.render import policy_reference
from escalation_policy.state import EarlyWork
from escalation_policy.vocabulary import BusinessTime
from tests.conftest import CHANNEL, DOC, Scenario, at, owner_of
from tests.test_business_time import _office_with, fact, ny, opened, tick, violations

GRACE = dt.timedelta(minutes=30)


def _office(**call_back: Any) -> Any:
    return load_policy([_office_with(call_back={"early_grace": GRACE, **call_back})])


def _late_calls(actions: list[Any]) -> list[str]:
    """The codes of the call backs reported late (the office's daily check-ins aside)."""
    return [code for code, _ in violations(actions) if code == "call_back_late"]


def _facts(called_back: str) -> list[dict[str, Any]]:
    return [
        opened(ny(10, 9)),
        fact("called_back", called_back),
        fact("call_requested", ny(10, 10)),
        tick(ny(12, 10)),
    ]


@pytest.mark.parametrize(
    ("case", "called_back", "late"),
    [
        ("ten minutes before the request", ny(10, 9, 50), False),
        ("at the grace's edge", ny(10, 9, 30), False),
        ("past the grace", ny(10, 9, 29), True),
    ],
)
def test_work_within_the_grace_before_the_obligation_meets_it(
    engine_name: str, case: str, called_back: str, late: bool
) -> None:
    engine = PolicyEngine(_office(), engine=engine_name)  # type: ignore[arg-type]
    decisions = [engine.handle(item) for item in _facts(called_back)]
    found = _late_calls([a for d in decisions for a in d.actions])
    assert (["call_back_late"] if late else []) == found, case
    requested = decisions[2]
    if not late:
        assert [("call_back", dt.datetime.fromisoformat(called_back))] == [
            (f.obligation, f.at) for f in requested.fulfilled
        ], case
        assert [] == [a.TYPE for a in requested.actions], case  # nothing announced or reminded
        state = engine.escalation("E1")
        assert state is not None
        assert all(p.obligation != "call_back" for p in state.pending)


def test_without_an_early_grace_only_work_after_the_obligation_counts(engine_name: str) -> None:
    engine = PolicyEngine(load_policy([_office_with()]), engine=engine_name)  # type: ignore[arg-type]
    actions = [a for item in _facts(ny(10, 9, 55)) for a in engine.handle(item).actions]
    assert ["call_back_late"] == _late_calls(actions)
    assert () == engine.escalation("E1").early_work  # type: ignore[union-attr]


def test_work_kept_early_survives_a_snapshot_in_json(engine_name: str) -> None:
    policy = _office()
    first = PolicyEngine(policy, engine=engine_name)  # type: ignore[arg-type]
    facts = _facts(ny(10, 9, 50))
    for item in facts[:2]:
        first.handle(item)
    converter = make_converter(policy)
    text = json.dumps(converter.unstructure(first.snapshot()))
    assert (
        '"early_work": [{"obligation": "call_back", "at": "2026-03-10T13:50:00+00:00", '
        '"key": null}]' in text
    )
    restored = PolicyEngine.restore(  # type: ignore[call-arg]
        converter.structure(json.loads(text), EngineState), policy, engine=engine_name
    )
    requested = restored.handle(facts[2])
    assert ["call_back"] == [f.obligation for f in requested.fulfilled]
    assert [] == _late_calls(list(restored.handle(facts[3]).actions))


def test_work_kept_early_is_one_per_obligation_and_goes_once_its_grace_is_over() -> None:
    engine = PolicyEngine(_office())
    engine.handle(opened(ny(10, 9)))
    for minute in (0, 10, 20):
        engine.handle(fact("called_back", ny(10, 11, minute)))
    kept = engine.escalation("E1").early_work  # type: ignore[union-attr]
    assert [("call_back", dt.datetime.fromisoformat(ny(10, 11, 20)))] == [
        (work.obligation, work.at) for work in kept
    ]
    engine.handle(fact("call_requested", ny(10, 12)))  # past the grace: not met
    assert ["call_back"] == [
        p.obligation for p in engine.escalation("E1").pending if p.obligation == "call_back"
    ]  # type: ignore[union-attr]


def test_a_state_without_work_kept_early_is_written_as_before() -> None:
    policy = _office()
    engine = PolicyEngine(policy)
    engine.handle(opened(ny(10, 9)))
    assert "early_work" not in json.dumps(make_converter(policy).unstructure(engine.snapshot()))


@pytest.mark.parametrize(
    ("grace", "message"),
    [
        (dt.timedelta(0), "early_grace: got datetime.timedelta(0), expected a positive timedelta"),
        (
            "1h",
            "early_grace: got '1h', expected a positive timedelta, a BusinessTime of one "
            "(without to_end_of_day: a grace is a length of time), or None",
        ),
        (
            BusinessTime(dt.timedelta(hours=1), to_end_of_day=True),
            "early_grace: got BusinessTime(duration=datetime.timedelta(seconds=3600), "
            "to_end_of_day=True), expected",
        ),
    ],
)
def test_a_wrong_early_grace_is_refused_when_loaded(grace: object, message: str) -> None:
    with pytest.raises(PolicyDefinitionError, match=re.escape(message)):
        _office(early_grace=grace)


def test_an_early_grace_on_a_periodic_obligation_is_refused_when_loaded() -> None:
    """A period counts what is done in it: nothing is required later for work to meet."""
    module = _office_with(check_in={"early_grace": GRACE})
    with pytest.raises(PolicyDefinitionError, match="obligation 'check_in': early_grace counts"):
        load_policy([module])


def test_the_identity_changes_only_for_an_obligation_that_declares_an_early_grace() -> None:
    plain, early = load_policy([_office_with()]), _office()
    assert "early_grace" not in document(plain)["obligations"]["call_back"]
    assert {"seconds": 1800.0} == document(early)["obligations"]["call_back"]["early_grace"]
    assert plain.identity != early.identity


@pytest.mark.parametrize(
    ("early_work", "path", "words"),
    [
        ([{"obligation": "check_in", "at": "2026-03-10T13:50:00+00:00"}], "obligation", "counts"),
        (
            [{"obligation": "call_back", "at": "2026-03-10T13:50:00+00:00", "key": "x"}],
            "key",
            "required for",
        ),
        ([{"obligation": "call_back", "at": "2026-03-11T13:50:00+00:00"}], "at", "no later"),
        ([{"obligation": "call_back", "at": "2026-03-10T13:50:00+00:00"}] * 2, "", "again"),
    ],
)
def test_a_snapshot_with_work_no_engine_could_have_kept_is_refused(
    early_work: list[dict[str, str]], path: str, words: str
) -> None:
    policy = _office()
    engine = PolicyEngine(policy)
    for item in _facts(ny(10, 9, 50))[:2]:
        engine.handle(item)
    converter = make_converter(policy)
    data = converter.unstructure(engine.snapshot())
    data["escalations"][0]["early_work"] = early_work
    with pytest.raises(InvalidSnapshotError, match=words) as caught:
        PolicyEngine.restore(converter.structure(data, EngineState), policy)  # type: ignore[call-arg]
    number = len(early_work) - 1
    assert f"$.escalations[0].early_work[{number}]" + (f".{path}" if path else "") in str(
        caught.value.path
    )


def _codes_with_closed_post(
    engine_name: str, severity: str, closed_at: dt.datetime, post_at: dt.datetime
) -> list[tuple[str, int]]:
    """The violation codes of a handbook escalation closed at ``closed_at`` whose closed post
    is made at ``post_at`` (before or after the closing), a week later, each with the periods
    it missed in all: a post at midnight before a closing a minute later sees the silence of
    the day before apart from that of the day that just ended (two violations of one period
    each), where a post after the closing sees both at once (one of two periods)."""
    owner = owner_of(severity, tam=None)
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    scenario = Scenario(engine)
    scenario.open(severity=severity, tam=None)
    scenario.post(at(minutes=10), "created", owner)
    facts = [
        (closed_at, lambda: scenario.fact("closed", closed_at)),
        (post_at, lambda: scenario.post(post_at, "closed", owner)),
    ]
    for _, feed in sorted(facts, key=lambda item: item[0]):
        feed()
    scenario.tick(closed_at + dt.timedelta(days=7))
    periods: dict[str, int] = {}
    for action in scenario.actions():
        if action.TYPE == "violation":
            code = str(action.code.value)  # type: ignore[attr-defined]
            periods[code] = periods.get(code, 0) + action.periods  # type: ignore[attr-defined]
    return sorted(periods.items())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    severity=st.sampled_from(["critical", "high", "medium", "low"]),
    closed_after=st.integers(min_value=80, max_value=3 * 24 * 60),
    before=st.integers(min_value=0, max_value=60),
)
@example(severity="critical", closed_after=3781, before=1)  # a post at midnight, closed at 00:01
def test_a_closed_post_within_the_grace_before_closing_reports_what_one_just_after_does(
    engine_name: str, severity: str, closed_after: int, before: int
) -> None:
    """Whatever the severity and the time of closing, a closed post made up to an hour before
    the closing is reported as one made a minute after it is."""
    closed_at = at(minutes=closed_after)
    early = _codes_with_closed_post(
        engine_name, severity, closed_at, closed_at - dt.timedelta(minutes=before)
    )
    after = _codes_with_closed_post(
        engine_name, severity, closed_at, closed_at + dt.timedelta(minutes=1)
    )
    assert after == early, (severity, closed_after, before)
    assert "post_overdue" not in dict(early)


def test_the_policy_s_reference_says_which_obligations_count_work_done_before() -> None:
    reference = policy_reference(_office(), "The office")
    assert "| `call_back` | `call_back_late` | no call back by {due} | - | up to 30m |" in reference
    assert "| `reply` | `reply_late` | no reply by {due} | - | - |" in reference


def _handbook(kind: str, when: str, **fields: Any) -> dict[str, Any]:
    """A fact of the handbook's policy about E1; an opening is Acme's, enterprise, medium."""
    if kind == "opened":
        fields = {"customer": "Acme", "segment": "enterprise", "severity": "medium", **fields}
    return {"type": kind, "at": when, "escalation_id": "E1", **fields}


def test_a_grace_of_business_time_counts_open_time_only(engine_name: str) -> None:
    """Called back on Friday at 16:50, the request recorded on Monday at 09:10: twenty
    minutes of open time, within a grace of half an hour of business time."""
    policy = _office(early_grace=BusinessTime(dt.timedelta(minutes=30)))
    engine = PolicyEngine(policy, engine=engine_name)  # type: ignore[arg-type]
    facts = [
        opened(ny(13, 9)),
        fact("called_back", ny(13, 16, 50)),
        fact("call_requested", ny(16, 9, 10)),
        tick(ny(18, 10)),
    ]
    decisions = [engine.handle(item) for item in facts]
    assert ["call_back"] == [f.obligation for f in decisions[2].fulfilled]
    assert [] == _late_calls([a for d in decisions for a in d.actions])


def test_work_kept_for_an_obligation_keyed_by_an_attribute_is_only_the_latest(
    engine_name: str,
) -> None:
    """Each TAM told and replaced within the hour: only the last telling can count (told
    again, the TAM assigned was told already, so it is for whichever TAM is assigned next),
    so one is kept, however many came before."""
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    base = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
    engine.handle(_handbook("opened", base.isoformat(), tam="t0"))
    engine.handle(_handbook("tam_informed", base.isoformat()))
    for number in range(1, 30):
        when = (base + dt.timedelta(minutes=number)).isoformat()
        engine.handle(_handbook("tam_assigned", when, tam=f"t{number}"))
        engine.handle(_handbook("tam_informed", when))
        engine.handle(_handbook("tam_informed", when))
    kept = engine.escalation("E1").early_work  # type: ignore[union-attr]
    assert [("inform_tam", None)] == [(work.obligation, work.key) for work in kept]


def test_work_for_any_key_that_met_one_stands_for_that_key_once(engine_name: str) -> None:
    """A closed post is the risk-reduced post for any purpose it meets; a risk-reduced post
    after it is work for the same instance. Once the risk is reduced, one piece of work stands
    for that instance (the one that met it), and the engine restores its own snapshot."""
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    post = {"channel": CHANNEL, "by": "support_engineering", "url": DOC}
    for kind, when, fields in [
        ("opened", "09:00", {"initiated_by": "support_engineering"}),
        ("posted", "09:10", {**post, "purpose": "created"}),
        ("posted", "10:00", {**post, "purpose": "closed"}),
        ("posted", "10:05", {**post, "purpose": "risk_reduced"}),
    ]:
        engine.handle(_handbook(kind, f"2026-03-02T{when}:00Z", **fields))
    reduced = engine.handle(_handbook("risk_reduced", "2026-03-02T10:10:00Z"))
    ten = dt.datetime(2026, 3, 2, 10, tzinfo=dt.timezone.utc)
    assert [("risk_reduced_post", ten)] == [(f.obligation, f.at) for f in reduced.fulfilled]
    kept = engine.escalation("E1").early_work  # type: ignore[union-attr]
    assert [("channel_post", "closed", ten), ("risk_reduced_post", "risk_reduced", ten)] == [
        (work.obligation, work.key, work.at) for work in kept
    ]
    restored = PolicyEngine.restore(engine.snapshot(), engine=engine_name)  # type: ignore[arg-type]
    assert engine.snapshot() == restored.snapshot()


def test_a_snapshot_with_work_kept_twice_for_an_attribute_keyed_obligation_is_refused() -> None:
    engine = PolicyEngine()
    engine.handle(_handbook("opened", "2026-03-02T09:00:00Z", tam="kim"))
    converter = make_converter()
    data = converter.unstructure(engine.snapshot())
    data["escalations"][0]["early_work"] = [
        {"obligation": "inform_tam", "at": "2026-03-02T09:00:00+00:00", "key": f"t{n}"}
        for n in range(2)
    ]
    with pytest.raises(InvalidSnapshotError, match="expected work kept once for the obligation"):
        PolicyEngine.restore(converter.structure(data, EngineState))


def test_an_escalation_awaiting_its_opening_keeps_no_work_done_early() -> None:
    engine = PolicyEngine()
    engine.handle(
        _handbook(
            "posted", "2026-03-02T08:59:00Z", channel=CHANNEL, purpose="created", by="tam", url=DOC
        )
    )
    (awaiting,) = engine.snapshot().escalations
    crafted = attrs.evolve(
        awaiting,
        early_work=(EarlyWork(obligation="channel_post", at=awaiting.clock, key="closed"),),
    )
    snapshot = attrs.evolve(engine.snapshot(), escalations=(crafted,))
    with pytest.raises(InvalidSnapshotError, match="nothing pending or kept as work done early"):
        PolicyEngine.restore(snapshot)


def test_re_planning_under_a_policy_that_keeps_no_early_work_forgets_it(
    engine_name: str,
) -> None:
    """The work kept under a policy that counted it is dropped when re-planned under one that
    does not, and the snapshot written after restores under it."""
    keeping, plain = _office(), load_policy([_office_with()])
    engine = PolicyEngine(keeping, engine=engine_name)  # type: ignore[arg-type]
    for item in _facts(ny(10, 9, 50))[:2]:
        engine.handle(item)
    restored = PolicyEngine.restore(
        make_converter(keeping).unstructure(engine.snapshot()),
        plain,
        engine=engine_name,  # type: ignore[arg-type]
        replan=True,
    )
    restored.replan()
    assert () == restored.escalation("E1").early_work  # type: ignore[union-attr]
    again = PolicyEngine.restore(
        make_converter(plain).unstructure(restored.snapshot()),
        plain,
        engine=engine_name,  # type: ignore[arg-type]
    )
    assert ["call_back_late"] == _late_calls(
        [a for item in _facts(ny(10, 9, 50))[2:] for a in again.handle(item).actions]
    )


# ------------------------------------------------------------------ covered_by: one report
def test_covered_by_is_checked_when_loaded() -> None:
    """An obligation may be covered by others the policy declares, not by itself, nor by one
    covered in turn; the identity changes only where it is declared."""
    from tests.policies.office import rules

    with pytest.raises(PolicyDefinitionError, match="covered_by: names the obligation itself"):
        load_policy([_office_with(call_back={"covered_by": (rules.CALL_BACK,)})])
    for ids in ("reply", ("reply",)):
        with pytest.raises(
            PolicyDefinitionError,
            match=re.escape(
                "covered_by: got 'reply', expected an Obligation the policy declares, or a "
                "tuple of them (the objects themselves, not their ids)"
            ),
        ):
            load_policy([_office_with(call_back={"covered_by": ids})])
    # One obligation may be given alone, as one rule id may be given to ``replaces``.
    alone = load_policy([_office_with(call_back={"covered_by": rules.REPLY})])
    assert (
        alone.identity
        == load_policy([_office_with(call_back={"covered_by": [rules.REPLY]})]).identity
    )
    assert frozenset({"reply"}) == alone.obligations["call_back"].covered_by
    stranger = attrs.evolve(rules.REPLY, id="answer")
    with pytest.raises(
        PolicyDefinitionError,
        match=re.escape("covered_by names 'answer', which the policy does not declare"),
    ):
        load_policy([_office_with(call_back={"covered_by": (stranger,)})])
    chained = attrs.evolve(rules.REPLY, covered_by=(rules.CHECK_IN,))
    with pytest.raises(PolicyDefinitionError, match="which is covered by 'check_in' in turn"):
        load_policy(
            [
                _office_with(
                    call_back={"covered_by": (chained,)}, reply={"covered_by": (rules.CHECK_IN,)}
                )
            ]
        )
    covered = load_policy([_office_with(call_back={"covered_by": (rules.REPLY,)})])
    plain = load_policy([_office_with()])
    assert alone.identity == covered.identity
    assert "covered_by" not in document(plain)["obligations"]["call_back"]
    assert ["reply"] == [
        o["id"] for o in document(covered)["obligations"]["call_back"]["covered_by"]
    ]
    assert plain.identity != covered.identity
