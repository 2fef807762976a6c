"""The benchmarks' workload looks like real history under the handbook's policy, and the
hand-written host the benchmarks compare ``handle()`` with gives the library's actions."""

import collections
import datetime as dt
import importlib.util
import json
import pathlib
import sys
from types import ModuleType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from escalation_policy import Action, Fact, PolicyEngine, default_policy, make_converter

BENCHMARKS = pathlib.Path(__file__).parent.parent / "benchmarks"


def _module(name: str) -> ModuleType:
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))  # host.py and workload.py import each other's peers
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def workload() -> ModuleType:
    return _module("workload")


@pytest.fixture(scope="module")
def host() -> ModuleType:
    return _module("host")


def _violations(lines: list[str]) -> collections.Counter[str]:
    engine = PolicyEngine()
    codes: collections.Counter[str] = collections.Counter()
    for line in lines:
        for action in engine.handle(json.loads(line)).actions:
            if action.TYPE == "violation":
                codes[action.code] += 1
    return codes


def test_the_realistic_mix_has_every_fact_type_the_policy_declares(workload: Any) -> None:
    lines, _ = workload.realistic_lines(escalations=200, open_at_once=200)
    seen = {json.loads(line)["type"] for line in lines}
    declared = set(default_policy().terms.facts) | {"tick"}
    assert declared == seen


@pytest.mark.parametrize("history", ["realistic_lines", "history_lines"])
def test_violations_exist_and_are_a_minority(workload: Any, history: str) -> None:
    """A team that mostly follows the handbook: some of everything it can miss is missed,
    and violations stay a small share of the facts (as the quick benchmarks print)."""
    if history == "realistic_lines":
        lines, _ = workload.realistic_lines(escalations=200, open_at_once=200)
    else:
        lines = list(workload.history_lines(20_000))
    codes = _violations(lines)
    rate = sum(codes.values()) / len(lines)
    assert 0.005 < rate < 0.06, codes
    assert {"post_overdue", "update_overdue", "cadence_missed"} <= set(codes), codes
    assert codes["document_link_missing"] < codes["post_overdue"], codes
    assert codes["tam_missing"] < codes["post_overdue"], codes


def test_the_hand_written_host_gives_the_library_s_actions(workload: Any, host: Any) -> None:
    """Action for action, the same JSON in the same order, from fact objects and from JSON
    lines (the benchmarks stop at the first difference; here the first is shown)."""
    mix = workload.realistic_mix(escalations=200, open_at_once=200)
    converter = make_converter()
    engine, from_objects, from_lines = PolicyEngine(), host.Host(), host.Host()
    for number, fact in enumerate(mix.backlog + mix.facts):
        expected = [converter.unstructure(a, Action) for a in engine.handle(fact).actions]
        line = json.dumps(converter.unstructure(fact, Fact))
        assert (number, expected) == (number, from_objects.handle(fact))
        assert (number, [json.dumps(a) for a in expected]) == (
            number,
            from_lines.handle_line(line),
        )
    assert len(engine) == len(from_objects) == len(from_lines)


_TAMS = ("ann", "bob", "cara")


@st.composite
def _tam_histories(draw: st.DrawFn) -> list[str]:
    """An escalation whose TAMs come and go (covers, returns, the opener back), told or not,
    initiated by one or posting about it, its severity moving between Support's and the TAM's
    ownership (raises corrected or not), its risk reduced at times (again, too), waiting on
    the customer, its status changing or synced again and its summary updated: JSON lines."""
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
    opened: dict[str, Any] = {
        "type": "opened",
        "escalation_id": "E1",
        "customer": "Acme",
        "segment": "enterprise",
        "severity": draw(st.sampled_from(["low", "medium", "high", "critical"])),
        "initiated_by": draw(st.sampled_from(["support_engineering", "tam", "customer_success"])),
        "at": start.isoformat(),
    }
    tam = draw(st.sampled_from([None, *_TAMS]))
    if tam is not None:
        opened["tam"] = tam
        if draw(st.booleans()):
            opened["opened_by"] = tam
    lines, minutes = [json.dumps(opened)], 0
    kinds = st.sampled_from(
        [
            "tam_assigned",
            "tam_informed",
            "severity",
            "risk_reduced",
            "status_changed",
            "executive_summary_updated",
            "posted",
            "waiting_on_customer",
            "customer_responded",
            "meeting_held",
            "customer_contacted",
        ]
    )
    for kind in draw(st.lists(kinds)):
        minutes += draw(st.sampled_from([1, 10, 50, 70, 200, 600, 1440, 4000]))
        fact: dict[str, Any] = {
            "type": "severity_changed" if kind == "severity" else kind,
            "escalation_id": "E1",
            "at": (start + dt.timedelta(minutes=minutes)).isoformat(),
        }
        if kind == "tam_assigned":
            fact["tam"] = draw(st.sampled_from(_TAMS))
        elif kind == "severity":
            fact["severity"] = draw(st.sampled_from(["low", "medium", "high", "critical"]))
        elif kind == "status_changed":
            fact["status"] = draw(st.sampled_from(["investigating", "workaround in place"]))
            if draw(st.booleans()):
                fact["milestones"] = [draw(st.sampled_from(["fix in 16.10", "fix in 16.11"]))]
        elif kind == "posted":
            fact["channel"] = draw(st.sampled_from(["#escalated_customers", "#acme"]))
            fact["purpose"] = draw(st.sampled_from(["created", "update"]))
            fact["by"] = draw(st.sampled_from(["tam", "support_engineering"]))
            fact["url"] = "https://docs.example.com/tracker"
        elif kind == "meeting_held":
            fact["audience"] = "customer"
        lines.append(json.dumps(fact))
    last = start + dt.timedelta(minutes=minutes)  # four days after the last fact: all fell due
    lines.append(json.dumps({"type": "tick", "at": (last + dt.timedelta(days=4)).isoformat()}))
    return lines


