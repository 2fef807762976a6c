"""How a host (a CRM integration) tests itself against the escalation policy."""

import datetime as dt
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from escalation_policy import PolicyEngine
from escalation_policy.rules import Opened
from escalation_policy.testing import Timeline, assert_actions, assert_compliant
from escalation_policy.testing.strategies import histories

TRACKER = "https://docs.example.com/globex-escalation-tracker"
"""Our escalation document: the created, closed and risk-reduced posts link it."""


def crm_owner_field(engine: PolicyEngine, escalation_id: str) -> str:
    """The host's own code under test: what it writes in the CRM's owner field."""
    state = engine.escalation(escalation_id)
    return state.owner.label if state is not None and state.owner is not None else "Unassigned"


def test_a_critical_escalation_is_owned_by_the_tam(timeline: Timeline) -> None:
    timeline.open(severity="critical", customer="Globex", tam="Priya")
    assert_actions(
        timeline.last,
        {"type": "assign_owner", "owner": "tam"},
        {"type": "post_to_channel", "reason": "created", "by": "tam"},
    )
    assert "TAM" == crm_owner_field(timeline.engine, "ESC-1")


def test_our_daily_routine_is_compliant(timeline: Timeline) -> None:
    timeline.open(severity="high", tam="Priya").wait(minutes=20).post("created", url=TRACKER)
    for _ in range(3):
        timeline.wait(hours=20).meeting().post("update")
    timeline.wait(hours=2).close().wait(minutes=10).post("closed", url=TRACKER)
    assert_compliant(timeline)


def first_update_due(timeline: Timeline) -> float:
    """Hours from now until the first update the policy asks for is due."""
    (update,) = [
        action
        for action in timeline.actions
        if action.TYPE == "post_to_channel" and action.reason.value == "update"
    ]
    return (update.due - timeline.now) / dt.timedelta(hours=1)


def test_forgetting_the_update_is_caught(timeline: Timeline) -> None:
    timeline.open(severity="critical").post("created")
    timeline.after(hours=first_update_due(timeline) + 1)
    assert_actions(timeline.last, {"type": "violation", "code": "update_overdue"})


def test_support_informs_the_tam_on_medium_escalations(timeline: Timeline) -> None:
    timeline.open(severity="medium", tam="Priya")
    assert_actions(timeline.last, {"type": "inform_tam", "tam": "Priya"})
    timeline.wait(hours=1).inform_tam().post("created", url=TRACKER)
    assert_compliant(timeline)


@settings(max_examples=25, deadline=None)
@given(st.from_type(Opened))
def test_our_owner_field_is_never_empty_for_an_in_scope_escalation(opened: Opened) -> None:
    engine = PolicyEngine()
    decision = engine.handle(opened)
    in_scope = not any(action.TYPE == "out_of_scope" for action in decision.actions)
    assert in_scope == (crm_owner_field(engine, opened.escalation_id) != "Unassigned")


@settings(max_examples=25, deadline=None)
@given(histories(compliant=True))
def test_replaying_compliant_histories_through_our_adapter_stays_compliant(history: list) -> None:
    assert_compliant(history)


@settings(max_examples=25, deadline=None)
@given(hours_late=st.integers(min_value=1, max_value=48))
def test_a_missed_update_is_caught_however_late(
    make_timeline: Callable[[], Timeline], hours_late: int
) -> None:
    # `timeline` is one per test, and hypothesis runs the test many times: a new one each run.
    timeline = make_timeline()
    timeline.open(severity="critical").post("created")
    timeline.after(hours=first_update_due(timeline) + hours_late)
    assert_actions(timeline.actions, {"type": "violation", "code": "update_overdue"})
