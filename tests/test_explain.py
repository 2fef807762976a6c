"""``explain``: why the policy decided as it did on one fact, and why a rule did not fire; and
``replay --trace``. The explanation re-evaluates every compiled condition on the values the
decision read: it must agree with the engine's own decision on every fact of every history."""

import datetime as dt
import json
import pathlib
from typing import Any

import pytest
from hypothesis import given, settings

from escalation_policy import (
    Explanation,
    InputError,
    PolicyEngine,
    default_policy,
    explain,
    load_policy,
)
from escalation_policy.cli import main
from escalation_policy.cli._common import read_facts
from escalation_policy.model import EscalationFact, Fact
from escalation_policy.policy import Policy
from escalation_policy.testing.strategies import histories
from tests.conftest import examples

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
LATER = EXAMPLES / "policies" / "later_process"
OFFICE = "tests.policies.office"
HANDBOOK = default_policy()
LATER_PROCESS = load_policy(str(LATER))
WALKS = ROOT / "tests" / "data" / "rule_walk"
# Histories in which every rule of the shipped policies fires: the examples, and for the rules
# they do not reach, histories drawn for them (tests/data/rule_walk). Facts about escalations
# not open (posts, a TAM told) are decided at once (no opening grace), for their rules to fire
# on the fact itself.
SHIPPED = {
    "handbook": [
        (
            HANDBOOK,
            [
                *sorted(EXAMPLES.glob("*.jsonl")),
                *sorted(set(WALKS.glob("handbook-*.jsonl")) - set(WALKS.glob("*-no-open-*"))),
            ],
        ),
        (load_policy(opening_grace=dt.timedelta(0)), sorted(WALKS.glob("handbook-*-no-open-*"))),
    ],
    "later process": [
        (
            LATER_PROCESS,
            [*sorted((LATER / "examples").glob("*.jsonl")), *sorted(WALKS.glob("later_process-*"))],
        )
    ],
}


def _facts(path: pathlib.Path, policy: Policy) -> list[Fact]:
    with path.open("rb") as stream:
        return [fact for _, fact in read_facts(stream, policy)]


def _agrees_with_the_engine(explanation: Explanation, policy: Policy) -> set[str]:
    """Every rule of the policy gets an answer naming it, which says it fired exactly when the
    engine's decision matched it; returns the rules that fired."""
    fired = set(explanation.matched)
    shown = {r.id for r in explanation.reactions if r.matched}
    shown |= {row.id for table in explanation.tables for row in table.rows if row.won}
    shown |= set(explanation.released_matched)
    assert fired == shown, "the conditions re-evaluated say what the engine decided"
    for rule in policy.rules:
        answer = explanation.why_not(rule)
        assert rule in answer.reason
        assert (rule in fired) == answer.fired, answer.reason
        if not answer.fired and answer.condition is not None:
            assert not answer.condition.passed
    return fired


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_rule_of_both_shipped_policies_is_answered_on_every_fact_of_their_examples(
    name: str,
) -> None:
    """On every fact of the histories, explain and why_not answer for every rule of the
    policy, naming it; every rule fires in some history, and where it fires, explain shows it
    passing, every one of its conditions passed."""
    fired: set[str] = set()
    for policy, paths in SHIPPED[name]:
        for path in paths:
            facts = _facts(path, policy)
            for line, fact in enumerate(facts, start=1):
                if not isinstance(fact, EscalationFact):
                    continue
                explanation = explain(facts, line=line, policy=policy)
                fired |= _agrees_with_the_engine(explanation, policy)
                for reaction in explanation.reactions:
                    if reaction.id in explanation.matched:
                        assert all(c.passed for c in reaction.conditions)
    assert sorted(SHIPPED[name][0][0].rules) == sorted(fired)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_explain_agrees_with_the_engine_on_any_history(name: str) -> None:
    """For any history drawn for the policy, on each fact, the rules explain shows passing
    are exactly those the engine matched, and every other rule has a reason not to fire."""
    policy = SHIPPED[name][0][0]

    @settings(max_examples=examples(20))
    @given(histories(policy=policy, max_escalations=2, max_steps=14))
    def check(facts: list[Fact]) -> None:
        for line, fact in enumerate(facts, start=1):
            if isinstance(fact, EscalationFact):
                _agrees_with_the_engine(explain(facts, line=line, policy=policy), policy)

    check()


def _opened(escalation_id: str = "E1", severity: str = "critical", **more: Any) -> dict[str, Any]:
    return {
        "type": "opened",
        "at": "2026-03-02T09:00:00Z",
        "escalation_id": escalation_id,
        "customer": "Acme",
        "segment": "enterprise",
        "severity": severity,
        "tam": "Alex",
        **more,
    }


