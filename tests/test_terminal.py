"""The command line on a terminal (a real pseudo-terminal): colours unless NO_COLOR, tables drawn
for it, a progress bar on standard error; and nothing of that in a pipe or a file. Also what
every reader sees: --version, aligned columns, --only-violations, the diff's summary line."""

import contextlib
import fcntl
import importlib.metadata
import json
import os
import pathlib
import pty
import re
import struct
import subprocess
import sys
import tempfile
import termios

import attrs
import pytest

import escalation_policy
from escalation_policy import PolicyEngine, audit
from escalation_policy.cli import main
from escalation_policy.render import audit_text

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
NON_COMPLIANT = str(EXAMPLES / "non-compliant.jsonl")
OUTAGE = str(EXAMPLES / "critical-outage.jsonl")
ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def on_terminal(
    *args: str,
    stdout: bool = True,
    stderr: bool = False,
    env: dict[str, str] | None = None,
    stdin: pathlib.Path | None = None,
) -> tuple[str, str]:
    """Runs the command with standard output and/or standard error on a pseudo-terminal 100
    columns wide (the other to a file); returns what each showed."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environment.update({"TERM": "xterm-256color", **(env or {})})
    with tempfile.TemporaryFile() as other, contextlib.ExitStack() as stack:
        given = stack.enter_context(open(stdin, "rb")) if stdin else subprocess.DEVNULL
        process = subprocess.Popen(
            [sys.executable, "-m", "escalation_policy", *args],
            stdin=given,
            stdout=terminal if stdout else other,
            stderr=terminal if stderr else other,
            env=environment,
        )
        os.close(terminal)
        shown = bytearray()
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's other end closed: the command is done
                break
            if not chunk:
                break
            shown += chunk
        os.close(controller)
        process.wait(timeout=120)
        other.seek(0)
        written = other.read().decode()
    text = shown.decode().replace("\r\n", "\n")
    return (text, written) if stdout else (written, text)


def test_version_prints_the_packages_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert 0 == stop.value.code
    found = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert found is not None
    declared = found.group(1)
    assert f"escalation-policy {declared}\n" == capsys.readouterr().out
    assert declared == escalation_policy.__version__
    # --version prints a constant of the command line, not the distribution's metadata (which
    # takes longer to read than the rest of the start): it is the installed one's
    assert declared == importlib.metadata.version("escalation-policy")


# -------------------------------------------------------------------------------------- colour
def test_violations_are_in_colour_on_a_terminal() -> None:
    shown, _ = on_terminal("replay", NON_COMPLIANT)
    violations = [line for line in shown.splitlines() if "VIOLATION" in line]
    assert violations
    assert all(ESCAPE.search(line) for line in violations)
    plain_lines = [line for line in shown.splitlines() if "owner is" in line]
    assert plain_lines
    assert not any(ESCAPE.search(line) for line in plain_lines)


@pytest.mark.parametrize(
    "args",
    [["replay", NON_COMPLIANT], ["audit", NON_COMPLIANT], ["diff", "handbook"], ["table"]],
    ids=["replay", "audit", "diff", "table"],
)
def test_no_colour_with_no_color_set(args: list[str]) -> None:
    """NO_COLOR (https://no-color.org) turns colour off and keeps the terminal's layout."""
    coloured, _ = on_terminal(*args)
    plain, _ = on_terminal(*args, env={"NO_COLOR": "1"})
    assert ESCAPE.search(coloured)
    assert not ESCAPE.search(plain)
    assert ESCAPE.sub("", coloured) == plain


@pytest.mark.parametrize(
    "args",
    [
        ["replay", NON_COMPLIANT, "--format", "table"],
        ["audit", NON_COMPLIANT, "--format", "text"],
        ["table", "--format", "text"],
        ["diff", "handbook"],
    ],
    ids=["replay", "audit", "table", "diff"],
)
def test_no_colour_in_a_pipe(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "escalation_policy", *args], capture_output=True, check=False
    )
    assert result.stdout
    assert b"\x1b" not in result.stdout + result.stderr


