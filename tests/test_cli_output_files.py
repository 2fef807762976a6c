"""Where a command writes its report with ``-o FILE`` (audit, impact, digest): the file's
extension chooses the format and a ``--format`` it contradicts is refused, in the same words
for every command; a file that is one of the command's inputs is refused before anything is
read or written."""

import json
import os
import pathlib
import sqlite3
import subprocess
import sys

import pytest

from escalation_policy.cli import main

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
HISTORY = EXAMPLES / "non-compliant.jsonl"

# An escalation id that runs a script in a page that shows it unescaped.
HOSTILE_ID = "x\" onmouseover=\"alert(1)' y='1 </h2><svg/onload=alert(2)>"
HOSTILE = [
    {
        "type": "opened",
        "at": "2026-07-13T09:00:00Z",
        "escalation_id": HOSTILE_ID,
        "customer": "Initech",
        "segment": "enterprise",
        "severity": "critical",
        "initiated_by": "customer_success",
        "tam": "ann",
    },
    {"type": "closed", "at": "2026-07-20T09:00:00Z", "escalation_id": HOSTILE_ID},
]

COMMANDS = {
    "audit": ["audit"],
    "audit --jobs 2": ["audit", "--jobs", "2"],
    "impact": ["impact", "--base", "handbook", "--setting", "critical_update_every=1h"],
    "digest": ["digest"],
}
"""Each command that writes a report with -o, with the arguments it needs besides its files."""


def hostile_history(folder: pathlib.Path) -> pathlib.Path:
    path = folder / "quote.jsonl"
    path.write_text("".join(json.dumps(fact) + "\n" for fact in HOSTILE))
    return path


@pytest.mark.parametrize("command", ["audit", "impact", "digest"])
@pytest.mark.parametrize(
    ("name", "expected"),
    [("report.html", "<!doctype html>"), ("REPORT.HTM", "<!doctype html>"), ("report.json", "{")],
)
def test_the_output_files_extension_chooses_the_format_of_every_command(
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    name: str,
    expected: str,
) -> None:
    """`-o report.html` writes the page, whose markup escapes what the history says (an id
    that would run a script stays text), not JSON or Markdown a browser would read as HTML."""
    target = tmp_path / name
    main([*COMMANDS[command], str(hostile_history(tmp_path)), "-o", str(target)])
    assert "" == capsys.readouterr().out
    written = target.read_text()
    assert written.lower().startswith(expected)
    if expected == "{":
        json.loads(written)
    else:
        assert "<svg/onload" not in written
        assert 'onmouseover="' not in written


@pytest.mark.parametrize(
    ("command", "name", "expected"),
    [
        ("impact", "report.md", "## Impact of the policy change"),
        ("impact", "report.txt", "Impact of policy sha256:"),
        ("digest", "digest.md", "# Escalations digest"),
        ("digest", "digest.txt", "# Escalations digest"),  # no text format: Markdown
        ("digest", "digest.out", "# Escalations digest"),
    ],
)
def test_each_commands_other_extensions_choose_its_formats_or_its_default(
    tmp_path: pathlib.Path, command: str, name: str, expected: str
) -> None:
    target = tmp_path / name
    main([*COMMANDS[command], str(HISTORY), "-o", str(target)])
    assert target.read_text().startswith(expected)


@pytest.mark.parametrize("command", ["audit", "impact", "digest"])
@pytest.mark.parametrize(
    ("given", "name", "named"),
    [
        ("json", "report.html", "html"),
        ("html", "report.md", "markdown"),
        ("markdown", "a.json", "json"),
    ],
)
def test_a_format_the_extension_contradicts_is_refused_by_every_command_alike(
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    given: str,
    name: str,
    named: str,
) -> None:
    target = tmp_path / name
    missing = tmp_path / "no-such-history.jsonl"  # refused before it is read
    assert 2 == main([*COMMANDS[command], str(missing), "--format", given, "-o", str(target)])
    captured = capsys.readouterr()
    assert "" == captured.out
    (line,) = captured.err.splitlines()
    assert line == (
        f"escalation-policy: --format {given} does not match the extension of {target} "
        f"({named}); expected --format {named}, no --format, or a file name for {given}"
    )
    assert not target.exists()


def test_the_digests_slack_message_may_be_written_to_a_json_file(tmp_path: pathlib.Path) -> None:
    """The Slack message is JSON: a .json file does not contradict it."""
    target = tmp_path / "digest.json"
    assert 0 == main(["digest", str(HISTORY), "--format", "slack", "-o", str(target)])
    assert {"text", "blocks"} == set(json.loads(target.read_text()))


def refused_line(output: str, given: str) -> str:
    return (
        f"escalation-policy: -o {output} is the input {given}: the report would overwrite it; "
        "expected another file for the report"
    )


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("alias", ["same name", "symbolic link", "hard link", "another spelling"])
def test_an_output_file_that_is_an_input_is_refused_and_left_as_it_was(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], command: str, alias: str
) -> None:
    victim = tmp_path / "victim.jsonl"
    victim.write_bytes(HISTORY.read_bytes())
    output = {
        "same name": victim,
        "symbolic link": tmp_path / "link.jsonl",
        "hard link": tmp_path / "hard.jsonl",
        "another spelling": f"{tmp_path}/./victim.jsonl",
    }[alias]
    if alias == "symbolic link":
        os.symlink(victim, output)
    elif alias == "hard link":
        os.link(victim, output)
    other = EXAMPLES / "critical-outage.jsonl"
    assert 2 == main([*COMMANDS[command], str(other), str(victim), "-o", str(output)])
    captured = capsys.readouterr()
    assert ("", refused_line(str(output), str(victim)) + "\n") == (captured.out, captured.err)
    assert HISTORY.read_bytes() == victim.read_bytes()


def test_an_output_file_that_is_standard_inputs_file_is_refused(tmp_path: pathlib.Path) -> None:
    victim = tmp_path / "victim.jsonl"
    victim.write_bytes(HISTORY.read_bytes())
    with victim.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "escalation_policy", "audit", "-", "-o", str(victim)],
            stdin=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
    assert (2, refused_line(str(victim), "standard input") + "\n") == (
        done.returncode,
        done.stderr,
    )
    assert HISTORY.read_bytes() == victim.read_bytes()


def test_the_digest_of_a_store_is_not_written_over_the_store(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "escalations.db"
    assert 0 == main(["run", "--store", str(store), "--format", "json", str(HISTORY)])
    capsys.readouterr()
    kept = store.read_bytes()
    for url in (f"sqlite:///{store}", str(store)):
        assert 2 == main(["digest", "--store", url, "-o", str(store)])
        assert refused_line(str(store), str(store)) + "\n" == capsys.readouterr().err
    assert kept == store.read_bytes()
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM ep_outbox").fetchone()[0] > 0
    db.close()


def test_another_file_or_standard_output_is_written_as_before(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that only shares its name's end with an input, and `-o -`, are written."""
    target = tmp_path / "non-compliant.jsonl"
    assert 0 == main(["audit", str(HISTORY), "-o", str(target)])
    assert 0 == main(["audit", str(HISTORY), "-o", "-"])
    assert target.read_text() == capsys.readouterr().out
