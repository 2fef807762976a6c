"""``audit --jobs`` and ``impact --jobs`` run in local processes: Ctrl-C and SIGTERM end the
command at once, with no traceback, and no process of it left running."""

import datetime as dt
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/proc/self") or not hasattr(os, "killpg"),
    reason="reads the processes in /proc and signals a process group",
)

Process = tuple[int, int]
"""A process: its id, and its start time (an id is used again once its process has ended)."""


def _fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command's name: state, parent, ..."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def descendants(pid: int) -> set[Process]:
    """The processes ``pid`` started, and those they started, still running."""
    children: dict[int, list[Process]] = {}
    for entry in os.listdir("/proc"):
        fields = _fields(int(entry)) if entry.isdigit() else None
        if fields is not None and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append((int(entry), int(fields[19])))
    found: set[Process] = set()
    parents = [pid]
    while parents:
        for child in children.get(parents.pop(), []):
            found.add(child)
            parents.append(child[0])
    return found


def running(process: Process) -> bool:
    fields = _fields(process[0])
    return fields is not None and fields[0] != "Z" and int(fields[19]) == process[1]


def cpu_ticks(process: Process) -> int:
    fields = _fields(process[0])
    return 0 if fields is None else int(fields[11]) + int(fields[12])


def workers(pid: int) -> list[Process]:
    """The processes that audit the parts (spawned by ``multiprocessing``)."""
    found = []
    for process in descendants(pid):
        try:
            command = pathlib.Path(f"/proc/{process[0]}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(process)
    return found


@pytest.fixture(scope="module")
def one_long_escalation(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """One escalation of 200,000 facts: with two parts, its part takes several seconds more
    than the other (which reads the lines only to let their time pass)."""
    path = tmp_path_factory.mktemp("history") / "history.jsonl"
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
    opened = {
        "type": "opened",
        "at": "2026-03-02T09:00:00Z",
        "escalation_id": "ONE",
        "customer": "Acme",
        "segment": "enterprise",
        "severity": "critical",
    }
    lines = [json.dumps(opened)]
    for index in range(1, 200_000):
        at = (start + dt.timedelta(seconds=30 * index)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(
            f'{{"type": "posted", "at": "{at}", "escalation_id": "ONE", '
            '"channel": "#escalated_customers", "purpose": "update", "by": "tam"}'
        )
    path.write_text("\n".join(lines) + "\n")
    return path


COMMANDS = {
    "audit": ["audit"],
    "impact": ["impact", "--base", "handbook"],
}


class Commands:
    """Commands started with ``--jobs 2`` on the long history, each in a process group of
    its own (as a terminal starts it) and Ctrl-C not ignored, with temporary files in a
    folder of their own; what they leave running is ended after the test."""

    def __init__(self, history: pathlib.Path, folder: pathlib.Path) -> None:
        self.history, self.folder = history, folder
        self.temporary = folder / "tmp"
        self.temporary.mkdir()
        self.started: list[subprocess.Popen[str]] = []
        self.seen: set[Process] = set()

    def start(self, command: str) -> "subprocess.Popen[str]":
        arguments = [*COMMANDS[command], str(self.history), "--jobs", "2"]
        process = subprocess.Popen(
            [sys.executable, "-m", "escalation_policy", *arguments, "-o", str(self.folder / "o")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TMPDIR": str(self.temporary)},
            start_new_session=True,
            preexec_fn=_ctrl_c_not_ignored,
        )
        self.started.append(process)
        return process

    def watched(self, process: "subprocess.Popen[str]") -> set[Process]:
        """The command's processes now, ended after the test if they still run."""
        found = descendants(process.pid)
        self.seen.update(found)
        return found

    def stop(self, processes: set[Process]) -> None:
        for process in processes:
            if running(process):
                os.kill(process[0], signal.SIGKILL)

    def end(self) -> None:
        self.stop(self.seen)  # first: they hold the commands' standard error open
        for process in self.started:
            if process.poll() is None:
                process.kill()
            if process.stderr is not None and not process.stderr.closed:
                process.communicate()


def _ctrl_c_not_ignored() -> None:  # a shell's background job ignores it, and passes that on
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def commands(one_long_escalation: pathlib.Path, tmp_path: pathlib.Path) -> Iterator[Commands]:
    started = Commands(one_long_escalation, tmp_path)
    yield started
    started.end()


def until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.25)


def until_both_parts_run(process: "subprocess.Popen[str]") -> None:
    """Both processes have started, and one has used a second of processor time: past loading
    the library, at its part (the long one; the other may be done with its own by then, on a
    quick machine in less than a second)."""

    def running_parts() -> bool:
        assert process.poll() is None, "the command ended before the signal"
        found = workers(process.pid)
        return len(found) == 2 and any(
            cpu_ticks(each) >= os.sysconf("SC_CLK_TCK") for each in found
        )

    until(running_parts, "both parts to run")


def until_one_part_is_done(process: "subprocess.Popen[str]") -> None:
    """One process has done its part (it uses no processor time for a second) while the
    other still runs its own."""
    history: list[dict[Process, int]] = []

    def one_waits() -> bool:
        assert process.poll() is None, "the command ended before the signal"
        history.append({each: cpu_ticks(each) for each in workers(process.pid)})
        if len(history) < 5 or len(history[-1]) != 2 or history[-5].keys() != history[-1].keys():
            return False
        used = [history[-1][each] - history[-5][each] for each in history[-1]]
        return sorted(used)[0] == 0 and sorted(used)[1] > 0

    until(one_waits, "one part to be done")


def ended(
    commands: Commands, process: "subprocess.Popen[str]", left: set[Process], after: float
) -> tuple[int, str, float]:
    """The command's exit status, standard error and the seconds it took to end after the
    signal; none of its processes may still run a few seconds later."""
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the command still runs a minute after the signal")
    took = time.monotonic() - after
    deadline = time.monotonic() + 5
    while any(map(running, left)) and time.monotonic() < deadline:
        time.sleep(0.1)
    running_still = {each for each in left if running(each)}
    commands.stop(running_still)  # they hold its standard error open
    _, error = process.communicate()
    assert set() == running_still, "processes left running"
    return process.returncode, error, took


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_ctrl_c_ends_the_command_and_its_processes_without_a_traceback(
    commands: Commands, command: str
) -> None:
    """Ctrl-C reaches the command's whole process group, its processes too; one of them,
    its part done, waits for more work. Before: it printed a traceback of KeyboardInterrupt."""
    process = commands.start(command)
    until_one_part_is_done(process)
    left = commands.watched(process)
    at = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    status, error, took = ended(commands, process, left, at)
    assert [] == list(commands.temporary.iterdir())
    assert (130, "escalation-policy: interrupted\n") == (status, error)
    assert took < 5


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_sigint_to_the_command_alone_ends_it_at_once(commands: Commands, command: str) -> None:
    """``kill -INT`` (or ``timeout -s INT``) reaches the command alone: it stops its processes
    rather than waiting for their parts. Before: it ended only once they were done."""
    process = commands.start(command)
    until_both_parts_run(process)
    left = commands.watched(process)
    at = time.monotonic()
    process.send_signal(signal.SIGINT)
    status, error, took = ended(commands, process, left, at)
    assert [] == list(commands.temporary.iterdir())
    assert (130, "escalation-policy: interrupted\n") == (status, error)
    assert took < 3


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_sigterm_ends_the_command_and_its_processes(commands: Commands, command: str) -> None:
    """SIGTERM ends the command with the status a shell gives a process SIGTERM ends (143),
    its processes with it. Before: they and multiprocessing's resource tracker ran on,
    waiting forever for work."""
    process = commands.start(command)
    until_both_parts_run(process)
    left = commands.watched(process)
    assert len(left) >= 2
    at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    status, error, took = ended(commands, process, left, at)
    assert [] == list(commands.temporary.iterdir())
    assert (143, "") == (status, error)
    assert took < 3
