"""The effects of one fact, applied to the escalation's record: one handler for each kind of
effect the vocabulary declares (:data:`HANDLERS`)."""

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, cast

from escalation_policy import vocabulary as vocab
from escalation_policy._core.matching import Plan
from escalation_policy._core.obligations import (
    ON_CALENDAR,
    after_wait,
    changed,
    detail_text,
    in_bucket,
    missing_parts,
    moved,
    on_clock,
    overdue_violation,
    period_of,
    text_of,
)
from escalation_policy._language.frozen import builder_of
from escalation_policy._language.wording import DetailFields
from escalation_policy.calendar import Calendar
from escalation_policy.model import (
    ACTIVE,
    Action,
    AssignOwner,
    EscalationFact,
    OutOfScope,
    SetCadence,
    SetInvolvement,
    Violation,
)
from escalation_policy.periods import Bucket, BusinessTime, Period, Rolling
from escalation_policy.policy import CompiledObligation, Emitter, Policy
from escalation_policy.policy.outputs import (
    CADENCE,
    INVOLVEMENT,
    OUT_OF_SCOPE_REASON,
    OWNER,
)
from escalation_policy.policy.record import Record
from escalation_policy.state import (
    NOTHING_RARE,
    EarlyWork,
    Fulfilment,
    PendingObligation,
)

_NOTHING_BEFORE: dict[str, object] = {}
"""The ``previous`` of a fact that sets no attribute (shared, never changed)."""


Handler = Callable[["Work", Any, Any, str, str], None]
"""Applies one effect: (work, the effect, what the loader compiled of it, rule, cites)."""

PeriodMemo = dict[
    tuple[str | None, dt.timedelta | None, str, dt.datetime, dt.datetime | None, int], Bucket
]
"""The period after one met, for periods whose next one does not depend on when the last was
met (:meth:`Period.met` as declared on :class:`Period`), by what they are worked out from: the
pending obligation's ``period`` and ``every`` (which give its :class:`Period`), its calendar's
identity, and its bucket (``due``, ``since``, ``required``), all of types that hash quickly.
Owned by a native matcher, and given to the :class:`Work` of its steps."""


_fulfilment = builder_of(Fulfilment)
"""Builds a :class:`~escalation_policy.state.Fulfilment` (a fact discharges one or two)."""
_early_work = builder_of(EarlyWork)
"""Builds an :class:`~escalation_policy.state.EarlyWork` (work that fulfilled nothing)."""
_pending = builder_of(PendingObligation)
"""Builds a :class:`~escalation_policy.state.PendingObligation`."""
_violation = builder_of(Violation)
"""Builds a :class:`~escalation_policy.model.Violation`."""
_assign_owner = builder_of(AssignOwner)
_set_involvement = builder_of(SetInvolvement)
_set_cadence = builder_of(SetCadence)
"""Build the actions a plan gives (:meth:`Work._apply_plan`)."""

_PERIOD_MEMO_LIMIT = 4096


_KEPT = tuple((0,) * parts for parts in range(9))
"""The counts of a period that follows one met (none yet), for each number of parts: the
same tuple for them all."""


def done_with(
    policy: Policy, done: Mapping[str, tuple[str, ...]], name: str, key: str
) -> Mapping[str, tuple[str, ...]]:
    """``done`` (a record's) with ``key`` among the keys the obligation ``name`` was fulfilled
    for, once: another mapping when it was not (records replace it, never change it; the
    first key met is :meth:`Policy.done_once`'s, shared)."""
    if not done:
        return policy.done_once(name, key)
    keys = done.get(name, ())
    return done if key in keys else {**done, name: (*keys, key)}


def kept_counts(parts: int) -> tuple[int, ...]:
    """The counts a period starts with after one met: zeros, where a period after a miss, or
    the first one planned, starts empty (nothing known of the periods before)."""
    return _KEPT[parts] if parts < len(_KEPT) else (0,) * parts


