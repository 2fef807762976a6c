"""The store benchmarks cannot rot: their quick mode runs here and checks every store's actions."""

import os
import pathlib
import subprocess
import sys

STORES = pathlib.Path(__file__).parent.parent / "benchmarks" / "stores.py"


def test_quick_store_benchmarks_give_the_engines_actions() -> None:
    """Every store configuration emits the in-memory engine's actions (the run stops with a
    non-zero status otherwise), and every table is printed. Without a PostgreSQL server its
    rows are reported as skipped, unless ESCALATION_POLICY_REQUIRE_POSTGRES=1."""
    result = subprocess.run(
        [sys.executable, str(STORES), "--quick", "--no-instructions"],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
        timeout=600,
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    assert "every store gave the in-memory engine's actions" in result.stdout
    for heading in (
        "### 1. Facts a second through the stores",
        "### 1b. What table 1 timed",
        "### 2. A due scan",
        "### Targets",
    ):
        assert heading in result.stdout
    for configuration in (
        "in-memory `PolicyEngine.handle` (baseline)",
        "SQLite, one fact a transaction",
        "SQLite, batches of 500",
    ):  # SQLite is always there (PostgreSQL may be skipped)
        assert configuration in result.stdout