def test_what_a_history_says_is_never_read_as_markup_or_escapes(tmp_path: pathlib.Path) -> None:
    """A customer named like rich's markup, with an escape sequence in it, is shown as
    written: the markup as text, the control character as its escape."""
    name = "[bold red]Acme[/] \x1b[2J"
    fact = {
        "type": "opened",
        "at": "2026-03-02T09:00:00Z",
        "escalation_id": "[link=x]E1[/link]",
        "customer": name,
        "segment": "enterprise",
        "severity": "critical",
    }
    path = tmp_path / "facts.jsonl"
    path.write_text(json.dumps(fact) + "\n")
    shown, _ = on_terminal("audit", str(path), "--as-of", "2026-03-05T00:00:00Z")
    assert "[bold red]Acme[/] \\x1b[2J" in shown
    assert "[link=x]E1[/link]" in shown
    assert "\x1b[2J" not in shown


# ----------------------------------------------------------------------------------- tables
def test_table_is_drawn_on_a_terminal_and_markdown_elsewhere() -> None:
    shown, _ = on_terminal("table", "severity.levels")
    lines = ESCAPE.sub("", shown).splitlines()
    assert "(severity.levels)" in lines[0]
    assert lines[1].startswith("╭")
    assert all(len(line.rstrip()) <= 100 for line in lines), "wrapped to the terminal"
    assert not any(line.startswith("| ") for line in lines)
    markdown, _ = on_terminal("table", "severity.levels", "--format", "markdown")
    assert markdown.startswith("| Severity Level | Description | Cadence |")


@pytest.mark.parametrize("columns", ["0", "10", "20", "60"])
@pytest.mark.parametrize("given", [[], ["--format", "text"]])
def test_a_terminal_too_narrow_for_whole_words_gets_the_markdown_tables(
    columns: str, given: list[str]
) -> None:
    """A terminal narrower than a table's longest words (with COLUMNS=0 nothing was drawn at
    all, with 20 words were cut in pieces) shows the tables as Markdown, as a pipe gets them:
    its lines wrap with every word whole."""
    shown, _ = on_terminal("table", *given, env={"COLUMNS": columns})
    markdown, _ = on_terminal("table", "--format", "markdown")
    assert markdown == shown
    assert "| Critical | each business day |" in shown


def test_a_narrow_terminal_draws_a_table_whose_words_fit() -> None:
    shown, _ = on_terminal("table", "communication.updates", env={"COLUMNS": "30"})
    lines = ESCAPE.sub("", shown).splitlines()
    assert all(len(line.rstrip()) <= 30 for line in lines)
    assert "│ Critical    │ each         │" in lines
    assert "│             │ business day │" in lines


# ---------------------------------------------------------------------------------- progress
def test_a_long_audit_shows_progress_with_percentage_on_a_terminal_only(
    tmp_path: pathlib.Path,
) -> None:
    history = tmp_path / "history.jsonl"
    history.write_text(pathlib.Path(NON_COMPLIANT).read_text() * 1)
    report, progress = on_terminal("audit", str(history), stdout=False, stderr=True)
    assert "auditing" in progress
    assert re.search(r"\d+%", progress), progress
    assert "left" in progress, "the time left"
    assert json.loads(report)["facts"] > 0, "the report, on standard output, is whole"
    piped = subprocess.run(
        [sys.executable, "-m", "escalation_policy", "audit", str(history)],
        capture_output=True,
        check=False,
    )
    assert b"" == piped.stderr


def test_progress_from_standard_input_counts_facts() -> None:
    """From standard input the size is not known: the bar counts facts, with no percentage."""
    report, progress = on_terminal(
        "audit", "-", stdout=False, stderr=True, stdin=pathlib.Path(NON_COMPLIANT)
    )
    assert "facts" in progress
    assert not re.search(r"\d+%", progress)
    assert json.loads(report)["facts"] > 0