def replanned_first(
    calendar: Calendar,
    every: Period,
    current: PendingObligation,
    at: dt.datetime,
    opened_at: dt.datetime,
) -> tuple[Bucket, tuple[int, ...]]:
    """The first bucket of a periodic obligation re-planned at ``at`` to ``every`` from
    ``current`` (another period), and what it counts already.

    As at an opening (the share of a weekly period rounded up), unless ``current``'s period
    before was met (its counts zeros: :func:`kept_counts`) and ended within the new period's
    run, and asked at least as much as ``every`` (:attr:`Period.per_week`): then, after the
    opening's day, what :meth:`Period.changed_to` gives (for a weekly period, its share of
    the days left rounded down: the stricter cadence was kept, so the week's earlier work was
    done, though not counted here), and the new period is marked as kept too. What
    ``current`` counted in a period of its own that began within the new one's run counts
    toward it; met so, the new bucket gives way to the next."""
    bucket = every.first(calendar, at)
    start = every.counted_from(calendar, bucket)
    since = current.since
    counts = current.counts
    if start is None or since is None or not counts:
        return bucket, ()
    if not any(counts):  # kept: its period before was met, and ended within the new run
        if current.overdue or since <= start:
            return bucket, ()
        if calendar.day_of(at) != calendar.day_of(opened_at):
            old, new = period_of(current), every.per_week
            asked = None if old is None else old.per_week
            if new is not None and asked is not None and new <= asked:
                bucket = every.changed_to(calendar, at)
        return bucket, counts
    if not start <= since <= at:
        return bucket, ()
    if min(counts) >= bucket.required:
        return every.met(calendar, bucket, at), kept_counts(len(counts))
    return bucket, counts


