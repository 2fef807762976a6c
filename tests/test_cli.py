"""The command line: replay, table, errors with line numbers, --help everywhere."""

import json
import pathlib
import subprocess
import sys

import pytest

from escalation_policy.cli import main

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
OPENED = (
    '{"type": "opened", "at": "2026-03-02T09:00:00Z", "escalation_id": "E1", '
    '"customer": "Acme", "segment": "enterprise", "severity": "low"}\n'
)


def test_replay_prints_one_json_action_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["replay", str(EXAMPLES / "medium-support-led.jsonl"), "--format", "json"])
    lines = capsys.readouterr().out.splitlines()
    actions = [json.loads(line) for line in lines]
    assert "assign_owner" == actions[0]["type"]
    assert all({"type", "escalation_id", "at", "rule", "cites"} <= a.keys() for a in actions)


def test_replay_table_is_a_readable_timeline(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["replay", str(EXAMPLES / "non-compliant.jsonl"), "--format", "table"])
    out = capsys.readouterr().out
    assert "VIOLATION channel_misuse" in out
    assert "[communication.not_for_initiation · Communication Process]" in out


def test_a_bad_line_stops_with_status_2_naming_line_field_and_values(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = OPENED.replace('"E1"', '"E2"').replace('"low"', '"lo"')
    later = OPENED.replace('"E1"', '"E3"')
    path = tmp_path / "facts.jsonl"
    path.write_text(OPENED + "\n" + bad + later)
    assert 2 == main(["replay", str(path), "--format", "json"])
    captured = capsys.readouterr()
    assert "line 3" in captured.err
    assert "$.severity" in captured.err
    assert "expected one of critical, high, medium, low" in captured.err
    assert "did you mean 'low'" in captured.err
    assert ["E1"] * len(captured.out.splitlines()) == [
        json.loads(line)["escalation_id"] for line in captured.out.splitlines()
    ], "nothing is printed for the bad line or the lines after it"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("{not json\n", "not valid JSON", id="not JSON"),
        pytest.param(OPENED + OPENED, "already open", id="duplicate opened"),
        pytest.param(
            OPENED.replace("09:00", "10:00") + OPENED.replace('"E1"', '"E2"'),
            "time order",
            id="out of order",
        ),
    ],
)
def test_bad_input_reports_the_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_text(text)
    assert 2 == main(["replay", str(path)])
    err = capsys.readouterr().err
    assert words in err
    assert f"{path}: line {text.count(chr(10)) if words != 'not valid JSON' else 1}" in err


def test_a_missing_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == main(["replay", "no-such-file.jsonl"])
    assert "cannot read no-such-file.jsonl" in capsys.readouterr().err


def test_table_prints_the_severity_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["table"])
    assert capsys.readouterr().out.startswith("| Severity Level | Description | Cadence |")


def test_replay_reads_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "escalation_policy", "replay", "-"],
        input=OPENED,
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 == result.returncode
    assert "assign_owner" == json.loads(result.stdout.splitlines()[0])["type"]


@pytest.mark.parametrize("command", [[], ["replay"], ["table"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "escalation_policy", *command, "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 == result.returncode
    assert "usage: escalation-policy" in result.stdout