def _lowered(at: str = "2026-03-03T09:00:00Z") -> dict[str, Any]:
    return {"type": "severity_changed", "at": at, "escalation_id": "E1", "severity": "low"}


def test_explain_shows_the_values_each_table_read_and_the_row_that_matched() -> None:
    explanation = explain(
        [_opened(), _lowered()], "E1", at=dt.datetime(2026, 3, 4, tzinfo=dt.timezone.utc)
    )
    assert 2 == explanation.line, "the last fact about E1 at or before the time"
    levels = next(table for table in explanation.tables if table.id == "severity.levels")
    assert {"severity": "low"} == levels.inputs
    assert ["severity.levels/low"] == [row.id for row in levels.rows if row.won]
    high = next(row for row in levels.rows if row.id == "severity.levels/high")
    assert [("severity", "low", False)] == [(c.field, c.value, c.passed) for c in high.cells]
    answer = explanation.why_not("severity.levels/high")
    assert not answer.fired
    assert "severity is 'low', expected 'high'" in answer.reason


def test_why_not_names_the_failed_condition_with_the_value_tested() -> None:
    """Lowering a Critical escalation to Low: the TAM is no longer needed, and the reaction
    for raising does not fire because the severity was not raised."""
    explanation = explain([_opened(), _lowered()], line=2)
    answer = explanation.why_not("communication.update_when_raised")
    assert not answer.fired
    assert answer.condition is not None
    assert ("severity_raised", False) == (answer.condition.field, answer.condition.value)
    assert explanation.why_not("responsibilities.tam_no_longer_needed").fired


def test_why_not_says_when_the_rule_reacts_to_other_facts_or_the_plan_was_not_made() -> None:
    posted = {
        "type": "posted",
        "at": "2026-03-02T09:30:00Z",
        "escalation_id": "E1",
        "channel": "#escalated_customers",
        "purpose": "created",
        "by": "tam",
        "url": "https://docs.example.com/e1",
    }
    explanation = explain([_opened(), posted], line=2)
    reacts = explanation.why_not("responsibilities.tam_informed")
    assert "reacts to tam_informed facts, not to the posted fact at line 2" in reacts.reason
    row = explanation.why_not("severity.levels/critical")
    assert not row.fired
    assert "the table severity.levels was not consulted" in row.reason
    with pytest.raises(KeyError, match=r"did you mean 'severity\.levels/critical'"):
        explanation.why_not("severity.levels/critcal")


def test_the_pending_obligations_before_and_after_name_their_rule_and_calendar() -> None:
    """The office policy: a page is due within twelve hours of calendar time, a reply within
    four business hours of its New York calendar."""
    policy = load_policy(OFFICE)
    opened = {
        "type": "opened",
        "at": "2026-03-02T14:00:00Z",
        "escalation_id": "E1",
        "customer": "Acme",
        "severity": "high",
    }
    paged = {"type": "paged", "at": "2026-03-02T14:10:00Z", "escalation_id": "E1"}
    asked = {"type": "asked", "at": "2026-03-02T14:20:00Z", "escalation_id": "E1"}
    explanation = explain([opened, paged, asked], line=3, policy=policy)
    before = {p.obligation: p for p in explanation.pending_before}
    after = {p.obligation: p for p in explanation.pending_after}
    assert "reply" not in before
    assert "office.asked" == after["reply"].rule
    new_york = policy.calendar("new_york")
    assert ("new_york", new_york.identity) == (
        after["reply"].calendar,
        after["reply"].calendar_identity,
    )
    assert (None, None) == (after["acknowledge"].calendar, after["acknowledge"].calendar_identity)
    assert after["acknowledge"] == before["acknowledge"], "what the fact did not touch"


def test_a_fact_about_an_escalation_the_engine_does_not_know_is_explained_on_its_own_fields() -> (
    None
):
    misuse = {
        "type": "posted",
        "at": "2026-03-02T09:30:00Z",
        "escalation_id": "NEVER",
        "channel": "#escalated_customers",
        "purpose": "tracking",
        "by": "tam",
    }
    at_once = load_policy(opening_grace=dt.timedelta(0))
    explanation = explain([_opened(), misuse], line=2, policy=at_once)
    assert not explanation.known
    assert not explanation.held
    assert explanation.matched
    _agrees_with_the_engine(explanation, at_once)
    assert all(not table.consulted for table in explanation.tables)
    misused = explanation.why_not("communication.not_for_tracking_when_not_open")
    assert misused.fired, misused.reason
    known_only = explanation.why_not("communication.not_for_tracking")
    assert "takes facts about escalations the engine knows" in known_only.reason


