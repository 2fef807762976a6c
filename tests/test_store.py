"""The store layer under strain: processes opening a new store at once, stores whose schema or
tables are not what they say, damaged files, and URLs that are not store URLs. Every failure is
a StoreError (exit status 5 on the command line), never a raw database error."""

import contextlib
import datetime as dt
import functools
import io
import json
import os
import pathlib
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation_policy import (
    EscalationDamagedError,
    InputError,
    PolicyChangedError,
    Service,
    StoreError,
    open_store,
)
from escalation_policy.cli import main
from escalation_policy.store import SCHEMA_VERSION, _open
from escalation_policy.store.base import _safe, _tables

from .conftest import T0, examples
from .stores import postgres_url, require_postgres

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"

# ------------------------------------------------------------------- opening a new store at once
OPENER = """
import sys, time
from escalation_policy.store import open_store
start, spacing, urls = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
failures = 0
for trial, url in enumerate(urls):
    time.sleep(max(0.0, start + trial * spacing - time.time()))
    try:
        open_store(url).close()
    except Exception as error:
        failures += 1
        print(f"trial {trial}: {type(error).__name__}: {error}", flush=True)
sys.exit(1 if failures else 0)
"""


def opened_at_once(urls: list[str], processes: int = 8) -> list[str]:
    """Start ``processes`` processes that open each of ``urls`` (new stores) at the same
    moment, one trial after another; what failed."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    spacing = 0.3
    start = time.time() + 2.0  # every process has imported the library by then
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(start), str(spacing), *urls],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(processes)
    ]
    failed = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120 + len(urls) * spacing)
        if worker.returncode != 0:
            failed.append(out or f"exit status {worker.returncode}")
    return failed


def new_urls(kind: str, folder: pathlib.Path, trials: int) -> Iterator[list[str]]:
    if kind == "sqlite":
        yield [f"sqlite:///{folder / f'new-{trial}.db'}" for trial in range(trials)]
        return
    require_postgres()
    schemas = [postgres_url() for _ in range(trials)]
    try:
        yield [next(schema) for schema in schemas]
    finally:
        for schema in schemas:
            for _ in schema:
                pass


def check_opened_at_once(kind: str, folder: pathlib.Path, trials: int) -> None:
    for urls in new_urls(kind, folder, trials):
        assert [] == opened_at_once(urls)
        for url in urls:  # each store was made once, whole
            with open_store(url) as store:
                assert SCHEMA_VERSION == store.schema_version()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_eight_processes_opening_a_new_store_at_once_all_succeed(
    kind: str, tmp_path: pathlib.Path
) -> None:
    check_opened_at_once(kind, tmp_path, trials=8)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_eight_processes_opening_a_new_store_at_once_50_times_all_succeed(
    kind: str, tmp_path: pathlib.Path
) -> None:
    check_opened_at_once(kind, tmp_path, trials=50)


# ---------------------------------------------------------------------- stores that are damaged
def _sql(url: str, statement: str) -> None:
    """Run one statement on the store's database directly, as a person with a client would."""
    with open_store(url) as store, store._script() as execute:
        execute(statement)


def test_a_schema_version_that_is_not_a_number_is_a_store_error(new_store_url: Any) -> None:
    url = new_store_url()
    _sql(url, "UPDATE ep_meta SET value = 'abc' WHERE key = 'schema'")
    with pytest.raises(StoreError, match="records schema version 'abc'; expected a whole number"):
        open_store(url)


def test_a_schema_version_behind_the_tables_is_a_store_error(new_store_url: Any) -> None:
    """ep_meta says 2 but the tables are those of a later version: the upgrade says so rather
    than fail on a column that is already there."""
    url = new_store_url()
    _sql(url, "UPDATE ep_meta SET value = '2' WHERE key = 'schema'")
    with pytest.raises(StoreError, match=r"from schema version 2 to 3 .*not those of version 2"):
        open_store(url)


@pytest.mark.parametrize("table", _tables(SCHEMA_VERSION))
def test_a_store_missing_a_table_is_a_store_error(new_store_url: Any, table: str) -> None:
    url = new_store_url()
    if table == "ep_meta":
        _sql(url, "DROP TABLE ep_meta")
        # Without ep_meta the store looks new: the upgrade meets the other tables.
        with pytest.raises(StoreError, match="from schema version 0 to 1"):
            open_store(url)
        return
    _sql(url, f"DROP TABLE {table}")
    with pytest.raises(
        StoreError, match=f"has schema version {SCHEMA_VERSION} but no table {table}"
    ):
        open_store(url)


