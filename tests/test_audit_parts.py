"""The audit written as it goes, and in parts by escalation: the same report as one audit in
memory, refusals included."""

import datetime as dt
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import zlib
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from escalation_policy import (
    AuditPartsDisagree,
    AuditReport,
    audit,
    audit_partitioned,
    audit_streamed,
    default_policy,
    load_policy,
    merge_audits,
)
from escalation_policy._audit import _replay
from escalation_policy._audit._parts import _time_of, line_owner
from escalation_policy._audit._stream import _converted_text, json_text, spooled_audit
from escalation_policy._convert import shared_converter
from escalation_policy.cli import main
from escalation_policy.cli._common import MAX_LINE, read_items
from escalation_policy.model import Fact, parse_timestamp
from escalation_policy.policy import Policy
from escalation_policy.render import audit_markdown, audit_text
from escalation_policy.rules import Severity
from escalation_policy.testing import strategies

GRACE = load_policy(opening_grace=dt.timedelta(minutes=20))
"""The handbook's policy holding a fact about an escalation not yet open for 20 minutes: what
it then reports falls due as time passes, among other escalations' actions."""


def _as_json(history: list[Fact], policy: Policy) -> list[dict[str, Any]]:
    converter = shared_converter(policy)
    return [converter.unstructure(fact, Fact) for fact in history]


@st.composite
def spoiled_histories(draw: st.DrawFn, policy: Policy) -> list[dict[str, Any]]:
    """A coherent history with items every audit refuses or reports apart slipped in: a fact
    whose field is wrong, later than the facts around it (one replay's clock does not move
    for it), a fact about an escalation never opened, an opening of one already open, a copy
    of an earlier fact (out of time order), a line that is not a fact, a tick before the
    clock or far past it."""
    items = _as_json(draw(strategies.histories(max_escalations=5, max_steps=30)), policy)
    for _ in range(draw(st.integers(0, 6))):
        if not items:
            break
        index = draw(st.integers(0, len(items) - 1))
        near = items[index]
        if not isinstance(near, dict):
            continue
        at = dt.datetime.fromisoformat(near["at"]) + dt.timedelta(minutes=draw(st.integers(0, 600)))
        escalation_id = near.get("escalation_id", "E-0")
        kind = draw(st.sampled_from(["field", "unopened", "reopened", "copy", "junk", "tick"]))
        if kind == "tick":  # before the clock, or too far past it: refused; else taken
            near_at = dt.datetime.fromisoformat(near["at"])
            early = near_at - dt.timedelta(minutes=draw(st.integers(1, 600)))
            late = near_at + dt.timedelta(days=draw(st.sampled_from([1, 400])))
            item = {"type": "tick", "at": draw(st.sampled_from([early, at, late])).isoformat()}
        elif kind == "field":
            item: Any = {
                "type": "severity_changed",
                "escalation_id": escalation_id,
                "severity": "huge",
                "at": at.isoformat(),
            }
        elif kind == "unopened":
            item = {
                "type": "posted",
                "escalation_id": f"NEVER-{draw(st.integers(0, 3))}",
                "channel": policy.channel,
                "purpose": draw(st.sampled_from(["created", "update"])),
                "by": "tam",
                "at": at.isoformat(),
            }
        elif kind == "reopened":
            opening = next(
                (i for i in items if isinstance(i, dict) and i["type"] == "opened"), None
            )
            if opening is None:
                continue
            item = {**opening, "at": at.isoformat()}
        elif kind == "copy":
            item = items[draw(st.integers(0, index))]
        else:
            item = [1, 2]
        items.insert(index + 1, item)
    return items


def _merged(items: list[Any], parts: int, policy: Policy, **options: Any) -> AuditReport:
    """The parts' audits merged, audited again while they disagree."""
    not_taken: frozenset[int] = frozenset()
    for _ in range(len(items) + 2):  # each round agrees up to a later item
        reports = [
            audit(items, part=(index, parts), not_taken=not_taken, policy=policy, **options)
            for index in range(parts)
        ]
        try:
            return merge_audits(reports)
        except AuditPartsDisagree as disagree:
            not_taken = disagree.not_taken
    raise AssertionError("the parts never agreed")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from([default_policy(), GRACE]), st.integers(1, 4))
def test_any_split_by_escalation_audited_per_part_and_merged_is_the_audit_of_the_whole(
    data: st.DataObject, policy: Policy, parts: int
) -> None:
    """However the escalations fall into parts, the merged report is the whole history's:
    the same JSON, refusals (and their positions), facts refused for their time, violations
    about escalations never opened in the order one replay reports them."""
    items = data.draw(spoiled_histories(policy))
    as_of = data.draw(st.sampled_from([None, dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc)]))
    whole = audit(items, policy=policy, keep_going=True, as_of=as_of)
    merged = _merged(items, parts, policy, keep_going=True, as_of=as_of)
    assert whole.to_json() == merged.to_json()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from([default_policy(), GRACE]))
