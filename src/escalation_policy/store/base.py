"""What every store shares: the schema and its migrations, the rows a store keeps and returns,
and the abstract :class:`Store` and :class:`Transaction` the SQLite and PostgreSQL stores
implement.

A store keeps JSON text and times as microseconds since 1970 (UTC); each row that crosses
between the service and a store is one of the named records below, declared here once.
"""

import abc
import contextlib
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple, TypeVar

import attrs

from escalation_policy.errors import StoreError

__all__ = [
    "SCHEMA_VERSION",
    "DeadLetterRow",
    "HandledFact",
    "NewAction",
    "OutboxEntry",
    "OutboxRow",
    "RefusalRow",
    "SeenFact",
    "StateRow",
    "StateUpdate",
    "Store",
    "StoreCounts",
    "StoredAction",
    "Transaction",
]

T = TypeVar("T")

SCHEMA_VERSION = 4
"""The version of the stores' schema this version of the library writes. Version 1 kept
states, handled facts and the outbox; version 2 added delivery retries (attempts, back-off,
leases) and the state's format; version 3 the time of each handled fact, the identity of the
policy that decided each action, each escalation's clock (kept once it settles), and indexes to
prune old fact ids and delivered actions by; version 4 dead letters (actions set aside as
undeliverable) and the refused facts of each source, kept until acknowledged."""

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
        (
            # When an action was set aside as undeliverable (its error in last_error); NULL
            # for the others. A dead letter is neither claimed nor holds back later actions.
            "ALTER TABLE ep_outbox ADD COLUMN dead BIGINT",
            "CREATE INDEX ep_outbox_dead ON ep_outbox (position) WHERE dead IS NOT NULL",
            "CREATE TABLE ep_refusals ("
            " number {serial},"
            " source TEXT,"  # the source that was read past it (NULL: none was named)
            " position BIGINT,"  # its line
            " fact_id TEXT,"
            " code TEXT NOT NULL,"
            " path TEXT,"
            " reason TEXT NOT NULL,"
            " refused BIGINT,"  # when, by the caller's clock
            " acknowledged BIGINT)",
            "CREATE INDEX ep_refusals_open ON ep_refusals (source, number)"
            " WHERE acknowledged IS NULL",
        ),
    ),
}


_STATE_FORMAT = 3
"""The snapshot format of the states written: ``escalation_policy.state.SNAPSHOT_FORMAT`` (a
test keeps them equal; the stores import nothing of the engine)."""

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


@attrs.frozen
class DeadLetterRow:
    """An action set aside as undeliverable: its id, escalation, JSON as stored, delivery
    attempts, the error that set it aside, when (microseconds), the policy that decided it and
    its position in the outbox. Each value is as the database returned it: a damaged SQLite
    file may hold another type in any column."""

    action_id: str
    escalation_id: str
    action: str
    attempts: int
    error: str
    dead: int
    policy: str | None
    position: int | None = None


class RefusalRow(NamedTuple):
    """A refused fact as the store keeps it until acknowledged: its number (in the order
    recorded), the source read past it and its position there, the fact's id if it had one,
    the error's code, path and reason, and when it was refused (microseconds; ``None``: not
    said)."""

    number: int
    source: str | None
    position: int | None
    fact_id: str | None
    code: str
    path: str | None
    reason: str
    refused: int | None


class NewRefusal(NamedTuple):
    """A refused fact :meth:`Transaction.refuse` records (as :class:`RefusalRow`, unnumbered)."""

    source: str | None
    position: int | None
    fact_id: str | None
    code: str
    path: str | None
    reason: str
    refused: int | None


class StoreCounts(NamedTuple):
    """What :meth:`Store.counts` tells: escalations held (those awaiting their opening
    apart), actions undelivered (dead letters aside), dead letters, refused facts not
    acknowledged, and escalations awaiting their opening (facts held for it)."""

    escalations: int
    undelivered: int
    dead_letters: int
    refused: int
    awaiting_opening: int = 0


class StateUpdate(NamedTuple):
    """One escalation as :meth:`Transaction.save` writes it: its state's JSON (``None`` once
    settled), when passing time next changes it (``None``: never), the sequence number of its
    last action, and its clock."""

    escalation_id: str
    state: str | None
    next_due: int | None
    seq: int
    clock: int | None


class HandledFact(NamedTuple):
    """A fact handled, as :meth:`Transaction.remember` records it: its id, the digest of the
    fact without its id, its escalation, the ids of the actions it emitted (JSON) and its time."""

    fact_id: str
    digest: str
    escalation_id: str | None
    actions: str
    at: int


