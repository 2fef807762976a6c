"""Every command that reads a history reads a Parquet file as ``audit`` does: a row a fact, a
column a field. ``replay``, ``digest`` and ``explain`` give the answer of the same facts as JSON
lines, and a refused row is named as a row."""

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


def test_a_parquet_file_without_pyarrow_is_a_clear_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _as_parquet(_facts(), tmp_path / "history.parquet")
    monkeypatch.setitem(__import__("sys").modules, "pyarrow.parquet", None)
    status, out, err = _output(capsys, "replay", str(table))
    assert 2 == status
    assert "" == out
    assert "reading Parquet needs pyarrow" in err
