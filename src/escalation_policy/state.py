"""The state the policy keeps per escalation, as plain frozen data (JSON via the converter).

Hosts that keep state themselves store an :class:`EscalationState` per escalation (and index
it by :attr:`EscalationState.next_due` to know when to call
:func:`escalation_policy.advance`).
"""

import datetime as dt
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from escalation_policy._language.frozen import kept_together, quick_init
from escalation_policy._language.typed import VALUES
from escalation_policy.calendar import Calendar
from escalation_policy.model import AWAITING_OPENING, CLOSED, OMIT_IF_DEFAULT, Action, Fact

__all__ = [
    "SNAPSHOT_FORMAT",
    "ChangedObligation",
    "ClockFigures",
    "Decision",
    "EarlyWork",
    "EngineState",
    "EscalationState",
    "Fulfilment",
    "MovedDue",
    "PendingObligation",
    "PlanChange",
    "Replanned",
]

NOTHING_DONE: Mapping[str, tuple[str, ...]] = types.MappingProxyType({})
"""No obligation fulfilled once per key yet (shared, never changed: records replace it)."""


@quick_init
# An engine holds several per escalation: no weak-reference slot, and one slot, shared by those
# that set none of them, for the fields that change while it is reminded, paused, relieved by a
# pause or chased, and for a plain duration's period and a reminder's lead (periods counted on
# the calendar and obligations without a reminder, the handbook's all, leave them unset).
@kept_together(
    "every",
    "remind_before",
    "reminded",
    "paused_left",
    "reminder_at",
    "tier",
    "next_tier_at",
    "waited",
    "required_in_full",
    slot="_rarely",
)
@attrs.frozen(kw_only=True, weakref_slot=False)
class PendingObligation:
    """Something still expected of the escalation's people, due at ``due``.

    ``obligation`` names the policy's obligation and ``key`` tells its instances apart (the
    reason of a required post). ``every`` is set for periodic obligations (updates, meetings):
    once met or missed, the next one is due ``every`` later. ``overdue`` is set once a one-off
    obligation was reported late: it is not reported again, and a late fulfilment is still
    recognised.
    """

    obligation: str
    due: dt.datetime
    rule: str
    cites: str
    key: str | None = None
    every: dt.timedelta | None = None
    overdue: bool = False
    remind_before: dt.timedelta | None = None
    reminded: bool = False
    period: str | None = None
    """For a periodic obligation counted on the escalation's calendar, its period's text form
    (:func:`escalation_policy.periods.parse_period`): ``"each business day"``, ``"2 per
    week"``... (``every`` is then unset)."""
    since: dt.datetime | None = None
    """The start of the current period: what is done before it counted toward an earlier one."""
    required: int = 1
    """How many times the current period asks for."""
    counts: tuple[int, ...] = ()
    """How many times each part (or the obligation, if it has no parts) was done in the
    current period; empty: none yet, and nothing known of the period before (the first one
    planned, or one after a miss); zeros: none yet, after a period met."""
    paused_left: dt.timedelta | None = None
    """While the escalation's clocks are paused: the time left on this obligation's clock
    (open time, for one counted on the calendar); it is not due meanwhile."""
    reminder_at: dt.datetime | None = attrs.field(default=None, metadata=OMIT_IF_DEFAULT)
    """When its reminder is sent, where that is not simply ``due - remind_before``: a lead of
    open time before a due time counted on the calendar, or a reminder kept to open hours."""
    tier: int = attrs.field(default=0, metadata=OMIT_IF_DEFAULT)
    """How many of its obligation's tiers were sent since it fell overdue."""
    next_tier_at: dt.datetime | None = attrs.field(default=None, metadata=OMIT_IF_DEFAULT)
    """While it stays overdue and a tier is left to send: when to send the next one."""
    waited: dt.timedelta | None = attrs.field(default=None, metadata=OMIT_IF_DEFAULT)
    """For a period of days or weeks, the open time of its current period the escalation
    spent paused (waiting on the customer), once a pause took some."""
    required_in_full: int | None = attrs.field(default=None, metadata=OMIT_IF_DEFAULT)
    """What the current period asked before pauses relieved it (``required`` is then what it
    asks in proportion to its open time not paused)."""

    @property
    def remind_at(self) -> dt.datetime | None:
        """When to remind the owner, if the rule asked for a reminder not yet sent."""
        if (
            self.remind_before is None
            or self.reminded
            or self.overdue
            or self.paused_left is not None
        ):
            return None
        if self.reminder_at is not None:
            return self.reminder_at
        return self.due - self.remind_before