class SeenFact(NamedTuple):
    """What :meth:`Transaction.seen` tells of a fact already handled: its digest and the ids of
    the actions it emitted (JSON)."""

    digest: str
    actions: str


class NewAction(NamedTuple):
    """An action :meth:`Transaction.append` adds to the outbox: its id, escalation, JSON and the
    identity of the policy that decided it."""

    action_id: str
    escalation_id: str
    action: str
    policy: str


class StoredAction(NamedTuple):
    """An action of the outbox as :meth:`Transaction.actions` reads it back: its id, JSON and
    the identity of the policy that decided it (``None``: stored before schema version 3)."""

    action_id: str
    action: str
    policy: str | None


class OutboxEntry(NamedTuple):
    """An action as :meth:`Store.outbox` lists it: its id, JSON, whether it was delivered, and
    the identity of the policy that decided it (``None``: stored before schema version 3)."""

    action_id: str
    action: str
    delivered: bool
    policy: str | None


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
    def save(self, rows: Sequence[StateUpdate]) -> None:
        """Write the escalations' new states."""

    @abc.abstractmethod
    def seen(self, fact_ids: Collection[str]) -> dict[str, SeenFact]:
        """What was kept of each fact among ``fact_ids`` already handled, by its id."""

    @abc.abstractmethod
    def remember(self, rows: Sequence[HandledFact]) -> None:
        """Record handled facts."""

    @abc.abstractmethod
    def append(self, rows: Sequence[NewAction]) -> None:
        """Add actions to the outbox, in order."""

    @abc.abstractmethod
    def actions(self, action_ids: Sequence[str]) -> list[StoredAction]:
        """These actions of the outbox, in the order given; an action pruned once delivered is
        left out."""

    @abc.abstractmethod
    def clock(self) -> int | None:
        """The store's clock (the latest fact time a catching-up service handled), in
        microseconds, or ``None``; locked for the rest of the transaction."""

    @abc.abstractmethod
    def set_clock(self, clock: int) -> None:
        """Move the store's clock to ``clock`` (microseconds)."""

    db: Any
    """The connection the transaction runs on (sqlite3's or psycopg's)."""
    PARAM: ClassVar[str]
    """The database's query parameter mark (``?`` or ``%s``)."""

    def calendars(self) -> dict[str, str]:
        """The calendars escalations were pinned to, by identity: each its document as JSON
        text (``Calendar.document``)."""
        rows = self.db.execute("SELECT key, value FROM ep_meta WHERE key LIKE 'calendar:%'")
        return {str(key).removeprefix("calendar:"): str(value) for key, value in rows.fetchall()}

    def keep_calendars(self, documents: Mapping[str, str]) -> None:
        """Keep these calendars (identity: JSON text) for good, each once."""
        mark = self.PARAM
        for identity, text in sorted(documents.items()):
            self.db.execute(
                f"INSERT INTO ep_meta (key, value) VALUES ({mark}, {mark})"
                " ON CONFLICT (key) DO NOTHING",
                ("calendar:" + identity, text),
            )

    def planned_under(self) -> tuple[str | None, bool]:
        """The identity of the policy the escalations were planned under, as recorded (``None``:
        a store written before stores recorded it), and whether any escalation is held."""
        row = self.db.execute("SELECT value FROM ep_meta WHERE key = 'policy'").fetchone()
        held = self.db.execute(
            "SELECT 1 FROM ep_escalations WHERE state IS NOT NULL LIMIT 1"
        ).fetchone()
        return (meta_identity(row[0]) if row else None), held is not None

    def set_planned_under(self, identity: str) -> None:
        """Record ``identity`` as the policy the escalations are planned under."""
        mark = self.PARAM
        self.db.execute(
            f"INSERT INTO ep_meta (key, value) VALUES ('policy', {mark})"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (identity,),
        )

    @abc.abstractmethod
    def source(self, name: str) -> int:
        """How far the source ``name`` was read (0 if never)."""

    @abc.abstractmethod
    def lock_source(self, name: str) -> int:
        """How far the source ``name`` was read (0 if never), held until the transaction
        ends: a transaction of another process that locks the same source waits, then reads
        what this one recorded."""

    @abc.abstractmethod
    def set_source(self, name: str, position: int) -> None:
        """Record that the source ``name`` was read up to ``position``."""

    @abc.abstractmethod
    def refuse(self, rows: Sequence[NewRefusal]) -> None:
        """Record refused facts, to be reported until acknowledged."""