class Work:
    """The effects of one fact, applied to the escalation's record in place.

    Each kind of effect has one method, named after the kind (``_`` and ``Effect.NAME``):
    :data:`HANDLERS` finds it for every kind, and dispatch is one dictionary lookup per
    effect.
    """

    __slots__ = (
        "actions",
        "announced",
        "at",
        "escalation_id",
        "fact",
        "fulfilled",
        "new_owner",
        "periods",
        "plan",
        "policy",
        "record",
    )

    def __init__(
        self,
        policy: Policy,
        record: Record,
        fact: EscalationFact,
        plan: Plan | None,
        periods: PeriodMemo | None = None,
    ) -> None:
        self.policy = policy
        self.periods = periods
        self.record = record
        self.fact = fact
        self.at = fact.at
        self.escalation_id = record.escalation_id
        self.plan = plan
        self.actions: list[Action] = []
        self.fulfilled: list[Fulfilment] = []
        self.new_owner = False  # the plan gave it a new owner: see finish()
        self.announced: list[tuple[str, str | None, dt.datetime]] = []

    def _find(self, obligation: str, key: object = None) -> int | None:
        """The pending instance of ``obligation`` (with ``key``, if one is given)."""
        for index, pending in enumerate(self.record.pending):
            if pending.obligation == obligation and (key is None or pending.key == key):
                return index
        return None

    def _announce(self, declared: CompiledObligation, pending: PendingObligation) -> None:
        """Tell the host of ``pending``, if its obligation is announced at all."""
        announce = declared.announce
        if announce is None:
            return
        owner = self.record.owner
        if owner is None and self.plan is not None:
            owner = self.plan.values[OWNER]
        self.announced.append((pending.obligation, pending.key, pending.due))
        self.actions.append(announce(self.escalation_id, self.at, pending, owner, self.record))

    def finish(self) -> None:
        """Once every effect of the fact applied: to a new owner, announce again what is still
        pending of the obligations announced again on a new owner, unless the fact announced
        it anew (a period the same fact re-planned is announced once, with its new due time;
        one the fact dropped is not announced at all)."""
        if not self.new_owner:
            return
        obligations = self.policy.obligations
        for pending in self.record.pending:
            declared = obligations[pending.obligation]
            if not declared.announce_again_on_new_owner or pending.overdue:
                continue
            if (pending.obligation, pending.key, pending.due) not in self.announced:
                self._announce(declared, pending)

    # ------------------------------------------------------------------------------- effects
    def _require(self, effect: vocab.Require, _prepared: None, rule: str, cites: str) -> None:
        if effect.every is not None:
            self._schedule(effect)
            return
        record = self.record
        declared = self.policy.obligations[effect.obligation.id]
        name = declared.id
        key = effect.key
        if declared.key_from is not None:
            key = getattr(record, declared.key_from)
            if key is None:
                return  # nothing to key it by (no TAM assigned): nothing is required
        if key is not None and type(key) is not str:
            key = text_of(key)
        pending_list = record.pending
        if pending_list:
            index = self._find(name, None if declared.one_at_a_time else key)
            if index is not None:
                pending = pending_list[index]
                if pending.key == key and not (declared.renew_when_overdue and pending.overdue):
                    return
                del pending_list[index]  # renewed, or replaced by one for a new key
        if declared.once_per_key and key in record.done.get(name, ()):
            return  # met for this key before (one replaced above: by one met already)
        # Checked at load time, where the policy's settings took their values.
        within = cast("dt.timedelta | BusinessTime", effect.within)
        if type(within) is not dt.timedelta and isinstance(within, BusinessTime):
            due = within.due(
                self.policy.calendar(record.calendar, record.calendar_identity), self.at
            )
            clock: str | None = ON_CALENDAR
        else:
            due, clock = self.at + within, None
        if declared.early_grace is not None and self.met_early(declared, key, due, rule):
            return
        remind_before = cast("dt.timedelta | None", effect.remind_before)
        pending = _pending(
            obligation=name,
            due=due,
            rule=rule,
            cites=cites,
            key=key,
            remind_before=remind_before,
            period=clock,
        )
        if remind_before is not None and record.calendar is not None:
            pending = on_clock(self.policy, record, pending)
        if record.paused_since is not None:
            pending = self._paused(declared, pending)
        pending_list.append(pending)
        if declared.announce is not None:
            self._announce(declared, pending)

    def _fulfil(self, effect: vocab.Fulfil, _prepared: None, _rule: str, _cites: str) -> None:
        self.fulfil(self.policy.obligations[effect.obligation.id], effect.key, effect.part)

    def fulfil(self, declared: CompiledObligation, key_field: str | None, part: str | None) -> None:
        """A :class:`~escalation_policy.vocabulary.Fulfil` of ``declared``, keyed by the fact's
        field ``key_field``, of ``part``: what the native engine's generated functions call,
        with the obligation found when they were generated."""
        name = declared.id
        key = None  # the fact's key, read once an instance of the obligation is pending
        index = None
        for position, pending in enumerate(self.record.pending):
            if pending.obligation != name:
                continue
            if key_field is None:
                index = position
                break
            if key is None:
                key = text_of(getattr(self.fact, key_field))
            if pending.key == key:
                index = position
                break
        told = self.record.done.get(name, ()) if declared.key_from is not None else ()
        if declared.once_per_key:
            if index is not None:
                done = self.record.pending[index].key
            else:
                done = (
                    None if declared.key_from is None else getattr(self.record, declared.key_from)
                )
            if done is not None:
                self.record.done = done_with(self.policy, self.record.done, name, text_of(done))
        if index is None:
            if declared.early_grace is None:
                return
            keys = declared.early_keys
            if key is None and key_field is not None:
                value = getattr(self.fact, key_field)
                # Most work that meets nothing is for no instance ever required early (an
                # update is no closing post): a text, or a member of an enumeration of texts,
                # is told by itself, without its text made.
                if keys is not None and isinstance(value, str):
                    if value in keys:  # kept: an instance of its key is required at times
                        self._remember_early(declared, text_of(value), told)
                    return
                key = text_of(value)
            if declared.keeps_early(key):
                self._remember_early(declared, key, told)
            return
        at = self.at
        pending = self.record.pending[index]
        if pending.period not in (None, ON_CALENDAR) or (declared.parts and pending.every):
            self._fulfil_period(declared, index, part)
            return
        self.fulfilled.append(
            _fulfilment(
                escalation_id=self.escalation_id,
                obligation=name,
                rule=pending.rule,
                due=pending.due,
                at=at,
                key=pending.key,
            )
        )
        if pending.every is None:
            del self.record.pending[index]
            return
        self.record.pending[index] = on_clock(
            self.policy, self.record, moved(pending, at + pending.every, overdue=False)
        )
        self._announce(declared, self.record.pending[index])

    def _remember_early(
        self, declared: CompiledObligation, key: str | None, told: tuple[str, ...] = ()
    ) -> None:
        """Keep work that would have fulfilled ``declared`` (its instance of ``key``; with no
        key of its fact, the one the escalation's attribute ``key_from`` names now, if any,
        unless that instance was met already, among ``told``: then the next one, whichever it
        is; for one fulfilled once per key, the instance named now was met for good by this
        work, and nothing is kept)
        for its ``early_grace``: see :meth:`met_early`. Earlier work for the same instance goes
        (for one keyed by the escalation's attribute, for any instance: only work for the
        attribute's latest value can count)."""
        record = self.record
        if key is None and declared.key_from is not None:
            named = getattr(record, declared.key_from)
            key = None if named is None else text_of(named)
            if declared.once_per_key and key is not None:
                if key not in told:  # met for good by this work (fulfil() keeps it done)
                    work = _early_work(obligation=declared.id, at=self.at, key=key)
                    self._keep(declared, work, keep=False)  # only other work goes
                    return
                key = None  # the TAM told already is not told again: the next one is
        self._keep(declared, _early_work(obligation=declared.id, at=self.at, key=key))

    def _keep(self, declared: CompiledObligation, work: EarlyWork, keep: bool = True) -> None:
        """Keep ``work`` for ``declared`` in place of any other work for its instance: one
        piece of work for each instance (``keep`` false: only the other work goes). What
        another obligation or instance keeps stays (the policy's instances bound them; whether
        its grace is over is told when it is looked for, as telling it on every keep, in open
        time, costs a calendar's walk)."""
        record = self.record
        early_work = record.early_work
        if not early_work:
            if keep:
                record.early_work = (work,)
            return
        name = declared.id
        instance = declared.early_instance(work)
        kept = [
            early
            for early in early_work
            if early.obligation != name or declared.early_instance(early) != instance
        ]
        if keep:
            kept.append(work)
        record.early_work = tuple(kept)

    def _within_grace(self, declared: CompiledObligation, early: EarlyWork) -> bool:
        """Whether ``early`` is recent enough now to count for ``declared``: its grace of
        calendar time, or of open time on the escalation's calendar."""
        grace = declared.early_grace
        if grace is None:
            return False
        if not isinstance(grace, BusinessTime):
            return self.at - early.at <= grace
        if self.at - early.at <= grace.duration:
            return True  # no more open time than time: no need to walk the calendar
        record = self.record
        calendar = self.policy.calendar(record.calendar, record.calendar_identity)
        return calendar.elapsed(early.at, self.at) <= grace.duration

    def met_early(
        self, declared: CompiledObligation, key: str | None, due: dt.datetime, rule: str
    ) -> bool:
        """Whether an instance of ``declared`` required now (of ``key``, due at ``due`` by
        ``rule``) is met by work done within its ``early_grace`` before: if so, that work is
        its fulfilment, at the work's time. The work stays kept for the rest of its grace, for
        the instance it met: one summary saved just before two changes recorded together
        answers both."""
        record = self.record
        early_work = record.early_work
        if declared.early_grace is None or not early_work:
            return False
        name = declared.id
        for early in early_work:
            if (
                early.obligation == name
                and (early.key is None or early.key == key)
                and self._within_grace(declared, early)
            ):
                break
        else:
            return False
        if early.key is None and key is not None:  # now work for the instance it met
            record.early_work = tuple(other for other in early_work if other is not early)
            self._keep(declared, _early_work(obligation=name, at=early.at, key=key))
        if declared.once_per_key and key is not None:
            record.done = done_with(self.policy, record.done, name, key)
        self.fulfilled.append(
            _fulfilment(
                escalation_id=self.escalation_id,
                obligation=name,
                rule=rule,
                due=due,
                at=early.at,
                key=key,
            )
        )
        return True

    def _fulfil_period(self, declared: CompiledObligation, index: int, part: str | None) -> None:
        """Count a fulfilment toward the current period of a periodic obligation; once the
        period has what it asks for, the next one starts."""
        pending = self.record.pending[index]
        at = self.at
        rarely = pending._rarely  # type: ignore[attr-defined]  # paused_left is kept there
        if rarely is not NOTHING_RARE and pending.paused_left is not None and pending.due <= at:
            pending = self._roll_paused(pending)  # counted in the period it is done in
            self.record.pending[index] = pending
        if pending.since is not None and at < pending.since:
            return  # done again in a period already met
        parts = declared.parts
        if parts or pending.counts or pending.required != 1:  # else met by this one
            named = parts or (None,)
            counts = list(pending.counts or (0,) * len(named))
            counts[named.index(part) if part in named else 0] += 1
            if min(counts) < pending.required:
                self.record.pending[index] = changed(pending, counts=tuple(counts))
                return
        self.fulfilled.append(
            _fulfilment(
                escalation_id=self.escalation_id,
                obligation=declared.id,
                rule=pending.rule,
                due=pending.due,
                at=at,
                key=pending.key,
            )
        )
        calendar = self.policy.calendar(self.record.calendar, self.record.calendar_identity)
        memo = self.periods
        following = None
        if memo is not None:
            # The next period depends on this one and the calendar alone, and escalations
            # in one zone share their periods' ends: worked out once for them all.
            rarely = pending._rarely  # type: ignore[attr-defined]  # every is kept there too
            key = (
                pending.period,
                None if rarely is NOTHING_RARE else pending.every,
                calendar.identity,
                pending.due,
                pending.since,
                pending.required,
            )
            following = memo.get(key)
        if following is None:
            period = period_of(pending)
            assert period is not None  # a periodic obligation
            following = period.met(
                calendar, Bucket(pending.due, pending.since, pending.required), at
            )
            if (
                memo is not None
                and type(period).met is Period.met
                and len(memo) < _PERIOD_MEMO_LIMIT
            ):
                memo[key] = following
        self.record.pending[index] = on_clock(
            self.policy, self.record, in_bucket(pending, following, kept_counts(len(parts) or 1))
        )
        self._announce(declared, self.record.pending[index])

    def _paused(
        self, declared: CompiledObligation, pending: PendingObligation
    ) -> PendingObligation:
        """``pending`` with its clock stopped, if it is pausable and the escalation's clocks
        are paused."""
        if self.record.paused_since is None or not declared.pausable:
            return pending
        return changed(pending, paused_left=self._left(pending))

    def _left(self, pending: PendingObligation) -> dt.timedelta:
        """The time left on ``pending``'s clock now (open time, on the calendar)."""
        if pending.due <= self.at:
            return dt.timedelta(0)
        if pending.period is None:
            return pending.due - self.at
        calendar = self.policy.calendar(self.record.calendar, self.record.calendar_identity)
        return calendar.elapsed(self.at, pending.due)

    def _pause(self, _effect: vocab.Pause, _prepared: None, _rule: str, _cites: str) -> None:
        record = self.record
        if record.paused_since is not None:
            return
        record.paused_since = self.at
        obligations = self.policy.obligations
        record.pending = [
            changed(pending, paused_left=self._left(pending))
            if obligations[pending.obligation].pausable and not pending.overdue
            else pending
            for pending in record.pending
        ]

    def _resume(self, _effect: vocab.Resume, _prepared: None, _rule: str, _cites: str) -> None:
        record = self.record
        if record.paused_since is None:
            return
        calendar = self.policy.calendar(record.calendar, record.calendar_identity)
        paused_at = record.paused_since
        record.paused_for += self.at - paused_at
        if record.calendar is not None:
            record.paused_open_for += calendar.elapsed(paused_at, self.at)
        record.paused_since = None
        resumed: list[PendingObligation] = []
        for pending in record.pending:
            left = pending.paused_left
            if left is None:
                resumed.append(pending)
                continue
            period = period_of(pending)
            if (
                pending.period is not None
                and period is not None
                and not isinstance(period, Rolling)
            ):
                resumed.append(
                    on_clock(
                        self.policy,
                        record,
                        changed(
                            self._period_resumed(calendar, pending, period, paused_at),
                            paused_left=None,
                        ),
                    )
                )
                continue
            due = self.at + left if pending.period is None else calendar.add(self.at, left)
            resumed.append(
                on_clock(self.policy, record, changed(pending, due=due, paused_left=None))
            )
        record.pending = resumed

    def _period_resumed(
        self,
        calendar: Calendar,
        pending: PendingObligation,
        period: Period,
        paused_at: dt.datetime,
    ) -> PendingObligation:
        """``pending``, a period of days or weeks, when the clocks paused at ``paused_at``
        resume now. A wait relieves a period only of the open time it took: a wait that ended
        before the period began, or took no open time, leaves it as planned; a period that
        ended during the wait is judged as :meth:`_waited_through` judges it; the period the
        wait ends in keeps what was done in it and asks in proportion to its open time not
        waited (:func:`after_wait`)."""
        at = self.at
        since = pending.since
        if since is None:  # a period that counts from its fulfilments: it starts afresh
            return in_bucket(pending, period.first(calendar, at))
        if at <= since or not calendar.elapsed(paused_at, at):
            return pending  # the wait took none of its open time
        if pending.due <= at:
            pending = self._waited_through(calendar, pending, period, paused_at, at)
            since = cast(dt.datetime, pending.since)
        pending = after_wait(calendar, pending, max(paused_at, since), at)
        counts = pending.counts
        if (min(counts) if counts else 0) >= pending.required:  # all it now asks is done
            parts = len(self.policy.obligations[pending.obligation].parts) or 1
            bucket = Bucket(pending.due, since, pending.required)
            return in_bucket(pending, period.met(calendar, bucket, at), kept_counts(parts))
        return pending

    def _roll_paused(self, pending: PendingObligation) -> PendingObligation:
        """``pending``, paused, whose period ended during the wait: the period now, as
        :meth:`_waited_through` gives it, still paused (a period that counts from its
        fulfilments, or of plain time, as it is)."""
        period = period_of(pending)
        paused_at = self.record.paused_since
        if pending.since is None or period is None or isinstance(period, Rolling):
            return pending
        if paused_at is None:  # pragma: no cover - a paused obligation has a wait begun
            return pending
        calendar = self.policy.calendar(self.record.calendar, self.record.calendar_identity)
        return self._waited_through(calendar, pending, period, paused_at, self.at)

    def _waited_through(
        self,
        calendar: Calendar,
        pending: PendingObligation,
        period: Period,
        paused_at: dt.datetime,
        to: dt.datetime,
    ) -> PendingObligation:
        """``pending``, a paused period of days or weeks that ended at or before ``to`` during
        the wait that began at ``paused_at``: reported missed now if what was done in it falls
        short of what it asks for its open time not waited (:func:`after_wait`); the periods
        after it that the wait took whole are excused. The period ``to`` falls in, as yet
        with nothing done in it."""
        since = cast(dt.datetime, pending.since)
        judged = after_wait(calendar, pending, max(paused_at, since), pending.due)
        counts = judged.counts
        if (min(counts) if counts else 0) < judged.required:
            declared = self.policy.obligations[pending.obligation]
            self.actions.append(
                overdue_violation(
                    self.escalation_id,
                    declared,
                    judged,
                    self.at,
                    missing=missing_parts(declared, judged),
                )
            )
        following = period.following(calendar, Bucket(pending.due, since, pending.required))
        while following.due <= to:
            following = period.following(calendar, following)
        return in_bucket(pending, following)

    def _accept(self, _effect: vocab.Accept, _prepared: None, _rule: str, _cites: str) -> None:
        pass  # the fact is taken as it is

    def _cancel(self, effect: vocab.Cancel, _prepared: None, _rule: str, _cites: str) -> None:
        names = {obligation.id for obligation in effect.obligations}
        record = self.record
        if record.paused_since is not None:  # a period that ended during the wait: judged
            for pending in record.pending:
                ended = pending.paused_left is not None and pending.due <= self.at
                if ended and pending.obligation in names:
                    self._roll_paused(pending)
        record.pending = [p for p in record.pending if p.obligation not in names]

    def _violation(
        self, effect: vocab.Violation, fields: DetailFields | None, rule: str, cites: str
    ) -> None:
        self.actions.append(
            _violation(
                escalation_id=self.escalation_id,
                at=self.at,
                rule=rule,
                cites=cites,
                code=effect.code,  # one of the policy's codes
                detail=detail_text(effect.detail, fields, self.record, self.fact),
            )
        )

    def _out_of_scope(
        self, _effect: vocab.OutOfScope, _prepared: None, rule: str, cites: str
    ) -> None:
        reason = self.plan.values.get(OUT_OF_SCOPE_REASON) if self.plan else None
        self.actions.append(
            OutOfScope(
                escalation_id=self.escalation_id,
                at=self.at,
                rule=rule,
                cites=cites,
                reason=reason or "outside the policy's scope",
            )
        )

    def _emit(self, _effect: vocab.Emit, emit: Emitter, rule: str, cites: str) -> None:
        self.actions.append(emit(self.escalation_id, self.at, rule, cites, self.record, self.fact))

    def _apply_plan(
        self, _effect: vocab.ApplyPlan, _prepared: None, _rule: str, _cites: str
    ) -> None:
        assert self.plan is not None  # ApplyPlan runs on opened and severity_changed only
        plan = self.plan
        values, sources = plan.values, plan.sources
        record = self.record
        rules = self.policy.rules
        owner = values[OWNER]
        if owner != record.owner:  # a restored owner is its text: compare values
            record.owner = owner
            row = sources[OWNER]
            self.actions.append(
                _assign_owner(
                    escalation_id=self.escalation_id,
                    at=self.at,
                    rule=row,
                    cites=rules[row].cites,
                    owner=owner,
                )
            )
            self.new_owner = True  # what stays pending is announced again once all applied
        roles = plan.involvement
        current = record.involvement
        if roles != current:
            record.involvement = roles
            row = sources[INVOLVEMENT]
            self.actions.append(
                _set_involvement(
                    escalation_id=self.escalation_id,
                    at=self.at,
                    rule=row,
                    cites=rules[row].cites,
                    roles=roles,
                    added=tuple([r for r in roles if r not in current]),
                    removed=tuple([r for r in current if r not in roles]),
                )
            )
        cadence = values[CADENCE]
        if cadence != record.cadence:
            record.cadence = cadence
            row = sources[CADENCE]
            self.actions.append(
                _set_cadence(
                    escalation_id=self.escalation_id,
                    at=self.at,
                    rule=row,
                    cites=rules[row].cites,
                    cadence=cadence,
                )
            )

    def _schedule(self, effect: vocab.Require) -> None:
        """Keep, start, re-plan or stop a periodic obligation from the plan's period."""
        plan = self.plan
        assert plan is not None
        assert effect.every is not None
        record = self.record
        declared = self.policy.obligations[effect.obligation.id]
        name = declared.id
        every: dt.timedelta | Period | None = plan.values[effect.every]
        rule = plan.sources.get(effect.every)
        if record.status != ACTIVE:
            every = None
        pending_list = record.pending
        index = self._find(name) if pending_list else None
        if every is None or rule is None:
            if index is not None:
                del pending_list[index]
            return
        if isinstance(every, dt.timedelta):
            duration, text = every, None
        elif isinstance(every, Rolling) and not every.business and not every.sequential:
            every = every.every  # a plain rolling period: a duration says the same
            duration, text = every, None
        else:
            duration, text = None, every.text
        if index is not None:
            current = pending_list[index]
            if current.every == duration and current.period == text:
                return  # kept as it is: its current period runs on
        counts: tuple[int, ...] = ()
        if duration is not None:
            due, since, required = self.at + duration, None, 1  # Bucket(self.at + duration)
        else:
            assert isinstance(every, Period)
            calendar = self.policy.calendar(record.calendar, record.calendar_identity)
            if index is None:
                bucket = every.first(calendar, self.at)
            else:
                bucket, counts = replanned_first(
                    calendar, every, current, self.at, record.opened_at
                )
            due, since, required = bucket.due, bucket.since, bucket.required
        key = effect.key
        remind_before = cast("dt.timedelta | None", effect.remind_before)
        pending = _pending(
            obligation=name,
            due=due,
            rule=rule,
            cites=self.policy.rules[rule].cites,
            key=None if key is None else text_of(key),
            every=duration,
            remind_before=remind_before,
            period=text,
            since=since,
            required=required,
            counts=counts,
        )
        if remind_before is not None and record.calendar is not None:
            pending = on_clock(self.policy, record, pending)
        if record.paused_since is not None:
            pending = self._paused(declared, pending)
        if index is None:
            pending_list.append(pending)
        else:
            pending_list[index] = pending
        if declared.announce is not None:
            self._announce(declared, pending)


HANDLERS: Mapping[type[vocab.Effect], Handler] = {
    kind: getattr(Work, f"_{kind.NAME}") for kind in vocab.EFFECTS
}
"""The handler of each kind of effect, found by its name: a kind without one fails here."""
