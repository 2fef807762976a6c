"""A store in a PostgreSQL database, shared by any number of worker processes.

psycopg is imported only when such a store is opened: it is the optional ``[postgres]`` extra.
"""

import contextlib
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

__all__ = ["PostgresStore"]


class _PostgresTransaction(Transaction):
    PARAM = "%s"

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

    def save(self, rows: Sequence[StateUpdate]) -> None:
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

    def seen(self, fact_ids: Collection[str]) -> dict[str, SeenFact]:
        if not fact_ids:
            return {}
        rows = self.db.execute(
            "SELECT fact_id, digest, actions FROM ep_facts WHERE fact_id = ANY(%s)",
            (list(fact_ids),),
        ).fetchall()
        return {row[0]: SeenFact(row[1], row[2]) for row in rows}

    def remember(self, rows: Sequence[HandledFact]) -> None:
        if not rows:
            return
        ids, digests, keys, actions, times = (list(column) for column in zip(*rows, strict=True))
        self.db.execute(
            "INSERT INTO ep_facts (fact_id, digest, escalation_id, actions, at)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::bigint[])",
            (ids, digests, keys, actions, times),
        )

    def append(self, rows: Sequence[NewAction]) -> None:
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

    def actions(self, action_ids: Sequence[str]) -> list[StoredAction]:
        rows = self.db.execute(
            "SELECT action_id, action, policy FROM ep_outbox WHERE action_id = ANY(%s)",
            (list(action_ids),),
        ).fetchall()
        found = {row[0]: StoredAction(row[0], row[1], row[2]) for row in rows}
        return [found[action_id] for action_id in action_ids if action_id in found]

    def clock(self) -> int | None:
        row = self.db.execute("SELECT value FROM ep_meta WHERE key = 'clock' FOR UPDATE").fetchone()
        return meta_clock(row[0]) if row else None

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

    def lock_source(self, name: str) -> int:
        # A row locked even when the source was never read: FOR UPDATE locks no missing row.
        row = self.db.execute(
            "INSERT INTO ep_sources AS s (source, position) VALUES (%s, 0)"
            " ON CONFLICT (source) DO UPDATE SET position = s.position RETURNING s.position",
            (name,),
        ).fetchone()
        return int(row[0])

    def set_source(self, name: str, position: int) -> None:
        self.db.execute(
            "INSERT INTO ep_sources (source, position) VALUES (%s, %s)"
            " ON CONFLICT (source) DO UPDATE SET position = excluded.position",
            (name, position),
        )

    def refuse(self, rows: Sequence[NewRefusal]) -> None:
        if not rows:
            return
        columns = [list(column) for column in zip(*rows, strict=True)]
        self.db.execute(
            "INSERT INTO ep_refusals (source, position, fact_id, code, path, reason, refused)"
            " SELECT r.source, r.position, r.fact_id, r.code, r.path, r.reason, r.refused"
            " FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[],"
            " %b::text[], %b::bigint[]) WITH ORDINALITY"
            " AS r(source, position, fact_id, code, path, reason, refused, n) ORDER BY r.n",
            columns,
        )


class PostgresStore(Store):
    """A store in a PostgreSQL database (psycopg 3 with a connection pool; the ``[postgres]``
    extra), shared by any number of worker processes on any number of machines: each
    transaction locks the rows it changes, and due scans skip rows another worker holds
    (``FOR UPDATE SKIP LOCKED``)."""

    placeholder = "%s"
    _TABLE_EXISTS = "SELECT 1 WHERE to_regclass('{table}') IS NOT NULL"

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
        try:
            with self._reporting(), self._pool.connection() as connection:
                # Two processes opening a new database at once: one migrates, the other waits.
                connection.execute("SELECT pg_advisory_lock(8120731)")
                try:
                    _migrate(self, "BIGSERIAL PRIMARY KEY")
                finally:
                    connection.execute("SELECT pg_advisory_unlock(8120731)")
        except BaseException:
            self._pool.close()
            raise

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
            reason = _safe(" ".join(str(error).split()))
            raise StoreError(f"the PostgreSQL store {_safe(self.url)} failed: {reason}") from None

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

    @contextlib.contextmanager
    def _script(self) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
        with self._reporting(), self._pool.connection() as connection, connection.transaction():

            def execute(sql: str) -> list[tuple[Any, ...]]:
                with self._reporting():
                    cursor = connection.execute(sql)
                    return cursor.fetchall() if cursor.description else []

            yield execute

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._reporting(), self._pool.connection() as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def _change(self, sql: str, params: Sequence[object]) -> int:
        with self._reporting(), self._pool.connection() as connection:
            return int(connection.execute(sql, params).rowcount)

    def claim(
        self,
        now: int,
        limit: int,
        lease: int,
        check: Callable[[OutboxRow], str | None] | None = None,
    ) -> list[OutboxRow]:
        with self._reporting(), self._pool.connection() as connection, connection.transaction():
            found = connection.execute(
                "UPDATE ep_outbox SET claimed_until = %s, attempts = attempts + 1"
                " WHERE action_id IN (SELECT o.action_id"
                + _CLAIMABLE.replace("?", "%s")
                + " FOR UPDATE SKIP LOCKED)"
                " RETURNING action_id, escalation_id, action, attempts, policy",
                (now + lease, now, now, limit),
            ).fetchall()
            found.sort(key=lambda row: _order(row[0]))
            good, dead = _checked([OutboxRow(*row) for row in found], check)
            if dead:
                connection.execute(
                    "UPDATE ep_outbox o SET dead = %s, claimed_until = NULL, last_error = r.error"
                    " FROM (SELECT unnest(%s::text[]) AS action_id, unnest(%s::text[]) AS error) r"
                    " WHERE o.action_id = r.action_id",
                    (now, [row.action_id for row, _ in dead], [error for _, error in dead]),
                )
        return good

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
            for table in (
                "ep_refusals",
                "ep_sources",
                "ep_outbox",
                "ep_facts",
                "ep_escalations",
                "ep_meta",
            ):
                connection.execute(f"DROP TABLE IF EXISTS {table}")


def _order(action_id: str) -> tuple[str, int]:
    escalation, _, seq = action_id.rpartition("/")
    return escalation, int(seq) if seq.isdigit() else 0


def _at_version(url: str, version: int) -> PostgresStore:
    """The PostgreSQL store at ``url`` with its schema brought up to ``version`` only (to test
    upgrades)."""
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
