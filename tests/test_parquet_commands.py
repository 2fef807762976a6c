"""Every command that reads a history reads a Parquet file as ``audit`` does: a row a fact, a
column a field. ``replay``, ``digest`` and ``explain`` give the answer of the same facts as JSON
lines, and a refused row is named as a row."""

import datetime as dt
import json
import pathlib
from typing import Any

import pytest

from escalation_policy.cli import main

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
HISTORY = EXAMPLES / "non-compliant.jsonl"


def _as_parquet(items: list[dict[str, Any]], path: pathlib.Path) -> pathlib.Path:
    """Facts as Parquet rows: a column a field, null where a fact has none."""
    pyarrow = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    parquet = pytest.importorskip("pyarrow.parquet")
    columns = sorted({key for item in items for key in item})
    parquet.write_table(
        pyarrow.table({key: [item.get(key) for item in items] for key in columns}), path
    )
    return path


def _facts() -> list[dict[str, Any]]:
    return [json.loads(line) for line in HISTORY.read_text().splitlines() if line.strip()]


def _output(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    status = main(list(arguments))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    "command",
    [
        ("replay", "--format", "json"),
        ("replay", "--format", "table", "--trace"),
        ("digest", "--week", "2026-W28", "--format", "markdown"),
        ("explain", "--line", "9"),
        ("explain", "--line", "9", "--format", "json"),
    ],
    ids=" ".join,
)
def test_a_parquet_history_gives_what_its_json_lines_give(
    command: tuple[str, ...], tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = _as_parquet(_facts(), tmp_path / "history.parquet")
    lines = tmp_path / "history.jsonl"
    lines.write_text(HISTORY.read_text())
    name, *options = command
    from_lines = _output(capsys, name, str(lines), *options)
    from_table = _output(capsys, name, str(table), *options)
    assert 0 == from_lines[0]
    assert from_lines[1].strip()  # something to compare
    # The same answer; where it names the file, the Parquet file's.
    assert from_lines == tuple(
        text.replace(str(table), str(lines)) if isinstance(text, str) else text
        for text in from_table
    )


def test_a_refused_row_is_named_as_a_row(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = _facts()
    facts[6] = {**facts[6], "audience": "nobody"}  # a meeting with no audience of the policy
    table = _as_parquet(facts, tmp_path / "history.parquet")
    status, _, err = _output(capsys, "replay", str(table))
    assert 2 == status
    assert f"{table}: row 7: " in err
    assert "'nobody'" in err
    status, out, err = _output(capsys, "replay", str(table), "--keep-going", "--format", "json")
    assert 2 == status
    refused = [json.loads(line) for line in out.splitlines() if '"refused"' in line]
    assert [(str(table), 7)] == [(item["file"], item["line"]) for item in refused]
    assert "1 of 14 rows refused" in err
    status, _, err = _output(capsys, "explain", str(table), "--line", "40")
    assert 2 == status
    assert f"{table}: no fact at row 40" in err


def test_a_row_python_cannot_hold_is_named_by_every_command(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A time past the year 9999 is its row's refusal, naming the row and the field, in
    ``replay``, ``digest`` and ``explain`` as in ``audit``; the other rows are read."""
    pyarrow = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    parquet = pytest.importorskip("pyarrow.parquet")
    facts = _facts()
    columns = sorted({key for item in facts for key in item})
    data: dict[str, Any] = {key: [item.get(key) for item in facts] for key in columns}
    seconds = [
        int(dt.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()) for at in data["at"]
    ]
    seconds[6] = 300_000_000_000  # the year 11476
    data["at"] = pyarrow.array(seconds, pyarrow.timestamp("s", tz="UTC"))
    table = tmp_path / "history.parquet"
    parquet.write_table(pyarrow.table(data), table)
    arrived = "got '11476-08-15 05:20:00.000Z', which Python cannot hold"
    for command, said in (
        (["replay"], f"{table}: row 7: {arrived}"),
        (["digest", "--week", "2026-W28"], f"{table}: row 7: {arrived}"),
        (["explain", "--line", "7"], f"{table}: row 7 holds no fact: {arrived}"),
    ):
        status, _, err = _output(capsys, command[0], str(table), *command[1:])
        assert (2, f"escalation-policy: {said}") == (status, err[: len(said) + 19]), err
        assert err.rstrip().endswith("@ $.at"), err
    status, out, err = _output(capsys, "replay", str(table), "--keep-going", "--format", "json")
    assert 2 == status
    assert "1 of 14 rows refused" in err
    assert any('"type": "post_to_channel"' in line for line in out.splitlines())


def test_a_parquet_file_without_pyarrow_is_a_clear_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _as_parquet(_facts(), tmp_path / "history.parquet")
    monkeypatch.setitem(__import__("sys").modules, "pyarrow.parquet", None)
    status, out, err = _output(capsys, "replay", str(table))
    assert 2 == status
    assert "" == out
    assert "reading Parquet needs pyarrow" in err


def test_an_escalation_id_column_of_timestamps_falls_in_one_part(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A timestamp where an id belongs is read as its text, as every other timestamp is: the
    row is that escalation's in every part, and ``--jobs 2`` gives one process's report (it
    was every part's, and counted once in each)."""
    pyarrow = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    parquet = pytest.importorskip("pyarrow.parquet")
    facts = [
        json.loads(line)
        for line in (EXAMPLES / "critical-outage.jsonl").read_text().splitlines()
        if line.strip()
    ]
    columns = sorted({key for item in facts for key in item})
    data = {key: [item.get(key) for item in facts] for key in columns}
    instant = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    data["escalation_id"] = pyarrow.array(
        [instant if value is not None else None for value in data["escalation_id"]],
        pyarrow.timestamp("us", tz="UTC"),
    )
    table = tmp_path / "history.parquet"
    parquet.write_table(pyarrow.table(data), table)
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"report-{jobs}.json"
        assert 0 == main(["audit", str(table), "--format", "json", "--jobs", jobs, "-o", str(out)])
        reports.append(out.read_text())
    assert reports[0] == reports[1]
    assert 1 == json.loads(reports[0])["totals"]["escalations"]
