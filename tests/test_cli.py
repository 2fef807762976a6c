"""The command line: replay, table, errors with line numbers, --help everywhere."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from escalation_policy import default_policy
from escalation_policy.cli import main

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
TIMELINE = str(EXAMPLES / "critical-outage.jsonl")
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


def test_table_prints_the_policys_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["table", "severity.levels"])
    assert capsys.readouterr().out.startswith("| Severity Level | Description | Cadence |")
    assert 0 == main(["table"])
    every = capsys.readouterr().out
    for compiled in default_policy().tables:
        assert f"(`{compiled.table.id}`)" in every
    assert "| Medium or Low | - |" in every  # a condition, and no period, as people read
    assert "| High | each business day |" in every
    assert "| Multiple times per week | 2 per week |" in every
    assert 2 == main(["table", "severity.level"])
    assert "did you mean 'severity.levels'" in capsys.readouterr().err


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


# ------------------------------------------------------------------- never a traceback
def _run(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "escalation_policy", *args],
        input=stdin,
        capture_output=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _one_line(stderr: bytes) -> str:
    """The whole of standard error, which must be one line and no traceback."""
    text = stderr.decode()
    assert "Traceback" not in text
    assert 1 == len(text.splitlines()), text
    return text.rstrip("\n")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("second_line", "reason"),
    [
        pytest.param(
            b'{"type": "tick", "at": "\xff"}', "not UTF-8 (byte 0xff at column 25)", id="bad byte"
        ),
        pytest.param(bytes(range(11, 256)), "not UTF-8 (byte 0x80 at column 118)", id="binary"),
        pytest.param(
            b"[" * 100_000, "not valid JSON (nested too deeply to read)", id="deep nesting"
        ),
        pytest.param(
            b'{"type": "tick", "at": ' + b"1" * 5_000 + b"}",
            "not valid JSON (a number with too many digits to read)",
            id="5000 digits",
        ),
    ],
)
@pytest.mark.parametrize("command", ["replay", "audit"])
def test_an_unreadable_line_is_one_message_naming_file_and_line(
    tmp_path: pathlib.Path, command: str, second_line: bytes, reason: str
) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_bytes(OPENED.encode() + second_line + b"\n" + OPENED.encode())
    result = _run(command, str(path))
    assert 2 == result.returncode
    assert f"escalation-policy: {path}: line 2: {reason}" == _one_line(result.stderr)


def test_closed_standard_input_is_a_clear_error() -> None:
    result = subprocess.run(
        ["sh", "-c", 'exec "$0" -m escalation_policy replay - <&-', sys.executable],
        capture_output=True,
        check=False,
    )
    assert 2 == result.returncode
    assert "escalation-policy: cannot read standard input: it is closed" == _one_line(result.stderr)


def test_closed_standard_output_exits_3() -> None:
    result = subprocess.run(
        ["sh", "-c", 'exec "$0" -m escalation_policy replay "$1" >&-', sys.executable, TIMELINE],
        capture_output=True,
        check=False,
    )
    assert 3 == result.returncode
    assert "escalation-policy: cannot write the output: standard output is closed" == _one_line(
        result.stderr
    )


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["replay", "audit"])
def test_a_full_disk_exits_3(command: str) -> None:
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [sys.executable, "-m", "escalation_policy", command, TIMELINE],
            stdout=full,
            stderr=subprocess.PIPE,
            check=False,
        )
    assert 3 == result.returncode
    assert "escalation-policy: cannot write the output: No space left on device" == _one_line(
        result.stderr
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ["replay", "--format", "table"],
        ["audit", "--format", "text"],
        ["audit", "--format", "markdown"],
    ],
)
def test_a_lone_surrogate_is_refused_in_one_line_by_every_format(command: list[str]) -> None:
    """Text no host could store (a lone surrogate escaped in JSON) is an input error."""
    surrogate = OPENED.replace('"E1"', '"E\\udc80"').encode()
    result = _run(*command, "-", stdin=surrogate, env={"PYTHONIOENCODING": "utf-8"})
    assert (2, b"") == (result.returncode, result.stdout)
    assert "lone surrogates @ $.escalation_id" in _one_line(result.stderr)


def test_an_as_of_beyond_the_calendar_is_one_line_with_status_2() -> None:
    still_open = OPENED.replace('"low"', '"critical"').encode()
    result = _run("audit", "-", "--as-of", "9999-12-31T23:59:59Z", stdin=still_open)
    assert 2 == result.returncode
    assert _one_line(result.stderr).startswith("escalation-policy: --as-of: got 9999-12-31")


def test_an_interrupt_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Interrupted:
        def readline(self, _limit: int = -1) -> bytes:
            raise KeyboardInterrupt

    class Stdin:
        buffer = Interrupted()

    monkeypatch.setattr(sys, "stdin", Stdin())
    assert 130 == main(["replay", "-"])
    assert "escalation-policy: interrupted\n" == capsys.readouterr().err


def test_an_internal_error_is_one_line_with_status_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_policy: object) -> str:
        raise RuntimeError("the table is broken")

    monkeypatch.setattr("escalation_policy.cli.table.tables", lambda *args: broken(args))
    assert 4 == main(["table"])
    assert (
        "escalation-policy: internal error (please report it): RuntimeError: the table is broken\n"
        == capsys.readouterr().err
    )


@pytest.mark.parametrize("command", [[], ["replay"], ["audit"], ["table"], ["run"], ["worker"]])
def test_help_documents_every_exit_status(command: list[str]) -> None:
    out = _run(*command, "--help").stdout.decode()
    statuses = out[out.index("exit status:") :].splitlines()[1:]
    assert ["0", "1", "2", "3", "4", "5", "130"] == [
        line.split()[0] for line in statuses if line[:3].strip().isdigit()
    ]


# ------------------------------------------------------------- several files, --keep-going
LATER = OPENED.replace('"E1"', '"E2"').replace("09:00", "10:00")
STALE = OPENED.replace('"E1"', '"E3"').replace("09:00", "08:00")


def _files(tmp_path: pathlib.Path, *texts: str) -> list[str]:
    paths = []
    for number, text in enumerate(texts, start=1):
        path = tmp_path / f"part{number}.jsonl"
        path.write_text(text)
        paths.append(str(path))
    return paths


def test_several_files_are_one_history_in_the_order_given(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _files(tmp_path, OPENED, "\n" + LATER)
    assert 0 == main(["replay", first, second, "--format", "json"])
    ids = {json.loads(line)["escalation_id"] for line in capsys.readouterr().out.splitlines()}
    assert {"E1", "E2"} == ids
    assert 2 == main(["replay", second, first, "--format", "json"])
    assert f"escalation-policy: {first}: line 1: " in capsys.readouterr().err
    assert 2 == main(["audit", second, first])
    assert f"escalation-policy: {first}: line 1: " in capsys.readouterr().err


def test_a_file_that_cannot_be_read_stops_before_any_output(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (first,) = _files(tmp_path, OPENED)
    assert 2 == main(["replay", first, "no-such-file.jsonl", "--format", "json"])
    captured = capsys.readouterr()
    assert "" == captured.out
    assert "escalation-policy: cannot read no-such-file.jsonl: No such file or directory\n" == (
        captured.err
    )


def test_an_audit_names_the_line_of_the_file_past_blank_lines(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (path,) = _files(tmp_path, OPENED + "\n\n" + OPENED)
    assert 2 == main(["audit", path])
    assert f"escalation-policy: {path}: line 4: escalation 'E1' is already open" in (
        capsys.readouterr().err
    )


def test_replay_keep_going_reports_each_refused_line_in_the_json_stream(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _files(tmp_path, OPENED + "{not json\n", "\n" + LATER + STALE)
    assert 2 == main(["replay", first, second, "--keep-going", "--format", "json"])
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    refused = [record for record in records if record["type"] == "refused"]
    assert [
        {
            "type": "refused",
            "file": first,
            "line": 2,
            "code": "input_error",
            "path": None,
            "reason": "not valid JSON (Expecting property name enclosed in double quotes "
            "at column 2)",
        },
        {
            "type": "refused",
            "file": second,
            "line": 3,
            "code": "stale_fact",
            "path": "$.at",
            "reason": refused[1]["reason"],
        },
    ] == refused
    assert {"E1", "E2"} == {r["escalation_id"] for r in records if r["type"] != "refused"}
    assert "escalation-policy: 2 of 4 lines refused\n" == captured.err


def test_replay_keep_going_shows_refused_lines_in_the_timeline(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (path,) = _files(tmp_path, OPENED + OPENED.replace('"low"', '"lo"').replace("E1", "E2"))
    assert 2 == main(["replay", path, "--keep-going", "--format", "table"])
    lines = capsys.readouterr().out.splitlines()
    (refused,) = [line for line in lines if line.startswith("REFUSED")]
    assert refused.startswith(f"REFUSED                  {path}: line 2: got 'lo'")
    assert refused.endswith(" @ $.severity")
    assert lines[0].startswith("2026-03-02 09:00 +00:00  E1 "), "the line before it was replayed"


def test_audit_keep_going_reports_refused_lines_in_every_format(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _files(tmp_path, OPENED + OPENED, "\n" + LATER + "{not json\n")
    args = ["audit", first, second, "--keep-going", "--fail-on", "any"]
    assert 2 == main([*args, "--format", "json"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert [(first, 2, "duplicate_escalation"), (second, 3, "input_error")] == [
        (item["file"], item["line"], item["code"]) for item in data["refused"]
    ]
    assert (2, 2) == (data["totals"]["refused"], data["totals"]["escalations"])
    assert "escalation-policy: 2 of 4 lines refused\n" == captured.err
    assert 2 == main([*args, "--format", "text"])
    text = capsys.readouterr().out
    assert "Refused (2)\n" in text
    assert f"  {second}: line 3: not valid JSON" in text
    assert "  refused 2\n" in text
    assert 2 == main([*args, "--format", "markdown"])
    markdown = capsys.readouterr().out
    assert "0 violations, 2 refused." in markdown
    assert f"| {first} | 2 | `duplicate_escalation` | `$.escalation_id` | " in markdown


def test_a_file_with_no_line_breaks_is_refused_at_once_without_reading_it_all() -> None:
    """/dev/zero has one endless line: it is refused as too long, not read into memory."""
    result = subprocess.run(
        [sys.executable, "-m", "escalation_policy", "replay", "/dev/zero"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert 2 == result.returncode
    assert "line 1: the line is longer than 1,048,576 bytes" in _one_line(result.stderr)


def test_keep_going_skips_an_overlong_line_and_reads_the_next() -> None:
    stdin = b"x" * (2 << 20) + b"\n" + OPENED.encode()
    result = _run("replay", "-", "--keep-going", stdin=stdin)
    assert 2 == result.returncode
    assert b'"type": "assign_owner"' in result.stdout
    assert b'"line": 1' in result.stdout


@pytest.mark.parametrize("fmt", ["markdown", "text"])
def test_an_id_with_a_pipe_or_a_line_break_cannot_break_the_report(fmt: str) -> None:
    opened = OPENED.replace('"E1"', '"E|1\\nx"').replace('"low"', '"critical"')
    tick = '{"type": "tick", "at": "2026-03-04T09:00:00Z"}\n'
    result = _run("audit", "-", "--format", fmt, stdin=(opened + tick).encode())
    assert 0 == result.returncode
    out = result.stdout.decode()
    assert "E|1\nx" not in out
    if fmt == "markdown":
        rows = [line for line in out.splitlines() if line.startswith("| E")]
        assert rows
        assert all(line.count(" | ") == rows[0].count(" | ") for line in rows[:1])
        assert all("E&#124;1&#92;nx" in line for line in rows), "a reference each"


def test_every_command_takes_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["rules", "--setting", "high_update_every=2d"])
    assert "| `high_update_every` | 2d | each business day |" in capsys.readouterr().out
    assert 0 == main(["table", "communication.updates", "--setting", "high_update_every=2d"])
    assert "| High | 2d |" in capsys.readouterr().out
    assert 2 == main(["table", "--setting", "high_update_evry=2d"])
    assert "did you mean 'high_update_every'" in capsys.readouterr().err


TICK_THEN_OPENED = OPENED.replace('{"type": "opened", ', '{"type": "tick", "type": "opened", ')
"""One object with two ``type`` keys: which one a JSON reader keeps is the reader's choice."""


