"""Obligations on a business calendar, through the engine: business-time deadlines, periods of
business days and calendar weeks, parts, pausing, the calendar each escalation counts on.

The policy is a small one of the tests' own (``tests/policies/office``): New York office hours
(09:00 to 17:00, Monday to Friday, 3 July 2026 a holiday), London's for EMEA customers, a
check-in each business day, a weekly review of two parts, a reply within four business hours,
and clocks that pause while the escalation waits on the customer.
"""

import datetime as dt
import functools
import json
import re
import types
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from escalation_policy import (
    InputError,
    Policy,
    PolicyDefinitionError,
    PolicyEngine,
    Service,
    clock_figures,
    load_policy,
    make_converter,
)
from escalation_policy.calendar import Holiday
from escalation_policy.model import Action
from escalation_policy.render import describe
from escalation_policy.vocabulary import Tier

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


@pytest.mark.parametrize(
    ("back", "checked_in", "missed"),
    [
        pytest.param(ny(16, 10), [ny(16, 15), ny(17, 12)], False, id="back-Monday-morning"),
        pytest.param(ny(16, 10), [ny(17, 12)], True, id="back-Monday-morning-silent-Monday"),
        pytest.param(ny(16, 15), [ny(17, 12)], False, id="back-late-Monday-afternoon"),
    ],
)
def test_a_paused_daily_check_in_resumes_with_the_days_open_time_left(
    engine_name: str, back: str, checked_in: list[str], missed: bool
) -> None:
    """A week's wait excuses its days; the day the customer is back is a period of its own
    unless the wait took half its open hours or more."""
    actions = run(
        engine_name,
        [
            opened(ny(9, 10)),
            fact("waiting", ny(9, 11)),
            tick(ny(13, 12)),
            fact("back", back),
            *(fact("checked_in", at) for at in checked_in),
            tick(ny(18, 8)),
        ],
    )
    assert missed == ("check_in_missed" in {code for code, _ in violations(actions)})


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
    Tuesday in Tokyo (midnight JST, 15:00 UTC)."""
    engine = PolicyEngine(office())
    engine.handle(opened("2026-03-09T01:00:00+00:00", time_zone="Asia/Tokyo"))
    state = engine.escalation("E1")
    assert state is not None
    (check_in,) = [p for p in state.pending if p.obligation == "check_in"]
    assert dt.datetime(2026, 3, 10, 15, tzinfo=dt.timezone.utc) == check_in.due


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


# ------------------------------------------------------------- reminders and tiers on the clock
def local(instant: dt.datetime) -> str:
    """An instant as New York's wall time (EDT), as :func:`ny` writes it."""
    return instant.astimezone(NEW_YORK).isoformat()


def utc(wall: str) -> str:
    """A wall time written by :func:`ny` as violations write due times: in UTC."""
    return dt.datetime.fromisoformat(wall).astimezone(dt.timezone.utc).isoformat()


def reminders(actions: list[Action]) -> list[tuple[str, str, str]]:
    return [
        (local(action.at), action.obligation, local(action.due))  # type: ignore[attr-defined]
        for action in actions
        if action.TYPE == "reminder"
    ]


def notices(actions: list[Action]) -> list[tuple[str, int, str]]:
    return [
        (local(action.at), action.tier, action.notify)  # type: ignore[attr-defined]
        for action in actions
        if action.TYPE == "overdue_notice"
    ]


def test_a_reminder_lead_on_a_business_clock_is_open_time(engine_name: str) -> None:
    """A call back due within two business hours, asked for at 16:30 on a Friday, is due at
    10:30 on Monday; the reminder with 1h45 of it left comes on Friday at 16:45 (in calendar
    time it would be 08:45 on Monday, before the office opens)."""
    requested = [opened(ny(13, 9), severity="low"), fact("call_requested", ny(13, 16, 30))]
    assert [] == reminders(run(engine_name, [*requested, tick(ny(13, 16, 44))]))
    actions = run(engine_name, [*requested, tick(ny(13, 16, 46))])
    assert [(ny(13, 16, 46), "call_back", ny(16, 10, 30))] == reminders(actions)


def test_a_reminder_outside_open_hours_waits_for_the_opening(engine_name: str) -> None:
    """A page at 22:00 on Sunday is due at 10:00 on Monday, twelve hours on; its reminder two
    hours before, at 08:00, waits for the office to open at 09:00."""
    paged = [opened(ny(13, 9), severity="low"), fact("paged", ny(15, 22))]
    assert [] == reminders(run(engine_name, [*paged, tick(ny(16, 8, 30))]))
    actions = run(engine_name, [*paged, tick(ny(16, 9, 1))])
    assert [(ny(16, 9, 1), "acknowledge", ny(16, 10))] == reminders(actions)