def test_the_audit_written_as_it_goes_is_the_audit_in_memory(
    data: st.DataObject, policy: Policy
) -> None:
    """Escalations let go as soon as the engine forgets them (looked at every 2 items here),
    and what comes about them later, give the same report, byte for byte, in every format;
    read back, they are the report's escalations, in its order."""
    from escalation_policy.render import AuditListing, iter_audit_lines

    items = data.draw(spoiled_histories(policy))
    as_of = data.draw(st.sampled_from([None, dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc)]))
    report = audit(items, policy=policy, keep_going=True, as_of=as_of)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_replay, "SWEEP", 2)
        streamed = audit_streamed(items, policy=policy, keep_going=True, as_of=as_of)
    with streamed:
        assert attrs.evolve(report, escalations=()) == streamed.report
        assert report.escalations == tuple(streamed.escalations())
        with_violations = tuple(e for e in report.escalations if e.violations)
        assert with_violations == tuple(streamed.escalations(only_violations=True))
        written: list[str] = []
        streamed.write_json(written.append)
        assert json.dumps(report.to_json(), indent=2) + "\n" == "".join(written)
        lines = [line for line, _ in iter_audit_lines(streamed.report, streamed._listing)]
        assert audit_text(report) == "\n".join(lines) + "\n"
        assert AuditListing.of(report).with_violations == streamed._listing.with_violations
        # As the command line writes JSON: each escalation's text made once, with the totals.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_replay, "SWEEP", 2)
            as_json = spooled_audit(
                items, policy=policy, keep_going=True, as_of=as_of, as_json=True
            )
        with as_json:
            for only_violations in (False, True):
                texts: list[str] = []
                as_json.write_json(texts.append, only_violations=only_violations)
                expected: list[str] = []
                streamed.write_json(expected.append, only_violations=only_violations)
                assert "".join(expected) == "".join(texts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from([default_policy(), GRACE]))
def test_an_escalations_text_written_directly_is_the_converters(
    data: st.DataObject, policy: Policy
) -> None:
    """Each escalation's JSON text, written straight from its values, is the text of its JSON
    form as the converter gives it; a value of another type is written by the converter."""
    items = data.draw(spoiled_histories(policy))
    as_of = data.draw(st.sampled_from([None, dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc)]))
    report = audit(items, policy=policy, keep_going=True, as_of=as_of)
    for escalation in report.escalations:
        expected = _converted_text(escalation)
        assert json.loads(expected) == shared_converter().unstructure(escalation)
        assert json_text(escalation) == expected
        other = attrs.evolve(escalation, severity_changes=True, customer=Severity.HIGH)
        assert json_text(other) == _converted_text(other)


@pytest.fixture
def monkeypatch_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_replay, "SWEEP", 2)


def _history_file(tmp_path: pathlib.Path) -> pathlib.Path:
    """A history of escalations opened, worked and closed, with lines refused among them."""
    items: list[Any] = []
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
    for number in range(12):
        at = start + dt.timedelta(hours=number)
        escalation_id = f"ESC-{number}"
        items += [
            {
                "type": "opened",
                "escalation_id": escalation_id,
                "customer": "Acme",
                "segment": "enterprise",
                "severity": ["critical", "high", "medium", "low"][number % 4],
                "tam": "Alex",
                "at": at.isoformat(),
            },
            {
                "type": "severity_changed",
                "escalation_id": escalation_id,
                "severity": "huge" if number % 5 == 0 else "low",
                "at": (at + dt.timedelta(minutes=20)).isoformat(),
            },
            {
                "type": "closed",
                "escalation_id": escalation_id,
                "at": (at + dt.timedelta(minutes=30 + number)).isoformat(),
            },
        ]
    items.sort(key=lambda item: item["at"])
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in items) + "\nnot json\n")
    return path


def _in_memory(path: pathlib.Path) -> AuditReport:
    """The report as one audit in memory gives it, its refusals named by file and line."""
    read = list(read_items([str(path)], default_policy()))
    report = audit([item for _, _, item in read], keep_going=True)
    return attrs.evolve(
        report,
        refused=tuple(
            attrs.evolve(item, file=read[item.line - 1][0], line=read[item.line - 1][1])
            for item in report.refused
        ),
    )


def _json(report: AuditReport, only_violations: bool) -> str:
    data = report.to_json()
    if only_violations:
        data["escalations"] = [
            shown
            for shown, item in zip(data["escalations"], report.escalations, strict=True)
            if item.violations
        ]
        data["only_violations"] = True
    return json.dumps(data, indent=2) + "\n"


@pytest.mark.parametrize("fmt", ["json", "text", "markdown"])
@pytest.mark.parametrize("only", [False, True])
def test_cli_writes_the_report_as_it_goes_the_same_as_from_memory(
    tmp_path: pathlib.Path, monkeypatch_sweep: None, fmt: str, only: bool
) -> None:
    """The command line's report, written from disk an escalation at a time, is the bytes the
    report in memory renders to, refusals named by file and line."""
    path = _history_file(tmp_path)
    out = tmp_path / f"report.{fmt}"
    extra = ["--only-violations"] if only else []
    assert 2 == main(["audit", str(path), "--keep-going", "--format", fmt, "-o", str(out), *extra])
    report = _in_memory(path)
    assert 4 == len(report.refused)
    expected = {
        "json": _json,
        "text": lambda r, o: audit_text(r, only_violations=o),
        "markdown": lambda r, o: audit_markdown(r, only_violations=o),
    }[fmt](report, only)
    assert expected == out.read_text()


