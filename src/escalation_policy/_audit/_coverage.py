"""Rule coverage of a history: how often each rule of the policy fired, and the actions it
produced, observed on the same replay as the audit."""

import datetime as dt
from collections.abc import Sequence

import attrs

from escalation_policy._audit._replay import AuditCalendar, Replayed
from escalation_policy.model import Action, EscalationFact
from escalation_policy.policy import Policy
from escalation_policy.state import Decision, EscalationState, Fulfilment

__all__ = ["CoverageObserver", "RuleCoverage"]


@attrs.frozen(kw_only=True)
class RuleCoverage:
    """How often one rule (a table's row or a reaction) fired over the history: ``fired``,
    the facts it matched; ``actions``, the actions attributed to it (a periodic obligation's
    reminders and violations are the rule's that required it, so a rule may have more
    actions than facts it matched, or actions and no match of its own)."""

    fired: int = 0
    actions: int = 0


class _Counts:
    """What coverage keeps about one escalation: nothing of its own; its actions are counted
    by rule, for the whole history."""

    __slots__ = ("actions",)

    def __init__(self, actions: dict[str, int]) -> None:
        self.actions = actions

    def action(self, action: Action) -> None:
        self.actions[action.rule] = self.actions.get(action.rule, 0) + 1

    def fulfilled(self, fulfilment: Fulfilment) -> None:
        """Coverage counts what the rules did, not what people did."""

    def fact(self, fact: EscalationFact, fulfilled: Sequence[Fulfilment]) -> None:
        """Counted whole, with its decision."""

    def state(self, state: EscalationState | None, at: dt.datetime) -> None:
        """Coverage does not ask the engine's state."""


class CoverageObserver:
    """Counts, for each rule of the policy, the facts it matched (told each decision) and
    the actions attributed to it (told per escalation, as the audit is, so that those
    released when the history ends count too); :meth:`coverage` lists every rule of the
    policy, in the policy's order, including those that never fired."""

    needs_state = False

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.matched: dict[tuple[str, ...], int] = {}
        """How many decisions matched each set of rules (a decision's ``matched`` as a whole:
        one count a fact, whatever the rules it matched; :attr:`fired` adds them up by rule)."""
        self.actions: dict[str, int] = {}
        self._counts = _Counts(self.actions)

    def decided(self, decision: Decision) -> None:
        matched = self.matched
        rules = decision.matched
        matched[rules] = matched.get(rules, 0) + 1

    @property
    def fired(self) -> dict[str, int]:
        """The facts each rule matched, by rule."""
        fired: dict[str, int] = {}
        for rules, count in self.matched.items():
            for rule in rules:
                fired[rule] = fired.get(rule, 0) + count
        return fired

    def opened(self, fact: EscalationFact, calendar: AuditCalendar | None) -> _Counts:
        return self._counts

    def unopened(self, action: Action) -> None:
        self._counts.action(action)

    def ended(self, escalations: Sequence[_Counts], replayed: Replayed) -> None:
        """Nothing more to count."""

    def coverage(self) -> dict[str, RuleCoverage]:
        """Every rule of the policy with its counts, in the policy's order; then any rule
        id the actions name that the policy does not list, in order of name."""
        fired = self.fired
        rules = list(self.policy.rules)
        known = set(rules)
        rules += sorted((set(fired) | set(self.actions)) - known)
        return {
            rule: RuleCoverage(fired=fired.get(rule, 0), actions=self.actions.get(rule, 0))
            for rule in rules
        }
