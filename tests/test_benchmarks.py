"""The benchmarks cannot rot: their quick mode runs here and checks every implementation."""

import os
import pathlib
import re
import subprocess
import sys

RUN = pathlib.Path(__file__).parent.parent / "benchmarks" / "run.py"


def test_quick_benchmarks_agree_across_every_implementation() -> None:
    """Every implementation the benchmarks time gives the library's answers (the run stops
    otherwise), the mix keeps its escalations open, and every table is printed."""
    result = subprocess.run(
        [sys.executable, str(RUN), "--quick"],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
        timeout=600,
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    assert "all implementations agree" in result.stdout
    for section in (
        "1. The decision on an opened escalation",
        "1b. Side by side",
        "2. handle() on a realistic mix",
        "3. A tick",
        "4. Memory",
        "5. Start-up",
        "6. The audit",
    ):
        assert section in result.stdout
    for implementation in (
        "the floor",
        "`decide(None, fact)`",
        "`decide`, JSON form in and out",
        "`PolicyEngine.handle`, native engine",
    ):  # the library's own are never skipped (peers may be, where they are not installed)
        assert implementation in result.stdout
    held = re.search(r"open escalations during the stream \| median ([\d,]+)", result.stdout)
    assert held is not None, result.stdout
    assert 200 <= int(held.group(1).replace(",", ""))
