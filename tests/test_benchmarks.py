"""The benchmarks cannot rot: their quick modes run here and check every implementation and
every store."""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # each test runs a benchmark in a process of its own

BENCHMARKS = pathlib.Path(__file__).parent.parent / "benchmarks"


def quick_run(script: str, *options: str) -> str:
    """What ``benchmarks/SCRIPT`` prints in its quick mode; it must exit with status 0 (each
    script stops with another status when an implementation or a store disagrees)."""
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", *options],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
        timeout=600,
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    return result.stdout


def test_quick_benchmarks_agree_across_every_implementation() -> None:
    """Every implementation the benchmarks time gives the library's answers (the run stops
    otherwise), the mix keeps its escalations open, and every table is printed."""
    printed = quick_run("run.py")
    assert "all implementations agree" in printed
    for section in (
        "1. The decision on an opened escalation",
        "1b. Side by side",
        "2. handle() on a realistic mix",
        "2b. The same stream against the hand-written host",
        "3. A tick",
        "4. Memory",
        "5. Start-up",
        "6. The audit",
        "Targets (issue 24)",
    ):
        assert section in printed
    for checked in ("the mix, from fact objects", "the mix, JSON lines"):
        assert f"cross-checked: {checked} | " in printed  # the host gave the library's actions
    assert "violations by code | " in printed
    for implementation in (
        "the floor",
        "`decide(None, fact)`",
        "`decide`, JSON form in and out",
        "`PolicyEngine.handle`, native engine",
    ):  # the library's own are never skipped (peers may be, where they are not installed)
        assert implementation in printed
    held = re.search(r"open escalations during the stream \| median ([\d,]+)", printed)
    assert held is not None, printed
    assert 200 <= int(held.group(1).replace(",", ""))


def test_quick_store_benchmarks_give_the_engines_actions() -> None:
    """Every store configuration emits the in-memory engine's actions (the run stops with a
    non-zero status otherwise), and every table is printed. Without a PostgreSQL server its
    rows are reported as skipped, unless ESCALATION_POLICY_REQUIRE_POSTGRES=1."""
    printed = quick_run("stores.py", "--no-instructions")
    assert "every store gave the in-memory engine's actions" in printed
    for heading in (
        "### 1. Facts a second through the stores",
        "### 1b. What table 1 timed",
        "### 2. A due scan",
        "### Targets",
    ):
        assert heading in printed
    for configuration in (
        "in-memory `PolicyEngine.handle` (baseline)",
        "SQLite, one fact a transaction",
        "SQLite, batches of 500",
    ):  # SQLite is always there (PostgreSQL may be skipped)
        assert configuration in printed


def test_quick_impact_benchmark_checks_its_report_and_times_it_beside_the_audit() -> None:
    printed = quick_run("impact.py")
    assert "escalation by escalation: the same escalations" in printed
    assert "| impact |" in printed
    assert "| audit |" in printed


def test_quick_streaming_audit_benchmark_gives_one_report_in_one_process_and_in_parts() -> None:
    dask = ["--dask", "2"] if importlib.util.find_spec("distributed") else []
    printed = quick_run("audit_stream.py", "--jobs", "2", *dask)
    assert "| one process |" in printed
    assert "| --jobs 2 |" in printed
    assert "every run's report the same" in printed


def test_quick_streaming_audit_benchmark_of_a_parquet_history_gives_one_report() -> None:
    """``--parquet``: the same history as a Parquet file, one process and two parts."""
    pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    printed = quick_run("audit_stream.py", "--parquet", "--jobs", "2")
    assert "| --jobs 2 |" in printed
    assert "every run's report the same" in printed
