"""Obligations on a business calendar, through the engine: business-time deadlines, periods of
business days and calendar weeks, parts, pausing, the calendar each escalation counts on.

The policy is a small one of the tests' own (``tests/policies/office``): New York office hours
(09:00 to 17:00, Monday to Friday, 3 July 2026 a holiday), London's for EMEA customers, a
check-in each business day, a weekly review of two parts, a reply within four business hours,
and clocks that pause while the escalation waits on the customer.
"""

import datetime as dt
import functools
from typing import Any

import pytest

from escalation_policy import InputError, Policy, PolicyEngine, load_policy
from escalation_policy.model import Action

NEW_YORK = dt.timezone(dt.timedelta(hours=-4))  # EDT, from 8 March 2026
WINTER = dt.timezone(dt.timedelta(hours=-5))  # EST, before it


@functools.cache
def office() -> Policy:
    return load_policy("tests.policies.office")


def ny(day: int, hour: int, minute: int = 0, month: int = 3) -> str:
    """A New York wall time in 2026, as an ISO instant (EST before 8 March, EDT after)."""
    zone = WINTER if (month, day) < (3, 8) else NEW_YORK
    return dt.datetime(2026, month, day, hour, minute, tzinfo=zone).isoformat()


def opened(at: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "opened",
        "at": at,
        "escalation_id": "E1",
        "customer": "Acme",
        "severity": "high",
        **fields,
    }


def fact(kind: str, at: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "at": at, "escalation_id": "E1", **fields}


def run(engine_name: str, facts: list[dict[str, Any]]) -> list[Action]:
    engine = PolicyEngine(office(), engine=engine_name)  # type: ignore[arg-type]
    return [action for item in facts for action in engine.handle(item).actions]


def violations(actions: list[Action]) -> list[tuple[str, str]]:
    return [(str(action.code), action.detail) for action in actions if action.TYPE == "violation"]


def tick(at: str) -> dict[str, Any]:
    return {"type": "tick", "at": at}


# ----------------------------------------------------------------------- each business day
def test_a_friday_opening_owes_nothing_over_the_weekend(engine_name: str) -> None:
    """Opened Friday afternoon: the first check-in is due by the end of Monday."""
    actions = run(
        engine_name,
        [opened(ny(6, 15)), fact("checked_in", ny(9, 16, 59)), tick(ny(10, 12))],
    )
    assert [] == violations(actions)


def test_check_ins_at_varying_times_are_each_in_time_for_their_day(engine_name: str) -> None:
    """17:00 one day and 09:00 the next: each business day had its check-in."""
    check_ins = [ny(10, 17), ny(11, 9), ny(12, 16, 30), ny(13, 9, 5), ny(16, 11)]
    actions = run(
        engine_name,
        [opened(ny(9, 10)), *(fact("checked_in", at) for at in check_ins), tick(ny(17, 8))],
    )
    assert "check_in_missed" not in {code for code, _ in violations(actions)}


def test_a_silent_stretch_is_one_violation_and_the_next_day_starts_afresh(
    engine_name: str,
) -> None:
    actions = run(
        engine_name,
        [
            opened(ny(9, 10)),
            fact("checked_in", ny(10, 10)),
            # Wednesday to Friday pass without one: one violation, counting three days.
            fact("checked_in", ny(16, 10)),
            tick(ny(17, 8)),
        ],
    )
    found = [
        action
        for action in actions
        if action.TYPE == "violation" and str(action.code) == "check_in_missed"
    ]
    assert 1 == len(found)
    assert 3 == found[0].periods


def test_a_holiday_is_not_a_business_day(engine_name: str) -> None:
    """3 July 2026 (a Friday) is the office's holiday: Thursday's check-in is due Thursday,
    the next on Monday."""
    actions = run(
        engine_name,
        [
            opened(ny(1, 10, month=7)),
            fact("checked_in", ny(2, 16, month=7)),
            fact("checked_in", ny(6, 9, month=7)),
            tick(ny(7, 8, month=7)),
        ],
    )
    assert "check_in_missed" not in {code for code, _ in violations(actions)}


# ----------------------------------------------------------------------- parts of a period
@pytest.mark.parametrize(
    ("case", "parts", "missing"),
    [
        ("a call but no notes", ["call"], "notes"),
        ("nothing at all", [], "call and notes"),
    ],
)
def test_a_period_short_of_a_part_is_one_violation_naming_it(
    engine_name: str, case: str, parts: list[str], missing: str
) -> None:
    reviews = [fact("reviewed", ny(11, 10), part=part) for part in parts]
    actions = run(engine_name, [opened(ny(9, 10)), *reviews, tick(ny(17, 1))])
    reviews_missed = [detail for code, detail in violations(actions) if code == "review_missed"]
    assert [f"the weekly review due by 2026-03-16T04:00:00+00:00 lacked {missing}"] == (
        reviews_missed
    ), case