def test_cli_jobs_give_the_report_of_one_process(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--jobs 2`` audits two parts in processes: the same report (JSON the parts rendered,
    Markdown from their escalations), and the same refusals."""
    path = _history_file(tmp_path)
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    assert 2 == main(["audit", str(path), "--keep-going", "-o", str(one)])
    assert 2 == main(["audit", str(path), "--keep-going", "-o", str(two), "--jobs", "2"])
    assert one.read_text() == two.read_text()
    one_md, two_md = tmp_path / "one.md", tmp_path / "two.md"
    only = ["--keep-going", "--only-violations"]
    assert 2 == main(["audit", str(path), *only, "-o", str(one_md)])
    assert 2 == main(["audit", str(path), *only, "-o", str(two_md), "--jobs", "2"])
    assert one_md.read_text() == two_md.read_text()
    assert 2 == main(["audit", str(path), "-o", str(two), "--jobs", "2"])
    first = capsys.readouterr().err.splitlines()[-1]
    assert 2 == main(["audit", str(path), "-o", str(one)])
    assert first == capsys.readouterr().err.splitlines()[-1]


JOBS_READ_FILES = (
    "escalation-policy: --jobs, --dask and Parquet files read files, not pipes or devices"
)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="makes a named pipe")
def test_cli_jobs_refuse_a_named_pipe_before_starting_processes(tmp_path: pathlib.Path) -> None:
    """Each part reads the history from its start: a named pipe has one reader. Before: one
    part read it while the other waited for it to open, for ever."""
    pipe = tmp_path / "history"
    os.mkfifo(pipe)
    command = [sys.executable, "-m", "escalation_policy", "audit", str(pipe), "--jobs", "2"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, error = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("waited a minute for a named pipe")
    assert (2, f"{JOBS_READ_FILES}: {pipe} is a pipe\n") == (process.returncode, error)


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="names a pipe /dev/fd/N")
def test_cli_jobs_refuse_a_process_substitution_as_a_pipe(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``audit <(zcat history.gz) --jobs 2`` names a pipe the shell opened: refused as a
    pipe. Before: "No such file or directory", from processes that do not have it open."""
    reader, writer = os.pipe()
    try:
        name = f"/dev/fd/{reader}"
        assert 2 == main(["audit", name, "--jobs", "2", "-o", str(tmp_path / "report.json")])
    finally:
        os.close(reader)
        os.close(writer)
    assert f"{JOBS_READ_FILES}: {name} is a pipe\n" == capsys.readouterr().err


def test_merging_refuses_reports_that_are_not_the_parts_of_one_audit(
    tmp_path: pathlib.Path,
) -> None:
    """A part missing, or the report of a whole history among parts, is an error."""
    items = [item for _, _, item in read_items([str(_history_file(tmp_path))], default_policy())]
    one = audit(items, part=(0, 2), keep_going=True)
    with pytest.raises(ValueError, match="expected each part 0 to 1 of 2 once"):
        merge_audits([one])
    with pytest.raises(ValueError, match="not a part's"):
        merge_audits([one, audit(items, keep_going=True)])


# ------------------------------------------------------------------------------------- Dask
def _dask() -> Any:
    return pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (escalation-policy[dask])"
    )


def _parquet(items: list[dict[str, Any]], path: pathlib.Path) -> None:
    """Facts as Parquet rows: a column a field, null where a fact has none."""
    pyarrow = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    parquet = pytest.importorskip("pyarrow.parquet")
    columns = sorted({key for item in items for key in item})
    table = pyarrow.table({key: [item.get(key) for item in items] for key in columns})
    parquet.write_table(table, path)


def test_an_audit_on_a_dask_cluster_of_json_lines_and_parquet_is_the_audit_of_one_process(
    tmp_path: pathlib.Path,
) -> None:
    """Two workers of a local Dask cluster audit two parts each of a JSON-lines history and of
    the same history in Parquet: the report of one process, refusals with their file and
    line (for Parquet, the row)."""
    distributed = _dask()
    path = _history_file(tmp_path)
    whole = _in_memory(path)
    rows = [json.loads(line) for line in path.read_text().splitlines()[:-2]]
    table = tmp_path / "history.parquet"
    _parquet(rows, table)
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=False,
            threads_per_worker=1,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # not 8787: it may be taken
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        from_lines = audit_partitioned([path], parts=2, client=client, keep_going=True)
        from_table = audit_partitioned([table], parts=3, client=client, keep_going=True)
    assert whole.to_json() == from_lines.to_json()
    of_rows = audit(rows, keep_going=True)
    of_rows = attrs.evolve(
        of_rows, refused=tuple(attrs.evolve(item, file=str(table)) for item in of_rows.refused)
    )
    assert 3 == len(of_rows.refused)
    assert of_rows.to_json() == from_table.to_json()


def test_a_local_dask_cluster_takes_no_port_another_may_hold(tmp_path: pathlib.Path) -> None:
    """``--dask local`` starts its cluster on free ports of this machine: with port 8787 (the
    Dask scheduler's default) held by another program, the audit runs without a warning (the
    suite takes warnings as errors) and gives the report of one process."""
    _dask()
    path = _history_file(tmp_path)
    holder = socket.socket()
    try:
        try:
            holder.bind(("127.0.0.1", 8787))
            holder.listen()
        except OSError:
            pass  # another program holds it already
        out = tmp_path / "report.json"
        command = ["audit", str(path), "--keep-going", "--format", "json", "-o"]
        on_dask = main([*command, str(out), "--dask", "local", "--workers", "2"])
    finally:
        holder.close()
    assert main([*command, str(tmp_path / "one.json")]) == on_dask == 2  # lines refused
    assert (tmp_path / "one.json").read_bytes() == out.read_bytes()


# ------------------------------------------------------------------------------ history files
def _whole(path: pathlib.Path, policy: Policy) -> AuditReport:
    """One process's audit of the history file, its refusals named by file and line (for a
    Parquet file, by row)."""
    if path.suffix == ".parquet":
        from escalation_policy._partitioned import read_items as read_files

        read = list(read_files([str(path)], [str(path)]))
    else:
        read = list(read_items([str(path)], policy))
    whole = audit([item for _, _, item in read], policy=policy, keep_going=True)
    return attrs.evolve(
        whole,
        refused=tuple(
            attrs.evolve(item, file=read[item.line - 1][0], line=read[item.line - 1][1])
            for item in whole.refused
        ),
    )