def _lines(*facts: tuple[str, int, dict[str, Any]]) -> list[str]:
    """JSON lines of ``(type, minutes after Monday 09:00, fields)`` about E1."""
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
    return [
        json.dumps(
            {"type": kind, **({} if kind == "tick" else {"escalation_id": "E1"}), **fields}
            | {"at": (start + dt.timedelta(minutes=minutes)).isoformat()}
        )
        for kind, minutes, fields in facts
    ]


OPENED = {"customer": "Acme", "segment": "enterprise", "initiated_by": "support_engineering"}


@settings(max_examples=300, deadline=None)
@given(_tam_histories())
# A TAM who owns the escalation and knew of it already leaves no work behind for the next TAM.
@example(
    _lines(
        ("opened", 0, {**OPENED, "severity": "medium", "tam": "bob"}),
        ("severity_changed", 1, {"severity": "critical"}),
        ("tam_assigned", 31, {"tam": "bob"}),
        ("severity_changed", 41, {"severity": "medium"}),
        ("tam_assigned", 42, {"tam": "cara"}),
        ("tick", 6000, {}),
    )
)
# A wait on the customer ends with the risk reduced: the raise after it runs its cadence.
@example(
    _lines(
        ("opened", 0, {**OPENED, "severity": "high", "tam": "bob"}),
        ("waiting_on_customer", 60, {}),
        ("risk_reduced", 120, {}),
        ("severity_changed", 10080, {"severity": "critical"}),
        ("tick", 20000, {}),
    )
)
# A week met, then a short wait within the next: the next week stands as planned.
@example(
    _lines(
        ("opened", 0, {**OPENED, "severity": "high", "tam": "bob"}),
        ("meeting_held", 7200, {"audience": "customer"}),
        ("customer_contacted", 7210, {}),
        ("meeting_held", 8640, {"audience": "customer"}),
        ("customer_contacted", 8650, {}),
        ("waiting_on_customer", 10110, {}),
        ("customer_responded", 10170, {}),
        ("tick", 20000, {}),
    )
)
# A short wait each morning leaves each day its cadence; a wait within a week met in part
# asks its share of the days after the response.
@example(
    _lines(
        ("opened", 0, {**OPENED, "severity": "critical", "tam": "bob"}),
        ("waiting_on_customer", 1440, {}),
        ("customer_responded", 1500, {}),
        ("waiting_on_customer", 2880, {}),
        ("customer_responded", 2940, {}),
        ("severity_changed", 2950, {"severity": "high"}),
        ("meeting_held", 2960, {"audience": "customer"}),
        ("customer_contacted", 2970, {}),
        ("waiting_on_customer", 4320, {}),
        ("customer_responded", 4380, {}),
        ("tick", 20000, {}),
    )
)
# A wait begun after Tuesday's hours, ended by the risk reduced on Wednesday evening: Tuesday,
# which it took no open time of, is reported missed as the wait ends.
@example(
    _lines(
        ("opened", 0, {**OPENED, "severity": "critical", "tam": "bob"}),
        ("waiting_on_customer", 2041, {}),
        ("risk_reduced", 3481, {}),
        ("tick", 8641, {}),
    )
)
# Three waits of two hours on Tuesday add up to more than half its open hours: excused.
@example(
    _lines(
        ("opened", 0, {**OPENED, "severity": "critical", "tam": "bob"}),
        ("waiting_on_customer", 1440, {}),
        ("customer_responded", 1560, {}),
        ("waiting_on_customer", 1620, {}),
        ("customer_responded", 1740, {}),
        ("waiting_on_customer", 1800, {}),
        ("customer_responded", 1920, {}),
        ("tick", 8641, {}),
    )
)
# A silent week, then a wait from Friday afternoon ended by the closing: the week, which the
# wait took an hour of, is reported at the closing.
@example(
    _lines(
        ("opened", 0, {**OPENED, "severity": "high", "tam": "bob"}),
        ("waiting_on_customer", 6180, {}),
        ("closed", 11580, {}),
        ("tick", 20000, {}),
    )
)
def test_the_hand_written_host_informs_tams_as_the_library_does(lines: list[str]) -> None:
    """Who is owed informing, and who knows already (told, opened it, owned it), is the
    subtlest of the host's rules: the same actions on any history of TAMs and severities."""
    host = _module("host")
    engine, hand_written = PolicyEngine(), host.Host()
    for number, line in enumerate(lines):
        expected = [json.loads(text) for text in engine.handle_json(line)]
        assert (number, expected) == (
            number,
            [json.loads(t) for t in hand_written.handle_line(line)],
        )