@attrs.frozen(kw_only=True)
class EarlyWork:
    """Work that fulfilled nothing when it was done, kept for a while because an obligation
    it meets may be required just after it (a closing post made minutes before the escalation
    is recorded closed): see :attr:`~escalation_policy.vocabulary.Obligation.early_grace`."""

    obligation: str
    """The obligation it would have fulfilled."""
    at: dt.datetime
    """When it was done."""
    key: str | None = None
    """The instance it would have fulfilled (``None``: any)."""


@quick_init
@attrs.frozen(kw_only=True)
class EscalationState:
    """One escalation as the policy keeps it: where it stands, what is still expected of its
    people (``pending``) and, in the class each policy derives from this one, its attributes
    (the fields of the policy's opening fact, and those its facts set: ``state.severity``, or
    :attr:`attributes` for all of them). Plain data: hosts store it as JSON."""

    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()
    """The names of the policy's attributes, in its class."""

    escalation_id: str
    opened_at: dt.datetime
    clock: dt.datetime
    """The time of the last fact applied to this escalation."""
    status: str
    """``active`` from the opening, ``closed`` at the end, or a status the policy's facts set."""
    in_scope: bool
    owner: str | None = attrs.field(default=None, metadata=VALUES)
    """One of the policy's teams (as its member, or its text once read from JSON)."""
    cadence: str | None = attrs.field(default=None, metadata=VALUES)
    involvement: tuple[str, ...] = attrs.field(default=(), metadata=VALUES)
    pending: tuple[PendingObligation, ...] = ()
    done: Mapping[str, tuple[str, ...]] = NOTHING_DONE
    """For an obligation fulfilled once per key: the keys it was fulfilled for, in the order
    they were (a TAM informed, then another TAM covering: both)."""
    closed_at: dt.datetime | None = None
    retain_until: dt.datetime | None = None
    """For a closed escalation waiting for an overdue closing post: when to stop waiting."""
    calendar: str | None = None
    """The name of the calendar the escalation's clocks count on, chosen when it opened and
    kept (``NAME@ZONE`` when moved into the customer's zone); ``None``: calendar time."""
    calendar_identity: str | None = attrs.field(default=None, metadata=OMIT_IF_DEFAULT)
    """The identity of the calendar its clocks count on (``Calendar.identity``), pinned when
    it opened: a later change of the policy's calendar applies to it only when the host
    re-plans it (``PolicyEngine.replan``)."""
    paused_since: dt.datetime | None = None
    """While the escalation's clocks are paused (waiting on the customer): since when."""
    paused_for: dt.timedelta = dt.timedelta(0)
    """How long its clocks were paused in all, pauses that ended."""
    paused_open_for: dt.timedelta = attrs.field(default=dt.timedelta(0), metadata=OMIT_IF_DEFAULT)
    """How much of that was open time on its calendar (for an escalation with one)."""
    held: tuple[Fact, ...] = attrs.field(default=(), metadata=OMIT_IF_DEFAULT)
    """While its status is ``awaiting_opening``: the facts about it that arrived before its
    opening fact, in order, held for the policy's ``opening_grace`` each (an ingestion race).
    When the opening comes in time they apply after it; each one whose time runs out is
    decided as a fact about an escalation that is not open. The escalation has no other
    attributes meanwhile."""
    early_work: tuple[EarlyWork, ...] = attrs.field(default=(), metadata=OMIT_IF_DEFAULT)
    """Work done lately that fulfilled nothing, for the obligations that count work done a
    little before they are required (their ``early_grace``): the latest for each instance (for
    an obligation keyed by ``key_from``, the latest in all), counting only while its grace
    lasts, and replaced by later work for the same instance."""

    @property
    def attributes(self) -> dict[str, Any]:
        """The escalation's attributes by name (``customer``, ``severity``, ...)."""
        return {name: getattr(self, name) for name in self.ATTRIBUTES}

    @property
    def next_due(self) -> dt.datetime | None:
        """The earliest time at which passing time changes this escalation, if any."""
        return next_due_of(self.pending, self.retain_until)

    @property
    def settled(self) -> bool:
        """Closed with nothing more to wait for: the engine may forget it."""
        return is_settled(self.status, self.pending, self.retain_until, self.clock, self.held)