def test_a_reminder_that_would_wait_past_the_due_time_is_not_sent(engine_name: str) -> None:
    """A page at 20:00 on Friday is due at 08:00 on Saturday: the office does not open before
    then, so there is no reminder, only the violation when it is missed."""
    actions = run(
        engine_name, [opened(ny(13, 9), severity="low"), fact("paged", ny(13, 20)), tick(ny(16, 9))]
    )
    assert [] == reminders(actions)
    assert [
        ("page_unanswered", f"the page was not acknowledged by {utc(ny(14, 8))}")
    ] == violations(actions)


def test_tiers_chase_an_unmet_obligation_on_its_clock_each_once_in_order(engine_name: str) -> None:
    """Due at 10:30 on Monday and never met: the violation at the due time, the desk's manager
    one business hour later, the director four business hours later, and nobody after."""
    facts = [opened(ny(13, 9), severity="low"), fact("call_requested", ny(13, 16, 30))]
    checkpoints = [ny(16, 10, 31), ny(16, 11, 29), ny(16, 11, 31), ny(16, 14, 31), ny(20, 9)]
    actions = run(engine_name, [*facts, *(tick(at) for at in checkpoints)])
    assert [("call_back_late", f"no call back by {utc(ny(16, 10, 30))}")] == violations(actions)
    assert [
        (ny(16, 11, 31), 1, "the desk's manager"),
        (ny(16, 14, 31), 2, "the director of support"),
    ] == notices(actions)
    chased = [action for action in actions if action.TYPE == "overdue_notice"]
    assert {("office.call_requested", "Office hours")} == {(a.rule, a.cites) for a in chased}


def test_tiers_overdue_at_once_come_together_in_order(engine_name: str) -> None:
    """Time that passes beyond both tiers at once sends both, first tier first."""
    actions = run(
        engine_name,
        [
            opened(ny(13, 9), severity="low"),
            fact("call_requested", ny(13, 16, 30)),
            tick(ny(18, 9)),
        ],
    )
    assert [(1, "the desk's manager"), (2, "the director of support")] == [
        (tier, notify) for _, tier, notify in notices(actions)
    ]


def test_an_obligation_met_late_is_chased_no_further(engine_name: str) -> None:
    facts = [
        opened(ny(13, 9), severity="low"),
        fact("call_requested", ny(13, 16, 30)),
        tick(ny(16, 11, 31)),
        fact("called_back", ny(16, 12)),
        tick(ny(18, 9)),
    ]
    assert [(ny(16, 11, 31), 1, "the desk's manager")] == notices(run(engine_name, facts))


def test_tiers_of_an_obligation_on_calendar_time_count_calendar_time(engine_name: str) -> None:
    """The page due at 08:00 on Saturday: its manager is told one hour later, a Saturday."""
    facts = [
        opened(ny(13, 9), severity="low"),
        fact("paged", ny(13, 20)),
        tick(ny(14, 8, 59)),
        tick(ny(14, 9, 1)),
    ]
    assert [(ny(14, 9, 1), 1, "the on-call manager")] == notices(run(engine_name, facts))


def test_reminders_and_tiers_survive_a_snapshot_as_json(engine_name: str) -> None:
    """A restored engine sends what is left: no reminder twice, the next tier once."""
    engine = PolicyEngine(office(), engine=engine_name)  # type: ignore[arg-type]
    for item in [
        opened(ny(13, 9), severity="low"),
        fact("call_requested", ny(13, 16, 30)),
        tick(ny(16, 11, 31)),
    ]:
        engine.handle(item)
    text = json.dumps(make_converter(office()).unstructure(engine.snapshot()))
    restored = PolicyEngine.restore(json.loads(text), office(), engine=engine_name)  # type: ignore[arg-type]
    actions = [a for at in (ny(16, 12), ny(16, 14, 31)) for a in restored.handle(tick(at)).actions]
    assert [(ny(16, 14, 31), 2, "the director of support")] == notices(actions)
    assert [] == reminders(actions)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"tiers": (Tier(after=dt.timedelta(hours=2), notify="a"),) * 2},
            "tier 2: after: got 2:00:00, expected later than tier 1's (2:00:00)",
        ),
        ({"tiers": (Tier(after=dt.timedelta(0), notify="a"),)}, "expected a positive timedelta"),
        ({"tiers": (Tier(after=dt.timedelta(hours=1), notify=" "),)}, "expected whom to tell"),
        ({"tiers": [Tier(after=dt.timedelta(hours=1), notify="a")]}, "expected a tuple of Tier"),
        ({"remind_in_open_hours": "yes"}, "expected True or False"),
    ],
)
def test_wrong_tiers_are_refused_when_loaded(change: dict[str, Any], message: str) -> None:
    module = _office_with(call_back=change)
    with pytest.raises(PolicyDefinitionError, match=re.escape(message)):
        load_policy([module])