def _lines(items: list[Any], draw: st.DrawFn) -> list[str]:
    """Items as JSON lines, some written otherwise: a fact whose id is spelt with an escape
    (read as JSON in every part), a line cut short or with ``at`` twice (told to a part by its
    bytes, and refused there), text that is not JSON."""
    lines = []
    for item in items:
        line = json.dumps(item)
        if isinstance(item, dict) and "escalation_id" in item:
            kind = draw(st.sampled_from(["plain"] * 6 + ["escaped", "cut", "twice", "text"]))
            if kind == "escaped":
                line = line.replace('"escalation_id": "', '"escalation_id": "\\u0045', 1)
                line = line.replace("\\u0045E", "\\u0045", 1)
            elif kind == "cut":
                line = line[:-1]
            elif kind == "twice":
                line = line[:-1] + f', "at": "{item["at"]}"}}'
            elif kind == "text":
                line = f'"escalation_id": "{item["escalation_id"]}", "at": "{item["at"]}"'
        elif isinstance(item, dict) and item.get("type") == "tick" and _is_utc(item.get("at")):
            kind = draw(st.sampled_from(["plain"] * 4 + ["zulu", "offset", "compact", "more"]))
            at = dt.datetime.fromisoformat(item["at"])
            if kind == "zulu":  # a tick's time as a part reads it from the bytes, or as JSON
                line = json.dumps({**item, "at": item["at"].replace("+00:00", "Z")})
            elif kind == "offset":
                east = at.astimezone(dt.timezone(dt.timedelta(hours=1)))
                line = json.dumps({**item, "at": east.isoformat()})
            elif kind == "compact":
                line = json.dumps(item, separators=(",", ":"))
            elif kind == "more":
                line = line[:-1] + ', "note": "x"}'
        lines.append(line)
    return lines


def _is_utc(text: object) -> bool:
    """Whether ``text`` is a time in UTC of the common form (``2026-03-02T09:00:00+00:00``)."""
    try:
        return (
            isinstance(text, str)
            and len(text) == 25
            and text.endswith("+00:00")
            and (dt.datetime.fromisoformat(text).isoformat() == text)
        )
    except ValueError:
        return False


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(2, 3))
def test_history_files_audited_in_parts_give_the_report_of_one_process(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, parts: int
) -> None:
    """The parts of an audit of files read as JSON only their own lines (and lines whose part
    cannot be told from their bytes; a tick's only when something falls due), keep their
    escalations on disk, and the merged report, read back in order of opening, is the report
    of one process, refusals by file and line."""
    from escalation_policy._partitioned import PartTask, in_processes, run_partitioned

    policy = default_policy()
    lines = _lines(data.draw(spoiled_histories(policy)), data.draw)
    # Lines read as no item (blank), or refused unread (too long), a byte order mark.
    other = st.sampled_from(["", " \t", "x" * (MAX_LINE + 1)])
    for index, text in sorted(
        data.draw(st.lists(st.tuples(st.integers(0, len(lines)), other), max_size=3)),
        reverse=True,
    ):
        lines.insert(index, text)
    mark = data.draw(st.sampled_from(["", "\ufeff"]))
    path = tmp_path_factory.mktemp("history") / "history.jsonl"
    path.write_text(mark + "".join(line + "\n" for line in lines))
    whole = _whole(path, policy)
    tasks = [
        PartTask(
            paths=(str(path),),
            names=(str(path),),
            part=index,
            parts=parts,
            keep_going=True,
        )
        for index in range(parts)
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_replay, "SWEEP", 2)
        streamed = run_partitioned(tasks, in_processes(1))
    try:
        merged = attrs.evolve(streamed.report, escalations=tuple(streamed.escalations()))
        assert whole.to_json() == merged.to_json()
        assert len(whole.escalations) == streamed._listing.count
    finally:
        streamed.close()


def _timestamp(text: object) -> dt.datetime | None:
    """A fact's time as a Parquet timestamp column holds it (``None``: a time it cannot)."""
    try:
        at = parse_timestamp(text)
    except ValueError:
        return None
    return at if at.microsecond % 1000 == 0 else None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.data(),
    st.integers(2, 3),
    st.sampled_from(["text", "timestamp", "offset timestamp", "no id column"]),
)
def test_parquet_files_audited_in_parts_give_the_report_of_one_process(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, parts: int, form: str
) -> None:
    """A part of an audit of a Parquet file reads only the ``escalation_id`` and ``at`` of
    another part's row, and a tick's row as a tick's line: the merged report is the report of
    one process, refusals by file and row, whatever the time column's type (a text, or a
    timestamp in UTC or at an offset) and with no ``escalation_id`` column at all."""
    pyarrow = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    parquet = pytest.importorskip("pyarrow.parquet")
    from escalation_policy._partitioned import PartTask, in_processes, run_partitioned

    policy = default_policy()
    rows = [item for item in data.draw(spoiled_histories(policy)) if isinstance(item, dict)]
    if form == "no id column":
        rows = [row for row in rows if "escalation_id" not in row]
    columns = sorted({key for row in rows for key in row} | {"at"})
    table = {key: [row.get(key) for row in rows] for key in columns}
    if form != "text":
        times = [_timestamp(text) for text in table["at"]]
        assume(None not in times)
        zone = "UTC" if form == "timestamp" else "+05:30"
        table["at"] = pyarrow.array(times, pyarrow.timestamp("ms", tz=zone))
    path = tmp_path_factory.mktemp("history") / "history.parquet"
    parquet.write_table(pyarrow.table(table), path)
    whole = _whole(path, policy)
    tasks = [
        PartTask(paths=(str(path),), names=(str(path),), part=i, parts=parts, keep_going=True)
        for i in range(parts)
    ]
    streamed = run_partitioned(tasks, in_processes(1))
    try:
        merged = attrs.evolve(streamed.report, escalations=tuple(streamed.escalations()))
        assert whole.to_json() == merged.to_json()
    finally:
        streamed.close()