NOTHING_RARE: tuple[Any, ...] = PendingObligation._KEPT.defaults  # type: ignore[attr-defined]
"""What a pending obligation neither paused, reminded nor chased keeps in ``_rarely`` (shared)."""


def next_due_of(
    pending: Iterable[PendingObligation], retain_until: dt.datetime | None
) -> dt.datetime | None:
    """The earliest due or reminder time of what is not yet overdue, the next tier of what
    stays overdue, or ``retain_until``."""
    earliest = retain_until
    for obligation in pending:
        if obligation._rarely is NOTHING_RARE:  # type: ignore[attr-defined]
            # Most: neither paused, nor reminded, nor chased (the fields kept together).
            if obligation.overdue:
                continue
            when = obligation.due
            if obligation.remind_before is not None:
                remind = when - obligation.remind_before
                if remind < when:
                    when = remind
        elif obligation.paused_left is not None:
            continue
        elif obligation.overdue:
            tier_at = obligation.next_tier_at
            if tier_at is None:
                continue
            when = tier_at
        else:
            when = obligation.due
            if obligation.remind_before is not None and not obligation.reminded:
                remind = obligation.reminder_at or when - obligation.remind_before
                if remind < when:
                    when = remind
        if earliest is None or when < earliest:
            earliest = when
    return earliest


def is_settled(
    status: str,
    pending: Sequence[PendingObligation],
    retain_until: dt.datetime | None,
    clock: dt.datetime,
    held: Sequence[Fact] = (),
) -> bool:
    """Closed, nothing still to come, and no late fulfilment to wait for any longer; or
    awaiting its opening with no fact held any longer."""
    if status == AWAITING_OPENING:
        return not held
    if status != CLOSED:
        return False
    for obligation in pending:
        if not obligation.overdue:
            return False
    return not pending or (retain_until is not None and clock >= retain_until)


@quick_init
@attrs.frozen(kw_only=True)
class Fulfilment:
    """An obligation discharged by a fact; ``late`` if it was already overdue."""

    escalation_id: str
    obligation: str
    rule: str
    due: dt.datetime
    at: dt.datetime
    key: str | None = None

    @property
    def late(self) -> bool:
        """Whether the obligation was discharged after it was due."""
        return self.at > self.due


@quick_init
@attrs.frozen(kw_only=True)
class Decision:
    """What the policy decided on one fact: the actions in order, the obligations the fact
    discharged, and the ids of the table rows and reactions that matched (rule coverage).

    ``state`` is the escalation's state after the fact, from :func:`~escalation_policy.decide`
    and :func:`~escalation_policy.advance` (``None``: closed and settled, forget it). An engine
    keeps its states itself (``PolicyEngine.escalation``) and leaves it ``None``.
    """

    fact: Fact
    actions: tuple[Action, ...]
    fulfilled: tuple[Fulfilment, ...] = ()
    matched: tuple[str, ...] = ()
    state: EscalationState | None = None


