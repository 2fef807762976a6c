"""The benchmarks' workload looks like real history under the handbook's policy, and the
hand-written host the benchmarks compare ``handle()`` with gives the library's actions."""

import collections
import importlib.util
import json
import pathlib
import sys
from types import ModuleType
from typing import Any

import pytest

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
