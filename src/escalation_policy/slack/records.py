"""Where each action's Slack message is: the records a poster keeps, in a SQLite file."""

import os
import sqlite3
import threading
from collections.abc import Iterator, MutableMapping

__all__ = ["SQLiteRecords"]


class SQLiteRecords(MutableMapping[str, str]):
    """Where each action's message is, in a SQLite file (``":memory:"`` for a test): the
    records a :class:`SlackPoster` keeps. Every write is committed at once. Safe to share
    between threads; close it with :meth:`close` (or use it as a context manager)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        with self._lock:
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS slack_posts "
                "(action_id TEXT PRIMARY KEY, record TEXT NOT NULL)"
            )

    def __getitem__(self, action_id: str) -> str:
        with self._lock:
            row = self._connection.execute(
                "SELECT record FROM slack_posts WHERE action_id = ?", (action_id,)
            ).fetchone()
        if row is None:
            raise KeyError(action_id)
        return str(row[0])

    def __setitem__(self, action_id: str, record: str) -> None:
        with self._lock:
            self._connection.execute(
                "INSERT INTO slack_posts (action_id, record) VALUES (?, ?) "
                "ON CONFLICT (action_id) DO UPDATE SET record = excluded.record",
                (action_id, record),
            )

    def __delitem__(self, action_id: str) -> None:
        with self._lock:
            deleted = self._connection.execute(
                "DELETE FROM slack_posts WHERE action_id = ?", (action_id,)
            ).rowcount
        if not deleted:
            raise KeyError(action_id)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT action_id FROM slack_posts ORDER BY action_id"
            ).fetchall()
        return iter([str(row[0]) for row in rows])

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._connection.execute("SELECT COUNT(*) FROM slack_posts").fetchone()
        return int(count)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._connection.close()

    def __del__(self) -> None:
        # Records dropped without close() still release their file (Python 3.13 warns about a
        # connection left open).
        connection = getattr(self, "_connection", None)
        if connection is not None:
            connection.close()

    def __enter__(self) -> "SQLiteRecords":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
