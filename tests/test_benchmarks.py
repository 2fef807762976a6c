"""The benchmarks cannot rot: their quick mode runs here and checks every implementation."""

import os
import pathlib
import subprocess
import sys

RUN = pathlib.Path(__file__).parent.parent / "benchmarks" / "run.py"


def test_quick_benchmarks_agree_across_every_implementation() -> None:
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
        "1. The stateless decision",
        "2. handle()",
        "3. A tick",
        "4. Memory",
        "5. Start-up",
        "6. The audit",
    ):
        assert section in result.stdout
