"""Reminders: a rule may ask for the owner to be nudged a while before an obligation falls
due (a `reminder` action), once per due time, so that hosts can prevent a miss."""

import datetime as dt
import types
from typing import Any

import attrs
import pytest

from escalation_policy import PolicyDefinitionError, PolicyEngine, load_policy, make_converter
from escalation_policy.rules import MODULES, communication
from escalation_policy.vocabulary import Require
from tests.conftest import Scenario, at

CONVERTER = make_converter()


def _communication(**reminders: dt.timedelta) -> types.ModuleType:
    """The communication module, with reminders on the created post and on the updates."""
    edited = types.ModuleType(communication.__name__)
    edited.__dict__.update(
        {key: value for key, value in vars(communication).items() if not key.startswith("__")}
    )
    reactions = []
    for reaction in communication.REACTIONS:
        then = []
        for effect in reaction.then:
            if not isinstance(effect, Require):
                pass
            elif effect.obligation is communication.CHANNEL_POST and "post" in reminders:
                effect = attrs.evolve(effect, remind_before=reminders["post"])
            elif effect.obligation is communication.CHANNEL_UPDATE and "updates" in reminders:
                effect = attrs.evolve(effect, remind_before=reminders["updates"])
            then.append(effect)
        reactions.append(attrs.evolve(reaction, then=tuple(then)))
    edited.REACTIONS = tuple(reactions)  # type: ignore[attr-defined]
    return edited


def _policy(settings: dict[str, str] | None = None, **reminders: dt.timedelta) -> Any:
    edited = _communication(**reminders)
    modules = [edited if name == edited.__name__ else name for name in MODULES]
    return load_policy(modules, settings=settings)


def _reminders(decision: Any) -> list[tuple[str, str | None, dt.datetime]]:
    return [(a.obligation, a.key, a.due) for a in decision.actions if a.TYPE == "reminder"]


@pytest.fixture
def reminded(engine_name: str) -> Scenario:
    policy = _policy(post=dt.timedelta(minutes=30), updates=dt.timedelta(hours=2))
    scenario = Scenario(PolicyEngine(policy, engine=engine_name))  # type: ignore[arg-type]
    scenario.open(severity="critical", tam="alex", initiated_by="tam")
    return scenario


def test_the_owner_is_reminded_before_a_required_post_falls_due_once(reminded: Scenario) -> None:
    """The created post is due two hours after opening: a reminder half an hour before."""
    assert [] == _reminders(reminded.tick(at(hours=1, minutes=29)))
    first = reminded.tick(at(hours=1, minutes=31))
    assert [("channel_post", "created", at(hours=2))] == _reminders(first)
    assert "tam" == first.actions[0].owner.value  # type: ignore[attr-defined]
    assert [] == _reminders(reminded.tick(at(hours=1, minutes=50)))
    made = reminded.post(at(hours=1, minutes=55), "created", "tam")
    assert [False] == [f.late for f in made.fulfilled]


def test_each_period_of_a_periodic_obligation_is_reminded(reminded: Scenario) -> None:
    """Updates are due by the end of each business day's date after the opening's (a Monday):
    the owner is reminded two open hours before each (15:00), and an update late that evening
    still counts for the day."""
    reminded.post(at(minutes=10), "created", "tam")
    assert [] == _reminders(reminded.tick(at(days=1, hours=5, minutes=59)))
    first = reminded.tick(at(days=1, hours=6, minutes=1))
    assert [("channel_update", None, at(days=1, hours=15))] == _reminders(first)  # Tuesday's end
    made = reminded.post(at(days=1, hours=14), "update", "tam")  # Tuesday 23:00
    assert [False] == [f.late for f in made.fulfilled]
    second = reminded.tick(at(days=2, hours=6, minutes=1))  # the next: by Wednesday's end
    assert [("channel_update", None, at(days=2, hours=15))] == _reminders(second)


def test_a_missed_obligation_is_reported_not_reminded(reminded: Scenario) -> None:
    """A fact long after the due time reports the miss; only what is still ahead is reminded."""
    late = reminded.tick(at(hours=3))
    assert ["post_overdue"] == [a.code.value for a in late.actions if a.TYPE == "violation"]
    assert [] == _reminders(late)


def test_a_reminder_round_trips_through_json_and_names_no_key_when_it_has_none(
    reminded: Scenario,
) -> None:
    reminded.post(at(minutes=10), "created", "tam")
    tick = reminded.tick(at(days=1, hours=7))
    reminder = next(a for a in tick.actions if a.TYPE == "reminder")
    body = CONVERTER.unstructure(reminder)
    assert "key" not in body
    assert {"type", "escalation_id", "at", "rule", "cites", "obligation", "due", "owner"} == set(
        body
    )
    assert reminder == CONVERTER.structure(body, type(reminder))


def test_the_default_policy_sends_no_reminder() -> None:
    scenario = Scenario(PolicyEngine())
    scenario.open(severity="critical", tam="alex", initiated_by="tam")
    assert [] == _reminders(scenario.tick(at(hours=1, minutes=59)))


@pytest.mark.parametrize(
    ("remind", "message"),
    [
        (dt.timedelta(hours=2), "expected less than within"),
        (dt.timedelta(days=1), "expected less than the shortest period"),
        (dt.timedelta(hours=-1), "expected a positive timedelta"),
    ],
)
def test_a_reminder_that_cannot_come_before_the_due_time_fails_to_load(
    remind: dt.timedelta, message: str
) -> None:
    # Critical escalations updated every 24 hours: a period of calendar time the reminder of
    # one day cannot come within.
    rolling = {"critical_update_every": "1d"}
    reminders = {"post": remind} if remind < dt.timedelta(days=1) else {"updates": remind}
    with pytest.raises(PolicyDefinitionError, match=message):
        _policy(rolling, **reminders)