@attrs.frozen(kw_only=True)
class ClockFigures:
    """How long an escalation has run, at ``at``: ``elapsed`` since its opening (calendar
    time), of which ``paused`` with its clocks stopped; ``open_time``, the open time of its
    calendar in that span (``elapsed`` without a calendar), of which ``paused_open_time``
    paused; and ``business``, the open time its clocks ran (``open_time`` less what was
    paused). The figures a pausable obligation's clock counts on."""

    at: dt.datetime
    elapsed: dt.timedelta
    paused: dt.timedelta
    open_time: dt.timedelta
    paused_open_time: dt.timedelta

    @property
    def business(self) -> dt.timedelta:
        """The open time the escalation's clocks ran."""
        return self.open_time - self.paused_open_time


@attrs.frozen(kw_only=True)
class MovedDue:
    """A due time that re-planning moved: of ``obligation`` (``key``: which instance), from
    ``before`` to ``after``."""

    obligation: str
    key: str | None
    before: dt.datetime
    after: dt.datetime


@attrs.frozen(kw_only=True)
class ChangedObligation:
    """A pending obligation that re-planning under another policy changed: ``obligation``
    (``key``: which instance) as it was ``before`` and is ``after`` (its period, due time,
    rule or citation)."""

    obligation: str
    key: str | None
    before: PendingObligation
    after: PendingObligation


@attrs.frozen(kw_only=True)
class PlanChange:
    """What the decision tables of another policy give an escalation otherwise: ``field``
    (``in_scope``, ``owner``, ``cadence`` or ``involvement``), its value ``before`` and
    ``after``, as JSON values (a team's or role's text)."""

    field: str
    before: bool | str | tuple[str, ...] | None
    after: bool | str | tuple[str, ...] | None


@attrs.frozen(kw_only=True)
class Replanned:
    """One open escalation planned again: on the calendar the policy declares now (the
    calendar's name, the identities it was pinned to ``before`` and is ``after``, and the due
    times that moved), and, when the policy itself changed, under the new policy (what its
    tables give otherwise, ``plan``, and the pending obligations it ``added``, ``removed`` and
    ``changed``). Fields with nothing to say are empty (``None`` for an escalation whose
    calendar did not change)."""

    escalation_id: str
    calendar: str | None = None
    before: str | None = None
    after: str | None = None
    moved: tuple[MovedDue, ...] = ()
    plan: tuple[PlanChange, ...] = ()
    added: tuple[PendingObligation, ...] = ()
    removed: tuple[PendingObligation, ...] = ()
    changed: tuple[ChangedObligation, ...] = ()


SNAPSHOT_FORMAT = 3
"""The format of the snapshots this version of the library writes. It reads every earlier
format too: format 1 kept a pending obligation's key as ``reason`` or ``tam``, and the TAM last
informed as ``informed_tam``; format 2 kept in ``done`` only the key an obligation was last
fulfilled for, a text, where format 3 keeps every key, a list."""


@attrs.frozen(kw_only=True)
class EngineState:
    """Everything a :class:`~escalation_policy.PolicyEngine` holds, for snapshots.

    ``format`` says how the snapshot is laid out; a snapshot without one (written before
    formats were numbered) is read as format 1, and every earlier format is upgraded when read.
    """

    format: int = SNAPSHOT_FORMAT
    clock: dt.datetime | None
    escalations: tuple[EscalationState, ...]
    calendars: tuple[Calendar, ...] = ()
    """The calendars the escalations are pinned to (:attr:`EscalationState.calendar_identity`),
    as the policy declared them when they were pinned: each escalation keeps counting on its
    own after a change of the policy's, until re-planned. Written as each calendar's
    ``document()``, and only when there are any."""
    policy: str | None = None
    """The identity of the policy the escalations were planned under (:attr:`Policy.identity
    <escalation_policy.Policy.identity>`): restoring the snapshot under another policy is
    refused unless the host asks to re-plan (``PolicyEngine.restore(..., replan=True)``). A
    snapshot written before snapshots kept it has none, and is read as before."""
