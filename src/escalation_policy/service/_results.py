"""What a service returns: actions with their ids, what handling a fact did, what pruning
removed; and times as the store keeps them (microseconds since 1970)."""

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from escalation_policy._convert import action_json, shared_converter
from escalation_policy._language.typed import FieldProblem, to_instant
from escalation_policy.errors import (
    InvalidFactError,
    StoreError,
    describe,
)
from escalation_policy.model import Action, Fact
from escalation_policy.policy import Policy
from escalation_policy.state import Fulfilment
from escalation_policy.store.base import DeadLetterRow, RefusalRow

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_SCAN_CHUNK = 200
_UNLIMITED = 1 << 62
_KNOWN_STATES = 10_000
"""How many escalations' last state a service keeps read, to skip reading it again."""

_Row = TypeVar("_Row")
_Read = TypeVar("_Read")


def _micros(at: dt.datetime) -> int:
    return (at - _EPOCH) // dt.timedelta(microseconds=1)


def _limit(name: str, value: dt.datetime | None) -> int | None:
    """An optional time given by the caller, in microseconds; an InvalidFactError naming
    ``name`` for one that is not an aware datetime in the supported range."""
    if value is None:
        return None
    try:
        return _micros(to_instant(value))
    except FieldProblem as problem:
        raise InvalidFactError(str(problem), path=name) from None


def _instant(micros: int) -> dt.datetime:
    """A time the store holds; a :class:`StoreError` for one no datetime can hold (a damaged
    store)."""
    try:
        return _EPOCH + dt.timedelta(microseconds=micros)
    except (OverflowError, TypeError):
        raise StoreError(
            f"the store holds the time {micros!r} (microseconds since 1970), which is out of "
            "range: it was damaged; restore it from a backup"
        ) from None


def _given(name: str, value: dt.datetime) -> int:
    """A time the caller must give, in microseconds; an InvalidFactError naming ``name`` for
    one that is not an aware datetime in the supported range."""
    try:
        return _micros(to_instant(value))
    except FieldProblem as problem:
        raise InvalidFactError(str(problem), path=name) from None


@attrs.frozen
class Delivery:
    """An action with its stable id (``ESCALATION/SEQUENCE``), as the outbox holds it.

    ``attempts`` counts the deliveries claimed so far (1 on the first). ``policy`` is the
    identity of the policy that decided the action (:attr:`Policy.identity
    <escalation_policy.Policy.identity>`; ``None`` for an action stored before it was
    recorded). :meth:`to_json` is the action's JSON object with the ``id`` and the ``policy``
    first: what ``escalation-policy run`` prints.
    """

    id: str
    action: Action
    attempts: int = 0
    policy: str | None = None

    def to_json(self, policy: Policy | None = None) -> dict[str, Any]:
        """The action's JSON object (as ``policy``'s converter writes it), ``id`` and
        ``policy`` (the identity of the policy that decided it, if known) first."""
        body: dict[str, Any] = shared_converter(policy).unstructure(self.action, Action)
        head: dict[str, Any] = {"id": self.id}
        if self.policy is not None:
            head["policy"] = self.policy
        return {**head, **body}


def delivery_json(delivery: Delivery, policy: Policy | None = None) -> str:
    """``json.dumps(delivery.to_json(policy))``, as ``escalation-policy run`` and ``worker``
    write a delivery, with the action written by its text writer (:func:`action_json`)."""
    cls = type(delivery.action)
    if hasattr(cls, "id") or hasattr(cls, "policy"):  # a field of its own would take their place
        return json.dumps(delivery.to_json(policy))
    head: dict[str, Any] = {"id": delivery.id}
    if delivery.policy is not None:
        head["policy"] = delivery.policy
    return f"{json.dumps(head)[:-1]}, {action_json(delivery.action)[1:]}"


@attrs.frozen
class Handled:
    """What handling one fact did: the actions it emitted, with their ids, in order.

    ``duplicate`` is set when the fact's ``id`` was handled before: the actions are those it
    emitted then, and nothing new was emitted. ``fulfilled`` and ``matched`` are as in a
    :class:`~escalation_policy.Decision` (empty for a duplicate).
    """

    fact: Fact
    deliveries: tuple[Delivery, ...]
    duplicate: bool = False
    fulfilled: tuple[Fulfilment, ...] = ()
    matched: tuple[str, ...] = ()

    @property
    def actions(self) -> tuple[Action, ...]:
        """The actions alone, in order."""
        return tuple(delivery.action for delivery in self.deliveries)


@attrs.frozen
class Pruned:
    """What :meth:`Service.prune` removed: how many fact ids, and how many delivered actions."""

    facts: int
    actions: int


@attrs.frozen
class DeadLetter:
    """An action set aside as undeliverable (:meth:`Service.claim` could not read it with
    the service's policy): it is claimed no more, and the actions after it go on. ``action``
    is its JSON as stored (it may not be valid JSON); ``error`` why it was set aside, ``at``
    when. :meth:`Service.retry_dead_letters` puts it back in the outbox."""

    id: str
    escalation_id: str
    action: str
    error: str
    at: dt.datetime
    attempts: int
    policy: str | None = None


