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

``base`` holds what every store shares (the schema, the rows, the abstract :class:`Store`),
``sqlite`` and ``postgres`` the two databases.
"""

import os
import re

from escalation_policy.errors import StoreError
from escalation_policy.store import postgres, sqlite
from escalation_policy.store.base import (
    SCHEMA_VERSION,
    DeadLetterRow,
    HandledFact,
    NewAction,
    NewRefusal,
    OutboxEntry,
    OutboxRow,
    RefusalRow,
    SeenFact,
    StateRow,
    StateUpdate,
    Store,
    StoreCounts,
    StoredAction,
    Transaction,
    _safe,
)
from escalation_policy.store.postgres import PostgresStore
from escalation_policy.store.sqlite import SQLiteStore

__all__ = [
    "SCHEMA_VERSION",
    "DeadLetterRow",
    "HandledFact",
    "NewAction",
    "NewRefusal",
    "OutboxEntry",
    "OutboxRow",
    "PostgresStore",
    "RefusalRow",
    "SQLiteStore",
    "SeenFact",
    "StateRow",
    "StateUpdate",
    "Store",
    "StoreCounts",
    "StoredAction",
    "Transaction",
    "open_store",
]


def open_store(url: str, *, create: bool = True) -> Store:
    """The store at ``url``: ``sqlite:///PATH`` (or a plain file path, or ``:memory:``) or
    ``postgresql://...`` (also ``postgres://``), its schema brought up to date.

    ``create=False``: a SQLite file that is not there is a :class:`StoreError` rather than a
    new, empty store (for a command that only reads or trims one).

    A blank URL, one with a NUL character and a libpq connection string (``host=...
    dbname=...``) are refused, rather than taken for the name of a SQLite file; no message
    shows a password."""
    return _open(url, SCHEMA_VERSION, create=create)


_EXPECTED = "expected sqlite:///FILE, a file name, or postgresql://..."
_LIBPQ_SETTING = re.compile(
    r"(?:^|\s)(?:host|hostaddr|port|dbname|user|password|passfile|sslmode|service|options"
    r"|connect_timeout|application_name)\s*="
)


def _open(url: str, version: int, *, create: bool = True) -> Store:
    """The store at ``url`` with its schema brought up to ``version`` (earlier versions: to
    test upgrades)."""
    if not isinstance(url, str) or not url:
        raise StoreError(f"got {url!r}, expected a store URL (sqlite:///FILE or postgresql://...)")
    if not url.strip():
        raise StoreError(f"got a blank store URL ({url!r}); {_EXPECTED}")
    if "\x00" in url:
        raise StoreError(
            f"got a store URL with a NUL character ({_safe(url)!r}); a URL or file name cannot "
            "hold one"
        )
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if not scheme and _LIBPQ_SETTING.search(url):
        raise StoreError(
            f"got a libpq connection string ({_safe(url)!r}); expected a URL: "
            "postgresql://USER@HOST:PORT/DATABASE (settings such as sslmode go after ?), or "
            "sqlite:///FILE"
        )
    if scheme in ("postgresql", "postgres"):
        return (
            PostgresStore(url) if version == SCHEMA_VERSION else postgres._at_version(url, version)
        )
    if scheme in ("", "sqlite"):
        if scheme and not url.lower().startswith("sqlite:///"):
            raise StoreError(f"got {_safe(url)!r}, expected sqlite:///PATH (three slashes)")
        path = url[len("sqlite:///") :] if scheme else url
        if not path.strip():
            raise StoreError(f"got {_safe(url)!r}, expected a file after sqlite:///")
        if not create and path != ":memory:" and not os.path.exists(path):
            raise StoreError(f"no store at {_safe(path)}")
        return SQLiteStore(path) if version == SCHEMA_VERSION else sqlite._at_version(path, version)
    raise StoreError(f"got a store URL with scheme {scheme!r} ({_safe(url)!r}); {_EXPECTED}")