def _tables() -> list[Any]:
    """Record batches of every kind of column a Parquet file may give."""
    pyarrow = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    at = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc)
    columns = {
        "type": pyarrow.array(["posted", None, "tick"]),
        "large": pyarrow.array(["a", "b", None], pyarrow.large_string()),
        "flag": pyarrow.array([True, None, False]),
        "count": pyarrow.array([1, None, 3], pyarrow.int16()),
        "share": pyarrow.array([0.5, float("nan"), None]),
        "nothing": pyarrow.nulls(3),
        "utc": pyarrow.array([at, None, at], pyarrow.timestamp("us", tz="UTC")),
        "naive": pyarrow.array([at.replace(tzinfo=None)] * 3, pyarrow.timestamp("ms")),
        "zoned": pyarrow.array([at] * 3, pyarrow.timestamp("s", tz="America/New_York")),
        "day": pyarrow.array([at.date(), None, at.date()]),
        "words": pyarrow.array(["x", "y", "x"]).dictionary_encode(),
        "times": pyarrow.array(
            [at, at, None], pyarrow.timestamp("ms", tz="UTC")
        ).dictionary_encode(),
        "list": pyarrow.array([[1], [], None]),
        "struct": pyarrow.array([{"a": 1}, None, {"a": 2}]),
        "bytes": pyarrow.array([b"\x00", None, b"x"]),
    }
    whole = pyarrow.record_batch(list(columns.values()), names=list(columns))
    return [whole, whole.slice(1, 2), whole.select([]), whole.slice(0, 0)]


def test_a_parquet_batch_read_a_column_at_a_time_gives_the_rows_read_one_at_a_time() -> None:
    """``read_rows`` makes a batch's rows a column at a time: the same facts' JSON forms as
    reading each row (a null an absent field, a timestamp its text), whatever the columns'
    types, and with no column at all."""
    from escalation_policy._partitioned import _row, _rows

    for batch in _tables():
        expected = [_row(row) for row in batch.to_pylist()]
        rows = _rows(batch)
        assert len(expected) == len(rows) == batch.num_rows
        # By their texts: a NaN is not equal to itself.
        assert [repr(list(row.items())) for row in expected] == [
            repr(list(row.items())) for row in rows
        ]


def _opened_rows() -> list[dict[str, Any]]:
    """Seven escalations opened, the last four days after the others."""
    return [
        {
            "type": "opened",
            "escalation_id": f"ESC-{number}",
            "customer": f"Customer {number}",
            "segment": "enterprise",
            "severity": "low",
            "at": f"2026-01-0{9 if number == 7 else 5}T09:0{number}:00+00:00",
        }
        for number in range(1, 8)
    ]


def _spoiled_table(case: str) -> Any:
    pyarrow = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    rows = _opened_rows()
    table = pyarrow.table({key: [row[key] for row in rows] for key in rows[0]})
    at = table.schema.get_field_index("at")
    if case == "the time as bytes":
        return table.set_column(at, "at", table.column("at").cast(pyarrow.binary()))
    if case == "a column of text views":
        customer = table.schema.get_field_index("customer")
        views = table.column("customer").cast(pyarrow.string_view())
        return table.set_column(customer, "customer", views)
    if case == "the time as a timestamp":
        times = [dt.datetime.fromisoformat(row["at"]) for row in rows]
        return table.set_column(at, "at", pyarrow.array(times, pyarrow.timestamp("s", tz="UTC")))
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case", ["the time as bytes", "a column of text views", "the time as a timestamp"]
)
def test_parquet_columns_of_any_type_give_parts_the_report_of_one_process(
    tmp_path: pathlib.Path, case: str
) -> None:
    """A time as bytes is no time (every row refused, in one process and in parts alike), a
    column of a type pyarrow cannot filter is read row by row, a timestamp is its instant."""
    parquet = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "history.parquet"
    parquet.write_table(_spoiled_table(case), path)
    command = ["audit", str(path), "--keep-going", "--format", "json", "-o"]
    one = main([*command, str(tmp_path / "one.json")])
    assert one == main([*command, str(tmp_path / "two.json"), "--jobs", "2"])
    assert one == main([*command, str(tmp_path / "three.json"), "--jobs", "3"])
    written = (tmp_path / "one.json").read_bytes()
    assert written == (tmp_path / "two.json").read_bytes() == (tmp_path / "three.json").read_bytes()
    report = json.loads(written)
    assert (7 if case == "the time as bytes" else 0) == len(report["refused"])


_SPOILED = 2
"""The row (from 0) whose value a case spoils; the others are whole."""


def _unreadable(case: str, path: pathlib.Path) -> None:
    """Seven openings as Parquet, spoiled as ``case`` says: a column twice, or one row (the
    third) with a value pyarrow cannot make into Python's."""
    pyarrow = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    parquet = pytest.importorskip("pyarrow.parquet")
    rows = _opened_rows()
    table = pyarrow.table({key: [row[key] for row in rows] for key in rows[0]})
    at = table.schema.get_field_index("at")
    instants = [dt.datetime.fromisoformat(row["at"]).timestamp() for row in rows]
    if case == "a column twice":
        parquet.write_table(table.append_column("at", table.column("at")), path)
    elif case == "nanoseconds":  # no Python datetime holds them (without pandas)
        nanoseconds = [int(instant) * 10**9 for instant in instants]
        nanoseconds[_SPOILED] += 1
        times = pyarrow.array(nanoseconds, pyarrow.timestamp("ns", tz="UTC"))
        parquet.write_table(table.set_column(at, "at", times), path)
    elif case == "past the year 9999":
        seconds = [int(instant) for instant in instants]
        seconds[_SPOILED] = 300_000_000_000
        times = pyarrow.array(seconds, pyarrow.timestamp("s", tz="UTC"))
        parquet.write_table(table.set_column(at, "at", times), path)
    elif case == "an id that is not UTF-8":
        ids = [row["escalation_id"].encode() for row in rows]
        ids[_SPOILED] = b"\xff" + ids[_SPOILED]
        spoiled = pyarrow.array(ids, pyarrow.binary()).view(pyarrow.string())
        index = table.schema.get_field_index("escalation_id")
        parquet.write_table(table.set_column(index, "escalation_id", spoiled), path)
    elif case == "text that is not UTF-8":
        notes = [b"fine"] * len(rows)
        notes[_SPOILED] = b"\xff"
        spoiled = pyarrow.array(notes, pyarrow.binary()).view(pyarrow.string())
        parquet.write_table(table.append_column("summary", spoiled), path)
    else:
        raise AssertionError(case)


