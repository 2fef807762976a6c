"""The policy over a durable store: facts handled once, actions delivered at least once.

A :class:`Service` handles each fact in one transaction of its store
(:class:`~escalation_policy.store.Store`): it locks the escalation's row, decides, saves the new
state, appends the actions to the outbox and records the fact's ``id``. Several processes may
share one store (PostgreSQL; SQLite on one machine). Time still comes only from the facts and
from the ``now`` the caller passes: :meth:`Service.run_due` reports what fell due, and
:meth:`Service.next_wakeup` says when to call it.

Every action gets a stable id, ``ESCALATION/SEQUENCE``: the receiver de-duplicates by it, and
a redelivered fact returns the ids it got the first time.
"""

import bisect
import collections
import contextlib
import datetime as dt
import hashlib
import itertools
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from escalation_policy import _core
from escalation_policy._convert import (
    check_declared,
    read_fact,
    shared_converter,
    shared_text_writers,
)
from escalation_policy._core.replan import mended as _mended
from escalation_policy._core.replan import replan as _replan
from escalation_policy._core.step import (
    DEFAULT_MAX_CLOCK_JUMP,
    Limits,
    admit,
    check_jump,
    pass_time,
    step,
)
from escalation_policy._engines import EngineName, matcher_of, shared_matcher
from escalation_policy._language.typed import MAX_ID_LENGTH, FieldProblem, to_instant
from escalation_policy.calendar import Calendar
from escalation_policy.engine import pinned, policy_changed, read_snapshot, stored_state_problem
from escalation_policy.errors import (
    DuplicateFactError,
    EscalationDamagedError,
    InputError,
    InvalidFactError,
    InvalidSnapshotError,
    PolicyChangedError,
    PolicyError,
    StoreError,
    describe,
)
from escalation_policy.model import AWAITING_OPENING, Action, EscalationFact, Fact, Tick
from escalation_policy.policy import Policy, default_policy
from escalation_policy.policy.record import Record
from escalation_policy.service._results import (
    _KNOWN_STATES,
    _SCAN_CHUNK,
    _UNLIMITED,
    DeadLetter,
    Delivery,
    Handled,
    Pruned,
    Refusal,
    Status,
    _dead_letter,
    _dead_letter_named,
    _given,
    _instant,
    _limit,
    _micros,
    _readable,
    _refusal,
    _refusal_named,
)
from escalation_policy.service._working import _Working
from escalation_policy.state import SNAPSHOT_FORMAT, EngineState, EscalationState, Replanned
from escalation_policy.store import (
    HandledFact,
    NewAction,
    NewRefusal,
    OutboxRow,
    StateRow,
    StateUpdate,
    Store,
    StoredAction,
    Transaction,
    open_store,
)

__all__ = ["DeadLetter", "Delivery", "Handled", "Pruned", "Refusal", "Service", "Status"]

_HOW = (
    "open the Service with replan=True and call replan(now), or run "
    "`escalation-policy replan --store URL --policy POLICY`"
)

_LONGEST_LEASE = dt.timedelta(days=366)
"""The longest lease :meth:`Service.claim` grants: longer is a mistake, not a plan."""


_RECHECKED = 16
"""How many rows set aside each due scan reads again, to take back those repaired."""


class _DamagedState(StoreError):
    """A row whose state this policy cannot read, or no engine writes."""