def test_tiers_on_a_periodic_obligation_are_refused_when_loaded() -> None:
    """A missed period is reported and the next one starts: nothing stays unmet to chase."""
    module = _office_with(check_in={"tiers": (Tier(after=dt.timedelta(hours=1), notify="a"),)})
    with pytest.raises(PolicyDefinitionError, match="the obligation has tiers"):
        load_policy([module])


def _office_with(**changes: dict[str, Any]) -> types.ModuleType:
    """The office's rules with some obligations' declarations changed (by their ids)."""
    from tests.policies.office import rules

    edited = types.ModuleType(rules.__name__)
    edited.__dict__.update({k: v for k, v in vars(rules).items() if not k.startswith("__")})
    replaced = {
        obligation.id: attrs.evolve(obligation, **changes.get(obligation.id, {}))
        for obligation in rules.OBLIGATIONS
    }
    edited.OBLIGATIONS = tuple(replaced.values())  # type: ignore[attr-defined]
    reactions = []
    for reaction in rules.REACTIONS:
        then = tuple(
            attrs.evolve(effect, obligation=replaced[effect.obligation.id])
            if hasattr(effect, "obligation")
            else attrs.evolve(effect, obligations=tuple(replaced[o.id] for o in effect.obligations))
            if hasattr(effect, "obligations")
            else effect
            for effect in reaction.then
        )
        reactions.append(attrs.evolve(reaction, then=then))
    edited.REACTIONS = tuple(reactions)  # type: ignore[attr-defined]
    return edited


def test_an_overdue_notice_says_whom_to_tell_about_what() -> None:
    facts = [
        opened(ny(13, 9), severity="low"),
        fact("call_requested", ny(13, 16, 30)),
        tick(ny(16, 11, 31)),
    ]
    (notice,) = [a for a in run("native", facts) if a.TYPE == "overdue_notice"]
    assert (
        "overdue, tier 1: tell the desk's manager: call back due by 2026-03-16 10:30 -04:00 is "
        "not done (owner Desk)"
    ) == describe(notice, ZoneInfo("America/New_York"))


# --------------------------------------------------- a calendar change, pinned and re-planned
@functools.cache
def office_with_a_new_holiday() -> Policy:
    """The office policy after its owner added Tuesday 10 March 2026 as a holiday."""
    from tests.policies.office import rules

    edited = types.ModuleType(rules.__name__)
    edited.__dict__.update({k: v for k, v in vars(rules).items() if not k.startswith("__")})
    new_york = attrs.evolve(
        rules.NEW_YORK, holidays=(*rules.NEW_YORK.holidays, Holiday(dt.date(2026, 3, 10)))
    )
    edited.CALENDARS = attrs.evolve(rules.CALENDARS, default=new_york)  # type: ignore[attr-defined]
    return load_policy([edited])


def reply_due(state: Any) -> str:
    (reply,) = [p for p in state.pending if p.obligation == "reply"]
    return local(reply.due)


def test_a_calendar_change_applies_to_open_escalations_only_when_re_planned(
    engine_name: str,
) -> None:
    """Opened and asked on Monday at 15:00: the reply is due on Tuesday at 11:00, four office
    hours on. The owner then makes that Tuesday a holiday: the escalation keeps the plan it was
    made under until the host re-plans it, which moves the reply to Wednesday at 11:00 (the
    three open hours it had left at 16:00) and says so. The rules are the same: re-planning
    under the new policy adds, removes and changes nothing else."""
    engine = PolicyEngine(office(), engine=engine_name)  # type: ignore[arg-type]
    engine.handle(opened(ny(9, 10), severity="low"))
    engine.handle(fact("asked", ny(9, 15)))
    text = json.dumps(make_converter(office()).unstructure(engine.snapshot()))
    changed = office_with_a_new_holiday()
    restored = PolicyEngine.restore(
        json.loads(text),
        changed,
        engine=engine_name,  # type: ignore[arg-type]
        replan=True,
    )
    assert ny(10, 11) == reply_due(restored.escalation("E1"))
    (replanned,) = restored.replan(dt.datetime.fromisoformat(ny(9, 16)))
    assert ("E1", "new_york") == (replanned.escalation_id, replanned.calendar)
    assert replanned.before == office().calendar("new_york").identity
    assert replanned.after == changed.calendar("new_york").identity != replanned.before
    assert [("reply", ny(10, 11), ny(11, 11))] == [
        (m.obligation, local(m.before), local(m.after)) for m in replanned.moved
    ]
    assert ((), (), (), ()) == (
        replanned.plan,
        replanned.added,
        replanned.removed,
        replanned.changed,
    )
    assert ny(11, 11) == reply_due(restored.escalation("E1"))
    assert () == restored.replan(), "planned on today's calendar: nothing more to do"
    assert [] == violations(restored.handle(tick(ny(10, 11, 1))).actions)
    assert ["reply_late"] == [
        c for c, _ in violations(restored.handle(tick(ny(11, 11, 1))).actions)
    ]


