"""The opening grace: a fact about an escalation not opened yet, which a reaction takes as such
(a post about it), is held for the policy's ``opening_grace`` (five minutes unless it says; the
handbook's is an hour), because the opening fact may be behind it on another feed (the CRM). In
time, it applies after the opening, in order; else it is decided as a fact about an escalation
that is not open, as without a grace. Both engines, the pure functions, snapshots and both
stores."""

import datetime as dt
import json
import types
from typing import Any

import pytest

from escalation_policy import (
    InvalidSnapshotError,
    PolicyDefinitionError,
    PolicyEngine,
    Service,
    UnknownEscalationError,
    advance,
    decide,
    load_policy,
    make_converter,
)
from escalation_policy.model import AWAITING_OPENING, Action
from escalation_policy.periods import BusinessTime
from escalation_policy.rules import MODULES
from tests.conftest import CHANNEL, DOC, T0, TAM, at

CRITICAL_OWNER = "tam"
HELD = load_policy().held_until  # the handbook's: an hour of open time after a fact


def opened(when: dt.datetime = T0, escalation_id: str = "ESC-1") -> dict[str, Any]:
    return {
        "type": "opened",
        "at": when.isoformat(),
        "escalation_id": escalation_id,
        "customer": "Acme",
        "segment": "enterprise",
        "severity": "critical",
        "tam": TAM,
        "initiated_by": "tam",
    }


def posted(
    when: dt.datetime, purpose: str = "created", escalation_id: str = "ESC-1"
) -> dict[str, Any]:
    return {
        "type": "posted",
        "at": when.isoformat(),
        "escalation_id": escalation_id,
        "channel": CHANNEL,
        "purpose": purpose,
        "by": CRITICAL_OWNER,
        "url": DOC,
    }


def tick(when: dt.datetime) -> dict[str, Any]:
    return {"type": "tick", "at": when.isoformat()}


def codes(actions: Any) -> list[str]:
    return [str(a.code.value) for a in actions if a.TYPE == "violation"]


def handled(engine: PolicyEngine, facts: list[dict[str, Any]]) -> list[Action]:
    return [action for fact in facts for action in engine.handle(fact).actions]


def test_a_post_a_minute_before_its_opening_is_the_created_post(engine_name: str) -> None:
    """The created post reached the host a minute before the CRM's opening fact: an ingestion
    race, not initiation in the channel. It is held, then fulfils the created post."""
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    held = engine.handle(posted(at(minutes=-1)))
    assert () == held.actions
    state = engine.escalation("ESC-1")
    assert state is not None
    assert AWAITING_OPENING == state.status
    opening = engine.handle(opened(at()))
    assert [("channel_post", "created")] == [(f.obligation, f.key) for f in opening.fulfilled]
    assert "communication.post_when_created" in opening.matched
    # Made already: the host is not asked to make it (again).
    asked = [a for a in opening.actions if a.TYPE == "post_to_channel"]
    assert ["update"] == [a.reason.value for a in asked]  # type: ignore[attr-defined]
    later = handled(engine, [tick(at(days=1))])
    assert "channel_misuse" not in codes([*opening.actions, *later])
    assert "post_overdue" not in codes([*opening.actions, *later])


def test_a_post_whose_opening_comes_too_late_is_decided_as_before(engine_name: str) -> None:
    """A minute past the grace on the escalation's calendar: the post is a post about an
    escalation that is not open (reported at its own time, before what the opening does), and
    the opening owes its post. It was still held: the opening could have been in a zone where
    the grace had not run out."""
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    assert () == engine.handle(posted(at())).actions
    policy = load_policy()
    late = policy.grace_ends(at(), policy.calendars.default.name) + dt.timedelta(minutes=1)
    assert late < HELD(at())
    opening = engine.handle(opened(late))
    misuse = [a for a in opening.actions if a.TYPE == "violation"]
    assert ["channel_misuse"] == codes(misuse)
    assert at() == misuse[0].at
    assert opening.actions[0] is misuse[0]  # what time reported comes before the opening's own
    assert "post_overdue" in codes(handled(engine, [tick(at(days=1))]))


def test_time_passing_past_the_grace_reports_the_held_fact(engine_name: str) -> None:
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    engine.handle(posted(at()))
    assert [] == handled(engine, [tick(HELD(at()))])  # the grace's last instant: not yet
    assert ["channel_misuse"] == codes(
        handled(engine, [tick(HELD(at()) + dt.timedelta(seconds=1))])
    )
    assert engine.escalation("ESC-1") is None
    assert 0 == len(engine)


def test_facts_held_apply_after_the_opening_in_order(engine_name: str) -> None:
    """A created post and an update, both before the opening: the opening's rules, then the
    created post's (which fulfils it), then the update's."""
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    handled(engine, [posted(at(minutes=-3)), posted(at(minutes=-2), "update")])
    opening = engine.handle(opened(at()))
    assert ["created"] == [f.key for f in opening.fulfilled]
    matched = list(opening.matched)
    assert matched.index("communication.post_when_created") < matched.index(
        "communication.required_post_made"
    )
    assert matched.index("communication.required_post_made") < matched.index(
        "communication.update_made"
    )


