"""What a service returns: actions with their ids, what handling a fact did, what pruning
removed; and times as the store keeps them (microseconds since 1970)."""

import datetime as dt
import json
from typing import Any

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
from escalation_policy.store.base import DeadLetterRow

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_SCAN_CHUNK = 200
_UNLIMITED = 1 << 62
_KNOWN_STATES = 10_000
"""How many escalations' last state a service keeps read, to skip reading it again."""


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


class DamagedDeadLetters(StoreError):
    """Dead letters the store holds in a shape escalation-policy never writes (a damaged
    SQLite file: bytes where the action's text belongs, say). The message names each by its
    position in the outbox; ``readable`` holds the other dead letters, read as usual."""

    def __init__(self, message: str, readable: list[DeadLetter]) -> None:
        super().__init__(message)
        self.readable = readable


def _dead_letter(row: DeadLetterRow) -> DeadLetter | str:
    """The dead letter a row of the store holds, or what in it is not of its type."""
    texts: list[tuple[str, object]] = [
        ("id", row.action_id),
        ("escalation_id", row.escalation_id),
        ("action", row.action),
        ("error", row.error),
        ("policy", row.policy),
    ]
    for name, value in texts:
        if not isinstance(value, str) and not (name == "policy" and value is None):
            return f"{describe(value)} for its {name}, where text belongs"
    numbers: list[tuple[str, object]] = [("attempts", row.attempts), ("set_aside_at", row.dead)]
    for name, value in numbers:
        if not isinstance(value, int) or isinstance(value, bool):
            return f"{describe(value)} for its {name}, where a whole number belongs"
    try:
        at = _instant(row.dead)
    except StoreError:
        return f"{describe(row.dead)} for its set_aside_at, a time out of range"
    return DeadLetter(
        id=row.action_id,
        escalation_id=row.escalation_id,
        action=row.action,
        error=row.error,
        at=at,
        attempts=row.attempts,
        policy=row.policy,
    )


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