def test_a_deadline_set_after_the_change_counts_on_the_pinned_calendar(engine_name: str) -> None:
    engine = PolicyEngine(office(), engine=engine_name)  # type: ignore[arg-type]
    engine.handle(opened(ny(9, 10), severity="low"))
    snapshot = json.loads(json.dumps(make_converter(office()).unstructure(engine.snapshot())))
    assert [office().calendar("new_york").document()] == snapshot["calendars"]
    del snapshot["policy"]  # written before snapshots recorded their policy: taken as it is
    restored = PolicyEngine.restore(snapshot, office_with_a_new_holiday(), engine=engine_name)  # type: ignore[arg-type]
    restored.handle(fact("asked", ny(9, 15)))
    assert ny(10, 11) == reply_due(restored.escalation("E1"))
    restored.replan()
    restored.handle(fact("replied", ny(9, 15, 30)))
    restored.handle(fact("asked", ny(9, 16)))
    assert ny(11, 12) == reply_due(restored.escalation("E1"))


def test_a_state_kept_before_calendars_were_pinned_counts_on_todays() -> None:
    engine = PolicyEngine(office())
    engine.handle(opened(ny(9, 10), severity="low"))
    data = make_converter(office()).unstructure(engine.snapshot())
    del data["escalations"][0]["calendar_identity"]
    del data["calendars"]
    del data["policy"]
    restored = PolicyEngine.restore(data, office_with_a_new_holiday())
    state = restored.escalation("E1")
    assert state is not None
    assert office_with_a_new_holiday().calendar("new_york").identity == state.calendar_identity
    assert () == restored.replan()


def test_a_store_keeps_the_calendar_its_escalations_are_pinned_to(new_store_url: Any) -> None:
    """Another process with the changed policy, on a store written before stores recorded
    their policy: the escalation keeps its plan, and deadlines set now count on its calendar,
    until `replan`."""
    url = new_store_url()
    with Service(url, office()) as service:
        service.handle(opened(ny(9, 10), severity="low"))
        service.store.run(lambda tx: tx.db.execute("DELETE FROM ep_meta WHERE key = 'policy'"))
    changed = office_with_a_new_holiday()
    with Service(url, changed) as service:
        service.handle(fact("asked", ny(9, 15)))
        assert ny(10, 11) == reply_due(service.escalation("E1"))
        (replanned,) = service.replan(dt.datetime.fromisoformat(ny(9, 16)))
        assert [(ny(10, 11), ny(11, 11))] == [
            (local(m.before), local(m.after)) for m in replanned.moved
        ]
        assert ny(11, 11) == reply_due(service.escalation("E1"))
        assert () == service.replan(dt.datetime.fromisoformat(ny(9, 16)))
        snapshot = service.snapshot()
        assert [changed.calendar("new_york").identity] == [c.identity for c in snapshot.calendars]


def test_the_figures_of_an_escalation_s_clocks_count_pauses_in_open_time() -> None:
    """Opened Monday 10:00, waiting on the customer from Monday 16:00 to Tuesday 10:00: by
    Tuesday 12:00 it ran 26 hours, 18 of them paused; its calendar was open 10 of those hours
    (Monday 10-17, Tuesday 9-12), 2 of them paused (Monday 16-17, Tuesday 9-10), so its clocks
    ran 8 open hours."""
    engine = PolicyEngine(office())
    for item in [
        opened(ny(9, 10), severity="low"),
        fact("waiting", ny(9, 16)),
        fact("back", ny(10, 10)),
    ]:
        engine.handle(item)
    state = engine.escalation("E1")
    assert state is not None
    figures = clock_figures(state, dt.datetime.fromisoformat(ny(10, 12)), policy=office())
    hours = dt.timedelta(hours=1)
    assert (26 * hours, 18 * hours, 10 * hours, 2 * hours, 8 * hours) == (
        figures.elapsed,
        figures.paused,
        figures.open_time,
        figures.paused_open_time,
        figures.business,
    )
    engine.handle(fact("waiting", ny(10, 12)))
    still = engine.escalation("E1")
    assert still is not None
    later = clock_figures(still, dt.datetime.fromisoformat(ny(10, 14)), policy=office())
    assert (20 * hours, 4 * hours, 8 * hours) == (
        later.paused,
        later.paused_open_time,
        later.business,
    )
