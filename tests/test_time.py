"""Time in the engine: one step lets time pass and applies a fact; instants, not zones; the
work one fact causes is bounded; facts may arrive a little late."""

import datetime as dt
import json
import random
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation_policy import (
    ClockJumpError,
    Decision,
    EscalationState,
    Fact,
    InputError,
    PolicyEngine,
    StaleFactError,
    Tick,
    advance,
    decide,
    make_converter,
)
from escalation_policy.model import EscalationFact
from escalation_policy.rules import PostReason
from escalation_policy.rules.severity import BUSINESS_DAYS
from escalation_policy.testing import strategies
from tests.conftest import CHANNEL, Scenario, at, examples, owner_of

CONVERTER = make_converter()
SETTINGS = settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

CRITICAL_OWNER = owner_of("critical")


def _critical(scenario: Scenario, **fields: Any) -> None:
    scenario.open(severity="critical", tam="alex", initiated_by="tam", **fields)


def _fold(facts: list[Fact], lateness: dt.timedelta = dt.timedelta(0)) -> list[list[Any]]:
    """The engine's decisions rebuilt from the pure functions, one fact at a time.

    For each fact: every other escalation with something due before the watermark (the
    latest time seen, less the lateness window) lets time pass to it, in order of due time;
    then the fact's own escalation takes its step (time passes for it, the fact applies).
    """
    states: dict[str, EscalationState] = {}
    clock: dt.datetime | None = None
    out: list[list[Any]] = []
    for fact in facts:
        clock = fact.at if clock is None else max(clock, fact.at)
        watermark = clock - lateness
        target = fact.escalation_id if isinstance(fact, EscalationFact) else None
        actions: list[Any] = []
        due = sorted(
            (state.next_due, key)
            for key, state in states.items()
            if key != target and state.next_due is not None and state.next_due < watermark
        )
        for _, key in due:
            outcome = advance(states[key], watermark)
            actions.extend(outcome.actions)
            if outcome.state is None:
                del states[key]
            else:
                states[key] = outcome.state
        if isinstance(fact, EscalationFact):
            outcome = decide(states.get(fact.escalation_id), fact)
            actions.extend(outcome.actions)
            if outcome.state is None:
                states.pop(fact.escalation_id, None)
            else:
                states[fact.escalation_id] = outcome.state
        out.append(actions)
    return out


def test_the_engine_and_the_pure_step_agree_on_a_fact_that_closes_after_a_gap(
    scenario: Scenario,
) -> None:
    """A critical escalation, its created post, then 'closed' 25 hours later: the update that
    fell due is reported, and the next update closing cancels is not announced."""
    _critical(scenario)
    scenario.post(at(minutes=30), "created", CRITICAL_OWNER)
    closing = scenario.fact("closed", at(hours=25))
    state = None
    pure: list[Any] = []
    for decision in scenario.decisions:
        outcome = decide(state, decision.fact)  # type: ignore[arg-type]
        state = outcome.state
        pure.append(list(outcome.actions))
    assert pure[-1] == list(closing.actions)
    assert "update" not in [getattr(a, "reason", None) for a in closing.actions]


@SETTINGS
@given(strategies.histories(), st.data())
def test_the_engine_is_a_fold_of_decide_and_advance(
    history: list[Fact], data: st.DataObject
) -> None:
    """One code path for time: with ticks anywhere, the engine's actions are exactly those of
    the pure functions folded over the same facts."""
    facts: list[Fact] = []
    for fact in history:
        if data.draw(st.booleans()):
            gap = data.draw(st.integers(min_value=0, max_value=3 * 24 * 60))
            facts.append(Tick(at=fact.at - dt.timedelta(minutes=gap)))
        facts.append(fact)
    facts.sort(key=lambda fact: fact.at)  # a tick never goes back in time
    engine = PolicyEngine()
    assert _fold(facts) == [list(engine.handle(fact).actions) for fact in facts]


def test_an_id_is_free_again_once_its_escalation_settled_with_no_tick_between(
    scenario: Scenario,
) -> None:
    """Time passes with the fact itself: 30 days after closing, the id opens a new one."""
    _critical(scenario)
    scenario.post(at(minutes=30), "created", CRITICAL_OWNER)
    scenario.fact("closed", at(hours=5))
    reopened = scenario.open(at(days=30), severity="low")
    assert "assign_owner" in [a.TYPE for a in reopened.actions]
    # the closing post that never came is still reported, before the new escalation
    assert "post_overdue" == reopened.actions[0].code  # type: ignore[attr-defined]