def test_a_fact_no_reaction_takes_before_the_opening_is_refused_at_once(engine_name: str) -> None:
    """Only what the policy takes about an escalation that is not open is held: a severity
    change before the opening is an input error, as ever (the host may send it again)."""
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    engine.handle(posted(at(minutes=-1)))
    change = {
        "type": "severity_changed",
        "at": at().isoformat(),
        "escalation_id": "ESC-1",
        "severity": "high",
    }
    with pytest.raises(UnknownEscalationError):
        engine.handle(change)
    assert ("communication.post_when_created",) == tuple(
        rule for rule in engine.handle(opened(at())).matched if rule.endswith("when_created")
    )


def test_an_escalation_not_opened_holds_a_bounded_number_of_facts(engine_name: str) -> None:
    """A stream of posts about one id: the first MAX_HELD are held for the opening, each
    later one is decided at once, as without a grace, so a fact's work does not grow with
    the stream; the opening still takes what was held."""
    from escalation_policy._core.escalation import MAX_HELD

    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    without = PolicyEngine(load_policy(opening_grace=dt.timedelta(0)), engine=engine_name)  # type: ignore[arg-type]
    times = [at(minutes=second / 60) for second in range(MAX_HELD + 10)]
    stream = [posted(when, "tracking") for when in times]
    for number, fact in enumerate(stream):
        decision = engine.handle(fact)
        at_once = without.handle(fact)
        assert (() if number < MAX_HELD else at_once.actions) == decision.actions
    awaiting = engine.escalation("ESC-1")
    assert awaiting is not None
    assert times[:MAX_HELD] == [fact.at for fact in awaiting.held]
    opening = engine.handle(opened(at(minutes=1)))
    assert MAX_HELD == codes(opening.actions).count("channel_misuse")


def test_a_snapshot_holding_more_facts_than_an_engine_holds_is_refused() -> None:
    from escalation_policy._core.escalation import MAX_HELD

    engine = PolicyEngine()
    engine.handle(posted(at(minutes=-1), "tracking"))
    data = make_converter().unstructure(engine.snapshot())
    data["escalations"][0]["held"] *= MAX_HELD + 1
    with pytest.raises(InvalidSnapshotError, match=rf"got {MAX_HELD + 1} facts, expected at most"):
        PolicyEngine.restore(data)


def test_no_grace_decides_at_once() -> None:
    engine = PolicyEngine(load_policy(opening_grace=dt.timedelta(0)))
    assert ["channel_misuse"] == codes(engine.handle(posted(at())).actions)
    assert 0 == len(engine)


def test_a_held_fact_survives_a_snapshot_as_json(engine_name: str) -> None:
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    engine.handle(posted(at(minutes=-1)))
    text = json.dumps(make_converter().unstructure(engine.snapshot()))
    restored = PolicyEngine.restore(json.loads(text), engine=engine_name)  # type: ignore[arg-type]
    assert engine.snapshot() == restored.snapshot()
    opening = restored.handle(opened(at()))
    assert ["created"] == [f.key for f in opening.fulfilled]


def test_a_snapshot_holding_a_fact_the_policy_does_not_hold_is_refused() -> None:
    engine = PolicyEngine()
    engine.handle(posted(at(minutes=-1)))
    data = make_converter().unstructure(engine.snapshot())
    data["escalations"][0]["held"][0]["escalation_id"] = "ESC-2"
    with pytest.raises(InvalidSnapshotError, match=r"expected a fact about 'ESC-1'.*held\[0\]"):
        PolicyEngine.restore(data)


def test_the_pure_functions_hold_and_release_as_the_engine_does() -> None:
    held = decide(None, posted(at(minutes=-1)))
    assert held.state is not None
    assert held.state.held[0].at == at(minutes=-1)
    opening = decide(held.state, opened(at()))
    assert ["created"] == [f.key for f in opening.fulfilled]
    expired = advance(decide(None, posted(at())).state, HELD(at()) + dt.timedelta(minutes=1))  # type: ignore[arg-type]
    assert ["channel_misuse"] == codes(expired.actions)
    assert expired.state is None


def test_a_held_fact_is_kept_in_the_store_until_its_opening(new_store_url: Any) -> None:
    url = new_store_url()
    with Service(url) as service:
        assert () == service.handle(posted(at(minutes=-1))).actions
    with Service(url) as service:  # another process, later
        opening = service.handle(opened(at()))
        assert ["created"] == [f.key for f in opening.fulfilled]
        later = [a for result in service.handle_many([tick(at(days=1))]) for a in result.actions]  # type: ignore[union-attr]
        assert "channel_misuse" not in codes([*opening.actions, *later])


def test_a_store_reports_a_held_fact_when_its_grace_runs_out(new_store_url: Any) -> None:
    with Service(new_store_url()) as service:
        service.handle(posted(at()))
        late = tick(HELD(at()) + dt.timedelta(minutes=1))
        assert ["channel_misuse"] == codes(service.handle(late).actions)
        assert () == service.escalations()


