"""A store in one SQLite file (the standard library's ``sqlite3``)."""

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

from escalation_policy.errors import StoreError
from escalation_policy.store.base import (
    _CLAIMABLE,
    _STATE_FORMAT,
    _STATE_ROW,
    HandledFact,
    NewAction,
    NewRefusal,
    OutboxRow,
    SeenFact,
    StateRow,
    StateUpdate,
    Store,
    StoredAction,
    Transaction,
    _checked,
    _migrate,
    _safe,
    meta_clock,
)

__all__ = ["SQLiteStore"]

_FAILURES = (sqlite3.Error, UnicodeDecodeError)
_LISTED = 64
"""Up to this many escalations left out of a due scan are skipped as the rows are read."""
"""What reading or writing the file may raise: the database's errors, and text that is not
UTF-8 in a damaged file."""

_CLAIM = "SELECT o.action_id, o.escalation_id, o.action, o.attempts, o.policy" + _CLAIMABLE


class _SQLiteTransaction(Transaction):
    PARAM = "?"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.db = connection

    def lock(self, escalation_ids: Collection[str]) -> dict[str, StateRow]:
        # BEGIN IMMEDIATE holds the database's write lock: every row is ours already. Rows
        # are read first, and only the escalations not stored yet are inserted.
        ordered = sorted(set(escalation_ids))
        rows: dict[str, StateRow] = {}
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"SELECT {_STATE_ROW} FROM ep_escalations WHERE escalation_id IN ({marks})",
                chunk,
            ):
                rows[row[0]] = StateRow(*row)
        new = [key for key in ordered if key not in rows]
        if new:
            self.db.executemany(
                "INSERT INTO ep_escalations (escalation_id) VALUES (?)", [(key,) for key in new]
            )
            for key in new:
                rows[key] = StateRow(key, None, _STATE_FORMAT, 0, None)
        return rows

    def forget(self, escalation_ids: Collection[str]) -> None:
        self.db.executemany(
            "DELETE FROM ep_escalations WHERE escalation_id = ? AND state IS NULL AND seq = 0",
            [(key,) for key in escalation_ids],
        )

    def due(self, before: int, exclude: Collection[str], limit: int) -> list[StateRow]:
        if len(exclude) <= _LISTED:
            rows = self.db.execute(
                f"SELECT {_STATE_ROW} FROM ep_escalations"
                " WHERE next_due < ? ORDER BY next_due, escalation_id LIMIT ?",
                (before, limit + len(exclude)),
            ).fetchall()
            return [StateRow(*row) for row in rows if row[0] not in exclude][:limit]
        # Many left out (rows set aside): the database skips them, rather than each scan
        # fetching them all again.
        rows = self.db.execute(
            f"SELECT {_STATE_ROW} FROM ep_escalations WHERE next_due < ?"
            " AND escalation_id NOT IN (SELECT value FROM json_each(?))"
            " ORDER BY next_due, escalation_id LIMIT ?",
            (before, json.dumps(sorted(exclude)), limit),
        ).fetchall()
        return [StateRow(*row) for row in rows]

    def save(self, rows: Sequence[StateUpdate]) -> None:
        self.db.executemany(
            "UPDATE ep_escalations SET state = ?, next_due = ?, seq = ?, state_format = ?,"
            " clock = ? WHERE escalation_id = ?",
            [(state, due, seq, _STATE_FORMAT, clock, key) for key, state, due, seq, clock in rows],
        )

    def seen(self, fact_ids: Collection[str]) -> dict[str, SeenFact]:
        found: dict[str, SeenFact] = {}
        ordered = list(fact_ids)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for fact_id, digest, actions in self.db.execute(
                f"SELECT fact_id, digest, actions FROM ep_facts WHERE fact_id IN ({marks})", chunk
            ):
                found[fact_id] = SeenFact(digest, actions)
        return found

    def remember(self, rows: Sequence[HandledFact]) -> None:
        self.db.executemany(
            "INSERT INTO ep_facts (fact_id, digest, escalation_id, actions, at)"
            " VALUES (?, ?, ?, ?, ?)",
            map(tuple, rows),  # sqlite3 binds a plain tuple faster than a NamedTuple
        )

    def append(self, rows: Sequence[NewAction]) -> None:
        self.db.executemany(
            "INSERT INTO ep_outbox (action_id, escalation_id, action, policy) VALUES (?, ?, ?, ?)",
            map(tuple, rows),
        )

    def actions(self, action_ids: Sequence[str]) -> list[StoredAction]:
        found: dict[str, StoredAction] = {}
        for action_id in action_ids:
            for row in self.db.execute(
                "SELECT action_id, action, policy FROM ep_outbox WHERE action_id = ?",
                (action_id,),
            ):
                found[row[0]] = StoredAction(row[0], row[1], row[2])
        return [found[action_id] for action_id in action_ids if action_id in found]

    def clock(self) -> int | None:
        row = self.db.execute("SELECT value FROM ep_meta WHERE key = 'clock'").fetchone()
        return meta_clock(row[0]) if row else None

    def set_clock(self, clock: int) -> None:
        self.db.execute(
            "INSERT INTO ep_meta (key, value) VALUES ('clock', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(clock),),
        )

    def source(self, name: str) -> int:
        row = self.db.execute(
            "SELECT position FROM ep_sources WHERE source = ?", (name,)
        ).fetchone()
        return int(row[0]) if row else 0

    def lock_source(self, name: str) -> int:
        return self.source(name)  # the transaction holds the write lock (BEGIN IMMEDIATE)

    def set_source(self, name: str, position: int) -> None:
        self.db.execute(
            "INSERT INTO ep_sources (source, position) VALUES (?, ?)"
            " ON CONFLICT (source) DO UPDATE SET position = excluded.position",
            (name, position),
        )

    def refuse(self, rows: Sequence[NewRefusal]) -> None:
        self.db.executemany(
            "INSERT INTO ep_refusals (source, position, fact_id, code, path, reason, refused)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            map(tuple, rows),
        )