def test_a_second_opened_for_an_open_escalation_is_still_refused(scenario: Scenario) -> None:
    _critical(scenario)
    with pytest.raises(InputError, match="already open"):
        scenario.open(at(days=30))


# ------------------------------------------------------------------------------------- zones
BERLIN = ZoneInfo("Europe/Berlin")


def _opened(when: dt.datetime) -> dict[str, Any]:
    return {
        "type": "opened",
        "at": when,
        "escalation_id": "ESC-1",
        "customer": "Acme",
        "segment": "enterprise",
        "severity": "critical",
        "tam": "alex",
        "initiated_by": "tam",
    }


def _zoned_history(zone: dt.tzinfo) -> list[Fact]:
    # Saturday 28 March 2026, 12:00 UTC: Berlin moves its clocks forward that night.
    start = dt.datetime(2026, 3, 28, 12, tzinfo=dt.timezone.utc)
    bodies: list[dict[str, Any]] = [
        _opened(start),
        {
            "type": "posted",
            "at": start + dt.timedelta(minutes=30),
            "escalation_id": "ESC-1",
            "channel": CHANNEL,
            "purpose": "created",
            "by": CRITICAL_OWNER,
        },
        {"type": "tick", "at": start + dt.timedelta(hours=23, minutes=30)},
        {"type": "tick", "at": start + dt.timedelta(hours=24, minutes=45)},
        {"type": "tick", "at": start + dt.timedelta(hours=49)},
    ]
    facts = []
    for body in bodies:
        cls = type(CONVERTER.structure({**body, "at": "2026-01-01T00:00:00Z"}, Fact))
        fields = {key: value for key, value in body.items() if key != "type"}
        fields["at"] = fields["at"].astimezone(zone)
        facts.append(cls(**fields))
    return facts


def _summary(decisions: list[Decision]) -> list[list[tuple[str, str, Any]]]:
    return [[(a.TYPE, a.rule, getattr(a, "due", None)) for a in d.actions] for d in decisions]


@pytest.mark.parametrize("cut", [0, 1, 2, 3, 4])
def test_the_same_instants_in_any_zone_give_the_same_decisions_across_daylight_saving(
    engine_name: str, cut: int
) -> None:
    """Due times are instants plus durations: a ZoneInfo time across the spring change and
    the same instants in UTC give the same decisions, before and after a snapshot."""
    utc = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    expected = [utc.handle(fact) for fact in _zoned_history(dt.timezone.utc)]
    zoned = _zoned_history(BERLIN)
    first = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    decisions = [first.handle(fact) for fact in zoned[:cut]]
    text = json.dumps(CONVERTER.unstructure(first.snapshot()))
    second = PolicyEngine.restore(json.loads(text), engine=engine_name)  # type: ignore[arg-type]
    decisions += [second.handle(fact) for fact in zoned[cut:]]
    assert _summary(expected) == _summary(decisions)
    assert utc.snapshot() == second.snapshot()


def test_timestamps_are_kept_in_utc() -> None:
    fact = CONVERTER.structure(_opened(dt.datetime(2026, 3, 29, 3, tzinfo=BERLIN)), Fact)
    assert dt.timezone.utc is fact.at.tzinfo
    assert dt.datetime(2026, 3, 29, 1, tzinfo=dt.timezone.utc) == fact.at


# ------------------------------------------------------------------------------- bounded work
def test_a_tick_fifty_years_ahead_reports_each_missed_obligation_once(
    engine_name: str,
) -> None:
    engine = PolicyEngine(engine=engine_name, max_clock_jump=None)  # type: ignore[arg-type]
    scenario = Scenario(engine)
    _critical(scenario)
    scenario.post(at(minutes=30), "created", CRITICAL_OWNER)
    late = scenario.tick(at(days=50 * 365))
    periodic = [a for a in late.actions if a.TYPE == "violation"]
    assert {"update_overdue", "cadence_missed"} == {v.code.value for v in periodic}
    assert len(late.actions) <= 3, "one violation per obligation, and one announcement"
    update = next(v for v in periodic if v.code.value == "update_overdue")
    assert update.due is not None
    assert update.last_due is not None
    # an update each business day: one period for each business day from the first due to the
    # last, about 261 a year
    days = BUSINESS_DAYS.business_days(update.due.date(), update.last_due.date())
    assert update.periods == len(list(days))
    assert update.periods > 13_000
    next_due = BUSINESS_DAYS.next_business_day_end(update.last_due, 1)
    assert update.last_due < at(days=50 * 365) <= next_due
    body = CONVERTER.unstructure(update)
    assert (update.periods, update.last_due.isoformat()) == (body["periods"], body["last_due"])


