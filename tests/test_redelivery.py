"""A fact delivered again (at-least-once delivery: the same ``id``, the same fact, about an
escalation the engine still knows) is taken once by an audit, as a store takes it once: the
report is the history's without it, in one process, written as it goes, and in parts. Another
fact under an id taken before is refused."""

import datetime as dt
import json
import pathlib
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from escalation_policy import AuditReport, audit, audit_streamed, default_policy
from escalation_policy.cli import main
from escalation_policy.testing import strategies
from tests.test_audit_parts import _as_json, _merged

POLICY = default_policy()
CLOSING = {"closed"}
"""Facts after which the engine may forget the escalation at once: a copy is then new to it."""
AS_OF = dt.datetime(2026, 3, 9, tzinfo=dt.timezone.utc)

OPENED = {
    "type": "opened",
    "id": "crm-1",
    "escalation_id": "E1",
    "customer": "Acme",
    "segment": "enterprise",
    "severity": "critical",
    "at": "2026-03-02T09:00:00Z",
}
CREATED_POST = {
    "type": "posted",
    "id": "chat-7",
    "escalation_id": "E1",
    "channel": POLICY.channel,
    "purpose": "created",
    "by": "support_engineering",
    "url": "https://docs.example/e1",
    "at": "2026-03-02T09:10:00Z",
}


def _without_counts(report: AuditReport) -> dict[str, Any]:
    """The report's JSON form but for what redeliveries change: the items read and the count
    of redeliveries."""
    data = report.to_json()
    del data["facts"]
    data["totals"].pop("redelivered", None)
    return data


@st.composite
def redelivered_histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[int]]:
    """A coherent history with ids, and which of its facts (by index) to deliver again right
    after themselves: not a closing, nor anything after its escalation closed (the engine may
    have forgotten it: a copy is then new to it)."""
    history = draw(strategies.histories(max_escalations=4, max_steps=30))
    items = [{**item, "id": f"fact-{n}"} for n, item in enumerate(_as_json(history, POLICY))]
    closed: set[str] = set()
    copies = []
    for index, item in enumerate(items):
        escalation_id = item.get("escalation_id")
        if item["type"] in CLOSING and escalation_id is not None:
            closed.add(escalation_id)
        elif escalation_id is not None and escalation_id not in closed and draw(st.booleans()):
            copies.append(index)
    return items, copies


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(redelivered_histories(), st.integers(2, 3))
def test_a_fact_delivered_again_is_taken_once_in_every_way_an_audit_runs(
    drawn: tuple[list[dict[str, Any]], list[int]], parts: int
) -> None:
    items, copies = drawn
    once = audit(items, keep_going=True)
    assume(not once.refused)  # a copy of a refused fact is no redelivery of a fact taken
    again: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        again.append(item)
        if index in copies:
            again.append(dict(item))
    twice = audit(again, keep_going=True)
    assert (0, len(copies), len(again)) == (
        once.totals.redelivered,
        twice.totals.redelivered,
        twice.facts,
    )
    assert _without_counts(once) == _without_counts(twice)
    streamed = audit_streamed(again, keep_going=True)
    with streamed:
        assert attrs.evolve(twice, escalations=()) == streamed.report
    assert twice.to_json() == _merged(again, parts, POLICY, keep_going=True).to_json()


def test_another_fact_under_an_id_taken_before_is_refused(tmp_path: pathlib.Path) -> None:
    other = {**CREATED_POST, "purpose": "update", "at": "2026-03-02T12:00:00Z"}
    history = [OPENED, CREATED_POST, dict(CREATED_POST), other]
    report = audit(history, keep_going=True)
    assert 1 == report.totals.redelivered
    (refused,) = report.refused
    assert (4, "duplicate_fact", "$.id") == (refused.line, refused.code, refused.path)
    assert (
        "the fact 'chat-7' was taken before with at 2026-03-02T09:10:00+00:00, and now has "
        "2026-03-02T12:00:00+00:00; expected the same fact again (a redelivery), or a new id "
        "for another fact"
    ) == refused.reason
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in history))
    assert 2 == main(["audit", str(path)])
    out = tmp_path / "report.md"
    assert 2 == main(["audit", str(path), "--keep-going", "-o", str(out)])
    assert "1 refused, 1 redelivered (each taken once)." in out.read_text()
    text = tmp_path / "report.txt"
    assert 2 == main(["audit", str(path), "--keep-going", "-o", str(text)])
    assert "redelivered 1 (each taken once)" in text.read_text()