class Service:
    """The policy over a durable store (a :class:`~escalation_policy.store.Store`, or its URL).

    ``engine`` chooses who matches the rules, as for :class:`~escalation_policy.PolicyEngine`:
    both give the same decisions.

    ``catch_up``: before each fact, time passes for every other escalation up to the fact's
    time (less ``lateness``), so that one stream of facts in time order gets exactly the
    decisions of :class:`~escalation_policy.PolicyEngine`. Workers that share a stream
    partitioned by escalation pass ``catch_up=False`` and let :meth:`run_due`, called on a
    schedule, report what falls due: then facts about one escalation must still arrive in their
    order, but facts about different escalations need not.

    A fact older than its escalation's last fact is refused (:class:`StaleFactError`), as are
    malformed facts; a refused fact changes nothing. Facts with an ``id`` are handled once: a
    redelivery returns the first handling's actions (``Handled.duplicate``) and emits nothing;
    the same id with other content is a :class:`~escalation_policy.errors.DuplicateFactError`.

    A store records the identity of the policy its escalations were planned under. Opening it
    under another policy raises :class:`~escalation_policy.errors.PolicyChangedError`, unless
    ``replan``: then the service reads and delivers, refuses to decide (facts, ``run_due``)
    with that error, and plans the escalations again under its policy when :meth:`replan` is
    called. A store that records no policy (written before stores did) is taken as it is, and
    records this one with the first change.
    """

    def __init__(
        self,
        store: Store | str,
        policy: Policy | None = None,
        *,
        engine: EngineName = "native",
        catch_up: bool = True,
        lateness: dt.timedelta = dt.timedelta(0),
        max_clock_jump: dt.timedelta | None = DEFAULT_MAX_CLOCK_JUMP,
        replan: bool = False,
    ) -> None:
        self._limits = Limits.checked(max_clock_jump, lateness)
        self.store = open_store(store) if isinstance(store, str) else store
        self.policy = policy or default_policy()
        self.catch_up = catch_up
        self.lateness = self._limits.lateness
        self.max_clock_jump = self._limits.max_clock_jump
        self.identity = self.policy.identity
        """The identity of the policy (:attr:`Policy.identity
        <escalation_policy.Policy.identity>`), recorded with each action it decides."""
        self._converter = shared_converter(self.policy)
        # The JSON texts of states and actions, as the converter writes them (tested so),
        # without building their dictionaries: most of a batch's cost otherwise.
        self._state_text, self._action_text = shared_text_writers(self.policy)
        self._known: collections.OrderedDict[str, tuple[str, Record]] = collections.OrderedDict()
        self._known_lock = threading.Lock()
        # Escalations whose stored state no engine writes (edited by hand, damaged), found by
        # this process: set aside from due scans, so that one damaged row does not stop time
        # for every other escalation. A fact about one is refused; once its row reads
        # well again (repaired), it is taken back. Read as copies (one call, atomic), since
        # threads may share a service.
        self._damaged: dict[str, str] = {}
        self.engine = engine
        # The native matcher keeps no state between calls and is shared; durable_rules is not
        # thread-safe, so a durable service matches one fact at a time.
        self._matcher = (
            shared_matcher(self.policy) if engine == "native" else matcher_of(engine, self.policy)
        )
        self._matching = threading.Lock() if engine != "native" else contextlib.nullcontext()
        # The calendars escalations were pinned to, kept by the store: each escalation keeps
        # counting on its own until re-planned, whatever the policy declares now.
        self._kept_calendars: set[str] = set()
        calendars, (planned, held) = self.store.run(lambda tx: (tx.calendars(), tx.planned_under()))
        # The policy the stored escalations were planned under, where it is not this one:
        # nothing is decided until replan(). And whether the store is still to record this one.
        self._planned_under: str | None = None
        self._record_policy = planned != self.identity
        self._policy_written = False
        if planned is not None and planned != self.identity and held:
            if not replan:
                if isinstance(store, str):
                    self.store.close()  # opened here
                raise policy_changed(planned, self.policy, _HOW, None)
            self._planned_under = planned
        for identity, text in calendars.items():
            try:
                self.policy.remember(Calendar.from_document(json.loads(text)))
            except (ValueError, PolicyError) as error:
                raise StoreError(
                    f"the calendar {identity} the store keeps cannot be read ({error})"
                ) from None
            self._kept_calendars.add(identity)

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __enter__(self) -> "Service":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------ handling
    def handle(self, fact: Fact | Mapping[str, Any]) -> Handled:
        """Handle one fact in one transaction. Raises an
        :class:`~escalation_policy.errors.InputError` (committing nothing) for a fact the
        policy cannot take."""
        result = self.handle_many([fact])[0]
        if isinstance(result, InputError):
            raise result
        return result

    def handle_many(
        self,
        facts: Sequence[Fact | Mapping[str, Any] | InputError],
        *,
        keep_going: bool = False,
        source: str | None = None,
        positions: Sequence[int] | None = None,
        now: dt.datetime | None = None,
    ) -> list[Handled | InputError]:
        """Handle facts in order, in one transaction: the fast way through a store.

        Each result is the fact's :class:`Handled`, or the :class:`InputError` that refused
        it. An :class:`InputError` among ``facts`` stands for an item the caller could not
        read (a line that is not JSON): it is refused as it is. A refused fact changes
        nothing; without ``keep_going`` it ends the batch (the facts before it are committed,
        those after it are not handled and get no result).

        ``source`` and ``positions`` record, in the same transaction, how far a named source
        was read: ``positions[i]`` is the position of ``facts[i]`` (a line number), and
        :meth:`position` returns the last one handled or refused, to resume from after a crash.
        With a ``source``, each fact refused and read past is also recorded, with its position,
        its id if it had one and the time ``now`` (the caller's clock, if given), and
        :meth:`refusals` reports it until :meth:`acknowledge_refusals`: a run resumed after
        it does not read it again, and nothing refused goes unnoticed.

        The source's position is read, and held, in the same transaction: facts at positions
        at or below it were read already (by another process reading the same source at the
        same time, say) and are skipped, neither handled nor recorded, and get no result; the
        results are those of the facts after them. ``positions`` must then increase.
        """
        return self._handle_many(
            facts, keep_going=keep_going, source=source, positions=positions, now=now
        )[1]

    def _handle_many(
        self,
        facts: Sequence[Fact | Mapping[str, Any] | InputError],
        *,
        keep_going: bool = False,
        source: str | None = None,
        positions: Sequence[int] | None = None,
        now: dt.datetime | None = None,
    ) -> tuple[int, list[Handled | InputError]]:
        """:meth:`handle_many`, and how many facts it skipped, read already (the first ones)."""
        self._check_planned()
        if positions is not None and len(positions) != len(facts):
            raise ValueError("positions must give one position per fact")
        if (
            source is not None
            and positions is not None
            and any(b <= a for a, b in itertools.pairwise(positions))
        ):
            raise ValueError("positions must increase")
        if source is not None and (not isinstance(source, str) or len(source) > MAX_ID_LENGTH):
            shown = f" ({len(source):,} characters)" if isinstance(source, str) else ""
            raise InvalidFactError(
                f"got {describe(source)}{shown}, expected a name of at most {MAX_ID_LENGTH} "
                "characters (a store keeps it in an index)",
                path="source",
            )
        refused_at = _limit("now", now)
        read: list[Fact | InputError] = []
        fact_ids: list[str | None] = []
        for item in facts:
            fact_ids.append(_fact_id(item))
            if isinstance(item, InputError):
                read.append(item)
                continue
            try:
                read.append(self._read(item))
            except InputError as error:
                read.append(error)

        def attempt(tx: Transaction) -> tuple[int, list[Handled | InputError]]:
            skipped = 0
            if source is not None and positions is not None:
                # Held to the end of the transaction: another process reading the same
                # source waits here, then skips what this one handled.
                done = tx.lock_source(source)
                skipped = bisect.bisect_right(positions, done)
            todo = read[skipped:]
            targets = {
                fact.escalation_id
                for fact in todo
                if isinstance(fact, EscalationFact) and not isinstance(fact, InputError)
            }
            results: list[Handled | InputError] = []
            work = _Working()
            if self.catch_up:
                clock = tx.clock()
                work.clock = _instant(clock) if clock is not None else None
            started = work.clock
            damaged: dict[str, str] = {}  # the facts about these are refused, one by one
            for row in tx.lock(targets).values():
                try:
                    work.load(row, self._thaw(row))
                except _DamagedState as error:
                    damaged[row.escalation_id] = self._damaged[row.escalation_id] = str(error)
            # What falls due before the batch's last fact, held once for the whole batch.
            watermark = self._last_watermark(todo, work.clock)
            if watermark is not None:
                for row in tx.due(
                    _micros(watermark), targets | self._damaged.copy().keys(), _UNLIMITED
                ):
                    if (due := self._thaw_due(row)) is not None:
                        work.load(row, due)
            ids = [f.id for f in todo if isinstance(f, Fact) and f.id is not None]
            if ids:
                work.digests.update(tx.seen(ids))
            consumed = skipped - 1
            for index, fact in enumerate(todo, start=skipped):
                if isinstance(fact, InputError):
                    result: Handled | InputError = fact
                elif damaged and isinstance(fact, EscalationFact) and fact.escalation_id in damaged:
                    result = EscalationDamagedError(
                        f"{damaged[fact.escalation_id]}; a fact about it is refused until it is "
                        "repaired",
                        path="$.escalation_id",
                    )
                    result.fact_id = fact.id
                else:
                    result = self._apply(tx, work, fact)
                results.append(result)
                if isinstance(result, InputError) and not keep_going:
                    break
                consumed = index
            if source is not None and positions is not None and consumed >= skipped:
                tx.set_source(source, positions[consumed])
            if source is not None:
                tx.refuse(
                    [
                        NewRefusal(
                            source,
                            positions[index] if positions is not None else None,
                            fact_ids[index],
                            result.code,
                            result.path,
                            result.reason,
                            refused_at,
                        )
                        for index, result in enumerate(
                            results[: consumed + 1 - skipped], start=skipped
                        )
                        if isinstance(result, InputError)
                    ]
                )
            if work.clock is not None and work.clock != started:
                tx.set_clock(_micros(work.clock))
            self._write(tx, work)
            tx.forget(targets - work.changed)  # rows locked for facts that were refused
            return skipped, results

        results = self.store.run(attempt)
        self._recorded()
        return results

    def position(self, source: str) -> int:
        """How far ``source`` was read, as the last position :meth:`handle_many` recorded."""
        with self.store.transaction() as tx:
            return tx.source(source)

    def run_due(self, now: dt.datetime, *, limit: int | None = None) -> list[Delivery]:
        """Let time pass to ``now`` for every escalation with something due before it, and
        return what that emitted (missed obligations, reminders), in order.

        Each escalation is claimed in a transaction that locks it: workers that run this at
        the same time never report the same miss twice. ``limit`` bounds how many escalations
        one call advances (``None``: all that are due).
        """
        self._check_planned()
        try:
            now = to_instant(now)
        except FieldProblem as problem:
            raise InvalidFactError(str(problem), path="now") from None
        _core.check_time(self.policy, now, "now")
        emitted: list[Delivery] = []
        self._recheck_damaged()
        left = limit
        while left is None or left > 0:
            chunk = _SCAN_CHUNK if left is None else min(left, _SCAN_CHUNK)

            def scan(tx: Transaction, size: int = chunk) -> tuple[int, list[Delivery]]:
                work, done = _Working(), list[Delivery]()
                rows = tx.due(_micros(now), frozenset(self._damaged.copy()), size)
                for row in rows:
                    if (due := self._thaw_due(row)) is not None:
                        work.load(row, due)
                self._emit(work, pass_time(self.policy, self._matcher, work, now), done)
                self._write(tx, work)
                return len(rows), done

            found, done = self.store.run(scan)
            self._recorded()
            emitted += done
            if found < chunk:
                break
            if left is not None:
                left -= found
        return emitted

    def next_wakeup(self) -> dt.datetime | None:
        """The earliest time at which :meth:`run_due` has something to do, or ``None``."""
        due = self.store.next_wakeup(tuple(self._damaged.copy()))
        return _instant(due) if due is not None else None

    @property
    def damaged(self) -> Mapping[str, str]:
        """The escalations whose stored state no engine writes (a row edited by hand or
        damaged) that this service set aside, with what is wrong with each: nothing of theirs
        falls due while time passes for the others. A fact about one is refused
        (:class:`~escalation_policy.errors.EscalationDamagedError`); once its row reads well
        again (repaired), it is taken back, by a fact about it or by a due scan."""
        return dict(sorted(self._damaged.copy().items()))

    # ----------------------------------------------------------------------------- queries
    def escalation(self, escalation_id: str) -> EscalationState | None:
        """The stored state of one escalation, or ``None`` (never opened, or settled)."""
        row = self.store.state(escalation_id)
        record = self._thaw(row) if row is not None else None
        return record.freeze() if record is not None else None

    def escalations(self) -> tuple[EscalationState, ...]:
        """The state of every escalation the store holds, by id."""
        return tuple(
            record.freeze()
            for row in self.store.states()
            if (record := self._thaw(row)) is not None
        )

    # ------------------------------------------------------------------------------ delivery
    def claim(
        self,
        now: dt.datetime,
        *,
        limit: int = 100,
        lease: dt.timedelta = dt.timedelta(minutes=5),
    ) -> list[Delivery]:
        """Up to ``limit`` actions to deliver, leased to the caller for ``lease``.

        Actions of one escalation come one at a time, in their order: the next is claimable
        once the one before is acknowledged. An action neither acknowledged nor released
        before its lease ends is claimed again (at-least-once delivery: the receiver
        de-duplicates by :attr:`Delivery.id`).

        An action this service's policy cannot read (its JSON damaged, or a value the policy
        no longer declares) is set aside as a dead letter, with why, in the transaction that
        claims it: the others are delivered, and :meth:`dead_letters` lists it.
        """
        at = _given("now", now)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InvalidFactError(
                f"got {limit!r}, expected a whole number of 1 or more", path="limit"
            )
        if not isinstance(lease, dt.timedelta) or not dt.timedelta(0) < lease <= _LONGEST_LEASE:
            raise InvalidFactError(
                f"got {lease!r}, expected a positive timedelta of at most {_LONGEST_LEASE.days} "
                "days",
                path="lease",
            )
        read: dict[str, Action] = {}
        set_aside = 0

        def check(row: OutboxRow) -> str | None:
            nonlocal set_aside
            try:
                read[row.action_id] = self._action(row.action)
            except StoreError as error:
                set_aside += 1
                return str(error)
            return None

        claimed: list[Delivery] = []
        while len(claimed) < limit:
            set_aside = 0
            rows = self.store.claim(
                at, limit - len(claimed), lease // dt.timedelta(microseconds=1), check
            )
            claimed += [
                Delivery(row.action_id, read[row.action_id], row.attempts, row.policy)
                for row in rows
            ]
            if not set_aside:  # else the actions after those set aside may be ready now
                break
        return claimed

    def ack(self, ids: Iterable[str], now: dt.datetime) -> None:
        """The actions ``ids`` were delivered: they are never claimed again."""
        self.store.ack(_ids(ids), _given("now", now))

    def release(
        self,
        delivery: Delivery,
        now: dt.datetime,
        error: str = "",
        *,
        backoff: dt.timedelta = dt.timedelta(seconds=5),
        max_backoff: dt.timedelta = dt.timedelta(hours=1),
    ) -> dt.datetime:
        """A delivery failed: it is tried again after a back-off that doubles with each
        attempt (``backoff``, then twice that, ... up to ``max_backoff``). It is never
        dropped. Returns when it will be claimable again."""
        _given("now", now)
        doublings = min(max(delivery.attempts - 1, 0), 40)  # 2**40 backoffs: past any cap
        try:
            delay: dt.timedelta = min(backoff * (2**doublings), max_backoff)
            retry_at: dt.datetime = now + delay
        except (OverflowError, TypeError):
            retry_at = dt.datetime.max  # refused just below, naming the back-off
        self.store.release(delivery.id, _given("max_backoff", retry_at), str(error))
        return retry_at

    def dead_letters(self) -> list[DeadLetter]:
        """The actions set aside as undeliverable (:meth:`claim`), in the order emitted.

        One the store holds in a shape escalation-policy never writes (a damaged SQLite file)
        is a :class:`StoreError` naming it by its position in the outbox, once every dead
        letter was read; its ``readable`` attribute holds the others."""
        return _readable(self.store.dead_letters(), _dead_letter, _dead_letter_named)

    def retry_dead_letters(self, ids: Iterable[str] | None = None) -> int:
        """Put dead letters back in the outbox, claimable at once (``None``: all of them), once
        what set them aside is mended (the policy that declares their values is back). One that
        still cannot be read is set aside again. Returns how many went back."""
        return self.store.revive(None if ids is None else _ids(ids))

    # ------------------------------------------------------------------------------ refusals
    def refusals(self, *, sources: Iterable[str | None] | None = None) -> list[Refusal]:
        """The refused facts recorded by :meth:`handle_many` with a ``source`` and not yet
        acknowledged, in the order refused; ``sources``: only those of these sources.

        One the store holds in a shape escalation-policy never writes (a damaged SQLite file)
        is a :class:`StoreError` naming it by its number, once every refusal was read; its
        ``readable`` attribute holds the others."""
        rows = self.store.refusals(None if sources is None else set(sources))
        return _readable(rows, _refusal, _refusal_named)

    def acknowledge_refusals(
        self, now: dt.datetime, *, sources: Iterable[str | None] | None = None
    ) -> list[Refusal]:
        """Acknowledge the refused facts (``sources``: only those of these sources), at
        ``now``: :meth:`refusals` reports them no more. Returns those acknowledged."""
        at = _given("now", now)
        refusals = self.refusals(sources=sources)
        self.store.acknowledge([refusal.number for refusal in refusals], at)
        return refusals

    def status(self) -> Status:
        """What the store holds, for monitoring: open escalations, actions waiting for
        delivery, dead letters, refused facts not acknowledged, and the next times
        :meth:`run_due` and :meth:`claim` have something to do."""
        counts = self.store.counts()
        return Status(
            escalations=counts.escalations,
            undelivered=counts.undelivered,
            dead_letters=counts.dead_letters,
            refused=counts.refused,
            next_wakeup=self.next_wakeup(),
            next_delivery=self.next_delivery(),
            awaiting_opening=counts.awaiting_opening,
            damaged=self.damaged,
        )

    def prune(
        self,
        *,
        facts_before: dt.datetime | None = None,
        delivered_before: dt.datetime | None = None,
    ) -> "Pruned":
        """Forget what is no longer needed, so that the store grows with what is open rather
        than with the whole history: the ids of facts whose time is before ``facts_before``,
        and the actions delivered (acknowledged) before ``delivered_before``. ``None`` keeps
        that kind.

        A fact redelivered after its id was forgotten is handled as a new fact: choose
        ``facts_before`` older than any redelivery the sources may still make. It is refused
        when older than its escalation's last fact or scan (kept once the escalation has
        settled, so that its facts do not open it again) and when it opens an escalation still
        open; only a redelivery of an escalation's very last fact could apply again. A
        redelivered fact whose actions were pruned returns the actions still kept. Undelivered
        actions, the escalations' states and the sources' positions are never pruned.
        """
        facts, actions = self.store.prune(
            _limit("facts_before", facts_before), _limit("delivered_before", delivered_before)
        )
        return Pruned(facts=facts, actions=actions)

    def next_delivery(self) -> dt.datetime | None:
        """When the earliest undelivered action can be claimed, or ``None``."""
        ready = self.store.next_delivery()
        return _instant(ready) if ready is not None else None

    def outbox(self, *, delivered: bool | None = None) -> list[Delivery]:
        """The actions in the outbox in the order emitted (``delivered``: only those
        delivered, or only those not)."""
        return [
            Delivery(entry.action_id, self._action(entry.action), policy=entry.policy)
            for entry in self.store.outbox(delivered=delivered)
        ]

    def snapshot(self) -> EngineState:
        """Every escalation the store holds, as a snapshot that an in-memory
        :class:`~escalation_policy.PolicyEngine` can continue from (``PolicyEngine.restore``)."""
        states = self.escalations()
        clock = max((state.clock for state in states), default=None)
        calendars = self.policy.pinned_calendars(state.calendar_identity for state in states)
        return EngineState(
            clock=clock,
            escalations=states,
            calendars=calendars,
            policy=self._planned_under or self.identity,
        )

    def replan(self, now: dt.datetime, *, dry_run: bool = False) -> tuple[Replanned, ...]:
        """Plan the stored escalations again, in one transaction, and say what changed (see
        :meth:`PolicyEngine.replan <escalation_policy.PolicyEngine.replan>`): on the calendars
        the policy declares now and, for a store opened with ``replan=True`` whose escalations
        were planned under another policy, under this one (the store then records it, and
        facts are taken again). ``now`` is the moment from which the open time a deadline has
        left is counted again, and a new or changed period starts; ``dry_run``: say what would
        change, and change nothing."""
        try:
            now = to_instant(now)
        except FieldProblem as problem:
            raise InvalidFactError(str(problem), path="now") from None
        _core.check_time(self.policy, now, "now")
        keys = [row.escalation_id for row in self.store.states()]
        rederive = self._planned_under is not None

        def work_on(tx: Transaction) -> tuple[Replanned, ...]:
            work, done = _Working(), list[Replanned]()
            for key, row in tx.lock(keys).items():
                try:
                    before = self._thaw(row)
                except StoreError:
                    if self._planned_under is None:
                        raise
                    raise PolicyChangedError(
                        f"the escalations were planned under the policy {self._planned_under}, "
                        f"and the policy loaded ({self.identity}) cannot read the state of "
                        f"{key!r}: expected the policy that planned them, or one that "
                        "declares their attributes and values",
                        planned=self._planned_under,
                        loaded=self.identity,
                    ) from None
                if before is None or before.status == AWAITING_OPENING:
                    continue
                after = before.copy()
                with self._matching:
                    replanned = _replan(self.policy, self._matcher, after, now, rederive=rederive)
                if replanned is None and not _mended(before, after):
                    continue
                work.seqs[key] = row.seq
                work.hold(key, after)
                work.changed.add(key)
                if replanned is not None:
                    done.append(replanned)
            if not dry_run:
                self._write(tx, work)
                if rederive or self._record_policy:
                    tx.set_planned_under(self.identity)
            return tuple(sorted(done, key=lambda item: item.escalation_id))

        done = self.store.run(work_on)
        if not dry_run:
            self._planned_under = None
            self._record_policy = False
        return done

    # ------------------------------------------------------------------------------ internals
    def _recorded(self) -> None:
        """After a transaction committed: the store records this policy, if it wrote it."""
        if self._policy_written:
            self._record_policy = self._policy_written = False

    def _check_planned(self) -> None:
        """Refuse to decide on escalations planned under another policy, until re-planned."""
        if self._planned_under is not None:
            raise policy_changed(self._planned_under, self.policy, "call replan(now) first", None)

    def _read(self, item: object) -> Fact:
        if isinstance(item, Fact):
            if not isinstance(item, Tick):
                check_declared(item, self.policy)
            return item
        if isinstance(item, Mapping):
            return read_fact(item, self.policy)
        raise InvalidFactError(f"got {describe(item)}, expected a Fact or a JSON object", path="$")

    def _apply(self, tx: Transaction, work: _Working, fact: Fact) -> Handled | InputError:
        digest = ""
        if fact.id is not None:
            digest = self._digest(fact)
            seen = work.digests.get(fact.id)
            if seen is not None:
                if seen.digest != digest:
                    return DuplicateFactError(
                        f"got the id {fact.id!r} again with other content; expected a "
                        "redelivered fact to be the same fact",
                        path="$.id",
                    )
                ids: list[str] = json.loads(seen.actions)
                rows: dict[str, StoredAction] = {
                    row.action_id: StoredAction(row.action_id, row.action, row.policy)
                    for row in work.outbox  # not written yet
                }
                for stored in tx.actions([i for i in ids if i not in rows]):
                    rows[stored.action_id] = stored
                # Actions pruned once delivered (Service.prune) are left out, and so are those
                # this policy cannot read (dead letters, or set aside when claimed): a
                # redelivery must not stop a run for them.
                deliveries: list[Delivery] = []
                for i in ids:
                    if i in rows:
                        with contextlib.suppress(StoreError):
                            action = self._action(rows[i].action)
                            deliveries.append(Delivery(i, action, policy=rows[i].policy))
                return Handled(fact=fact, deliveries=tuple(deliveries), duplicate=True)
        emitted: list[Delivery] = []
        try:
            watermark = self._admit(work, fact)
            with self._matching:
                decision = step(self.policy, self._matcher, work, fact, watermark)
        except InputError as error:
            return error
        self._emit(work, decision.actions, emitted)
        target = fact.escalation_id if isinstance(fact, EscalationFact) else None
        if fact.id is not None:
            actions = json.dumps([delivery.id for delivery in emitted])
            handled = HandledFact(fact.id, digest, target, actions, _micros(fact.at))
            work.remembered.append(handled)
            work.digests[fact.id] = handled
        return Handled(
            fact=fact,
            deliveries=tuple(emitted),
            fulfilled=decision.fulfilled,
            matched=decision.matched,
        )

    def _last_watermark(
        self, facts: Sequence[Fact | InputError], clock: dt.datetime | None
    ) -> dt.datetime | None:
        """The latest time to which the batch lets time pass for escalations it does not
        name, from the store's ``clock``: that of its last fact admitted (a tick's own time
        without ``catch_up``), if any."""
        latest: dt.datetime | None = None
        for fact in facts:
            if isinstance(fact, InputError):
                continue
            if self.catch_up:
                try:
                    clock, when = admit(self.policy, self._limits, clock, fact.at)
                except InputError:
                    continue  # refused when its turn comes
            elif isinstance(fact, Tick):
                when = fact.at
            else:
                continue
            if latest is None or when > latest:
                latest = when
        return latest

    def _admit(self, work: _Working, fact: Fact) -> dt.datetime | None:
        """The watermark up to which ``fact`` lets time pass for the escalations it does not
        name (``None``: not at all), once its time passed the guards every engine applies."""
        if self.catch_up:
            clock, watermark = admit(self.policy, self._limits, work.clock, fact.at)
            work.clock = clock
            return watermark
        _core.check_time(self.policy, fact.at, "$.at")
        if isinstance(fact, Tick):
            return fact.at
        if isinstance(fact, EscalationFact):
            record = work.records.get(fact.escalation_id)
            if record is not None:
                check_jump(self._limits, record.clock, fact.at)
        return None

    def _emit(self, work: _Working, actions: Sequence[Action], emitted: list[Delivery]) -> None:
        texts = self._action_text
        for action in actions:
            key = action.escalation_id
            seq = work.seqs.get(key, 0) + 1
            work.seqs[key] = seq
            action_id = f"{key}/{seq}"
            body = texts[type(action)](action)  # every action type is in the contract
            work.outbox.append(NewAction(action_id, key, body, self.identity))
            emitted.append(Delivery(action_id, action, policy=self.identity))

    def _write(self, tx: Transaction, work: _Working) -> None:
        state_text = self._state_text
        rows: list[StateUpdate] = []
        for key in sorted(work.changed):
            record = work.records.get(key)
            if record is None:
                rows.append(
                    StateUpdate(key, None, None, work.seqs.get(key, 0), work.settled.get(key))
                )
                continue
            state = state_text(record)
            self._remember(key, state, record)
            next_due = record.next_due
            due = _micros(next_due) if next_due is not None else None
            rows.append(StateUpdate(key, state, due, work.seqs[key], _micros(record.clock)))
        tx.save(rows)
        if self._record_policy and rows:
            tx.set_planned_under(self.identity)
            self._policy_written = True  # kept once the transaction commits
        self._keep_calendars(tx, work)
        tx.append(work.outbox)
        tx.remember(work.remembered)

    def _keep_calendars(self, tx: Transaction, work: _Working) -> None:
        """Keep in the store the calendars the changed escalations are pinned to, once."""
        wanted = {
            identity
            for key in work.changed
            if (record := work.records.get(key)) is not None
            and (identity := record.calendar_identity) is not None
            and identity not in self._kept_calendars
        }
        if not wanted:
            return
        documents = {
            calendar.identity: json.dumps(calendar.document(), sort_keys=True)
            for calendar in self.policy.pinned_calendars(wanted)
        }
        tx.keep_calendars(documents)
        self._kept_calendars.update(documents)  # pinned for good: a rollback writes it again

    def _thaw(self, row: StateRow) -> Record | None:
        if row.state is None:
            return None
        known = self._known.get(row.escalation_id)
        if known is not None and known[0] == row.state and row.state_format == SNAPSHOT_FORMAT:
            record = known[1]  # the text this process wrote: its record, never changed in place
        else:
            record = self._read_state(row)
            self._remember(row.escalation_id, row.state, record)
        if self._damaged:
            self._damaged.pop(row.escalation_id, None)  # repaired
        return record

    def _recheck_damaged(self) -> None:
        """Read again a few of the rows set aside (in turn, the longest set aside first): one
        that reads well now, repaired, is taken back; the others go to the end of the line."""
        for escalation_id in list(self._damaged.copy())[:_RECHECKED]:
            row = self.store.state(escalation_id)
            self._damaged.pop(escalation_id, None)
            if row is not None:
                self._thaw_due(row)  # set aside again, last, if still damaged

    def _thaw_due(self, row: StateRow) -> Record | None:
        """The record of a row a due scan found; ``None``, and the row set aside, if its
        state is damaged (:attr:`Status.damaged`)."""
        try:
            return self._thaw(row)
        except _DamagedState as error:
            self._damaged[row.escalation_id] = str(error)
            return None

    def _remember(self, escalation_id: str, text: str, record: Record) -> None:
        """Keep the record a state's text was read as or written from, for the next read of
        the same text (most rows a worker reads are rows it wrote): a bounded cache."""
        with self._known_lock:
            known = self._known
            known[escalation_id] = (text, record)
            known.move_to_end(escalation_id)
            if len(known) > _KNOWN_STATES:
                known.popitem(last=False)

    def _read_state(self, row: StateRow) -> Record:
        assert row.state is not None
        try:
            data = json.loads(row.state)
            if row.state_format != SNAPSHOT_FORMAT:
                snapshot = read_snapshot(
                    {"format": row.state_format, "clock": data.get("clock"), "escalations": [data]},
                    self.policy,
                )
                return Record.thaw(snapshot.escalations[0])
            state: EscalationState = self._converter.structure(data, self.policy.contract.state)
        except InvalidSnapshotError as error:
            raise _DamagedState(str(error)) from None
        except Exception as error:  # cattrs' groups too: whatever the text, it is the store's
            raise _DamagedState(
                f"the stored state of {row.escalation_id!r} cannot be read with this policy "
                f"({' '.join(str(error).split())}); was the store written with another policy, "
                "or damaged?"
            ) from None
        # Checked as a snapshot's escalation is: a row edited by hand or damaged must not
        # reach the engine, which trusts what it wrote itself.
        problem = stored_state_problem(
            state, row.escalation_id, self.policy, foreign=self._planned_under is not None
        )
        if problem is not None:
            raise _DamagedState(
                f"the stored state of {row.escalation_id!r} is not one an engine writes "
                f"({problem}); was the store damaged or edited?"
            )
        return Record.thaw(pinned(state, self.policy))

    def _action(self, text: str) -> Action:
        """The action an outbox row holds; a :class:`StoreError` for one this policy cannot
        read."""
        try:
            action: Action = self._converter.structure(json.loads(text), Action)
        except InputError as error:
            raise StoreError(
                f"the action cannot be read with the policy {self.identity} ({error})"
            ) from None
        except (ValueError, TypeError, RecursionError) as error:
            raise StoreError(f"the action's JSON cannot be read ({error})") from None
        return action

    def _digest(self, fact: Fact) -> str:
        body = self._converter.unstructure(fact, Fact)
        body.pop("id", None)
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _fact_id(item: object) -> str | None:
    """The id of a fact, or of a JSON object that should have been one, if it has one."""
    if isinstance(item, Fact):
        return item.id
    if isinstance(item, InputError):
        return item.fact_id
    if isinstance(item, Mapping):
        found = item.get("id")
        return found if isinstance(found, str) else None
    return None


def _ids(ids: Iterable[str]) -> list[str]:
    """Action ids the caller gives; an InvalidFactError for a single string (whose
    characters are no ids) or for ids that are not strings."""
    if isinstance(ids, str) or not isinstance(ids, Iterable):
        raise InvalidFactError(f"got {describe(ids)}, expected a list of action ids", path="ids")
    listed = list(ids)
    for index, action_id in enumerate(listed):
        if not isinstance(action_id, str):
            raise InvalidFactError(
                f"got {describe(action_id)}, expected an action id", path=f"ids[{index}]"
            )
    return listed