class SQLiteStore(Store):
    """A store in one SQLite file (the standard library's ``sqlite3``), in WAL mode.

    Several processes may share the file: each transaction holds the database's write lock
    (``BEGIN IMMEDIATE``), so they take turns, waiting up to ``timeout`` seconds. Commits are
    synchronous: a committed fact survives a crash of the process and of the machine.
    ``":memory:"`` is a store that lives as long as the object.
    """

    placeholder = "?"

    def __init__(self, path: str, *, timeout: float = 30.0) -> None:
        self.url = f"sqlite:///{path}"
        self.path = path
        self._shown = _safe(path)
        try:
            self._db = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            _wal(self._db, timeout)
            self._db.execute("PRAGMA synchronous = FULL")
            # A cache of up to 64 MiB (the default is 2 MiB: a few thousand states), and the
            # WAL copied back into the database every 10,000 pages rather than every 1,000:
            # a tenth of the checkpoints, each waiting for the disk. Both measured in
            # benchmarks/stores.py.
            self._db.execute("PRAGMA cache_size = -65536")
            self._db.execute("PRAGMA wal_autocheckpoint = 10000")
        except _FAILURES as error:
            self.close()
            if isinstance(error, UnicodeDecodeError):
                raise self._failed(error) from None
            hint = (
                ""
                if path == ":memory:" or os.path.isabs(path)
                else f" (a path relative to {_safe(os.getcwd())}; sqlite://// and an absolute "
                "path, four slashes, for one from the root)"
            )
            raise StoreError(f"cannot open the SQLite store {self._shown}: {error}{hint}") from None
        self._lock = threading.RLock()
        try:
            _migrate(self, "INTEGER PRIMARY KEY AUTOINCREMENT")
        except BaseException:
            self.close()
            raise

    _TABLE_EXISTS = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{table}'"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise StoreError(
                    f"cannot write to the SQLite store {self._shown}: {error}"
                ) from None
            try:
                yield _SQLiteTransaction(self._db)
            except BaseException as error:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back itself
                    self._db.execute("ROLLBACK")
                if isinstance(error, _FAILURES):
                    raise self._failed(error) from None
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise StoreError(
                    f"cannot commit to the SQLite store {self._shown}: {error}"
                ) from None

    @contextlib.contextmanager
    def _script(self) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
        # BEGIN IMMEDIATE takes the write lock before the version is read: processes that open
        # a new file at once take turns.
        with self.transaction():

            def execute(sql: str) -> list[tuple[Any, ...]]:
                try:
                    return self._db.execute(sql).fetchall()
                except _FAILURES as error:
                    raise self._failed(error) from None

            yield execute

    def _failed(self, error: Exception) -> StoreError:
        if isinstance(error, UnicodeDecodeError):
            return StoreError(
                f"the SQLite store {self._shown} holds text that is not UTF-8 ({error.reason} "
                f"at byte {error.start}): it was damaged; restore it from a backup"
            )
        return StoreError(f"the SQLite store {self._shown} failed: {error}")

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except _FAILURES as error:
                raise self._failed(error) from None

    def _change(self, sql: str, params: Sequence[object]) -> int:
        with self.transaction():
            return int(self._db.execute(sql, params).rowcount)

    def claim(
        self,
        now: int,
        limit: int,
        lease: int,
        check: Callable[[OutboxRow], str | None] | None = None,
    ) -> list[OutboxRow]:
        with self.transaction():
            found = self._db.execute(_CLAIM, (now, now, limit)).fetchall()
            rows = [_outbox_row(self, row[0], row[1], row[2], row[3], row[4]) for row in found]
            self._db.executemany(
                "UPDATE ep_outbox SET claimed_until = ?, attempts = attempts + 1"
                " WHERE action_id = ?",
                [(now + lease, row.action_id) for row in rows],
            )
            good, dead = _checked(rows, check)
            self._db.executemany(
                "UPDATE ep_outbox SET dead = ?, claimed_until = NULL, last_error = ?"
                " WHERE action_id = ?",
                [(now, error, row.action_id) for row, error in dead],
            )
        return good

    def _ack(self, tx: Transaction, action_ids: Sequence[str], now: int) -> None:
        self._db.executemany(
            "UPDATE ep_outbox SET delivered = ?, claimed_until = NULL WHERE action_id = ?",
            [(now, action_id) for action_id in action_ids],
        )

    def close(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            with getattr(self, "_lock", contextlib.nullcontext()):
                db.close()

    def __del__(self) -> None:
        # A store that is dropped without close() still releases its file (Python 3.13 warns
        # about a connection left open).
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()


def _wal(db: sqlite3.Connection, timeout: float) -> None:
    """Put the database in WAL mode. Switching takes a lock SQLite does not wait for (no busy
    handler): processes that open a new file at once try again until ``timeout``."""
    give_up = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > give_up:
                raise
            time.sleep(0.01)


def _outbox_row(
    store: SQLiteStore,
    action_id: object,
    key: object,
    action: object,
    attempts: object,
    policy: object,
) -> OutboxRow:
    """A claimed row, its attempt counted; a :class:`StoreError` for values of the wrong types
    (a damaged file: SQLite keeps any value in any column)."""
    if not (
        isinstance(action_id, str)
        and isinstance(key, str)
        and isinstance(attempts, int)
        and (policy is None or isinstance(policy, str))
    ):
        raise StoreError(
            f"the SQLite store {store._shown} holds an outbox row of the wrong types "
            f"({action_id!r}): it was damaged; restore it from a backup"
        )
    text = action if isinstance(action, str) else repr(action)
    return OutboxRow(action_id, key, text, attempts + 1, policy)


def _at_version(path: str, version: int) -> SQLiteStore:
    """The SQLite store at ``path`` with its schema brought up to ``version`` only (to test
    upgrades)."""
    store = SQLiteStore.__new__(SQLiteStore)
    store.url, store.path, store._shown = f"sqlite:///{path}", path, _safe(path)
    store._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    store._lock = threading.RLock()
    _migrate(store, "INTEGER PRIMARY KEY AUTOINCREMENT", to=version)
    return store
