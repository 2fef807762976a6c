"""The testing kit hosts use: timeline, assertions, strategies, the plugin and coverage."""

import os
import pathlib
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation_policy import Closed, Opened, Posted, Tick
from escalation_policy.model import Fact
from escalation_policy.testing import Timeline, assert_actions, assert_compliant
from escalation_policy.testing.strategies import histories

HOST_TESTS = pathlib.Path(__file__).parent.parent / "examples" / "host_tests"


def test_timeline_builds_facts_with_defaults_and_advancing_time() -> None:
    timeline = Timeline()
    timeline.open(severity="critical").post("created").after(hours=30)
    opened, posted, tick = timeline.facts
    assert [Opened, Posted, Tick] == [type(fact) for fact in timeline.facts]
    assert isinstance(posted, Posted)
    assert ("tam", "#escalated_customers") == (posted.by.value, posted.channel)
    assert 30 * 3600 == (tick.at - opened.at).total_seconds()
    assert {"update_overdue", "meeting_overdue"} == {
        a.code.value for a in timeline.last.actions if a.TYPE == "violation"
    }


def test_timeline_needs_an_open_escalation() -> None:
    with pytest.raises(ValueError, match="open"):
        Timeline().post("created")


def test_assert_actions_shows_missing_and_unexpected_with_citations() -> None:
    timeline = Timeline().open(severity="low")
    with pytest.raises(AssertionError) as caught:
        assert_actions(timeline.last, {"type": "assign_owner", "owner": "tam"}, exact=True)
    message = str(caught.value)
    assert "missing:\n  {'type': 'assign_owner', 'owner': 'tam'}" in message
    assert "unexpected:" in message
    assert "[responsibilities.owner/medium_and_low · Responsibilities > Medium and Low" in message


def test_assert_actions_passes_on_a_partial_match() -> None:
    timeline = Timeline().open(severity="low")
    assert_actions(timeline.last, {"type": "assign_owner", "owner": "support_engineering"})


def test_assert_compliant_lists_violations_with_rules() -> None:
    timeline = Timeline().open(severity="critical").after(hours=3)
    with pytest.raises(AssertionError) as caught:
        assert_compliant(timeline)
    assert "post_overdue" in str(caught.value)
    assert "rule communication.post_when_created · Communication Process" in str(caught.value)


@settings(max_examples=30, deadline=None)
@given(histories())
def test_generated_histories_are_coherent(history: list[Fact]) -> None:
    times = [fact.at for fact in history]
    assert times == sorted(times)
    opened: set[str] = set()
    closed: set[str] = set()
    for fact in history:
        escalation_id = getattr(fact, "escalation_id", None)
        if isinstance(fact, Opened):
            opened.add(fact.escalation_id)
        elif escalation_id is not None:
            assert escalation_id in opened, "opened before anything else"
            if escalation_id in closed:
                assert isinstance(fact, Posted), "after closed, only posts"
        if isinstance(fact, Closed):
            closed.add(fact.escalation_id)


@settings(max_examples=20, deadline=None)
@given(st.from_type(Opened))
def test_strategies_are_registered_for_the_librarys_types(opened: Opened) -> None:
    assert opened.at.tzinfo is not None


def test_the_host_suite_passes_with_the_plugin_and_reports_coverage() -> None:
    env = {**os.environ, "PYTHONPATH": ""}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--policy-coverage",
            "--rootdir",
            str(HOST_TESTS),
            str(HOST_TESTS),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=HOST_TESTS,
        env=env,
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    assert "6 passed" in result.stdout
    assert "escalation-policy coverage" in result.stdout
    assert "rules and table rows exercised" in result.stdout
    assert "never exercised: communication.not_for_initiation" in result.stdout


def test_the_plugin_is_not_loaded_unless_asked_for(tmp_path: pathlib.Path) -> None:
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--policy-coverage",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert 0 != result.returncode
    assert "unrecognized arguments: --policy-coverage" in result.stderr