def test_a_parquet_file_with_a_column_twice_is_refused_naming_the_file(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Which of the two columns is the fact's field? The file is refused with its name, in one
    process and in parts, never an internal error."""
    path = tmp_path / "history.parquet"
    _unreadable("a column twice", path)
    for jobs in ([], ["--jobs", "2"]):
        status = main(["audit", str(path), "--keep-going", "-o", str(tmp_path / "r"), *jobs])
        error = capsys.readouterr().err
        said = f"escalation-policy: cannot read {path}: the column 'at' is there twice"
        assert (2, said) == (status, error[: len(said)]), error


@pytest.mark.parametrize(
    ("case", "field", "shown"),
    [
        ("nanoseconds", "at", "'2026-01-05 09:03:00.000000001Z'"),
        ("past the year 9999", "at", "'11476-08-15 05:20:00.000Z'"),
        ("text that is not UTF-8", "summary", "b'\\xff'"),
        ("an id that is not UTF-8", "escalation_id", "b'\\xffESC-3'"),
    ],
)
def test_a_value_python_cannot_hold_refuses_its_row_alone(
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    field: str,
    shown: str,
) -> None:
    """A value pyarrow cannot make into Python's is that row's refusal, naming the row, the
    field and what arrived, as a bad value of a JSON line is: the audit stops at it, or with
    ``--keep-going`` takes the other rows, and in parts gives one process's report."""
    path = tmp_path / "history.parquet"
    _unreadable(case, path)
    assert 2 == main(["audit", str(path), "-o", str(tmp_path / "stopped.json")])
    error = capsys.readouterr().err
    said = f"escalation-policy: {path}: row {_SPOILED + 1}: got {shown}, which Python cannot hold"
    assert said == error[: len(said)], error
    assert error.rstrip().endswith(f"@ $.{field}"), error
    reports = []
    for jobs in ("1", "2", "3"):
        out = tmp_path / f"report-{jobs}.json"
        status = main(["audit", str(path), "--keep-going", "--jobs", jobs, "-o", str(out)])
        assert "internal error" not in capsys.readouterr().err
        assert 2 == status
        reports.append(out.read_text())
    assert reports[0] == reports[1] == reports[2]
    report = json.loads(reports[0])
    refused = [(item["line"], item["path"]) for item in report["refused"]]
    assert [(_SPOILED + 1, f"$.{field}")] == refused
    assert len(_opened_rows()) - 1 == report["totals"]["escalations"]


def test_a_part_that_cannot_read_its_file_reports_it_without_raising(
    tmp_path: pathlib.Path,
) -> None:
    """A part, as a Dask worker runs it, returns why it stopped at a file it cannot read (the
    command says it once): raised, each worker would log its traceback."""
    from escalation_policy._partitioned import PartStopped, PartTask, run_part

    path = tmp_path / "history.parquet"
    path.write_bytes(b"PAR1 not a Parquet file PAR1")
    names = (str(path),)
    result = run_part(PartTask(paths=names, names=names, part=1, parts=2))
    assert isinstance(result, PartStopped)
    assert result.message.startswith(f"cannot read {path}")


@pytest.mark.parametrize("jobs", [[], ["--jobs", "2"]])
def test_a_parquet_files_refusals_name_its_rows(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], jobs: list[str]
) -> None:
    """A Parquet file holds rows, not lines: its refusals, the first that stops an audit, and
    the count of those refused say ``row``; a file of JSON lines beside it keeps ``line``."""
    pyarrow = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    parquet = pytest.importorskip("pyarrow.parquet")
    at = "2026-03-02T09:00:00+00:00"
    opened = {"type": "opened", "escalation_id": "E-1", "customer": "Acme"}
    opened |= {"segment": "enterprise", "severity": "high", "at": at}
    meeting = {"type": "meeting_held", "escalation_id": "E-1", "at": at}  # no audience
    table = tmp_path / "history.parquet"
    parquet.write_table(pyarrow.Table.from_pylist([opened, meeting]), table)
    lines = tmp_path / "more.jsonl"
    lines.write_text(json.dumps(meeting | {"escalation_id": "E-2"}) + "\n")

    assert main(["audit", str(table), *jobs, "-o", str(tmp_path / "r.json")]) == 2
    assert f"{table}: row 2: required field is missing @ $.audience" in capsys.readouterr().err
    out = tmp_path / "r.md"
    assert main(["audit", str(table), "--keep-going", *jobs, "-o", str(out)]) == 2
    assert "1 of 2 rows refused" in capsys.readouterr().err
    assert "| file | row | code | field | reason |" in out.read_text()
    out = tmp_path / "r.txt"
    assert main(["audit", str(table), str(lines), "--keep-going", *jobs, "-o", str(out)]) == 2
    assert "2 of 3 lines and rows refused" in capsys.readouterr().err
    text = out.read_text()
    assert f"{table}: row 2: required field is missing" in text
    assert f"{lines}: line 1: " in text


