"""Durable stores for :class:`~escalation_policy.service.Service`: SQLite and PostgreSQL.

A store keeps, in one database, each escalation's state (indexed by when it next falls due),
the ids of the facts already handled (the inbox), the actions still to deliver (the outbox) and
how far each named source was read. It knows nothing of policies: it keeps JSON text and times
as microseconds since 1970 (UTC), and gives :class:`Transaction` objects that lock what they
read. The service decides; the store only remembers.

Open one with :func:`open_store`::

    store = open_store("sqlite:///escalations.db")  # or a plain file name
    store = open_store("postgresql://127.0.0.1/test")  # needs the [postgres] extra

The schema is versioned: opening a store applies the migrations it lacks, each in its own
transaction, and refuses a store written by a newer version of the library.
"""

import abc
import contextlib
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import attrs

from escalation_policy.errors import StoreError

__all__ = [
    "SCHEMA_VERSION",
    "OutboxRow",
    "PostgresStore",
    "SQLiteStore",
    "StateRow",
    "Store",
    "Transaction",
    "open_store",
]

T = TypeVar("T")

SCHEMA_VERSION = 3
"""The version of the stores' schema this version of the library writes. Version 1 kept
states, handled facts and the outbox; version 2 added delivery retries (attempts, back-off,
leases) and the state's format; version 3 the time of each handled fact, the identity of the
policy that decided each action, each escalation's clock (kept once it settles), and indexes to
prune old fact ids and delivered actions by."""

_MIGRATIONS: Mapping[str, Sequence[Sequence[str]]] = {
    # Statements per version, for both databases: {serial} is the outbox's ordering key.
    "common": (
        (
            "CREATE TABLE ep_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE ep_escalations ("
            " escalation_id TEXT PRIMARY KEY,"
            " state TEXT,"  # the EscalationState as JSON; NULL once closed and settled
            " next_due BIGINT,"  # when passing time next changes it, if ever
            " seq BIGINT NOT NULL DEFAULT 0)",  # the sequence number of its last action
            "CREATE INDEX ep_escalations_next_due ON ep_escalations (next_due)"
            " WHERE next_due IS NOT NULL",
            "CREATE TABLE ep_facts ("
            " fact_id TEXT PRIMARY KEY,"
            " digest TEXT NOT NULL,"  # of the fact without its id: a redelivery must match
            " escalation_id TEXT,"
            " actions TEXT NOT NULL)",  # the ids of the actions it emitted, as JSON
            "CREATE TABLE ep_outbox ("
            " position {serial},"
            " action_id TEXT NOT NULL UNIQUE,"
            " escalation_id TEXT NOT NULL,"
            " action TEXT NOT NULL,"
            " delivered BIGINT)",
            "CREATE TABLE ep_sources (source TEXT PRIMARY KEY, position BIGINT NOT NULL)",
        ),
        (
            "ALTER TABLE ep_escalations ADD COLUMN state_format INTEGER NOT NULL DEFAULT 2",
            "ALTER TABLE ep_outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE ep_outbox ADD COLUMN available_at BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE ep_outbox ADD COLUMN claimed_until BIGINT",
            "ALTER TABLE ep_outbox ADD COLUMN last_error TEXT",
            "CREATE INDEX ep_outbox_ready ON ep_outbox (available_at, position)"
            " WHERE delivered IS NULL",
            "CREATE INDEX ep_outbox_pending ON ep_outbox (escalation_id, position)"
            " WHERE delivered IS NULL",
        ),
        (
            # The fact's own time; NULL for the facts handled before version 3 (kept).
            "ALTER TABLE ep_facts ADD COLUMN at BIGINT",
            "CREATE INDEX ep_facts_at ON ep_facts (at) WHERE at IS NOT NULL",
            "CREATE INDEX ep_outbox_delivered ON ep_outbox (delivered) WHERE delivered IS NOT NULL",
            # The identity of the policy that decided the action; NULL before version 3.
            "ALTER TABLE ep_outbox ADD COLUMN policy TEXT",
            # The escalation's clock, kept once it settles: a redelivered fact older than it
            # is stale, even after its id was pruned.
            "ALTER TABLE ep_escalations ADD COLUMN clock BIGINT",
        ),
    ),
}


