"""The durable engine at its edges: strict warnings, many engines, odd input, Python 3.13+."""

import gc
import os
import pathlib
import resource
import subprocess
import sys
import threading
import warnings
from typing import Any

import pytest

from escalation_policy import EngineFailure, EngineUnavailableError, InputError, PolicyEngine
from escalation_policy._engines.durable import durable_available
from tests.conftest import Scenario, at, owner_of

EXAMPLE = pathlib.Path(__file__).parent.parent / "examples" / "critical-outage.jsonl"

needs_durable = pytest.mark.skipif(
    durable_available() is not None, reason=durable_available() or ""
)


def _opened(escalation_id: str = "ESC-1", **fields: Any) -> dict[str, Any]:
    return {
        "type": "opened",
        "at": "2026-03-02T09:00:00Z",
        "escalation_id": escalation_id,
        "customer": "Acme",
        "segment": "enterprise",
        "severity": "critical",
        **fields,
    }


def _replay(engine: str, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *options, "-m", "escalation_policy", "replay", str(EXAMPLE)]
    return subprocess.run(
        [*command, "--format", "json", "--engine", engine],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _resident_mb() -> float:
    """Resident memory now (Linux), else the peak so far: either shows growth."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.slow
@needs_durable
@pytest.mark.parametrize("strict", ["error::DeprecationWarning", "error"])
def test_the_durable_cli_under_warnings_as_errors_gives_what_native_gives(strict: str) -> None:
    """durable_rules calls a function deprecated in Python 3.12; a strict host still works."""
    native = _replay("native", "-W", strict)
    durable = _replay("durable", "-W", strict)
    assert (0, "") == (durable.returncode, durable.stderr)
    assert native.stdout.count("\n") > 5
    assert native.stdout == durable.stdout


@needs_durable
def test_the_hosts_own_deprecation_warnings_are_not_hidden_while_durable_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only durable_rules' own warnings are ignored, and the filters are as they were after."""
    engine = PolicyEngine(engine="durable")
    rulesets = engine._matcher._rulesets  # type: ignore[attr-defined]

    class WarnsWhenARuleFires(list[int]):
        def append(self, index: int) -> None:
            warnings.warn("the host's own", DeprecationWarning, stacklevel=1)
            super().append(index)

    monkeypatch.setattr(rulesets, "fired", WarnsWhenARuleFires())
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [] != engine.handle(_opened()).actions
    monkeypatch.undo()
    assert before == warnings.filters
    assert {"the host's own"} == {str(warning.message) for warning in caught}


@needs_durable
def test_creating_and_dropping_durable_engines_keeps_memory_and_threads_flat() -> None:
    """Engines for one policy share its rulesets, which durable_rules cannot free."""

    def churn(count: int) -> None:
        for number in range(count):
            engine = PolicyEngine(engine="durable")
            engine.handle(_opened(f"ESC-{number}"))
            del engine

    churn(20)  # warm-up: the shared rulesets, caches, allocator pools
    gc.collect()
    threads, resident = threading.active_count(), _resident_mb()
    churn(200)
    gc.collect()
    growth = _resident_mb() - resident
    assert threads == threading.active_count(), "no thread is left behind"
    # Before the rulesets were shared, each engine kept about 2 MB: 400 MB for these 200.
    assert growth < 40, f"200 engines created and dropped kept {growth:.0f} MB"


@needs_durable
def test_engines_that_share_rulesets_keep_their_own_escalations() -> None:
    """Two durable engines fed different histories, interleaved, each agree with native."""
    severities = ("critical", "low")
    durable = [Scenario(PolicyEngine(engine="durable")) for _ in severities]
    native = [Scenario(PolicyEngine(engine="native")) for _ in severities]
    for step in range(3):
        for number, severity in enumerate(severities):
            for scenario in (durable[number], native[number]):
                if step == 0:
                    scenario.open(severity=severity)
                elif step == 1:
                    scenario.post(at(minutes=1), "created", owner_of(severity))
                else:
                    scenario.tick(at(days=2))
    for ours, reference in zip(durable, native, strict=True):
        assert reference.decisions == ours.decisions
        assert reference.engine.snapshot() == ours.engine.snapshot()
    assert durable[0].actions() != durable[1].actions()


@needs_durable
def test_a_value_durable_cannot_take_is_an_engine_or_input_error_and_changes_nothing() -> None:
    """A lone surrogate in free text: whatever durable_rules raises, the host sees our error."""
    engine = PolicyEngine(engine="durable")
    engine.handle(_opened("ESC-1"))
    before = engine.snapshot()
    with pytest.raises((EngineFailure, InputError)):
        engine.handle(_opened("ESC-2", issue_type="\ud800"))
    assert before == engine.snapshot()
    assert [] != engine.handle(_opened("ESC-3", issue_type="outage")).actions


@pytest.mark.skipif(sys.version_info < (3, 13), reason="the durable engine runs before 3.13")
def test_on_python_3_13_and_later_the_durable_engine_is_refused_clearly() -> None:
    with pytest.raises(EngineUnavailableError, match=r"does not run on Python 3\.13"):
        PolicyEngine(engine="durable")
    refused = _replay("durable")
    assert 2 == refused.returncode
    assert "does not run on Python 3.13" in refused.stderr
    assert "" == refused.stdout
    assert 0 == _replay("native").returncode