def test_a_table_dropped_while_a_service_runs_is_a_store_error(new_store_url: Any) -> None:
    url = new_store_url()
    with Service(url) as service:
        _sql(url, "DROP TABLE ep_outbox")
        with pytest.raises(StoreError, match="ep_outbox"):
            service.claim(T0)
        with pytest.raises(StoreError, match="ep_outbox"):
            service.status()


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"this is not a database\n" * 200)
    with pytest.raises(StoreError, match="cannot open the SQLite store"):
        open_store(str(path))
    assert 5 == main(["status", "--store", str(path)])


def test_a_relative_sqlite_path_that_cannot_be_opened_says_how_to_give_an_absolute_one(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sqlite:///var/lib/x.db`` is ``var/lib/x.db`` in the current folder, as SQLAlchemy
    reads it: where that folder is missing, the error says so, and how to name the root's."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError) as raised:
        open_store("sqlite:///var/lib/escalations.db")
    assert f"(a path relative to {tmp_path};" in str(raised.value)
    assert "sqlite:////" in str(raised.value)
    with pytest.raises(StoreError) as raised:
        open_store(f"sqlite:///{tmp_path}/missing/escalations.db")  # absolute: no hint
    assert "(a path relative to" not in str(raised.value)


def _edit_state(url: str, escalation_id: str, edit: Any) -> None:
    """Change an escalation's stored state as a person with a database client would."""
    with open_store(url) as store, store._script() as execute:
        (state,) = execute(
            f"SELECT state FROM ep_escalations WHERE escalation_id = '{escalation_id}'"
        )[0]
        data = json.loads(state)
        edit(data)
        text = json.dumps(data).replace("'", "''")
        execute(
            f"UPDATE ep_escalations SET state = '{text}' WHERE escalation_id = '{escalation_id}'"
        )


DAMAGED_STATES = [
    ("an obligation the policy does not have", "pending[0].obligation",
     lambda d: d["pending"][0].update(obligation="gone")),
    ("a rule the policy does not have", "pending[0].rule",
     lambda d: d["pending"][0].update(rule="gone.rule")),
    ("a status the policy does not have", "status", lambda d: d.update(status="bogus")),
    ("a clock before the opening", "opened_at",
     lambda d: d.update(clock="2020-01-01T00:00:00+00:00")),
    ("no owner for what is pending", "owner", lambda d: d.update(owner=None)),
    ("another escalation's state", "escalation_id", lambda d: d.update(escalation_id="ESC-2")),
    ("work done early for no obligation that counts it", "early_work[0].obligation",
     lambda d: d.update(early_work=[{"obligation": "cadence", "at": d["clock"]}])),
]  # fmt: skip


@pytest.mark.parametrize(("case", "field", "edit"), DAMAGED_STATES)
def test_a_stored_state_no_engine_writes_is_a_store_error_and_changes_nothing(
    new_store_url: Any, case: str, field: str, edit: Any
) -> None:
    """A row edited by hand or damaged is checked as a snapshot's escalation is, when a
    process reads it: the error names the escalation and the field, and nothing is written."""
    url = new_store_url()
    opened = {
        "type": "opened", "at": "2026-03-02T09:00:00Z", "escalation_id": "ESC-1",
        "customer": "Initech", "segment": "enterprise", "severity": "critical",
        "initiated_by": "customer_success", "tam": "Priya", "summary": "Builds fail",
    }  # fmt: skip
    with Service(url) as service:
        service.handle(opened)
        service.handle({**opened, "escalation_id": "ESC-3"})
    _edit_state(url, "ESC-1", edit)
    with open_store(url) as store:
        before = (store.states(), store.outbox(), store.counts())
    with Service(url) as service:
        fact = {"type": "meeting_held", "at": "2026-03-02T10:00:00Z", "escalation_id": "ESC-1",
                "audience": "customer"}  # fmt: skip
        with pytest.raises(StoreError, match=r"the stored state of 'ESC-1' is not one") as raised:
            service.handle(fact)
        assert f"({field}: got " in str(raised.value), case
        with pytest.raises(StoreError, match=r"'ESC-1'"):
            service.escalation("ESC-1")
        with open_store(url) as store:
            assert before == (store.states(), store.outbox(), store.counts()), case
        # the other escalations are still decided
        service.handle({**fact, "escalation_id": "ESC-3"})


def test_a_damaged_row_is_set_aside_and_time_passes_for_the_others(
    new_store_url: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """BAD's row edited by hand, both escalations overdue three days later: the due scans set
    BAD aside (named, with what is wrong) and report GOOD's misses; facts about GOOD and new
    escalations are decided; the worker says so once. A fact about BAD still raises, until its
    row is repaired: then it is decided and taken back."""
    url = new_store_url()
    opened = {
        "type": "opened", "at": T0.isoformat(), "customer": "Initech", "segment": "enterprise",
        "severity": "critical", "initiated_by": "customer_success", "tam": "Priya",
    }  # fmt: skip
    with Service(url) as service:
        service.handle({**opened, "escalation_id": "BAD"})
        service.handle({**opened, "escalation_id": "GOOD"})
    with open_store(url) as store:
        (original,) = [row.state for row in store.states() if row.escalation_id == "BAD"]
    _edit_state(url, "BAD", lambda d: d.update(status="bogus"))
    later = T0 + dt.timedelta(days=3)
    with Service(url) as service:
        missed = service.run_due(later)
        assert {"GOOD"} == {d.action.escalation_id for d in missed}
        assert ["post_overdue"] == [
            d.action.code.value for d in missed if d.action.TYPE == "violation"
        ][:1]
        assert ["BAD"] == list(service.status().damaged)
        assert "(status: got 'bogus'" in service.damaged["BAD"]
        wakeup = service.next_wakeup()
        assert wakeup is None or wakeup > later  # BAD's past due time wakes no one
        service.handle({"type": "meeting_held", "at": later.isoformat(), "escalation_id": "GOOD",
                        "audience": "customer"})  # fmt: skip
        service.handle({**opened, "escalation_id": "NEW", "at": later.isoformat()})
        with pytest.raises(StoreError, match="'BAD'"):
            service.handle({"type": "tam_informed", "at": later.isoformat(),
                            "escalation_id": "BAD"})  # fmt: skip
        capsys.readouterr()
        assert 0 == main(["worker", "--store", url, "--once", "--now", later.isoformat()])
        assert "'BAD'" in capsys.readouterr().err
        _edit_state(url, "BAD", lambda d: d.clear() or d.update(json.loads(original)))
        decided = service.handle({"type": "tam_informed", "at": later.isoformat(),
                                  "escalation_id": "BAD"})  # fmt: skip
        assert "post_overdue" in [a.code.value for a in decided.actions if a.TYPE == "violation"]
        assert {} == service.damaged


def _two_critical(url: str, *ids: str) -> dict[str, Any]:
    """Open critical escalations ``ids`` at T0 in the store; their opening fact, without id."""
    opened = {
        "type": "opened", "at": T0.isoformat(), "customer": "Initech", "segment": "enterprise",
        "severity": "critical", "initiated_by": "customer_success", "tam": "Priya",
    }  # fmt: skip
    with Service(url) as service:
        for escalation_id in ids:
            service.handle({**opened, "escalation_id": escalation_id})
    return opened


def test_a_fact_about_a_damaged_row_is_refused_alone_and_the_batch_goes_on(
    new_store_url: Any, tmp_path: pathlib.Path
) -> None:
    """A batch with facts about GOOD, damaged BAD and a new escalation: only BAD's is refused
    (an input error and a store error, `escalation_damaged`), the others are decided; `run
    --keep-going` records the refusal and moves on, so the feed does not stall."""
    url = new_store_url()
    opened = _two_critical(url, "BAD", "GOOD")
    _edit_state(url, "BAD", lambda d: d.update(status="bogus"))
    later = (T0 + dt.timedelta(minutes=30)).isoformat()
    facts = [
        {"type": "meeting_held", "at": later, "escalation_id": "GOOD", "audience": "customer"},
        {"type": "tam_informed", "at": later, "escalation_id": "BAD", "id": "f-2"},
        {**opened, "at": later, "escalation_id": "NEW"},
    ]
    with Service(url) as service:
        good, bad, new = service.handle_many(facts, keep_going=True)
        assert isinstance(bad, EscalationDamagedError)
        assert isinstance(bad, StoreError)
        assert ("escalation_damaged", "$.escalation_id", "f-2") == (bad.code, bad.path, bad.fact_id)
        assert "(status: got 'bogus'" in bad.reason
        assert not isinstance(good, InputError)
        assert not isinstance(new, InputError)
        assert service.escalation("NEW") is not None
        assert ["BAD"] == list(service.damaged)
    lines = tmp_path / "facts.jsonl"
    lines.write_text("".join(json.dumps({**f, "at": (T0 + dt.timedelta(hours=1)).isoformat()})
                             + "\n" for f in facts[:2]))  # fmt: skip
    assert 2 == main(["run", "--store", url, "--keep-going", str(lines)])
    with Service(url) as service:
        (refusal,) = service.refusals()
        assert ("escalation_damaged", 2) == (refusal.code, refusal.position)


def test_a_repaired_row_is_taken_back_by_the_next_due_scan(new_store_url: Any) -> None:
    """Repaired while nothing refers to it (even to the very text this process wrote, which
    it reads from memory), the row is read again by the next due scan and decided."""
    url = new_store_url()
    _two_critical(url, "BAD", "GOOD")
    with open_store(url) as store:
        (original,) = [row.state for row in store.states() if row.escalation_id == "BAD"]
    with Service(url) as service:
        service.escalation("BAD")  # this process now knows BAD's text
        _edit_state(url, "BAD", lambda d: d.update(status="bogus"))
        first = service.run_due(T0 + dt.timedelta(days=3))
        assert {"GOOD"} == {d.action.escalation_id for d in first}
        assert ["BAD"] == list(service.damaged)
        _edit_state(url, "BAD", lambda d: d.clear() or d.update(json.loads(original)))
        second = service.run_due(T0 + dt.timedelta(days=3))
        assert {"BAD"} == {d.action.escalation_id for d in second}
        assert {} == service.damaged


def test_many_damaged_rows_are_skipped_by_the_database(new_store_url: Any) -> None:
    """More rows set aside than a due scan lists itself: the scans still end and report the
    others, and the next scan does not read the rows set aside again."""
    url = new_store_url()
    _two_critical(url, "GOOD", *(f"BAD-{n:03d}" for n in range(80)))
    for n in range(80):
        _edit_state(url, f"BAD-{n:03d}", lambda d: d.update(status="bogus"))
    with Service(url) as service:
        first = service.run_due(T0 + dt.timedelta(days=3))
        assert {"GOOD"} == {d.action.escalation_id for d in first}
        assert 80 == len(service.damaged)
        later = service.run_due(T0 + dt.timedelta(days=4))
        assert {"GOOD"} == {d.action.escalation_id for d in later}
        wakeup = service.next_wakeup()
        assert wakeup is None or wakeup > T0 + dt.timedelta(days=4)


# ------------------------------------------------------------------------------- store URLs
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("   ", "a blank store URL"),
        ("sqlite:///  ", "expected a file after sqlite:///"),
        ("host=localhost dbname=test", "a libpq connection string"),
        ("dbname=test user=me", "a libpq connection string"),
        ("store\x00.db", "a NUL character"),
        ("postgresql://127.0.0.1/test\x00", "a NUL character"),
    ],
)
def test_a_url_that_is_no_store_url_is_refused_and_makes_no_file(
    url: str, message: str, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=message):
        open_store(url)
    assert [] == list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://nobody:hunter2@127.0.0.1:9/none?connect_timeout=1",
        "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1&password=hunter2",
        "postgresql://nobody@127.0.0.1:9/none?password=hunter2&connect_timeout=1",
        "host=127.0.0.1 port=9 password=hunter2 dbname=none",
        "host=127.0.0.1 password = 'hunter 2' dbname=none",
        "mysql://nobody:hunter2@db/none?password=hunter2",
    ],
)
def test_no_message_shows_a_password(
    url: str, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert "hunter" not in str(caught.value)
    assert 5 == main(["status", "--store", url])
    err = capsys.readouterr().err
    assert "hunter" not in err
    assert 1 == len(err.splitlines())
    assert [] == list(tmp_path.iterdir())


def test_redaction_keeps_the_rest_of_the_url() -> None:
    assert "postgresql://me:***@db:5432/x?sslmode=require&password=***" == _safe(
        "postgresql://me:secret@db:5432/x?sslmode=require&password=secret"
    )


@pytest.mark.parametrize("command", ["run", "worker", "prune", "status", "refused"])
def test_a_blank_store_option_is_refused_not_replaced_by_the_default(
    command: str, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    extra = {
        "run": [str(EXAMPLES / "critical-outage.jsonl")],
        "worker": ["--once"],
        "prune": ["--facts-older-than", "1d"],
    }.get(command, [])
    assert 5 == main([command, "--store", "", *extra])
    assert "expected a store URL" in capsys.readouterr().err
    assert [] == list(tmp_path.iterdir())


def test_an_upgrade_from_version_3_keeps_what_the_store_held(new_store_url: Any) -> None:
    """A version-3 store (before dead letters and refusals) opens as version 4, its outbox
    and states as they were, with no dead letter and no refusal."""
    url = new_store_url()
    with Service(":memory:") as reference:
        reference.handle(
            {
                "type": "opened",
                "id": "crm-1",
                "at": T0.isoformat(),
                "escalation_id": "ESC-1",
                "customer": "Acme",
                "segment": "enterprise",
                "severity": "critical",
                "tam": "alex",
            }
        )
        texts = [(entry.action_id, entry.action) for entry in reference.store.outbox()]
    store = _open(url, 3)
    with store.transaction() as tx:
        db: Any = tx.db  # type: ignore[attr-defined]  # version 3's own columns, in SQL
        for action_id, text in texts:
            db.execute(
                store._sql(
                    "INSERT INTO ep_outbox (action_id, escalation_id, action) VALUES (?, ?, ?)"
                ),
                (action_id, "ESC-1", text),
            )
    assert 3 == store.schema_version()
    store.close()
    with Service(url) as service:
        assert SCHEMA_VERSION == service.store.schema_version()
        assert [action_id for action_id, _ in texts] == [d.id for d in service.outbox()]
        assert [] == service.dead_letters()
        assert [] == service.refusals()
        assert texts[0][0] == service.claim(T0)[0].id


def test_sqlite_errors_inside_a_transaction_become_store_errors(tmp_path: pathlib.Path) -> None:
    with open_store(str(tmp_path / "store.db")) as store:
        with pytest.raises(StoreError, match="no such table: nowhere"), store.transaction() as tx:
            tx.db.execute("SELECT * FROM nowhere")  # type: ignore[attr-defined]
        with store.transaction() as tx:  # the store is usable after it
            assert {} == tx.seen(["x"])


# --------------------------------------------------------------------------- damaged files, fuzzed
FUZZ_NOW = "2026-03-20T00:00:00+00:00"
COMMANDS = [
    ["status"],
    ["dead-letters"],
    ["refused"],
    ["worker", "--once", "--now", FUZZ_NOW],
    ["run", "--keep-going", "--format", "json", "FEED"],
    ["prune", "--facts-older-than", "1d", "--delivered-older-than", "1d", "--now", FUZZ_NOW],
    ["dead-letters", "--retry"],
    ["refused", "--acknowledge"],
]


@functools.cache
def template_store() -> bytes:
    """The bytes of a SQLite store holding some of everything: states, fact ids, delivered
    and undelivered actions, a dead letter, a refusal."""
    folder = pathlib.Path(tempfile.mkdtemp())
    path = folder / "template.db"
    feed = EXAMPLES / "non-compliant.jsonl"
    facts = [json.loads(line) for line in feed.read_text().splitlines() if line.strip()]
    for number, fact in enumerate(facts):
        fact["id"] = f"src-{number}"
    with Service(str(path)) as service:
        service.handle_many(
            [*facts, {"type": "openned"}],
            keep_going=True,
            source="feed",
            positions=list(range(1, len(facts) + 2)),
            now=T0,
        )
        claimed = service.claim(T0 + dt.timedelta(days=1), limit=3)
        service.ack([claimed[0].id], T0 + dt.timedelta(days=1))
        with service.store.transaction() as tx:
            db: Any = tx.db  # type: ignore[attr-defined]
            db.execute(
                "UPDATE ep_outbox SET action = 'not json' WHERE action_id = ?", (claimed[1].id,)
            )
        service.claim(T0 + dt.timedelta(days=2), limit=10)
    data = path.read_bytes()
    shutil.rmtree(folder)
    return data


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("clock", "178\x00760400000000", id="a clock that is no number"),
        pytest.param("policy", 7, id="a number for a policy identity"),
        pytest.param("policy", "sha256:nothex", id="a policy identity that is none"),
    ],
)
def test_a_damaged_ep_meta_value_is_a_store_error_naming_it(
    tmp_path: pathlib.Path, key: str, value: object
) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(template_store())
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO ep_meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
    db.close()
    with (
        pytest.raises(StoreError, match=f"ep_meta holds .* for '{key}'.*damaged"),
        Service(str(path)) as service,
    ):
        service.handle({"type": "tick", "at": (T0 + dt.timedelta(days=3)).isoformat()})