def test_one_missed_period_keeps_the_violations_json_as_it_was(scenario: Scenario) -> None:
    _critical(scenario)
    scenario.post(at(minutes=30), "created", CRITICAL_OWNER)
    late = scenario.tick(at(days=1, hours=15, minutes=1))  # the end of the next business day
    update = next(a for a in late.actions if getattr(a, "code", None) == "update_overdue")
    body = CONVERTER.unstructure(update)
    assert 1 == update.periods
    assert "periods" not in body
    assert "last_due" not in body
    assert update == CONVERTER.structure(body, type(update))


def test_the_engine_refuses_a_clock_jump_larger_than_it_accepts(engine_name: str) -> None:
    """A mistyped year would move the clock so far that every real fact after it is stale:
    by default a fact more than a year ahead of the clock is refused, and nothing changes."""
    scenario = Scenario(PolicyEngine(engine=engine_name))  # type: ignore[arg-type]
    _critical(scenario)
    before = scenario.engine.snapshot()
    with pytest.raises(ClockJumpError, match="max_clock_jump") as caught:
        scenario.post(at(days=36 * 365), "created", CRITICAL_OWNER)
    assert "$.at" == caught.value.path
    assert before == scenario.engine.snapshot()
    scenario.post(at(minutes=30), "created", CRITICAL_OWNER)  # the real fact is taken


def test_a_smaller_clock_jump_limit_can_be_chosen() -> None:
    scenario = Scenario(PolicyEngine(max_clock_jump=dt.timedelta(days=2)))
    _critical(scenario)
    with pytest.raises(ClockJumpError):
        scenario.tick(at(days=3))
    assert 0 < len(scenario.tick(at(days=2)).actions)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_clock_jump", dt.timedelta(0)),
        ("max_clock_jump", dt.timedelta(seconds=-1)),
        ("max_clock_jump", 3600),
        ("lateness", dt.timedelta(seconds=-1)),
        ("lateness", dt.timedelta(days=30)),
        ("lateness", None),
    ],
)
def test_engine_options_out_of_range_are_input_errors(option: str, value: Any) -> None:
    with pytest.raises(InputError) as caught:
        PolicyEngine(**{option: value})
    assert option == caught.value.path


# ------------------------------------------------------------------------------- late delivery
def test_a_fact_arriving_late_within_the_window_is_applied_and_counts_as_on_time(
    engine_name: str,
) -> None:
    """A post made before its due time but delivered after a later fact of another
    escalation: within the lateness window it is applied, and no violation was reported."""
    engine = PolicyEngine(
        engine=engine_name,  # type: ignore[arg-type]
        lateness=dt.timedelta(seconds=30),
    )
    one = Scenario(engine, "ESC-1")
    two = Scenario(engine, "ESC-2")
    _critical(one)
    due = _created_post_due(one)
    two.open(due - dt.timedelta(minutes=5), severity="low")
    two.tick(due + dt.timedelta(seconds=20))  # another host's fact, delivered first
    assert [] == [a for d in engine_decisions(one, two) for a in d.actions if a.TYPE == "violation"]
    made = one.post(due - dt.timedelta(seconds=5), "created", CRITICAL_OWNER)
    assert [False] == [fulfilment.late for fulfilment in made.fulfilled]


def engine_decisions(*scenarios: Scenario) -> list[Decision]:
    return [decision for scenario in scenarios for decision in scenario.decisions]


def _created_post_due(scenario: Scenario) -> dt.datetime:
    """When the created post of the escalation just opened is due, as the policy says."""
    (due,) = [
        action.due
        for action in scenario.decisions[-1].actions
        if action.TYPE == "post_to_channel" and action.reason == PostReason.CREATED
    ]
    return due