@pytest.mark.parametrize(
    "command", [["replay"], ["audit", "--format", "json"], ["replay", "--keep-going"]]
)
def test_a_key_given_twice_in_a_line_is_refused_naming_the_key(
    command: list[str], tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_text(TICK_THEN_OPENED + OPENED.replace('"E1"', '"E2"'))
    assert 2 == main([command[0], str(path), *command[1:]])
    captured = capsys.readouterr()
    message = "the key 'type' is given more than once in one object; expected each key once"
    if "--keep-going" in command:
        refused, *actions = [json.loads(line) for line in captured.out.splitlines()]
        assert (1, "input_error") == (refused["line"], refused["code"])
        assert message in refused["reason"]
        assert {"E2"} == {action["escalation_id"] for action in actions}
    else:
        assert f"{path}: line 1: {message}" in captured.err
        assert "E1" not in captured.out, "nothing was opened"


def test_a_key_given_twice_in_a_nested_object_is_refused_too(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_text(OPENED.replace('"low"', '{"a": 1, "a": 2}'))
    assert 2 == main(["replay", str(path)])
    assert "the key 'a' is given more than once" in capsys.readouterr().err


def test_on_a_terminal_the_audit_shows_how_far_it_has_read_the_history(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a terminal, reading the history shows a bar of the bytes read of the file's size."""
    import re

    history = EXAMPLES / "non-compliant.jsonl"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert 0 == main(["audit", str(history), "--format", "json", "-o", str(tmp_path / "r.json")])
    err = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", capsys.readouterr().err)
    assert "auditing" in err
    read = re.findall(r"([0-9.]+)/[0-9.]+ kB", err)
    assert read
    assert float(read[-1]) > 0


def test_the_parsers_limits_are_those_the_library_enforces() -> None:
    """The parsers state these limits without loading the modules that enforce them."""
    from escalation_policy._core.step import MAX_LATENESS
    from escalation_policy._digest import MAX_WEEKS
    from escalation_policy._language.typed import MAX_ID_LENGTH
    from escalation_policy.cli import _parsers
    from escalation_policy.engine import ENGINES

    assert ENGINES == _parsers.ENGINES
    assert MAX_ID_LENGTH == _parsers.MAX_ID_LENGTH
    assert MAX_LATENESS == _parsers.MAX_LATENESS
    assert MAX_WEEKS == _parsers.MAX_WEEKS


def test_a_long_source_name_is_its_sha256(tmp_path: pathlib.Path) -> None:
    """``run`` records a file whose name is too long for the store's index by its digest."""
    import hashlib

    from escalation_policy.cli._common import source_name

    path = tmp_path / ("x" * 250) / "facts.jsonl"
    name = "file:" + os.path.realpath(path)
    digest = hashlib.sha256(name.encode()).hexdigest()
    assert f"file-sha256:{digest}" == source_name(str(path))
    assert f"file:{os.path.realpath(tmp_path)}" == source_name(str(tmp_path))


ARABIC_TWO = "\u0662"  # int() and float() read it as 2, as they do any script's digits


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["audit", TIMELINE, "--jobs", ARABIC_TWO], "--jobs: got '\u0662'"),
        (["audit", TIMELINE, "--dask", "local", "--workers", ARABIC_TWO], "--workers: got"),
        (["run", TIMELINE, "--batch", ARABIC_TWO], "--batch: got '\u0662'"),
        (["run", TIMELINE, "--lateness", f"{ARABIC_TWO}h"], "--lateness: got '\u0662h'"),
        (["worker", "--once", "--interval", ARABIC_TWO], "--interval: got '\u0662'"),
        (["worker", "--once", "--timeout", "1" + ARABIC_TWO], "--timeout: got '1\u0662'"),
        (["prune", "--facts-older-than", f"{ARABIC_TWO}d"], "--facts-older-than: got"),
        (["digest", TIMELINE, "--weeks", ARABIC_TWO], "--weeks: got '\u0662'"),
        (["digest", TIMELINE, "--week", f"2026-W1{ARABIC_TWO}"], "--week: got '2026-W1\u0662'"),
        (["explain", TIMELINE, "--line", ARABIC_TWO], "--line: got '\u0662'"),
        (["rules", "--setting", f"high_update_every={ARABIC_TWO}d"], "high_update_every: got"),
        (["rules", "--setting", f"high_update_every={ARABIC_TWO} per week"], "got '\u0662 per"),
    ],
)
def test_a_number_in_another_scripts_digits_is_refused_with_status_2(
    arguments: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Numbers on the command line are ASCII digits: `--line ٢` was read as line 2."""
    try:
        status = main(arguments)
    except SystemExit as stop:  # argparse's refusal of an option's value
        status = stop.code
    assert 2 == status
    captured = capsys.readouterr()
    assert ("", 1) == (captured.out, len(captured.err.splitlines()))
    assert says in captured.err