class DamagedRows(StoreError, Generic[_Read]):
    """Rows the store holds in a shape escalation-policy never writes (a damaged SQLite file:
    bytes where an action's text belongs, say). The message names each; ``readable`` holds the
    other rows, read as usual."""

    def __init__(self, message: str, readable: list[_Read]) -> None:
        super().__init__(message)
        self.readable = readable


def _mistyped(values: list[tuple[str, object, type, bool]]) -> str | None:
    """What among a row's values (name, value, type, whether it may be ``None``) is not of
    its type, as a message says it (``None``: each is)."""
    for name, value, kind, optional in values:
        if (value is None and optional) or (isinstance(value, kind) and type(value) is not bool):
            continue
        expected = "text" if kind is str else "a whole number"
        return f"{describe(value)} for its {name}, where {expected} belongs"
    return None


def _readable(
    rows: Iterable[_Row], read: Callable[[_Row], "_Read | str"], named: Callable[[_Row], str]
) -> list[_Read]:
    """What ``read`` makes of each row, or a :class:`DamagedRows` naming (``named``) each row
    it cannot read, once every row was read."""
    readable: list[_Read] = []
    damaged: list[str] = []
    for row in rows:
        item = read(row)
        if isinstance(item, str):
            damaged.append(f"{named(row)} holds {item}")
        else:
            readable.append(item)
    if damaged:
        more = f"; and {len(damaged) - 3} more" if len(damaged) > 3 else ""
        raise DamagedRows(
            f"{'; '.join(damaged[:3])}{more}: the store was damaged; restore it from a backup",
            readable,
        )
    return readable


def _time_read(micros: int | None) -> dt.datetime | str | None:
    """A time the store holds, or why it is none (out of range)."""
    if micros is None:
        return None
    try:
        return _instant(micros)
    except StoreError:
        return f"{describe(micros)} for its time, out of range"


def _dead_letter(row: DeadLetterRow) -> DeadLetter | str:
    """The dead letter a row of the store holds, or what in it is not of its type."""
    problem = _mistyped(
        [
            ("id", row.action_id, str, False),
            ("escalation_id", row.escalation_id, str, False),
            ("action", row.action, str, False),
            ("error", row.error, str, False),
            ("policy", row.policy, str, True),
            ("attempts", row.attempts, int, False),
            ("set_aside_at", row.dead, int, False),
        ]
    )
    at = _time_read(row.dead) if problem is None else problem
    if not isinstance(at, dt.datetime):
        return str(at)
    return DeadLetter(
        id=row.action_id,
        escalation_id=row.escalation_id,
        action=row.action,
        error=row.error,
        at=at,
        attempts=row.attempts,
        policy=row.policy,
    )


def _dead_letter_named(row: DeadLetterRow) -> str:
    where = f"position {row.position} of the outbox"
    if isinstance(row.action_id, str):
        where = f"{describe(row.action_id)} ({where})"
    return f"the dead letter {where}"


@attrs.frozen
class Refusal:
    """A fact refused while a named source was read past it, kept until acknowledged
    (:meth:`Service.acknowledge_refusals`). ``number`` orders them; ``source`` and ``position``
    (its line) say where it was; ``fact_id`` is its id, if it had one; ``at`` when it was
    refused, by the caller's clock (``None``: not said)."""

    number: int
    source: str | None
    position: int | None
    fact_id: str | None
    code: str
    path: str | None
    reason: str
    at: dt.datetime | None


@attrs.frozen
class Status:
    """What a store holds, for monitoring (:meth:`Service.status`): escalations open,
    actions waiting for delivery, dead letters, refused facts not acknowledged, and when
    :meth:`Service.run_due` and :meth:`Service.claim` next have something to do."""

    escalations: int
    """Escalations held, open or closed and not yet settled (not those awaiting opening)."""
    undelivered: int
    dead_letters: int
    refused: int
    next_wakeup: dt.datetime | None
    next_delivery: dt.datetime | None
    awaiting_opening: int = 0
    """Escalations not opened yet whose facts are held for their opening (``opening_grace``)."""
    damaged: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    """Escalations whose stored state no engine writes (a row edited by hand or damaged), found
    by this service's due scans, with what is wrong: set aside, nothing of theirs falls due,
    while time passes for the others. A fact about one is refused
    (:class:`~escalation_policy.errors.EscalationDamagedError`); once its row reads well
    again, it is taken back."""


def _refusal(row: RefusalRow) -> Refusal | str:
    """The refusal a row of the store holds, or what in it is not of its type."""
    problem = _mistyped(
        [
            ("number", row.number, int, False),
            ("source", row.source, str, True),
            ("line", row.position, int, True),
            ("fact_id", row.fact_id, str, True),
            ("code", row.code, str, False),
            ("path", row.path, str, True),
            ("reason", row.reason, str, False),
            ("refused_at", row.refused, int, True),
        ]
    )
    at = _time_read(row.refused) if problem is None else problem
    if isinstance(at, str):
        return at
    return Refusal(
        number=row.number,
        source=row.source,
        position=row.position,
        fact_id=row.fact_id,
        code=row.code,
        path=row.path,
        reason=row.reason,
        at=at,
    )


def _refusal_named(row: RefusalRow) -> str:
    return f"the refusal numbered {describe(row.number)}"