# ---------------------------------------------------------------------- columns and wording
def test_violation_codes_of_any_length_keep_the_columns_aligned() -> None:
    report = audit(_facts(NON_COMPLIANT))
    first = report.escalations[0]
    long_code = "a_violation_code_much_longer_than_any_of_the_handbooks"
    longer = attrs.evolve(
        first, violations=(attrs.evolve(first.violations[0], code=long_code), *first.violations)
    )
    text = audit_text(attrs.evolve(report, escalations=(longer, *report.escalations[1:])))
    rules = [
        line.index(violation.rule)
        for line in text.splitlines()
        for violation in report.violations
        if line.startswith("    2") and line.endswith(f"{violation.rule} · {violation.cites}")
    ]
    assert len(rules) > 3
    assert [rules[0]] * len(rules) == rules
    outcomes = [
        len(line) - len(line.lstrip())
        for line in text.splitlines()
        if line.startswith("      ") and line.strip().startswith("due ")
    ]
    codes = [line.index(long_code) for line in text.splitlines() if long_code in line]
    assert {codes[0]} == set(outcomes), "what happened is under the code"


def test_two_periods_missed_say_the_next_due_time_in_the_singular() -> None:
    engine = PolicyEngine()
    engine.handle(
        {
            "type": "opened",
            "at": "2026-03-02T09:00:00Z",
            "escalation_id": "E1",
            "customer": "Acme",
            "segment": "enterprise",
            "severity": "critical",
        }
    )
    engine.handle(
        {
            "type": "posted",
            "at": "2026-03-02T09:05:00Z",
            "escalation_id": "E1",
            "channel": "#escalated_customers",
            "purpose": "created",
            "by": "tam",
        }
    )
    details = {}
    for day in (5, 6):
        for action in engine.handle({"type": "tick", "at": f"2026-03-0{day}T12:00:00Z"}).actions:
            if getattr(action, "periods", 1) > 1:
                details[action.periods] = action.detail  # type: ignore[attr-defined]
    assert {2} <= set(details), details
    assert "nor by the next due time, " in details[2]
    assert "any of the 1 " not in details[2]


# ------------------------------------------------------------------------ --only-violations
def _facts(path: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in pathlib.Path(path).read_text().splitlines() if line]


@pytest.mark.parametrize("fmt", ["json", "markdown", "text"])
def test_only_violations_lists_the_escalations_with_violations_and_keeps_the_totals(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = audit(_facts(OUTAGE) + _facts(NON_COMPLIANT))
    failing = [item.escalation_id for item in report.escalations if item.violations]
    passing = [item.escalation_id for item in report.escalations if not item.violations]
    assert failing, "the example has escalations with violations"
    assert passing, "and without"
    args = ["audit", OUTAGE, NON_COMPLIANT, "--format", fmt]
    main([*args, "--only-violations"])
    shown = capsys.readouterr().out
    if fmt == "json":
        data = json.loads(shown)
        assert failing == [item["escalation_id"] for item in data["escalations"]]
        assert report.totals.escalations == data["totals"]["escalations"]
        assert data["only_violations"] is True
        return
    assert all(escalation in shown for escalation in failing)
    assert not any(re.search(rf"\b{re.escape(e)}\b", shown) for e in passing)
    assert f"the {len(failing)} " in shown
    assert f"escalations {report.totals.escalations}" in shown or (
        f"{report.totals.escalations} escalations" in shown
    )


def test_only_violations_is_refused_for_the_html_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == main(["audit", NON_COMPLIANT, "--format", "html", "--only-violations"])
    assert "--only-violations" in capsys.readouterr().err


def test_rich_is_loaded_only_to_draw_on_a_terminal() -> None:
    """``import escalation_policy``, and the command line writing to a pipe, never load the
    terminal library: a host that only decides pays nothing for it."""
    code = (
        "import sys, escalation_policy\n"
        "from escalation_policy.cli import main\n"
        "main(['replay', sys.argv[1], '--format', 'table'])\n"
        "main(['table'])\n"
        "main(['diff', 'handbook'])\n"
        "sys.stderr.write(str(sorted(m for m in sys.modules if m.split('.')[0] == 'rich')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, NON_COMPLIANT], capture_output=True, text=True, check=False
    )
    assert "[]" == result.stderr
