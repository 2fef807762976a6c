"""Crash safety: `run` and `worker` killed with SIGKILL at random points and started again
end with exactly the store of an uninterrupted run: nothing lost, nothing duplicated.

Each test makes 20 runs per store (SQLite file, PostgreSQL), each killed once or twice at a
random moment (after a random number of printed actions, plus a random pause) and then run to
the end. The seeds are fixed, so a failure names a run that can be repeated.
"""

import datetime as dt
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from escalation_policy import Service
from escalation_policy.model import parse_timestamp

pytestmark = pytest.mark.slow  # each test kills and restarts processes, many times over

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
RUNS = int(os.environ.get("ESCALATION_POLICY_CRASH_RUNS", "20"))
"""Runs per test and store (CI's legs after the first run fewer: the first runs all 20)."""


def stream(copies: int = 4) -> list[dict[str, Any]]:
    """The examples, many times over (ids and times shifted), merged in time order; every
    other fact carries an id."""
    facts = []
    for copy in range(copies):
        for path in sorted(EXAMPLES.glob("*.jsonl")):
            for line in path.read_text().splitlines():
                if not line.strip():
                    continue
                fact = json.loads(line)
                when = parse_timestamp(fact["at"]) + dt.timedelta(minutes=41 * copy)
                fact["at"] = when.isoformat()
                if "escalation_id" in fact:
                    fact["escalation_id"] = f"{fact['escalation_id']}-{copy}"
                facts.append(fact)
    facts.sort(key=lambda fact: fact["at"])
    for number, fact in enumerate(facts):
        if number % 2:
            fact["id"] = f"src-{number}"
    return facts


def command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "escalation_policy", *arguments]


def killed_at_random(arguments: list[str], rng: random.Random, expected_lines: int) -> bool:
    """Start the command and SIGKILL it at a random point; whether it was killed (it may
    finish first)."""
    process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        for _ in range(rng.randrange(expected_lines + 1)):
            if not process.stdout.readline():
                break
        time.sleep(rng.random() * 0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        process.kill()
        process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()
    return process.returncode == -signal.SIGKILL


def finished(arguments: list[str]) -> None:
    done = subprocess.run(arguments, capture_output=True, text=True, timeout=300)
    assert 0 == done.returncode, done.stderr


def held(url: str) -> tuple[Any, ...]:
    """What the store holds: each escalation's state, and the outbox with delivery marks."""
    with Service(url) as service:
        return (
            [(state.escalation_id, state) for state in service.escalations()],
            service.store.outbox(),
        )


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, int]:
    facts = stream()
    path = tmp_path_factory.mktemp("feed") / "facts.jsonl"
    path.write_text("".join(json.dumps(fact) + "\n" for fact in facts))
    return path, len(facts)


def test_run_killed_at_random_points_ends_as_an_uninterrupted_run(
    new_store_url: Any, feed: tuple[pathlib.Path, int]
) -> None:
    path, _ = feed
    reference = new_store_url()
    finished(command("run", "--store", reference, "--batch", "5", str(path)))
    expected = held(reference)
    printed = len(expected[1])

    def attempt(run: int) -> int:
        rng = random.Random(run)
        url = new_store_url()
        arguments = command("run", "--store", url, "--batch", "5", str(path))
        kills = sum(killed_at_random(arguments, rng, printed) for _ in range(1 + run % 2))
        finished(arguments)
        assert expected == held(url), f"run {run} (seed {run}) differs"
        return kills

    until_killed(attempt)


def test_worker_killed_while_delivering_loses_and_duplicates_nothing(
    new_store_url: Any, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_text("".join(json.dumps(fact) + "\n" for fact in stream(copies=1)))
    start = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)

    def worker(url: str, now: dt.datetime, received: pathlib.Path) -> list[str]:
        deliver = f'cat >> "{received}"'
        return command(
            "worker", "--store", url, "--once", "--now", now.isoformat(), "--deliver", deliver
        )

    reference = new_store_url()
    finished(command("run", "--store", reference, str(path)))
    finished(worker(reference, start, tmp_path / "reference.jsonl"))
    expected = held(reference)

    def attempt(run: int) -> int:
        rng = random.Random(1000 + run)
        url = new_store_url()
        finished(command("run", "--store", url, str(path)))
        received = tmp_path / f"received-{run}.jsonl"
        now = start
        kills = 0
        for _ in range(1 + run % 2):
            kills += killed_after(worker(url, now, received), rng.random() * 0.8)
            now += dt.timedelta(minutes=2)  # past the lease of what the killed worker held
        finished(worker(url, now, received))
        states, outbox = held(url)
        assert expected[0] == states, f"run {run}: the states differ"
        assert [row[:2] for row in expected[1]] == [row[:2] for row in outbox], f"run {run}"
        assert all(row[2] for row in outbox), f"run {run}: left undelivered"
        got = [json.loads(line)["id"] for line in received.read_text().splitlines()]
        assert sorted({row[0] for row in outbox}) == sorted(set(got)), f"run {run}: lost"
        first_seen = list(dict.fromkeys(got))
        for escalation in {i.rpartition("/")[0] for i in first_seen}:
            mine = [i for i in first_seen if i.rpartition("/")[0] == escalation]
            assert sorted(mine, key=lambda i: int(i.rpartition("/")[2])) == mine, f"run {run}"
        return kills

    until_killed(attempt)


def until_killed(attempt: Callable[[int], int]) -> None:
    """Make runs (``attempt(run)``: a fresh store, killed at random points, restarted, checked;
    how many times it was killed) until RUNS of them were killed at least once. A run may
    finish before its kill: it is checked all the same, and another run is made."""
    killed = made = 0
    while killed < RUNS and made < 3 * RUNS:
        killed += attempt(made) > 0
        made += 1
    assert RUNS == killed, f"only {killed} of {made} runs were killed before they finished"


def killed_after(arguments: list[str], seconds: float) -> bool:
    """Run the command and SIGKILL it after ``seconds``; whether it was killed."""
    process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return True
    return False