def test_refusals_that_keep_the_parts_apart_round_after_round_end_in_one_part(
    tmp_path: pathlib.Path,
) -> None:
    """Refused lines whose times run backwards, about escalations of the two parts in turn,
    keep the parts apart one line more each round: after ``ROUNDS`` rounds the history is
    audited in one part, and the report is still the one of one process."""
    from escalation_policy._audit._parts import part_of
    from escalation_policy._partitioned import ROUNDS

    policy = default_policy()
    ids = [f"ESC-{n}" for n in range(1, 200)]
    by_part = [[i for i in ids if part_of(i, 2) == part] for part in (0, 1)]
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
    opened = {
        "type": "opened",
        "escalation_id": "ESC-1",
        "customer": "Acme",
        "segment": "enterprise",
        "severity": "low",
        "at": start.isoformat(),
    }
    lines = [json.dumps(opened)]
    for n in range(12):  # refused for a key no fact has, later than the clock, each earlier
        escalation_id = by_part[n % 2][n // 2]
        at = start + dt.timedelta(minutes=60 - n)
        lines.append(
            json.dumps(
                {"type": "posted", "escalation_id": escalation_id, "bogus": 1, "at": at.isoformat()}
            )
        )
    lines.append(json.dumps({"type": "tick", "at": (start + dt.timedelta(days=2)).isoformat()}))
    path = tmp_path / "history.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    whole = _whole(path, policy)
    assert len(whole.refused) == 12
    rounds = _rounds_of_two_parts_equal_to(whole, path)
    assert rounds == [2] * ROUNDS + [1]


def _rounds_of_two_parts_equal_to(whole: Any, path: pathlib.Path) -> list[int]:
    """Audit ``path`` in two parts (``--keep-going``), check the merged report is ``whole``
    (one process's), and return how many parts each round ran."""
    from escalation_policy._partitioned import PartTask, in_processes, run_partitioned

    tasks = [
        PartTask(paths=(str(path),), names=(str(path),), part=i, parts=2, keep_going=True)
        for i in range(2)
    ]
    runner = in_processes(1)
    rounds: list[int] = []

    def counted(tasks: Any) -> Any:
        rounds.append(len(tasks))
        return runner(tasks)

    streamed = run_partitioned(tasks, counted)
    try:
        merged = attrs.evolve(streamed.report, escalations=tuple(streamed.escalations()))
        assert whole.to_json() == merged.to_json()
    finally:
        streamed.close()
    return rounds


_ESCALATION_ID = re.compile(rb'[{,]\s*"escalation_id"\s*:\s*"([^"]*)"')
_AT = re.compile(rb'[{,]\s*"at"\s*:\s*"([^"]*)"')


def _owner_by_patterns(line: bytes, parts: int) -> tuple[int, bytes | None] | None:
    """How a line's part and time are told from its bytes, said with regular expressions."""
    if b"\\" in line or line.count(b"{") != 1 or line.count(b'"escalation_id"') != 1:
        return None
    found = _ESCALATION_ID.search(line)
    if found is None:
        return None
    at = _AT.search(line)
    return zlib.crc32(found.group(1)) % parts, None if at is None else at.group(1)


_PIECES = [
    b"{", b"}", b", ", b",", b": ", b" ", b"\t", b'"', b"\\", b"[1]",
    b'"escalation_id"', b'"escalation_id": "E-1"', b'"escalation_id" :"ESC-22"',
    b'"at"', b'"at": "2026-03-02T09:00:00Z"', b'"at":"2026-03-02T10:00:00+01:00"', b'"at": 5',
    b'"type": "tick"',
]  # fmt: skip
_KEYS = st.sampled_from(["escalation_id", "at", "type", "note"])
_VALUES = st.sampled_from(["E-1", "ESC-22", "at", "escalation_id", "2026-03-02T09:00:00Z"])


@st.composite
def _objects(draw: st.DrawFn) -> bytes:
    """A JSON object's text, its keys perhaps twice, spaced in any of the ways JSON allows."""
    pairs = draw(st.lists(st.tuples(_KEYS, _VALUES | st.integers(0, 3)), max_size=5))
    space = st.sampled_from(["", " ", "\t", "  "])
    text = "{" + draw(space)
    for index, (key, value) in enumerate(pairs):
        if index:
            text += draw(space) + "," + draw(space)
        text += json.dumps(key) + draw(space) + ":" + draw(space) + json.dumps(value)
    return (text + draw(space) + "}").encode()


@settings(max_examples=500, deadline=None)
@example(b'{"escalation_id": "E-1", "at": "2026-03-02T09:00:00Z", "at": "later"}', 2)
@example(b'{"note": "at": "2026-03-02T09:00:00Z", "escalation_id": "E-1", "at": 5}', 3)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=10).map(b"".join) | _objects(), st.integers(1, 4)
)
def test_a_lines_part_and_time_are_told_from_its_bytes_as_the_patterns_say(
    line: bytes, parts: int
) -> None:
    """Each part tells a line's part and time from its bytes the same way: its id after the
    key ``escalation_id`` (there once, after ``{`` or ``,``), its time after the first key
    ``at`` with a string."""
    assert _owner_by_patterns(line, parts) == line_owner(line, parts)


_TEXTS = st.sampled_from(
    ["E-1", "at", "escalation_id", "type", "2026-03-02T09:00:00+00:00", "{", "}", "\\",
     ",", ", ", ": ", '"', ', "at": "2026-03-02T10:00:00+00:00"', ', "escalation_id": "E-2"',
     "[1, 2]"]
)  # fmt: skip
_SCALARS = st.one_of(_TEXTS, st.integers(0, 3), st.none(), st.booleans())


