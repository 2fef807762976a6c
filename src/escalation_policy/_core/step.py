"""One step: what happens when a fact arrives, for every engine and service.

:func:`admit` checks the fact's time against the clock (one validator: the policy's range, the
largest jump ahead, the lateness window) and returns the new clock and the watermark up to
which time passes. :func:`step` then decides the fact for its own escalation first (checked in
full before its record changes, or else on a copy), so that a refused fact changes nothing;
lets time pass for every other escalation with something due before the watermark
(:func:`pass_time`); and only then keeps the fact's own escalation's new record. Actions come
in that order: what fell due for the others, then the fact's own.
:class:`~escalation_policy.PolicyEngine` (and through it the audit and the HTML page) and
:class:`~escalation_policy.Service` differ only in where they hold the records (:class:`Held`).
"""

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

import attrs

from escalation_policy._core import escalation as _core
from escalation_policy._core.matching import Matcher
from escalation_policy.errors import ClockJumpError, InvalidFactError, StaleFactError, describe
from escalation_policy.model import Action, EscalationFact, Fact
from escalation_policy.policy import Policy
from escalation_policy.policy.record import Record
from escalation_policy.state import Decision

__all__ = [
    "DEFAULT_MAX_CLOCK_JUMP",
    "MAX_LATENESS",
    "Held",
    "Limits",
    "admit",
    "check_jump",
    "pass_time",
    "step",
]

DEFAULT_MAX_CLOCK_JUMP = dt.timedelta(days=366)
"""How far ahead of its clock a fact may be, unless the engine is told otherwise."""
MAX_LATENESS = dt.timedelta(days=7)
"""The longest lateness window an engine accepts."""


@attrs.frozen
class Limits:
    """The guards on time every engine and service applies: ``max_clock_jump`` (``None``: no
    limit) and the ``lateness`` window. Build it with :meth:`checked`."""

    max_clock_jump: dt.timedelta | None = DEFAULT_MAX_CLOCK_JUMP
    lateness: dt.timedelta = dt.timedelta(0)

    @classmethod
    def checked(cls, max_clock_jump: object, lateness: object) -> "Limits":
        """The limits, each checked as an option a host passes: an
        :class:`~escalation_policy.errors.InvalidFactError` naming the option otherwise."""
        jump = None
        if max_clock_jump is not None:
            if not isinstance(max_clock_jump, dt.timedelta) or max_clock_jump <= dt.timedelta(0):
                raise InvalidFactError(
                    f"got {describe(max_clock_jump)}, expected a positive duration, or None",
                    path="max_clock_jump",
                )
            jump = max_clock_jump
        if not isinstance(lateness, dt.timedelta) or lateness < dt.timedelta(0):
            raise InvalidFactError(
                f"got {describe(lateness)}, expected a duration of 0 or more", path="lateness"
            )
        if lateness > MAX_LATENESS:
            raise InvalidFactError(
                f"got {describe(lateness)}, expected a duration from 0 to {MAX_LATENESS.days} days",
                path="lateness",
            )
        return cls(max_clock_jump=jump, lateness=lateness)


def admit(
    policy: Policy, limits: Limits, clock: dt.datetime | None, at: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """The clock after a fact at ``at`` and the watermark up to which time passes for the
    other escalations (the clock less the lateness), or the input error that refuses the fact.
    """
    if at >= policy.latest:
        _core.check_time(policy, at, "$.at")
    lateness = limits.lateness
    if clock is None:
        clock = at
    elif at >= clock:
        jump = limits.max_clock_jump
        if jump is not None and at - clock > jump:
            check_jump(limits, clock, at)
        clock = at
    elif not lateness or at < clock - lateness:
        allowed = f" less the lateness {lateness}" if lateness else ""
        raise StaleFactError(
            f"got {at.isoformat()}, older than the engine's clock "
            f"{clock.isoformat()}{allowed}; facts must arrive in time order",
            path="$.at",
        )
    return clock, clock - lateness if lateness else clock


def check_jump(limits: Limits, clock: dt.datetime, at: dt.datetime) -> None:
    """Refuse a fact further ahead of ``clock`` than ``limits.max_clock_jump``."""
    jump = limits.max_clock_jump
    if jump is not None and at - clock > jump:
        raise ClockJumpError(
            f"got {at.isoformat()}, {at - clock} after the engine's clock "
            f"{clock.isoformat()}; expected at most {jump} ahead (max_clock_jump)",
            path="$.at",
        )


class Held(Protocol):
    """Where an engine or a service holds its escalations' records for one step."""

    def record(self, escalation_id: str) -> Record | None:
        """The escalation's record (changed in place by the step only when it is told
        ``in_place``), or ``None``."""

    def check_unknown(self, escalation_id: str, at: dt.datetime) -> None:
        """Refuse a fact at ``at`` about an escalation held as no record (for instance one
        that settled later than ``at``), by raising an input error."""

    def due(self, before: dt.datetime, skip: str | None) -> Iterable[tuple[str, Record]]:
        """Each escalation but ``skip`` with something due before ``before``, earliest first,
        as a record the step may change in place and then passes to :meth:`advanced`."""

    def advanced(self, escalation_id: str, record: Record) -> None:
        """Keep ``record`` after time passed for it (forget it once it is settled)."""

    def decided(
        self, escalation_id: str, before: Record | None, after: Record | None, at: dt.datetime
    ) -> None:
        """Keep the outcome of a fact at ``at``: ``after`` (``None``: settled or never
        opened), which replaces ``before``."""


def pass_time(
    policy: Policy, matcher: Matcher, held: Held, to: dt.datetime, skip: str | None = None
) -> list[Action]:
    """Let time pass up to ``to`` for every held escalation with something due before it but
    ``skip``; return what fell due, in order."""
    actions: list[Action] = []
    for escalation_id, record in held.due(to, skip):
        actions.extend(_core.advance(policy, matcher, record, to))
        held.advanced(escalation_id, record)
    return actions


def step(
    policy: Policy,
    matcher: Matcher,
    held: Held,
    fact: Fact,
    watermark: dt.datetime | None,
    *,
    in_place: bool = False,
) -> Decision:
    """Apply ``fact`` (admitted by :func:`admit`) to what ``held`` holds: its own escalation
    is decided first, then time passes up to ``watermark`` (``None``: not at all) for the
    others, then its own escalation keeps its new record. Raises an
    :class:`~escalation_policy.errors.InputError`, changing nothing, for a fact the
    escalation cannot take.

    ``in_place``: ``held`` lets the step change the record it holds (``before`` is then
    ``after`` in :meth:`Held.decided`), wherever the fact is checked in full before anything
    changes (:func:`~escalation_policy._core.escalation.changes_in_place`); elsewhere, and
    always without it, the step works on a copy."""
    if not isinstance(fact, EscalationFact):
        actions = pass_time(policy, matcher, held, watermark) if watermark is not None else []
        return _core.new_decision(fact=fact, actions=tuple(actions))
    target = fact.escalation_id
    before = held.record(target)
    if before is None:
        held.check_unknown(target, fact.at)
        working = None
    elif in_place and _core.changes_in_place(before, fact):
        working = before  # refused, if at all, before it changes
    else:
        working = before.copy()
    after, own = _core.decide(policy, matcher, working, fact)
    if watermark is None:
        held.decided(target, before, after, fact.at)
        return own
    actions = pass_time(policy, matcher, held, watermark, target)
    held.decided(target, before, after, fact.at)
    if not actions:
        return own
    actions.extend(own.actions)
    return _core.new_decision(
        fact=fact, actions=tuple(actions), fulfilled=own.fulfilled, matched=own.matched
    )