_STATE_ROW = "escalation_id, state, state_format, seq, clock"
"""The columns of ``ep_escalations`` a :class:`StateRow` holds, in its order."""


@attrs.frozen
class StateRow:
    """One escalation as stored: its state's JSON (``None`` once settled), the format that JSON
    was written in, the sequence number of its last action, and its clock."""

    escalation_id: str
    state: str | None
    state_format: int
    seq: int
    clock: int | None = None
    """The escalation's clock (its last fact or scan), kept once it settles: a fact older than
    it is stale (``None``: never set, or stored before schema version 3)."""


@attrs.frozen
class OutboxRow:
    """An action waiting for delivery: its id, escalation, JSON and delivery attempts so far."""

    action_id: str
    escalation_id: str
    action: str
    attempts: int
    policy: str | None = None
    """The identity of the policy that decided it (``None``: stored before schema version 3)."""


class Transaction(abc.ABC):
    """What the service does inside one transaction of the store.

    Rows read through :meth:`lock` and :meth:`due` stay locked until the transaction ends, so
    no other worker changes or reports them meanwhile.
    """

    @abc.abstractmethod
    def lock(self, escalation_ids: Collection[str]) -> dict[str, StateRow]:
        """The rows of these escalations, locked, in a fixed order (so two workers never wait
        for each other); an escalation not yet stored gets an empty row."""

    @abc.abstractmethod
    def forget(self, escalation_ids: Collection[str]) -> None:
        """Drop the empty rows :meth:`lock` made for these escalations, if still empty."""

    @abc.abstractmethod
    def due(self, before: int, exclude: Collection[str], limit: int) -> list[StateRow]:
        """Up to ``limit`` rows with something due before ``before``, earliest first, locked;
        rows another worker holds are skipped, as are those in ``exclude``."""

    @abc.abstractmethod
    def save(self, rows: Sequence[tuple[str, str | None, int | None, int, int | None]]) -> None:
        """Write ``(escalation_id, state JSON or None, next due or None, seq, clock)`` rows."""

    @abc.abstractmethod
    def seen(self, fact_ids: Collection[str]) -> dict[str, tuple[str, str]]:
        """``fact_id -> (digest, actions JSON)`` for the ids already handled."""

    @abc.abstractmethod
    def remember(self, rows: Sequence[tuple[str, str, str | None, str, int]]) -> None:
        """Record handled facts: ``(fact_id, digest, escalation_id, actions JSON, at)``."""

    @abc.abstractmethod
    def append(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        """Add ``(action_id, escalation_id, action JSON, policy identity)`` rows to the outbox,
        in order."""

    @abc.abstractmethod
    def actions(self, action_ids: Sequence[str]) -> list[tuple[str, str, str | None]]:
        """``(action_id, action JSON, policy identity)`` of these outbox rows, in the order
        given; an action pruned once delivered is left out."""

    @abc.abstractmethod
    def clock(self) -> int | None:
        """The store's clock (the latest fact time a catching-up service handled), in
        microseconds, or ``None``; locked for the rest of the transaction."""

    @abc.abstractmethod
    def set_clock(self, clock: int) -> None:
        """Move the store's clock to ``clock`` (microseconds)."""

    @abc.abstractmethod
    def source(self, name: str) -> int:
        """How far the source ``name`` was read (0 if never)."""

    @abc.abstractmethod
    def set_source(self, name: str, position: int) -> None:
        """Record that the source ``name`` was read up to ``position``."""


class Store(abc.ABC):
    """A database holding a service's state. Open one with :func:`open_store`."""

    url: str
    placeholder: ClassVar[str]

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[Transaction]:
        """A transaction: committed when the block ends, rolled back if it raises."""

    def run(self, work: Callable[[Transaction], T], *, attempts: int = 5) -> T:
        """``work(tx)`` in a transaction, run again from the start when the database aborted
        it for a conflict with another worker (a deadlock, a key inserted at the same time).
        ``work`` must do nothing but through ``tx``: a failed attempt leaves no trace."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction() as tx:
                    return work(tx)
            except Exception as error:
                if attempt == attempts or not self._conflict(error):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _conflict(self, error: Exception) -> bool:
        """Whether ``error`` is a conflict with another transaction, worth a new attempt."""
        return False

    @abc.abstractmethod
    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in a transaction of its own and return its rows."""

    def close(self) -> None:  # noqa: B027  # a store without connections needs nothing here
        """Release the store's connections."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------------- queries
    def _sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def schema_version(self) -> int:
        """The schema version of the database (0 for an empty one)."""
        rows = self._query(self._sql("SELECT value FROM ep_meta WHERE key = ?"), ("schema",))
        return int(rows[0][0]) if rows else 0

    def next_wakeup(self) -> int | None:
        """The earliest time anything stored falls due, or ``None``: one indexed query."""
        # The condition lets SQLite answer from the partial index instead of reading the table.
        rows = self._query("SELECT MIN(next_due) FROM ep_escalations WHERE next_due IS NOT NULL")
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def state(self, escalation_id: str) -> StateRow | None:
        """The stored row of one escalation, or ``None``, without locking it."""
        rows = self._query(
            self._sql(f"SELECT {_STATE_ROW} FROM ep_escalations WHERE escalation_id = ?"),
            (escalation_id,),
        )
        return StateRow(*rows[0]) if rows else None

    def states(self) -> list[StateRow]:
        """Every escalation still held (not settled), by id."""
        rows = self._query(
            f"SELECT {_STATE_ROW} FROM ep_escalations"
            " WHERE state IS NOT NULL ORDER BY escalation_id"
        )
        return [StateRow(*row) for row in rows]

    def outbox(self, *, delivered: bool | None = None) -> list[tuple[str, str, bool, str | None]]:
        """``(action_id, action JSON, delivered, policy identity)`` for each action, in the
        order emitted; ``delivered`` chooses the delivered (``True``) or undelivered
        (``False``) ones."""
        where = {None: "", True: " WHERE delivered IS NOT NULL", False: " WHERE delivered IS NULL"}
        rows = self._query(
            f"SELECT action_id, action, delivered, policy FROM ep_outbox{where[delivered]}"
            " ORDER BY position"
        )
        return [(row[0], row[1], row[2] is not None, row[3]) for row in rows]

    # ------------------------------------------------------------------------- delivery
    @abc.abstractmethod
    def claim(self, now: int, limit: int, lease: int) -> list[OutboxRow]:
        """Up to ``limit`` actions ready at ``now``, each the earliest undelivered action of its
        escalation, leased to the caller until ``now + lease``."""

    def ack(self, action_ids: Sequence[str], now: int) -> None:
        """Mark actions delivered."""
        if action_ids:
            with self.transaction() as tx:
                self._ack(tx, action_ids, now)

    @abc.abstractmethod
    def _ack(self, tx: Transaction, action_ids: Sequence[str], now: int) -> None: ...

    def release(self, action_id: str, retry_at: int, error: str) -> None:
        """Give an undelivered action back, to be tried again at ``retry_at``."""
        self._query(
            self._sql(
                "UPDATE ep_outbox SET claimed_until = NULL, available_at = ?, last_error = ?"
                " WHERE action_id = ? AND delivered IS NULL"
            ),
            (retry_at, error, action_id),
        )

    def prune(self, facts_before: int | None, delivered_before: int | None) -> tuple[int, int]:
        """Forget the ids of facts whose time is before ``facts_before``, and drop the actions
        delivered before ``delivered_before`` (``None``: keep them all). Returns how many of
        each went. Undelivered actions and the escalations' states are never touched."""
        facts = actions = 0
        if facts_before is not None:
            facts = self._change(self._sql("DELETE FROM ep_facts WHERE at < ?"), (facts_before,))
        if delivered_before is not None:
            actions = self._change(
                self._sql("DELETE FROM ep_outbox WHERE delivered < ?"), (delivered_before,)
            )
        return facts, actions

    @abc.abstractmethod
    def _change(self, sql: str, params: Sequence[object]) -> int:
        """Run one statement that changes rows, in a transaction of its own: how many."""

    def next_delivery(self) -> int | None:
        """When :meth:`claim` next has something to give: the earliest time at which the first
        undelivered action of some escalation is ready and not leased."""
        rows = self._query(
            "SELECT MIN(CASE WHEN o.claimed_until IS NULL OR o.claimed_until < o.available_at"
            " THEN o.available_at ELSE o.claimed_until END) FROM ep_outbox o"
            " WHERE o.delivered IS NULL AND NOT EXISTS (SELECT 1 FROM ep_outbox e"
            " WHERE e.escalation_id = o.escalation_id AND e.delivered IS NULL"
            " AND e.position < o.position)"
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None


# ------------------------------------------------------------------------------------- SQLite
class _SQLiteTransaction(Transaction):
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
        rows = self.db.execute(
            f"SELECT {_STATE_ROW} FROM ep_escalations"
            " WHERE next_due < ? ORDER BY next_due, escalation_id LIMIT ?",
            (before, limit + len(exclude)),
        ).fetchall()
        return [StateRow(*row) for row in rows if row[0] not in exclude][:limit]

    def save(self, rows: Sequence[tuple[str, str | None, int | None, int, int | None]]) -> None:
        self.db.executemany(
            "UPDATE ep_escalations SET state = ?, next_due = ?, seq = ?, state_format = ?,"
            " clock = ? WHERE escalation_id = ?",
            [(state, due, seq, _STATE_FORMAT, clock, key) for key, state, due, seq, clock in rows],
        )

    def seen(self, fact_ids: Collection[str]) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        ordered = list(fact_ids)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for fact_id, digest, actions in self.db.execute(
                f"SELECT fact_id, digest, actions FROM ep_facts WHERE fact_id IN ({marks})", chunk
            ):
                found[fact_id] = (digest, actions)
        return found

    def remember(self, rows: Sequence[tuple[str, str, str | None, str, int]]) -> None:
        self.db.executemany(
            "INSERT INTO ep_facts (fact_id, digest, escalation_id, actions, at)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )

    def append(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        self.db.executemany(
            "INSERT INTO ep_outbox (action_id, escalation_id, action, policy) VALUES (?, ?, ?, ?)",
            rows,
        )

    def actions(self, action_ids: Sequence[str]) -> list[tuple[str, str, str | None]]:
        found = {}
        for action_id in action_ids:
            for row in self.db.execute(
                "SELECT action_id, action, policy FROM ep_outbox WHERE action_id = ?",
                (action_id,),
            ):
                found[row[0]] = (row[0], row[1], row[2])
        return [found[action_id] for action_id in action_ids if action_id in found]

    def clock(self) -> int | None:
        row = self.db.execute("SELECT value FROM ep_meta WHERE key = 'clock'").fetchone()
        return int(row[0]) if row else None

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

    def set_source(self, name: str, position: int) -> None:
        self.db.execute(
            "INSERT INTO ep_sources (source, position) VALUES (?, ?)"
            " ON CONFLICT (source) DO UPDATE SET position = excluded.position",
            (name, position),
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
        try:
            self._db = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            # A cache of up to 64 MiB (the default is 2 MiB: a few thousand states), and the
            # WAL copied back into the database every 10,000 pages rather than every 1,000:
            # a tenth of the checkpoints, each waiting for the disk. Both measured in
            # benchmarks/stores.py.
            self._db.execute("PRAGMA cache_size = -65536")
            self._db.execute("PRAGMA wal_autocheckpoint = 10000")
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the SQLite store {path}: {error}") from None
        self._lock = threading.RLock()
        _migrate(self, "INTEGER PRIMARY KEY AUTOINCREMENT")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise StoreError(f"cannot write to the SQLite store {self.path}: {error}") from None
            try:
                yield _SQLiteTransaction(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise StoreError(
                    f"cannot commit to the SQLite store {self.path}: {error}"
                ) from None

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.OperationalError as error:
                if "no such table" in str(error):
                    return []
                raise StoreError(f"the SQLite store {self.path} failed: {error}") from None

    def _change(self, sql: str, params: Sequence[object]) -> int:
        with self.transaction():
            try:
                return int(self._db.execute(sql, params).rowcount)
            except sqlite3.Error as error:
                raise StoreError(f"the SQLite store {self.path} failed: {error}") from None

    def _execute_script(self, statements: Sequence[str]) -> None:
        with self.transaction():
            for statement in statements:
                self._db.execute(statement)

    def claim(self, now: int, limit: int, lease: int) -> list[OutboxRow]:
        with self.transaction():
            rows = self._db.execute(_CLAIM, (now, now, limit)).fetchall()
            self._db.executemany(
                "UPDATE ep_outbox SET claimed_until = ?, attempts = attempts + 1"
                " WHERE action_id = ?",
                [(now + lease, row[0]) for row in rows],
            )
        return [OutboxRow(row[0], row[1], row[2], row[3] + 1, row[4]) for row in rows]

    def _ack(self, tx: Transaction, action_ids: Sequence[str], now: int) -> None:
        self._db.executemany(
            "UPDATE ep_outbox SET delivered = ?, claimed_until = NULL WHERE action_id = ?",
            [(now, action_id) for action_id in action_ids],
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __del__(self) -> None:
        # A store that is dropped without close() still releases its file (Python 3.13 warns
        # about a connection left open).
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()


_CLAIMABLE = (
    # The earliest undelivered action of each escalation, if it is ready and not leased.
    " FROM ep_outbox o WHERE o.delivered IS NULL AND o.available_at <= ?"
    " AND (o.claimed_until IS NULL OR o.claimed_until <= ?)"
    " AND NOT EXISTS (SELECT 1 FROM ep_outbox e WHERE e.escalation_id = o.escalation_id"
    " AND e.delivered IS NULL AND e.position < o.position)"
    " ORDER BY o.available_at, o.position LIMIT ?"
)
_CLAIM = "SELECT o.action_id, o.escalation_id, o.action, o.attempts, o.policy" + _CLAIMABLE


# --------------------------------------------------------------------------------- PostgreSQL
class _PostgresTransaction(Transaction):
    def __init__(self, connection: Any) -> None:
        self.db = connection

    def lock(self, escalation_ids: Collection[str]) -> dict[str, StateRow]:
        ordered = sorted(set(escalation_ids))
        if not ordered:
            return {}
        self.db.execute(
            "INSERT INTO ep_escalations (escalation_id)"
            " SELECT unnest(%b::text[]) ORDER BY 1 ON CONFLICT DO NOTHING",
            (ordered,),
        )
        rows = self.db.execute(
            f"SELECT {_STATE_ROW} FROM ep_escalations"
            " WHERE escalation_id = ANY(%b) ORDER BY escalation_id FOR UPDATE",
            (ordered,),
        ).fetchall()
        return {row[0]: StateRow(*row) for row in rows}

    def forget(self, escalation_ids: Collection[str]) -> None:
        if escalation_ids:
            self.db.execute(
                "DELETE FROM ep_escalations WHERE escalation_id = ANY(%s) AND state IS NULL"
                " AND seq = 0",
                (list(escalation_ids),),
            )

    def due(self, before: int, exclude: Collection[str], limit: int) -> list[StateRow]:
        rows = self.db.execute(
            f"SELECT {_STATE_ROW} FROM ep_escalations"
            " WHERE next_due < %s AND escalation_id <> ALL(%s)"
            " ORDER BY next_due, escalation_id LIMIT %s FOR UPDATE SKIP LOCKED",
            (before, list(exclude), limit),
        ).fetchall()
        return [StateRow(*row) for row in rows]

    def save(self, rows: Sequence[tuple[str, str | None, int | None, int, int | None]]) -> None:
        if not rows:
            return
        keys, states, dues, seqs, clocks = (list(column) for column in zip(*rows, strict=True))
        self.db.execute(
            "UPDATE ep_escalations e SET state = r.state, next_due = r.next_due, seq = r.seq,"
            " state_format = %s, clock = r.clock"
            " FROM (SELECT unnest(%b::text[]) AS escalation_id, unnest(%b::text[]) AS state,"
            " unnest(%b::bigint[]) AS next_due, unnest(%b::bigint[]) AS seq,"
            " unnest(%b::bigint[]) AS clock) r"
            " WHERE e.escalation_id = r.escalation_id",
            (_STATE_FORMAT, keys, states, dues, seqs, clocks),
        )

    def seen(self, fact_ids: Collection[str]) -> dict[str, tuple[str, str]]:
        if not fact_ids:
            return {}
        rows = self.db.execute(
            "SELECT fact_id, digest, actions FROM ep_facts WHERE fact_id = ANY(%s)",
            (list(fact_ids),),
        ).fetchall()
        return {row[0]: (row[1], row[2]) for row in rows}

    def remember(self, rows: Sequence[tuple[str, str, str | None, str, int]]) -> None:
        if not rows:
            return
        ids, digests, keys, actions, times = (list(column) for column in zip(*rows, strict=True))
        self.db.execute(
            "INSERT INTO ep_facts (fact_id, digest, escalation_id, actions, at)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::bigint[])",
            (ids, digests, keys, actions, times),
        )

    def append(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        if not rows:
            return
        ids, keys, actions, policies = (list(column) for column in zip(*rows, strict=True))
        self.db.execute(
            "INSERT INTO ep_outbox (action_id, escalation_id, action, policy)"
            " SELECT r.action_id, r.escalation_id, r.action, r.policy"
            " FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[]) WITH ORDINALITY"
            " AS r(action_id, escalation_id, action, policy, n) ORDER BY r.n",
            (ids, keys, actions, policies),
        )

    def actions(self, action_ids: Sequence[str]) -> list[tuple[str, str, str | None]]:
        rows = self.db.execute(
            "SELECT action_id, action, policy FROM ep_outbox WHERE action_id = ANY(%s)",
            (list(action_ids),),
        ).fetchall()
        found = {row[0]: (row[0], row[1], row[2]) for row in rows}
        return [found[action_id] for action_id in action_ids if action_id in found]

    def clock(self) -> int | None:
        row = self.db.execute("SELECT value FROM ep_meta WHERE key = 'clock' FOR UPDATE").fetchone()
        return int(row[0]) if row else None

    def set_clock(self, clock: int) -> None:
        self.db.execute(
            "INSERT INTO ep_meta (key, value) VALUES ('clock', %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(clock),),
        )

    def source(self, name: str) -> int:
        row = self.db.execute(
            "SELECT position FROM ep_sources WHERE source = %s FOR UPDATE", (name,)
        ).fetchone()
        return int(row[0]) if row else 0

    def set_source(self, name: str, position: int) -> None:
        self.db.execute(
            "INSERT INTO ep_sources (source, position) VALUES (%s, %s)"
            " ON CONFLICT (source) DO UPDATE SET position = excluded.position",
            (name, position),
        )


class PostgresStore(Store):
    """A store in a PostgreSQL database (psycopg 3 with a connection pool; the ``[postgres]``
    extra), shared by any number of worker processes on any number of machines: each
    transaction locks the rows it changes, and due scans skip rows another worker holds
    (``FOR UPDATE SKIP LOCKED``)."""

    placeholder = "%s"

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        try:
            import psycopg
            import psycopg_pool
        except ImportError:
            raise StoreError(
                "a PostgreSQL store needs psycopg 3: pip install 'escalation-policy[postgres]'"
            ) from None
        self.url = url
        self._errors = psycopg.Error
        try:  # one plain connection first: a server that is not there fails at once
            psycopg.connect(url, autocommit=True).close()
        except psycopg.Error as error:
            reason = " ".join(str(error).split())
            raise StoreError(
                f"cannot connect to the PostgreSQL store {_safe(url)}: {reason}"
            ) from None
        self._pool = psycopg_pool.ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, kwargs={"autocommit": True}
        )
        try:
            self._pool.open(wait=True, timeout=10)
        except (psycopg_pool.PoolTimeout, psycopg.Error) as error:
            self._pool.close()
            raise StoreError(
                f"cannot connect to the PostgreSQL store {_safe(url)}: {error}"
            ) from None
        with self._pool.connection() as connection:
            # Two processes opening a new database at once: one migrates, the other waits.
            connection.execute("SELECT pg_advisory_lock(8120731)")
            try:
                _migrate(self, "BIGSERIAL PRIMARY KEY")
            finally:
                connection.execute("SELECT pg_advisory_unlock(8120731)")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._reporting(), self._pool.connection() as connection, connection.transaction():
            yield _PostgresTransaction(connection)

    @contextlib.contextmanager
    def _reporting(self) -> Iterator[None]:
        """The server's errors as a :class:`StoreError` (conflicts aside: ``run`` retries them)."""
        try:
            yield
        except self._errors as error:
            if self._conflict(error):
                raise
            raise StoreError(f"the PostgreSQL store {_safe(self.url)} failed: {error}") from None

    def _conflict(self, error: Exception) -> bool:
        import psycopg

        return isinstance(
            error,
            (
                psycopg.errors.DeadlockDetected,
                psycopg.errors.SerializationFailure,
                psycopg.errors.UniqueViolation,
            ),
        )

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with self._reporting(), self._pool.connection() as connection:
            try:
                cursor = connection.execute(sql, params)
            except psycopg.errors.UndefinedTable:
                return []
            return cursor.fetchall() if cursor.description else []

    def _change(self, sql: str, params: Sequence[object]) -> int:
        with self._reporting(), self._pool.connection() as connection:
            return int(connection.execute(sql, params).rowcount)

    def _execute_script(self, statements: Sequence[str]) -> None:
        with self._pool.connection() as connection, connection.transaction():
            for statement in statements:
                connection.execute(statement)

    def claim(self, now: int, limit: int, lease: int) -> list[OutboxRow]:
        with self._reporting(), self._pool.connection() as connection, connection.transaction():
            rows = connection.execute(
                "UPDATE ep_outbox SET claimed_until = %s, attempts = attempts + 1"
                " WHERE action_id IN (SELECT o.action_id"
                + _CLAIMABLE.replace("?", "%s")
                + " FOR UPDATE SKIP LOCKED)"
                " RETURNING action_id, escalation_id, action, attempts, policy",
                (now + lease, now, now, limit),
            ).fetchall()
        rows.sort(key=lambda row: _order(row[0]))
        return [OutboxRow(*row) for row in rows]

    def _ack(self, tx: Transaction, action_ids: Sequence[str], now: int) -> None:
        assert isinstance(tx, _PostgresTransaction)
        tx.db.execute(
            "UPDATE ep_outbox SET delivered = %s, claimed_until = NULL WHERE action_id = ANY(%s)",
            (now, list(action_ids)),
        )

    def close(self) -> None:
        self._pool.close()

    def drop(self) -> None:
        """Remove every table of the store (for tests and for starting over)."""
        with self._pool.connection() as connection, connection.transaction():
            for table in ("ep_sources", "ep_outbox", "ep_facts", "ep_escalations", "ep_meta"):
                connection.execute(f"DROP TABLE IF EXISTS {table}")


def _order(action_id: str) -> tuple[str, int]:
    escalation, _, seq = action_id.rpartition("/")
    return escalation, int(seq) if seq.isdigit() else 0


_STATE_FORMAT = 2  # the snapshot format of the states written (escalation_policy.state)


def _migrate(
    store: "SQLiteStore | PostgresStore", serial: str, *, to: int = SCHEMA_VERSION
) -> None:
    """Apply the migrations the store lacks, up to version ``to``, each in one transaction."""
    version = store.schema_version()
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the store {_safe(store.url)} has schema version {version}, written by a newer "
            f"version of escalation-policy; this one reads versions up to {SCHEMA_VERSION}"
        )
    for number in range(version + 1, to + 1):
        statements = [text.format(serial=serial) for text in _MIGRATIONS["common"][number - 1]]
        upsert = (
            f"INSERT INTO ep_meta (key, value) VALUES ('schema', '{number}')"
            f" ON CONFLICT (key) DO UPDATE SET value = '{number}'"
        )
        store._execute_script([*statements, upsert])


def _safe(url: str) -> str:
    """``url`` without its password."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def open_store(url: str, *, create: bool = True) -> Store:
    """The store at ``url``: ``sqlite:///PATH`` (or a plain file path, or ``:memory:``) or
    ``postgresql://...`` (also ``postgres://``), its schema brought up to date.

    ``create=False``: a SQLite file that is not there is a :class:`StoreError` rather than a
    new, empty store (for a command that only reads or trims one)."""
    return _open(url, SCHEMA_VERSION, create=create)


def _open(url: str, version: int, *, create: bool = True) -> Store:
    """The store at ``url`` with its schema brought up to ``version`` (earlier versions: to
    test upgrades)."""
    if not isinstance(url, str) or not url:
        raise StoreError(f"got {url!r}, expected a store URL (sqlite:///FILE or postgresql://...)")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme in ("postgresql", "postgres"):
        return PostgresStore(url) if version == SCHEMA_VERSION else _postgres_at(url, version)
    if scheme in ("", "sqlite"):
        if scheme and not url.lower().startswith("sqlite:///"):
            raise StoreError(f"got {url!r}, expected sqlite:///PATH (three slashes)")
        path = url[len("sqlite:///") :] if scheme else url
        if not path:
            raise StoreError(f"got {url!r}, expected a file after sqlite:///")
        if not create and path != ":memory:" and not os.path.exists(path):
            raise StoreError(f"no store at {path}")
        return SQLiteStore(path) if version == SCHEMA_VERSION else _sqlite_at(path, version)
    raise StoreError(
        f"got a store URL with scheme {scheme!r}; expected sqlite:///FILE, a file name, or "
        "postgresql://..."
    )


def _sqlite_at(path: str, version: int) -> SQLiteStore:
    store = SQLiteStore.__new__(SQLiteStore)
    store.url, store.path = f"sqlite:///{path}", path
    store._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    store._lock = threading.RLock()
    _migrate(store, "INTEGER PRIMARY KEY AUTOINCREMENT", to=version)
    return store


def _postgres_at(url: str, version: int) -> "PostgresStore":
    import psycopg
    import psycopg_pool

    store = PostgresStore.__new__(PostgresStore)
    store.url = url
    store._errors = psycopg.Error
    store._pool = psycopg_pool.ConnectionPool(
        url, min_size=1, max_size=2, open=True, kwargs={"autocommit": True}
    )
    _migrate(store, "BIGSERIAL PRIMARY KEY", to=version)
    return store