def test_a_period_with_every_part_is_met(engine_name: str) -> None:
    actions = run(
        engine_name,
        [
            opened(ny(9, 10)),
            fact("reviewed", ny(10, 10), part="notes"),
            fact("reviewed", ny(13, 10), part="call"),
            tick(ny(17, 1)),
        ],
    )
    assert "review_missed" not in {code for code, _ in violations(actions)}


# ----------------------------------------------------------------------- business time
def test_a_question_late_on_friday_is_due_on_monday(engine_name: str) -> None:
    """Four business hours from Friday 16:00: one hour on Friday, three on Monday."""
    engine = PolicyEngine(office(), engine=engine_name)  # type: ignore[arg-type]
    engine.handle(opened(ny(9, 10)))
    engine.handle(fact("asked", ny(13, 16)))
    state = engine.escalation("E1")
    assert state is not None
    (reply,) = [p for p in state.pending if p.obligation == "reply"]
    assert ny(16, 12) == reply.due.astimezone(NEW_YORK).isoformat()


def test_waiting_on_the_customer_stops_the_reply_clock(engine_name: str) -> None:
    """Asked Monday 10:00, waiting from 11:00 (three hours left), back Wednesday 16:00: one
    hour that day and two on Thursday; nothing is late meanwhile."""
    engine = PolicyEngine(office(), engine=engine_name)  # type: ignore[arg-type]
    for item in (
        opened(ny(9, 9)),
        fact("asked", ny(9, 10)),
        fact("waiting", ny(9, 11)),
        tick(ny(11, 15)),
        fact("back", ny(11, 16)),
    ):
        assert [] == violations(list(engine.handle(item).actions))
    state = engine.escalation("E1")
    assert state is not None
    (reply,) = [p for p in state.pending if p.obligation == "reply"]
    assert ny(12, 11) == reply.due.astimezone(NEW_YORK).isoformat()
    assert dt.timedelta(days=2, hours=5) == state.paused_for


def test_a_paused_daily_check_in_starts_afresh_on_resuming(engine_name: str) -> None:
    actions = run(
        engine_name,
        [
            opened(ny(9, 10)),
            fact("waiting", ny(9, 11)),
            tick(ny(13, 12)),
            fact("back", ny(16, 10)),
            fact("checked_in", ny(17, 12)),
            tick(ny(18, 8)),
        ],
    )
    assert "check_in_missed" not in {code for code, _ in violations(actions)}


# ----------------------------------------------------------------------- which calendar
@pytest.mark.parametrize(
    ("fields", "calendar"),
    [
        ({}, "new_york"),
        ({"region": "emea"}, "london"),
        ({"time_zone": "Asia/Tokyo"}, "new_york@Asia/Tokyo"),
        ({"region": "emea", "time_zone": "Europe/Berlin"}, "london@Europe/Berlin"),
    ],
)
def test_each_escalation_keeps_the_calendar_chosen_when_it_opened(
    fields: dict[str, str], calendar: str
) -> None:
    engine = PolicyEngine(office())
    engine.handle(opened(ny(9, 10), **fields))
    state = engine.escalation("E1")
    assert state is not None
    assert calendar == state.calendar


def test_a_customer_in_tokyo_is_checked_in_tokyo_business_days() -> None:
    """Opened on Monday 9 March at 10:00 Tokyo time: the first check-in is due at the end of
    Tuesday in Tokyo (17:00 JST, 08:00 UTC)."""
    engine = PolicyEngine(office())
    engine.handle(opened("2026-03-09T01:00:00+00:00", time_zone="Asia/Tokyo"))
    state = engine.escalation("E1")
    assert state is not None
    (check_in,) = [p for p in state.pending if p.obligation == "check_in"]
    assert dt.datetime(2026, 3, 10, 8, tzinfo=dt.timezone.utc) == check_in.due


def test_an_unknown_zone_is_an_input_error_naming_the_field() -> None:
    engine = PolicyEngine(office())
    with pytest.raises(InputError) as caught:
        engine.handle(opened(ny(9, 10), time_zone="Mars/Olympus"))
    assert "$.time_zone" == caught.value.path
    assert 0 == len(engine)


def test_a_snapshot_keeps_the_calendar_the_counts_and_the_pause() -> None:
    engine = PolicyEngine(office())
    for item in (
        opened(ny(9, 10), region="emea"),
        fact("reviewed", ny(10, 10), part="call"),
        fact("asked", ny(10, 11)),
        fact("waiting", ny(10, 12)),
    ):
        engine.handle(item)
    restored = PolicyEngine.restore(engine.snapshot(), office())
    assert engine.escalations() == restored.escalations()
    later = [tick(ny(17, 1))]
    assert [restored.handle(item).actions for item in later] == [
        engine.handle(item).actions for item in later
    ]
