"""The state the policy keeps per escalation, as plain frozen data (JSON via the converter).

Hosts that keep state themselves store an :class:`EscalationState` per escalation (and index
it by :attr:`EscalationState.next_due` to know when to call
:func:`escalation_policy.advance`).
"""

import datetime as dt

import attrs

from escalation_policy.model import (
    Action,
    Cadence,
    PostReason,
    Role,
    Segment,
    Severity,
    Team,
)
from escalation_policy.vocabulary import Obligation, Status

__all__ = ["EngineState", "EscalationState", "Fulfilment", "Outcome", "PendingObligation"]


@attrs.frozen(kw_only=True)
class PendingObligation:
    """Something still expected of the escalation's people, due at ``due``.

    ``every`` is set for periodic obligations (updates, meetings): once met or missed, the next
    one is due ``every`` later. ``overdue`` is set once a one-off obligation was reported late:
    it is not reported again, and a late fulfilment is still recognised.
    """

    obligation: Obligation
    due: dt.datetime
    rule: str
    cites: str
    reason: PostReason | None = None
    tam: str | None = None
    every: dt.timedelta | None = None
    overdue: bool = False


@attrs.frozen(kw_only=True)
class EscalationState:
    escalation_id: str
    customer: str
    segment: Segment
    severity: Severity
    strategic_partnership: bool
    broad_impact: bool
    initiated_by: Team
    opened_by: str | None
    tam: str | None
    issue_type: str | None
    summary: str | None
    opened_at: dt.datetime
    clock: dt.datetime
    """The time of the last fact applied to this escalation."""
    status: Status
    in_scope: bool
    owner: Team | None = None
    cadence: Cadence | None = None
    involvement: tuple[Role, ...] = ()
    pending: tuple[PendingObligation, ...] = ()
    informed_tam: str | None = None
    engagement_status: str | None = None
    milestones: tuple[str, ...] = ()
    severity_changes: int = 0
    closed_at: dt.datetime | None = None
    retain_until: dt.datetime | None = None
    """For a closed escalation waiting for an overdue closing post: when to stop waiting."""

    @property
    def next_due(self) -> dt.datetime | None:
        """The earliest time at which passing time changes this escalation, if any."""
        times = [p.due for p in self.pending if not p.overdue]
        if self.retain_until is not None:
            times.append(self.retain_until)
        return min(times) if times else None

    @property
    def settled(self) -> bool:
        """Closed with nothing more to wait for: the engine may forget it."""
        if self.status is not Status.CLOSED:
            return False
        if any(not p.overdue for p in self.pending):
            return False
        return not self.pending or (
            self.retain_until is not None and self.clock >= self.retain_until
        )


@attrs.frozen(kw_only=True)
class Fulfilment:
    """An obligation discharged by a fact; ``late`` if it was already overdue."""

    escalation_id: str
    obligation: Obligation
    rule: str
    due: dt.datetime
    at: dt.datetime
    reason: PostReason | None = None

    @property
    def late(self) -> bool:
        return self.at > self.due


@attrs.frozen(kw_only=True)
class Outcome:
    """What one step of the pure core produced: the new state (``None``: forget it)."""

    state: EscalationState | None
    actions: tuple[Action, ...] = ()
    fulfilled: tuple[Fulfilment, ...] = ()
    matched: tuple[str, ...] = ()
    """The ids of the table rows and reactions that matched the fact, in order."""


@attrs.frozen(kw_only=True)
class EngineState:
    """Everything a :class:`~escalation_policy.PolicyEngine` holds, for snapshots."""

    clock: dt.datetime | None
    escalations: tuple[EscalationState, ...]