def test_without_a_window_the_same_late_fact_is_refused_as_stale() -> None:
    engine = PolicyEngine()
    one, two = Scenario(engine, "ESC-1"), Scenario(engine, "ESC-2")
    _critical(one)
    due = _created_post_due(one)
    two.open(due - dt.timedelta(minutes=5), severity="low")
    two.tick(due + dt.timedelta(seconds=20))
    with pytest.raises(StaleFactError):
        one.post(due - dt.timedelta(seconds=5), "created", CRITICAL_OWNER)


def test_obligations_are_reported_only_once_the_window_has_passed_them() -> None:
    engine = PolicyEngine(lateness=dt.timedelta(minutes=10))
    one = Scenario(engine, "ESC-1")
    _critical(one)
    due = _created_post_due(one)
    assert () == one.tick(due + dt.timedelta(minutes=9)).actions
    late = one.tick(due + dt.timedelta(minutes=11))
    assert ["post_overdue"] == [a.code.value for a in late.actions if a.TYPE == "violation"]
    # reported when the window passed it, as of the watermark
    assert due + dt.timedelta(minutes=1) == late.actions[0].at


def _delivered_with_jitter(facts: list[Fact], seed: int) -> list[Fact]:
    shuffle = random.Random(seed)
    return sorted(facts, key=lambda f: f.at + dt.timedelta(seconds=shuffle.uniform(0, 20)))


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.histories(), st.integers(min_value=0, max_value=2**32))
def test_delivery_jitter_within_the_window_refuses_nothing_and_misses_the_same(
    history: list[Fact], seed: int
) -> None:
    """Webhooks arrive out of order by up to 20 s: with a 30 s window every fact is taken,
    and once the window has passed, the same obligations are found missed."""
    window = dt.timedelta(seconds=30)
    spaced: list[Fact] = []
    for fact in history:  # facts of one escalation at least a minute apart, as real ones are
        if spaced and fact.at - spaced[-1].at < dt.timedelta(minutes=1):
            fact = _moved(fact, spaced[-1].at + dt.timedelta(minutes=1))
        spaced.append(fact)
    if not spaced:
        return
    end = Tick(at=spaced[-1].at + dt.timedelta(days=30))
    in_order = PolicyEngine(lateness=window, max_clock_jump=None)
    jittered = PolicyEngine(lateness=window, max_clock_jump=None)
    expected = [a for f in [*spaced, end] for a in in_order.handle(f).actions]
    got = [
        a for f in [*_delivered_with_jitter(spaced, seed), end] for a in jittered.handle(f).actions
    ]
    assert _missed(expected) == _missed(got)


def _moved(fact: Fact, when: dt.datetime) -> Fact:
    import attrs

    return attrs.evolve(fact, at=when)


def _missed(actions: list[Any]) -> dict[tuple[str, str, str], int]:
    counts: dict[tuple[str, str, str], int] = {}
    for action in actions:
        if action.TYPE == "violation" and action.due is not None:
            key = (action.escalation_id, action.code.value, action.rule)
            counts[key] = counts.get(key, 0) + action.periods
    return counts


def test_a_stale_fact_is_refused_with_the_window_named() -> None:
    engine = PolicyEngine(lateness=dt.timedelta(seconds=30))
    one = Scenario(engine)
    _critical(one)
    one.tick(at(hours=1))
    with pytest.raises(StaleFactError, match="lateness") as caught:
        one.tick(at(minutes=59))
    assert "$.at" == caught.value.path


def test_a_year_skipped_over_many_escalations_costs_a_few_actions_each() -> None:
    """One fact's work is bounded by the obligations due, not by the time it skips."""
    engine = PolicyEngine()
    for number in range(1_000):
        Scenario(engine, f"ESC-{number}").open(severity="critical")
    late = engine.handle(Tick(at=at(days=365)))
    # the created post, the updates and the cadence: a violation each, and the next update
    # announced
    assert len(late.actions) <= 4 * 1_000
    # obligations of each business day, first due at the end of the business day after the
    # opening (a Monday), last at the end of the business day before the tick's
    days = BUSINESS_DAYS.business_days(dt.date(2026, 3, 3), at(days=364).date())
    assert len(list(days)) == max(getattr(a, "periods", 0) for a in late.actions)