def test_facts_without_ids_are_each_taken_as_before() -> None:
    """No id, nothing to tell a redelivery by: a second copy of the created post is a post
    of its own, and the report of a history without ids has no ``redelivered`` figure."""
    opened, post = (
        {key: value for key, value in item.items() if key != "id"}
        for item in (OPENED, CREATED_POST)
    )
    without = audit([opened, post, dict(post)], keep_going=True, as_of=AS_OF)
    assert 0 == without.totals.redelivered
    assert "redelivered" not in without.to_json()["totals"]
    with_ids = audit([OPENED, CREATED_POST, dict(CREATED_POST)], keep_going=True, as_of=AS_OF)
    assert 1 == with_ids.totals.redelivered
    assert without.facts == with_ids.facts == 3
    assert without.coverage != with_ids.coverage  # the copy's rules fired once more


def test_a_copy_after_the_engine_forgot_the_escalation_is_new_to_it() -> None:
    """Closed, its closing post made, the escalation is forgotten: a closing delivered again
    is a fact about an escalation the engine does not know, in memory, written as it goes and
    in parts alike (a store that pruned the id takes it so too)."""
    low = {**OPENED, "severity": "low"}
    closed_post = {
        **CREATED_POST,
        "id": "chat-8",
        "purpose": "closed",
        "at": "2026-03-03T09:00:00Z",
    }
    closed = {"type": "closed", "id": "c", "escalation_id": "E1", "at": "2026-03-03T09:05:00Z"}
    items = [low, CREATED_POST, closed_post, closed, dict(closed)]
    report = audit(items, keep_going=True, as_of=AS_OF)
    assert (5, 0) == (report.facts, report.totals.redelivered)
    streamed = audit_streamed(items, keep_going=True, as_of=AS_OF)
    with streamed:
        assert attrs.evolve(report, escalations=()) == streamed.report
    assert report.to_json() == _merged(items, 2, POLICY, keep_going=True, as_of=AS_OF).to_json()


@pytest.mark.parametrize(
    ("case", "order", "expected"),
    [
        ("posted before its opening, delivered twice", "PPO", {"document_link_missing": 1}),
        (
            "posted before its opening, delivered again after it",
            "POP",
            {"document_link_missing": 1},
        ),
        ("about an escalation never opened, delivered twice", "PPT", {"channel_misuse": 1}),
    ],
)
def test_a_fact_held_for_its_opening_delivered_again_is_taken_once(
    case: str, order: str, expected: dict[str, int]
) -> None:
    """A post that reached the host before the CRM's opening is held for it (the opening
    grace); delivered again, before or after the opening, it is taken once, as a store takes
    it: one post, one report of what it lacks."""
    post = {**CREATED_POST, "by": "other", "url": None, "at": "2026-03-02T09:00:00Z"}
    opening = {**OPENED, "severity": "low", "at": "2026-03-02T09:03:00Z"}
    tick = {"type": "tick", "at": "2026-03-04T09:00:00Z"}
    items = [{"P": post, "O": opening, "T": tick}[letter] for letter in order]
    if order != "PPT":
        items.append(tick)
    report = audit(items, keep_going=True)
    assert (1, ()) == (report.totals.redelivered, report.refused), case
    codes = dict(report.totals.violations_by_code)
    assert expected.items() <= codes.items(), case
    assert report.to_json() == _merged(items, 2, POLICY, keep_going=True).to_json()
    streamed = audit_streamed(items, keep_going=True)
    with streamed:
        assert attrs.evolve(report, escalations=()) == streamed.report