def _with_grace(grace: object) -> types.ModuleType:
    module = types.ModuleType("grace_rules")
    module.TABLES = ()  # type: ignore[attr-defined]
    module.REACTIONS = ()  # type: ignore[attr-defined]
    module.OPENING_GRACE = grace  # type: ignore[attr-defined]
    return module


def _handbook_without_its_grace() -> list[Any]:
    """The handbook's modules, its communication rules without their ``OPENING_GRACE``."""
    from escalation_policy.rules import communication

    without = types.ModuleType(communication.__name__)
    without.__dict__.update({k: v for k, v in vars(communication).items() if k != "OPENING_GRACE"})
    return [without if name == communication.__name__ else name for name in MODULES]


def test_a_policy_declares_its_grace_in_a_rule_module() -> None:
    policy = load_policy([*_handbook_without_its_grace(), _with_grace(dt.timedelta(minutes=15))])
    assert dt.timedelta(minutes=15) == policy.opening_grace
    assert dt.timedelta(minutes=5) == load_policy(_handbook_without_its_grace()).opening_grace
    assert BusinessTime(dt.timedelta(hours=1)) == load_policy().opening_grace  # the handbook's


def test_a_grace_declared_beside_the_handbooks_is_refused_naming_both() -> None:
    """A package that adds a module to the handbook's sets its grace with
    ``load_policy(opening_grace=...)``: two declarations are refused, naming where each is."""
    with pytest.raises(PolicyDefinitionError, match="more than once") as raised:
        load_policy([*MODULES, _with_grace(dt.timedelta(minutes=15))])
    assert "communication" in str(raised.value)
    assert "grace_rules" in str(raised.value)
    assert (
        dt.timedelta(minutes=15)
        == load_policy(opening_grace=dt.timedelta(minutes=15)).opening_grace
    )


@pytest.mark.parametrize(
    "grace",
    [
        dt.timedelta(minutes=-1),
        dt.timedelta(days=2),
        "5m",
        BusinessTime(dt.timedelta(days=2)),
    ],
)
def test_a_wrong_grace_is_refused_when_loaded(grace: object) -> None:
    with pytest.raises(PolicyDefinitionError, match="OPENING_GRACE: got"):
        load_policy([*_handbook_without_its_grace(), _with_grace(grace)])


def test_a_grace_of_open_time_counts_on_the_escalations_calendar() -> None:
    """``BusinessTime``: open time on the escalation's calendar (the handbook's: Monday to
    Friday, 09:00 to 17:00, in the customer's zone or UTC); held until it has passed in every
    zone, and two hours more; for a policy without ``CALENDARS``, calendar time."""
    from escalation_policy.rules import severity

    hour = BusinessTime(dt.timedelta(hours=1))
    policy = load_policy(opening_grace=hour)
    friday_evening = dt.datetime(2026, 3, 13, 17, 40, tzinfo=dt.timezone.utc)
    monday_ten = dt.datetime(2026, 3, 16, 10, tzinfo=dt.timezone.utc)
    assert monday_ten == policy.grace_ends(friday_evening, "business_days")
    # Friday 10:40 in Los Angeles: an hour of open time ends at 11:40 there.
    los_angeles = dt.datetime(2026, 3, 13, 18, 40, tzinfo=dt.timezone.utc)
    assert los_angeles == policy.grace_ends(friday_evening, "business_days@America/Los_Angeles")
    tuesday = dt.datetime(2026, 3, 17, 11, 15, tzinfo=dt.timezone.utc)
    assert tuesday + dt.timedelta(hours=1) == policy.grace_ends(tuesday, "business_days")
    # The latest is an hour behind UTC: 16:40 there, twenty minutes open on Friday, forty on
    # Monday from 09:00 there (10:00 UTC).
    azores = dt.datetime(2026, 3, 16, 10, 40, tzinfo=dt.timezone.utc)
    assert azores == policy.grace_ends(friday_evening, "business_days@Etc/GMT+1")
    assert azores + dt.timedelta(hours=2) == policy.held_until(friday_evening)
    no_calendars = types.ModuleType(severity.__name__)
    no_calendars.__dict__.update({k: v for k, v in vars(severity).items() if k != "CALENDARS"})
    modules = [no_calendars if name == severity.__name__ else name for name in MODULES]
    assert friday_evening + dt.timedelta(hours=1) == load_policy(
        modules, opening_grace=hour
    ).held_until(friday_evening)


def test_the_audit_takes_the_race_as_the_engine_does_and_releases_what_is_held_at_the_end() -> None:
    """A created post a minute before its opening is compliant in the audit; a post whose
    opening never comes is reported when the history ends, within the grace or not."""
    from escalation_policy import audit

    raced = audit([posted(at(minutes=-1)), opened(at()), tick(at(hours=1))])
    assert () == raced.violations
    alone = audit([opened(at()), posted(at(minutes=1), escalation_id="ESC-2")])
    assert [("ESC-2", "channel_misuse")] == [
        (v.escalation_id, v.code.value) for v in alone.unopened
    ]
