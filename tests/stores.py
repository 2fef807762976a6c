"""The stores the tests run against: real SQLite files and a real PostgreSQL server.

PostgreSQL is found at ``$ESCALATION_POLICY_TEST_POSTGRES`` (default: the server on
127.0.0.1:5432, database ``test``). Without one, its tests skip with a message, unless
``ESCALATION_POLICY_REQUIRE_POSTGRES=1`` (as CI sets), which makes a missing server a failure.
Each test gets a schema of its own, dropped afterwards.
"""

import functools
import os
import pathlib
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest

POSTGRES = os.environ.get(
    "ESCALATION_POLICY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
KINDS = ("sqlite", "postgresql")


@functools.cache
def postgres_missing() -> str | None:
    """Why PostgreSQL cannot be used here, or ``None``."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'escalation-policy[postgres]')"
    try:
        with psycopg.connect(POSTGRES, connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return f"no PostgreSQL server at {POSTGRES} ({' '.join(str(error).split())})"
    return None


def require_postgres() -> None:
    """Skip the test without a server, or fail where one is required."""
    reason = postgres_missing()
    if reason is None:
        return
    if os.environ.get("ESCALATION_POLICY_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here: {reason}")
    pytest.skip(f"{reason}; set ESCALATION_POLICY_TEST_POSTGRES to a server to run this test")


def with_schema(url: str, schema: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query)
    query.append(("options", f"-csearch_path={schema}"))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def postgres_url() -> Iterator[str]:
    """A URL of a fresh, empty schema on the test server; dropped when the generator ends."""
    require_postgres()
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(POSTGRES, schema)
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def sqlite_url(folder: pathlib.Path) -> str:
    return f"sqlite:///{folder / f'store-{uuid.uuid4().hex[:8]}.db'}"


@pytest.fixture(params=KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each store test runs on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def new_store_url(store_kind: str, tmp_path: pathlib.Path) -> Iterator["StoreFactory"]:
    """Makes URLs of fresh, empty stores of the test's kind."""
    factory = StoreFactory(store_kind, tmp_path)
    try:
        yield factory
    finally:
        factory.cleanup()


class StoreFactory:
    def __init__(self, kind: str, folder: pathlib.Path) -> None:
        self.kind = kind
        self.folder = folder
        self._schemas: list[Iterator[str]] = []

    def __call__(self) -> str:
        if self.kind == "sqlite":
            return sqlite_url(self.folder)
        schema = postgres_url()
        url = next(schema)
        self._schemas.append(schema)
        return url

    def cleanup(self) -> None:
        for schema in self._schemas:
            for _ in schema:
                pass