def test_a_fact_held_for_its_escalations_opening_is_explained_as_held() -> None:
    """Within the opening grace, a post about an escalation not opened yet waits for it."""
    misuse = {
        "type": "posted",
        "at": "2026-03-02T09:30:00Z",
        "escalation_id": "LATER",
        "channel": "#escalated_customers",
        "purpose": "tracking",
        "by": "tam",
    }
    explanation = explain([_opened(), misuse], line=2)
    assert explanation.held
    assert () == explanation.matched
    _agrees_with_the_engine(explanation, HANDBOOK)
    assert "is held for the opening of 'LATER'" in explanation.why_not("severity.plan").reason


def test_an_opening_explains_the_held_facts_it_releases() -> None:
    """A created post made a minute before the opening waits for it and is applied right
    after: the opening's explanation names the post and the rule that fired on it."""
    post = {
        "type": "posted",
        "at": "2026-03-02T08:59:00Z",
        "escalation_id": "E1",
        "channel": "#escalated_customers",
        "purpose": "created",
        "by": "tam",
        "url": "https://docs.example.com/E1",
    }
    explanation = explain([post, _opened()], line=2)
    assert ["posted"] == [fact.TYPE for fact in explanation.released]
    assert ("communication.required_post_made",) == explanation.released_matched
    answer = explanation.why_not("communication.required_post_made")
    assert answer.fired
    assert "held for this opening" in answer.reason
    assert ["communication.required_post_made"] == explanation.to_json()["released_matched"]
    _agrees_with_the_engine(explanation, HANDBOOK)


def test_a_refused_fact_is_explained_as_refused() -> None:
    explanation = explain([_opened(), _opened()], line=2)
    assert explanation.refused is not None
    assert "already open" in explanation.refused
    assert () == explanation.actions
    answer = explanation.why_not("severity.plan")
    assert "refused" in answer.reason
    assert "severity.plan" in answer.reason


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        pytest.param({"line": 3}, "holds no fact", id="past the end"),
        pytest.param({"line": 1, "escalation_id": "E2"}, "not 'E2'", id="another escalation"),
        pytest.param(
            {"escalation_id": "E2", "at": dt.datetime(2026, 3, 4, tzinfo=dt.timezone.utc)},
            "no fact about 'E2'",
            id="no such escalation",
        ),
        pytest.param({}, "a line or a time", id="neither"),
    ],
)
def test_explain_without_such_a_fact_is_an_input_error(
    arguments: dict[str, Any], words: str
) -> None:
    with pytest.raises(InputError, match=words):
        explain([_opened(), {"type": "tick", "at": "2026-03-03T00:00:00Z"}], **arguments)


def test_the_explanation_is_json() -> None:
    data = explain([_opened(), _lowered()], line=2).to_json()
    assert data == json.loads(json.dumps(data))
    assert "severity_changed" == data["fact"]["type"]
    keys = {"id", "matched", "conditions", "on", "applies", "effects"}
    assert keys <= data["reactions"][0].keys()
    assert all("calendar_identity" in pending for pending in data["pending_after"])


# -------------------------------------------------------------------------------- command line
def _history(tmp_path: pathlib.Path, *facts: dict[str, Any]) -> str:
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(fact) + "\n" for fact in facts))
    return str(path)


def test_the_command_explains_the_fact_at_a_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _history(tmp_path, _opened(), _lowered())
    assert 0 == main(["explain", path, "--line", "2"])
    out = capsys.readouterr().out
    assert f"E1: the severity_changed fact at {path}:2" in out
    assert "matched severity.levels/low" in out
    assert "failed  severity.levels/high: severity is 'low', expected 'high'" in out
    assert "did not fire communication.update_when_raised" in out
    assert "Pending before the fact:" in out


