"""docs/policy-owners.md: every command of the workflow runs as the page shows it, from the
repository's root, with the exit status the page gives (0 unless its comment says "exit status
N"). ``impact`` is described there and not run here."""

import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

from tests.test_docs import blocks

ROOT = pathlib.Path(__file__).parent.parent
PAGE = ROOT / "docs" / "policy-owners.md"
STATUS = re.compile(r"exit status (\d+)")


def _commands() -> list[tuple[list[str], int]]:
    """Each command of the page's ```sh blocks, with the exit status the page gives it."""
    found = []
    for block in blocks(PAGE):
        if block.info != "sh":
            continue
        for line in block.code.splitlines():
            words = shlex.split(line, comments=True)
            if not words:
                continue
            comment = line.partition("  #")[2]
            status = STATUS.search(comment)
            found.append((words, int(status[1]) if status else 0))
    return found


def test_the_page_shows_every_step_of_the_workflow() -> None:
    commands = {words[1] for words, _ in _commands()}
    assert {"lint", "explain", "replay", "impact", "identity", "diff", "replan"} <= commands
    assert all(words[0] == "escalation-policy" for words, _ in _commands())


@pytest.mark.slow
def test_every_command_of_the_page_runs_with_the_status_it_gives(tmp_path: pathlib.Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    ran = 0
    for words, status in _commands():
        if words[1] == "impact":
            continue  # described, not run (see the module's documentation)
        done = subprocess.run(
            [sys.executable, "-m", "escalation_policy", *words[1:]],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
            env=environment,
        )
        assert status == done.returncode, f"{shlex.join(words)}:\n{done.stderr}"
        if words[1] != "replan" and status == 0:  # the store holds nothing to re-plan
            assert done.stdout, shlex.join(words)
        ran += 1
    assert ran == len(_commands()) - 1