def damaged(data: bytes, changes: list[tuple[int, int]], cut: int | None) -> bytes:
    """``data`` with bytes overwritten at fractions of its length, and maybe cut short."""
    damaged = bytearray(data)
    for where, value in changes:
        damaged[where * len(damaged) // 10_000] = value
    return bytes(damaged[: cut * len(damaged) // 100] if cut is not None else damaged)


DAMAGE = {
    "changes": st.lists(
        st.tuples(st.integers(0, 9_999), st.integers(0, 255)), min_size=1, max_size=24
    ),
    "cut": st.none() | st.integers(1, 99),
}


@settings(
    max_examples=examples(80),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(command=st.sampled_from(COMMANDS), **DAMAGE)
def test_a_damaged_sqlite_store_is_a_store_error_never_an_internal_error(
    command: list[str],
    changes: list[tuple[int, int]],
    cut: int | None,
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bytes of a store file overwritten at random (and the file maybe cut short): every
    command either works or ends with the status docs/errors.md gives, never status 4."""
    folder = pathlib.Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / "store.db"
    path.write_bytes(damaged(template_store(), changes, cut))
    feed = EXAMPLES / "critical-outage.jsonl"
    arguments = [str(feed) if part == "FEED" else part for part in command]
    status = main([*arguments, "--store", f"sqlite:///{path}"])
    err = capsys.readouterr().err
    assert status in (0, 2, 5), err
    assert "internal error" not in err
    assert len(err.splitlines()) <= 3 or command[0] == "run"


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(**DAMAGE)
def test_a_damaged_sqlite_store_raises_only_the_librarys_errors(
    changes: list[tuple[int, int]], cut: int | None, tmp_path: pathlib.Path
) -> None:
    """Through the Python API, a damaged store raises a StoreError (or, for what the caller
    gives, an InputError), never a raw database error."""
    folder = pathlib.Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / "store.db"
    path.write_bytes(damaged(template_store(), changes, cut))
    later = T0 + dt.timedelta(days=3)
    calls = [
        lambda s: s.escalations(),
        lambda s: s.snapshot(),
        lambda s: s.outbox(),
        lambda s: s.status(),
        lambda s: s.dead_letters(),
        lambda s: s.refusals(),
        lambda s: s.run_due(later),
        lambda s: s.claim(later, limit=50),
        lambda s: s.retry_dead_letters(),
        lambda s: s.acknowledge_refusals(later),
        lambda s: s.handle({"type": "tick", "at": later.isoformat()}),
        lambda s: s.prune(facts_before=later, delivered_before=later),
    ]
    try:
        service = Service(str(path))
    except (StoreError, PolicyChangedError):  # a damaged identity names another policy
        return
    with service:
        for call in calls:
            with contextlib.suppress(StoreError, InputError):  # anything else fails the test
                call(service)


@settings(max_examples=examples(150), deadline=None)
@given(
    url=st.one_of(
        st.text(st.characters(blacklist_characters=":", blacklist_categories=["Cs"])),
        st.text(st.characters(blacklist_categories=["Cs"])).map(lambda text: "sqlite:///" + text),
        st.lists(
            st.sampled_from(["host=", "dbname=", "user=", "password=", " ", "x", "'", "\x00"])
        ).map("".join),
    )
)
def test_any_store_option_is_a_store_or_a_clear_error(url: str) -> None:
    """Whatever ``--store`` holds (no network scheme: nothing is dialled), ``status`` either
    reads the store or ends with status 2 or 5 and one line; a store that is not there is not
    made."""
    with tempfile.TemporaryDirectory() as folder:
        here = os.getcwd()
        os.chdir(folder)
        try:
            with contextlib.redirect_stderr(io.StringIO()) as err:
                try:
                    status = main(["status", "--store", url])
                except SystemExit as stopped:  # argparse's own refusal (a value like "-;")
                    status = stopped.code
            assert status in (2, 5), err.getvalue()
            assert 1 == len(err.getvalue().splitlines())
            assert [] == os.listdir(folder)
        finally:
            os.chdir(here)