def test_the_command_answers_why_not_for_a_time_and_an_escalation(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _history(tmp_path, _opened(), _lowered())
    arguments = ["explain", path, "--at", "2026-03-03T12:00:00Z", "--escalation", "E1"]
    assert 0 == main([*arguments, "--why-not", "communication.update_when_raised"])
    out = capsys.readouterr().out
    assert out.startswith("communication.update_when_raised did not fire on the severity_changed")
    assert f"at {path}:2" in out
    assert 0 == main([*arguments, "--why-not", "severity.plan", "--format", "json"])
    answer = json.loads(capsys.readouterr().out)
    assert {"rule": "severity.plan", "fired": True} == {k: answer[k] for k in ("rule", "fired")}


def test_the_command_prints_the_explanation_as_json(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _history(tmp_path, _opened(), _lowered())
    assert 0 == main(["explain", path, "--line", "2", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert (path, 2) == (data["file"], data["line"])
    assert data["matched"] == explain([_opened(), _lowered()], line=2).to_json()["matched"]


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        pytest.param(["--line", "1", "--why-not", "severity.plann"], "did you mean", id="rule"),
        pytest.param(["--line", "3"], "no fact at line 3", id="no such line"),
        pytest.param(["--line", "x"], "expected a line number", id="not a number"),
        pytest.param(["--line", "\u0662"], "expected a line number", id="an Arabic-Indic 2"),
        pytest.param(["--at", "2026-03-03T00:00:00Z"], "--escalation", id="at without id"),
        pytest.param(["--at", "yesterday", "--escalation", "E1"], "--at", id="bad time"),
        pytest.param(["--line", "2"], "expected a fact about one escalation", id="a tick"),
    ],
)
def test_the_command_refuses_what_it_cannot_explain_with_status_2(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], arguments: list[str], words: str
) -> None:
    path = _history(tmp_path, _opened(), {"type": "tick", "at": "2026-03-03T00:00:00Z"})
    assert 2 == main(["explain", path, *arguments])
    assert words in capsys.readouterr().err


def test_a_refused_line_is_named_with_its_file_and_field(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Asked to explain a line the policy refuses, the command says which file, which line,
    what arrived, what was expected and at which field, as ``replay`` does."""
    first = _history(tmp_path, _opened())
    second = tmp_path / "later.jsonl"
    second.write_text(json.dumps(_lowered() | {"severity": "urgent"}) + "\n")
    assert 2 == main(["explain", first, str(second), "--line", f"{second}:1"])
    error = capsys.readouterr().err
    assert f"{second}: line 1 holds no fact: got 'urgent', expected one of " in error
    assert error.rstrip().endswith("@ $.severity"), error


def test_with_several_files_a_line_names_its_file(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _history(tmp_path, _opened())
    second = tmp_path / "later.jsonl"
    second.write_text(json.dumps(_lowered()) + "\n")
    assert 2 == main(["explain", first, str(second), "--line", "1"])
    assert "expected FILE:N" in capsys.readouterr().err
    assert 0 == main(["explain", first, str(second), "--line", f"{second}:1"])
    assert f"the severity_changed fact at {second}:1" in capsys.readouterr().out
    assert 2 == main(["explain", first, str(second), "--line", f"{second}:\u0661"])
    assert "expected a line number of 1 or more" in capsys.readouterr().err


def test_replay_trace_adds_the_line_and_the_rules_that_matched_to_each_action(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = EXAMPLES / "severity-change.jsonl"
    assert 0 == main(["replay", str(path), "--trace", "--format", "json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    engine = PolicyEngine()
    with path.open("rb") as stream:
        matched = {number: engine.handle(fact).matched for number, fact in read_facts(stream)}
    assert lines
    for action in lines:
        trace = action["trace"]
        assert str(path) == trace["file"]
        assert list(matched[trace["line"]]) == trace["matched"]
    assert 0 == main(["replay", str(path), "--trace", "--format", "table"])
    assert f"{path}:1 matched scope.customers/enterprise" in capsys.readouterr().out


def test_explain_names_what_the_fact_met_and_work_done_a_little_before_it(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A closed post five minutes before the closing meets the closed post the closing
    requires: the explanation of the closing says so, with the time of the post."""
    post = {
        "type": "posted",
        "at": "2026-03-03T10:00:00Z",
        "escalation_id": "E1",
        "channel": "#escalated_customers",
        "purpose": "closed",
        "by": "tam",
        "url": "https://docs.example.com/d",
    }
    closed = {"type": "closed", "at": "2026-03-03T10:05:00Z", "escalation_id": "E1"}
    path = _history(tmp_path, _opened(), post, closed)
    assert 0 == main(["explain", path, "--line", "2"])
    assert (
        "Kept as work done early:\n  channel_post 'closed': this fact counts for it if it is "
        "required within 8h of business time\n"
    ) in capsys.readouterr().out
    assert 0 == main(["explain", path, "--line", "3"])
    out = capsys.readouterr().out
    assert (
        "Met:\n  channel_post 'closed', due 2026-03-04 10:05 +00:00 "
        "(communication.post_when_closed): by the work at 2026-03-03 10:00 +00:00, a little "
        "before the fact that required it\n"
    ) in out
    assert 0 == main(["explain", path, "--line", "3", "--format", "json"])
    (met,) = json.loads(capsys.readouterr().out)["met"]
    assert ("channel_post", "closed", "2026-03-03T10:00:00+00:00") == (
        met["obligation"],
        met["key"],
        met["at"],
    )