@st.composite
def _written(draw: st.DrawFn) -> bytes:
    """A line as ``json.dumps`` writes a fact (its ``type`` and ``escalation_id`` first), its
    other keys and values drawn to trip up any shortcut, perhaps cut or run on."""
    fact: dict[str, object] = {
        "type": draw(st.sampled_from(["posted", "tick", "at", "escalation_id", "Posted"])),
        "escalation_id": draw(_TEXTS | st.integers(0, 3)),
    }
    keys = st.sampled_from(["at", "escalation_id", "note", "type", "", "a t", "{"]) | _TEXTS
    for key, value in draw(
        st.lists(st.tuples(keys, _SCALARS | st.lists(_SCALARS, max_size=2)), max_size=4)
    ):
        fact.setdefault(key, value)
    if draw(st.booleans()):
        fact["at"] = draw(_TEXTS | st.integers(0, 3))
    text = json.dumps(fact).encode()
    end = draw(st.sampled_from([b"\n", b"", b"\r\n", b" \n"]))
    cut = draw(st.integers(0, len(text)))
    return (text if draw(st.booleans()) else text[:cut] + draw(st.sampled_from(_PIECES))) + end


@settings(max_examples=1000, deadline=None)
@example(b'{"type": "posted", "escalation_id": "E-1", "at": "2026-03-02T09:00:00+00:00"}\n', 2)
@example(b'{"type": "escalation_id", "escalation_id": "E-1", "at": "x"}\n', 2)
@example(b'{"type": "posted", "escalation_id": "E-1", "at": 5, "at": "x"}\n', 2)
@example(b'{"type": "posted", "escalation_id": "E-1", "at": "x", "escalation_id": "E-2"}', 2)
@example(b'{"type": "posted", "escalation_id": "E-1", "n": "escalation_id", "at": "x"}', 2)
@given(_written(), st.integers(1, 4))
def test_a_line_as_json_writes_a_fact_is_told_as_the_patterns_say(line: bytes, parts: int) -> None:
    """Most lines are written by ``json.dumps`` with the fact's ``type`` and ``escalation_id``
    first, and told apart in one match: the same part and time as the patterns say."""
    assert _owner_by_patterns(line, parts) == line_owner(line, parts)


@settings(max_examples=300, deadline=None)
@example("2026-02-30T09:00:00+00:00")
@example("0001-01-01T00:00:00+00:00")
@example("9000-01-01T00:00:00+00:00")
@given(
    st.datetimes(timezones=st.just(dt.timezone.utc)).map(lambda at: at.isoformat())
    | st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+00:00\Z")
)
def test_the_time_of_a_line_of_another_part_is_read_as_a_facts_time(text: str) -> None:
    """A part lets the time of another part's line pass as the part that owns the line reads
    it: a time out of range, or no time, passes nothing."""
    try:
        expected: dt.datetime | None = parse_timestamp(text)
    except ValueError:
        expected = None
    got = _time_of(text.encode())
    assert expected == got
    assert got is None or got.tzinfo is dt.timezone.utc


def test_times_of_other_parts_lines_at_the_edges_pass_as_in_one_process(
    tmp_path: pathlib.Path,
) -> None:
    """Lines of one part whose times fall at the edges of what passes quietly in the other
    part: exactly at an escalation's due time and a second before it, at the clock, before
    it, past the largest jump, of another form (``Z``, an offset), not a time at all, a
    refused line that moves the clock (audited again with ``not_taken``); and ticks among
    them. Every part's report merges into the report of one process."""
    from escalation_policy import PolicyEngine
    from escalation_policy._audit._parts import part_of

    policy = default_policy()
    mine, other = "ESC-1", "ESC-4"
    assert part_of(mine, 2) != part_of(other, 2)
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)

    def opened(escalation_id: str, at: dt.datetime) -> dict[str, Any]:
        return {
            "type": "opened",
            "escalation_id": escalation_id,
            "customer": "Acme",
            "segment": "enterprise",
            "severity": "critical",
            "tam": "Alex",
            "at": at.isoformat(),
        }

    engine = PolicyEngine(policy)
    engine.handle(opened(mine, start))
    state = engine.escalation(mine)
    assert state is not None
    assert state.next_due is not None
    due = state.next_due

    def text(at: dt.datetime) -> str:
        return at.isoformat()

    def posted(at: str, escalation_id: str = other) -> str:
        return json.dumps({"type": "posted", "escalation_id": escalation_id, "at": at})

    second = dt.timedelta(seconds=1)
    lines = [
        json.dumps(opened(mine, start)),
        json.dumps(opened(other, start)),
        posted(text(start)),  # at the clock
        posted(text(start - second)),  # before it: refused
        posted(text(due - second)),
        posted(text(due)),  # exactly at the due time
        posted(text(due - second)),  # before the clock again
        json.dumps({"type": "tick", "at": text(due)}),  # a tick at the clock
        posted(text(due + 400 * dt.timedelta(days=1))),  # past the largest jump: refused
        posted(text(due + second).replace("+00:00", "Z")),
        posted(text(due + 2 * second).replace("+00:00", "+01:00")),  # an hour earlier
        posted("2026-02-30T09:00:00+00:00"),  # not a day
        posted("2026-03-02T24:00:00+00:00"),  # not an hour
        posted("2026-03-02T10:60:00+00:00"),  # not a minute
        json.dumps({"type": "tick", "at": text(due + 3 * second)}),
        posted(text(due + 4 * second), mine),
        # Refused in the other part (a key no fact has) and later than the clock: audited
        # again with it not taken.
        json.dumps({"type": "posted", "escalation_id": other, "bogus": 1, "at": text(due)}),
        json.dumps(
            {"type": "posted", "escalation_id": other, "bogus": 1, "at": text(due + 9 * second)}
        ),
        posted(text(due + 5 * second)),
        json.dumps({"type": "tick", "at": text(due + dt.timedelta(days=2))}),
        posted(text(due + dt.timedelta(days=2, seconds=1)), mine),
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    whole = _whole(path, policy)
    assert len(whole.refused) >= 6
    rounds = _rounds_of_two_parts_equal_to(whole, path)
    assert rounds[:2] == [2, 2]  # the second round with not_taken