class Store(abc.ABC):
    """A database holding a service's state. Open one with :func:`open_store`."""

    url: str
    placeholder: ClassVar[str]
    _TABLE_EXISTS: ClassVar[str]
    """A query with one row when the table ``{table}`` exists, none otherwise."""

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[Transaction]:
        """A transaction: committed when the block ends, rolled back if it raises."""

    @abc.abstractmethod
    def _script(self) -> contextlib.AbstractContextManager[Callable[[str], list[tuple[Any, ...]]]]:
        """A transaction that no other process's :meth:`_script` overlaps (the schema's
        migrations): gives a function that runs one statement and returns its rows. A failure
        of the database is a :class:`StoreError`."""

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
        with self._script() as execute:
            return _version(self, execute)

    def next_wakeup(self, exclude: Collection[str] = ()) -> int | None:
        """The earliest time anything stored falls due, or ``None``: one indexed query. The
        escalations in ``exclude`` (a few, set aside) are left out."""
        # The condition lets SQLite answer from the partial index instead of reading the table.
        sql = "SELECT MIN(next_due) FROM ep_escalations WHERE next_due IS NOT NULL"
        left_out = sorted(exclude)
        if left_out:
            sql += f" AND escalation_id NOT IN ({', '.join('?' * len(left_out))})"
        rows = self._query(self._sql(sql), left_out)
        return _time(self, rows[0][0]) if rows else None

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

    def outbox(self, *, delivered: bool | None = None) -> list[OutboxEntry]:
        """Each action, in the order emitted; ``delivered`` chooses the delivered (``True``) or
        undelivered (``False``) ones. Dead letters are left out (:meth:`dead_letters`)."""
        where = {
            None: " WHERE dead IS NULL",
            True: " WHERE delivered IS NOT NULL",
            False: " WHERE delivered IS NULL AND dead IS NULL",
        }
        rows = self._query(
            f"SELECT action_id, action, delivered, policy FROM ep_outbox{where[delivered]}"
            " ORDER BY position"
        )
        return [OutboxEntry(row[0], row[1], row[2] is not None, row[3]) for row in rows]

    def counts(self) -> StoreCounts:
        """How many escalations are held, actions undelivered, dead letters and refused facts
        not acknowledged: for a status report."""
        rows = self._query(
            self._sql(
                "SELECT (SELECT COUNT(*) FROM ep_escalations WHERE state IS NOT NULL),"
                " (SELECT COUNT(*) FROM ep_outbox WHERE delivered IS NULL AND dead IS NULL),"
                " (SELECT COUNT(*) FROM ep_outbox WHERE dead IS NOT NULL),"
                " (SELECT COUNT(*) FROM ep_refusals WHERE acknowledged IS NULL),"
                " (SELECT COUNT(*) FROM ep_escalations WHERE state LIKE ? OR state LIKE ?)"
            ),
            _AWAITING,
        )
        held, undelivered, dead, refused, awaiting = (_time(self, v) or 0 for v in rows[0])
        return StoreCounts(held - awaiting, undelivered, dead, refused, awaiting)

    # ------------------------------------------------------------------------- delivery
    @abc.abstractmethod
    def claim(
        self,
        now: int,
        limit: int,
        lease: int,
        check: Callable[[OutboxRow], str | None] | None = None,
    ) -> list[OutboxRow]:
        """Up to ``limit`` actions ready at ``now``, each the earliest undelivered action of its
        escalation, leased to the caller until ``now + lease``. ``check`` says why a row cannot
        be delivered (``None``: it can): such a row is set aside as a dead letter, with that
        error, in the same transaction, and left out."""

    def ack(self, action_ids: Sequence[str], now: int) -> None:
        """Mark actions delivered."""
        if action_ids:
            with self.transaction() as tx:
                self._ack(tx, action_ids, now)

    @abc.abstractmethod
    def _ack(self, tx: Transaction, action_ids: Sequence[str], now: int) -> None: ...

    def release(self, action_id: str, retry_at: int, error: str) -> None:
        """Give an undelivered action back, to be tried again at ``retry_at``."""
        self._change(
            self._sql(
                "UPDATE ep_outbox SET claimed_until = NULL, available_at = ?, last_error = ?"
                " WHERE action_id = ? AND delivered IS NULL"
            ),
            (retry_at, error, action_id),
        )

    def dead_letters(self) -> list[DeadLetterRow]:
        """The actions set aside as undeliverable, in the order emitted."""
        rows = self._query(
            "SELECT action_id, escalation_id, action, attempts, last_error, dead, policy,"
            " position FROM ep_outbox WHERE dead IS NOT NULL ORDER BY position"
        )
        return [
            DeadLetterRow(row[0], row[1], row[2], row[3], row[4] or "", row[5], row[6], row[7])
            for row in rows
        ]

    def dead_letter_count(self) -> int:
        """How many dead letters the store holds: one query on their index."""
        rows = self._query("SELECT COUNT(*) FROM ep_outbox WHERE dead IS NOT NULL")
        return _time(self, rows[0][0]) or 0

    def revive(self, action_ids: Collection[str] | None = None) -> int:
        """Put dead letters back in the outbox, ready at once (``None``: all of them); returns
        how many."""
        update = (
            "UPDATE ep_outbox SET dead = NULL, claimed_until = NULL, available_at = 0"
            " WHERE dead IS NOT NULL"
        )
        if action_ids is None:
            return self._change(update, ())
        return sum(
            self._change(self._sql(update + " AND action_id = ?"), (action_id,))
            for action_id in action_ids
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

    # ------------------------------------------------------------------------- refusals
    def refusals(self, sources: Collection[str | None] | None = None) -> list[RefusalRow]:
        """The refused facts not yet acknowledged, in the order recorded; ``sources``: only
        those of these sources (``None`` among them: those recorded without one)."""
        rows = self._query(
            "SELECT number, source, position, fact_id, code, path, reason, refused"
            " FROM ep_refusals WHERE acknowledged IS NULL ORDER BY number"
        )
        found = [RefusalRow(*row) for row in rows]
        if sources is None:
            return found
        wanted = set(sources)
        return [row for row in found if row.source in wanted]

    def acknowledge(self, numbers: Collection[int], now: int | None) -> int:
        """Mark these refusals (by number) acknowledged, at ``now``: they are reported no
        more. Returns how many were."""
        return sum(
            self._change(
                self._sql(
                    "UPDATE ep_refusals SET acknowledged = ?"
                    " WHERE number = ? AND acknowledged IS NULL"
                ),
                (now if now is not None else 0, number),
            )
            for number in numbers
        )

    @abc.abstractmethod
    def _change(self, sql: str, params: Sequence[object]) -> int:
        """Run one statement that changes rows, in a transaction of its own: how many."""

    def next_delivery(self) -> int | None:
        """When :meth:`claim` next has something to give: the earliest time at which the first
        undelivered action of some escalation is ready and not leased."""
        rows = self._query(
            "SELECT MIN(CASE WHEN o.claimed_until IS NULL OR o.claimed_until < o.available_at"
            " THEN o.available_at ELSE o.claimed_until END) FROM ep_outbox o"
            " WHERE o.delivered IS NULL AND o.dead IS NULL AND NOT EXISTS (SELECT 1"
            " FROM ep_outbox e WHERE e.escalation_id = o.escalation_id AND e.delivered IS NULL"
            " AND e.dead IS NULL AND e.position < o.position)"
        )
        return _time(self, rows[0][0]) if rows else None


_CLAIMABLE = (
    # The earliest undelivered action of each escalation, if it is ready and not leased; a dead
    # letter is neither claimed nor holds back the actions after it.
    " FROM ep_outbox o WHERE o.delivered IS NULL AND o.dead IS NULL AND o.available_at <= ?"
    " AND (o.claimed_until IS NULL OR o.claimed_until <= ?)"
    " AND NOT EXISTS (SELECT 1 FROM ep_outbox e WHERE e.escalation_id = o.escalation_id"
    " AND e.delivered IS NULL AND e.dead IS NULL AND e.position < o.position)"
    " ORDER BY o.available_at, o.position LIMIT ?"
)


_AWAITING = ('%"status":"awaiting_opening"%', '%"status": "awaiting_opening"%')
"""An escalation awaiting its opening, as its state's JSON text says (the library's writers
put no space after a colon; ``json.dumps`` does): the key ``status`` is never inside a string,
where its quotes would be escaped."""


def _checked(
    rows: Sequence[OutboxRow], check: Callable[[OutboxRow], str | None] | None
) -> tuple[list[OutboxRow], list[tuple[OutboxRow, str]]]:
    """The rows ``check`` passes, and those it refuses with why."""
    good: list[OutboxRow] = []
    dead: list[tuple[OutboxRow, str]] = []
    for row in rows:
        error = check(row) if check is not None else None
        if error is None:
            good.append(row)
        else:
            dead.append((row, error))
    return good, dead


_IDENTITY = re.compile(r"sha256:[0-9a-f]{64}")


def meta_clock(value: object) -> int:
    """The clock ``ep_meta`` keeps, or a :class:`StoreError` for a value that is not one."""
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            return int(value)
        except ValueError:
            pass
    raise StoreError(
        f"the store's ep_meta holds {value!r} for 'clock', where a whole number of "
        "microseconds belongs: it was damaged; restore it from a backup"
    )


def meta_identity(value: object) -> str:
    """The policy identity ``ep_meta`` keeps, or a :class:`StoreError` for a value that is
    not one."""
    if isinstance(value, str) and _IDENTITY.fullmatch(value):
        return value
    raise StoreError(
        f"the store's ep_meta holds {value!r} for 'policy', where a policy's identity "
        "(sha256: and 64 hexadecimal digits) belongs: it was damaged; restore it from a backup"
    )


def _time(store: Store, value: object) -> int | None:
    """A time or count the store returned, or a :class:`StoreError` for a value that is not
    one (a damaged database)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise StoreError(
        f"the store {_safe(store.url)} returned {value!r} where a whole number belongs: "
        "it was damaged; restore it from a backup"
    )


def _tables(version: int) -> list[str]:
    """The tables a store of schema ``version`` has."""
    return [
        match
        for statements in _MIGRATIONS["common"][:version]
        for statement in statements
        for match in re.findall(r"^CREATE TABLE (\w+)", statement)
    ]


def _version(store: Store, execute: Callable[[str], list[tuple[Any, ...]]]) -> int:
    """The schema version ``ep_meta`` records (0 for an empty database), read in a migration's
    transaction."""
    if not execute(store._TABLE_EXISTS.format(table="ep_meta")):
        return 0
    rows = execute("SELECT value FROM ep_meta WHERE key = 'schema'")
    if not rows:
        return 0
    text = rows[0][0]
    if not isinstance(text, str) or not text.isdigit() or not text.isascii():
        raise StoreError(
            f"the store {_safe(store.url)} records schema version {text!r}; expected a whole "
            "number: it was not written by escalation-policy, or it was damaged"
        )
    return int(text)


def _migrate(store: Store, serial: str, *, to: int = SCHEMA_VERSION) -> None:
    """Apply the migrations the store lacks, up to version ``to``, each in one transaction
    that reads the version first: processes that open a new store at once take turns, and
    each applies only what the one before it left to do. Then check that the tables are
    there."""
    while True:
        with store._script() as execute:
            version = _version(store, execute)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the store {_safe(store.url)} has schema version {version}, written by a "
                    f"newer version of escalation-policy; this one reads versions up to "
                    f"{SCHEMA_VERSION}"
                )
            if version >= to:
                missing = [
                    table
                    for table in _tables(version)
                    if not execute(store._TABLE_EXISTS.format(table=table))
                ]
                if missing:
                    raise StoreError(
                        f"the store {_safe(store.url)} has schema version {version} but no "
                        f"table {', '.join(missing)}: it was damaged; restore it from a backup"
                    )
                return
            number = version + 1
            statements = [text.format(serial=serial) for text in _MIGRATIONS["common"][version]]
            statements.append(
                f"INSERT INTO ep_meta (key, value) VALUES ('schema', '{number}')"
                f" ON CONFLICT (key) DO UPDATE SET value = '{number}'"
            )
            try:
                for statement in statements:
                    execute(statement)
            except StoreError as error:
                raise StoreError(
                    f"cannot upgrade the store {_safe(store.url)} from schema version {version} "
                    f"to {number} ({error}): its tables are not those of version "
                    f"{version}; restore it from a backup"
                ) from None


_PASSWORD_IN_NETLOC = re.compile(r"(://[^/@?#]*?:)[^/@?#]*@")
_PASSWORD_SETTING = re.compile(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^&\s#]*)")


def _safe(text: str) -> str:
    """``text`` (a store URL, a libpq connection string, or a message quoting one) without
    its passwords: in the URL's user part, in a ``password=`` parameter or setting."""
    text = _PASSWORD_IN_NETLOC.sub(r"\1***@", text)
    return _PASSWORD_SETTING.sub(r"\1***", text)
