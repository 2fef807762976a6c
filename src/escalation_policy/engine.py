"""The engine hosts talk to: it holds every open escalation and the clock.

Time passes only with facts. Work per fact is bounded by the escalation it names plus the
obligations that fall due (a priority queue keyed by each escalation's next due time): idle
escalations cost nothing.
"""

import datetime as dt
import heapq
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

import attrs

from escalation_policy import _core
from escalation_policy.errors import EngineUnavailableError, InvalidFactError, StaleFactError
from escalation_policy.model import Action, EscalationFact, Fact, shared_converter
from escalation_policy.policy import Policy, default_policy
from escalation_policy.state import EngineState, EscalationState, Fulfilment, Outcome

__all__ = ["ENGINES", "Decision", "EngineName", "PolicyEngine", "advance", "decide"]

EngineName = Literal["native", "durable"]
ENGINES: tuple[EngineName, ...] = ("native", "durable")


@attrs.frozen(kw_only=True)
class Decision:
    """What the policy decided on one fact: actions in order, and obligations discharged."""

    fact: Fact
    actions: tuple[Action, ...]
    fulfilled: tuple[Fulfilment, ...] = ()
    matched: tuple[str, ...] = ()
    """The ids of the table rows and reactions that matched the fact (rule coverage)."""


def decide(
    state: EscalationState | None, fact: EscalationFact, *, policy: Policy | None = None
) -> Outcome:
    """The pure core for hosts that keep state themselves: one escalation, one fact.

    ``state`` is ``None`` for an ``opened`` fact. Time passes first (obligations due before
    ``fact.at`` are reported), then the fact applies. ``Outcome.state`` is ``None`` once the
    escalation is closed and settled. Raises an input error and returns nothing otherwise.
    """
    chosen = policy or default_policy()
    return _core.decide(chosen, chosen.native, state, fact)


def advance(state: EscalationState, to: dt.datetime, *, policy: Policy | None = None) -> Outcome:
    """Let time pass for one escalation: call it when ``state.next_due`` is before ``to``."""
    return _core.advance(policy or default_policy(), state, to)


def _matcher(name: str, policy: Policy) -> _core.Matcher:
    if name == "native":
        return policy.native
    if name == "durable":
        from escalation_policy._durable import DurableMatcher

        return DurableMatcher(policy)
    raise EngineUnavailableError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)}")


class PolicyEngine:
    """Holds the state of every open escalation; feed it facts with :meth:`handle`.

    ``engine`` chooses who matches the rules: ``"native"`` (the default, pure Python, every
    supported Python) or ``"durable"`` (durable_rules; see ``docs/engines.md``). Both give the
    same decisions. Calls are serialised, so several threads may share one engine.
    """

    def __init__(self, policy: Policy | None = None, *, engine: EngineName = "native") -> None:
        self.policy = policy or default_policy()
        self.engine = engine
        self._matcher = _matcher(engine, self.policy)
        self._lock = threading.Lock()
        self._states: dict[str, EscalationState] = {}
        self._heap: list[tuple[dt.datetime, str]] = []
        self._clock: dt.datetime | None = None

    # ------------------------------------------------------------------------------- queries
    @property
    def clock(self) -> dt.datetime | None:
        """The time of the latest fact handled, or ``None`` before the first."""
        return self._clock

    def __len__(self) -> int:
        """How many escalations the engine holds (open, or closed and not yet settled)."""
        return len(self._states)

    def escalation(self, escalation_id: str) -> EscalationState | None:
        return self._states.get(escalation_id)

    def escalations(self) -> tuple[EscalationState, ...]:
        with self._lock:
            return tuple(self._states[key] for key in sorted(self._states))

    # ------------------------------------------------------------------------------ handling
    def handle(self, fact: Fact | Mapping[str, Any]) -> Decision:
        """Apply one fact (an object, or its JSON form as a mapping).

        Raises an :class:`~escalation_policy.errors.InputError` for a fact the policy cannot
        take; the engine is then exactly as it was before the call.
        """
        if isinstance(fact, Mapping):
            fact = shared_converter().structure(fact, Fact)
        elif not isinstance(fact, Fact):
            raise InvalidFactError(
                f"got {type(fact).__name__}, expected a Fact or a JSON object", path="$"
            )
        with self._lock:
            return self._handle(fact)

    def replay(self, facts: Iterable[Fact | Mapping[str, Any]]) -> Iterator[Decision]:
        """Handle facts in order, yielding each decision; stops at the first error."""
        for fact in facts:
            yield self.handle(fact)

    def _handle(self, fact: Fact) -> Decision:
        if self._clock is not None and fact.at < self._clock:
            raise StaleFactError(
                f"got {fact.at.isoformat()}, older than the engine's clock "
                f"{self._clock.isoformat()}; facts must arrive in time order",
                path="$.at",
            )
        target = fact.escalation_id if isinstance(fact, EscalationFact) else None
        if isinstance(fact, EscalationFact):
            _core.check(self._states.get(fact.escalation_id), fact)
            if not self._heap or self._heap[0][0] >= fact.at:
                # Nothing falls due: only the named escalation changes.
                return self._handle_one(fact.escalation_id, fact)
        changed: dict[str, EscalationState | None] = {}
        actions: list[Action] = []
        fulfilled: tuple[Fulfilment, ...] = ()
        matched: tuple[str, ...] = ()
        popped: list[tuple[dt.datetime, str]] = []
        try:
            while self._heap and self._heap[0][0] < fact.at:
                entry = heapq.heappop(self._heap)
                popped.append(entry)
                due, escalation_id = entry
                state = changed.get(escalation_id, self._states.get(escalation_id))
                if state is None or state.next_due != due:
                    continue  # superseded by a later entry
                outcome = _core.advance(self.policy, state, fact.at)
                changed[escalation_id] = outcome.state
                actions.extend(outcome.actions)
            if isinstance(fact, EscalationFact) and target is not None:
                state = changed.get(target, self._states.get(target))
                # Checked again: passing time may have settled (forgotten) the escalation.
                outcome = _core.decide(self.policy, self._matcher, state, fact)
                changed[target] = outcome.state
                actions.extend(outcome.actions)
                fulfilled = outcome.fulfilled
                matched = outcome.matched
        except BaseException:
            for entry in popped:
                heapq.heappush(self._heap, entry)
            raise

        requeue = {entry[1] for entry in popped}
        for escalation_id, new in changed.items():
            old = self._states.get(escalation_id)
            if new is None:
                self._states.pop(escalation_id, None)
                continue
            self._states[escalation_id] = new
            next_due = new.next_due
            if next_due is not None and (
                old is None or old.next_due != next_due or escalation_id in requeue
            ):
                heapq.heappush(self._heap, (next_due, escalation_id))
        self._clock = fact.at
        if len(self._heap) > 2 * len(self._states) + 1024:
            self._rebuild_heap()
        return Decision(fact=fact, actions=tuple(actions), fulfilled=fulfilled, matched=matched)

    def _handle_one(self, target: str, fact: EscalationFact) -> Decision:
        old = self._states.get(target)
        outcome = _core.decide(self.policy, self._matcher, old, fact, checked=True)
        new = outcome.state
        if new is None:
            self._states.pop(target, None)
        else:
            self._states[target] = new
            next_due = new.next_due
            if next_due is not None and (old is None or old.next_due != next_due):
                heapq.heappush(self._heap, (next_due, target))
        self._clock = fact.at
        if len(self._heap) > 2 * len(self._states) + 1024:
            self._rebuild_heap()
        return Decision(
            fact=fact,
            actions=outcome.actions,
            fulfilled=outcome.fulfilled,
            matched=outcome.matched,
        )

    def _rebuild_heap(self) -> None:
        self._heap = [
            (state.next_due, key)
            for key, state in self._states.items()
            if state.next_due is not None
        ]
        heapq.heapify(self._heap)

    # ----------------------------------------------------------------------------- snapshots
    def snapshot(self) -> EngineState:
        """Everything the engine holds, as data (``to_json`` gives its JSON form)."""
        with self._lock:
            return EngineState(
                clock=self._clock,
                escalations=tuple(self._states[key] for key in sorted(self._states)),
            )

    @classmethod
    def restore(
        cls,
        state: EngineState,
        policy: Policy | None = None,
        *,
        engine: EngineName = "native",
    ) -> "PolicyEngine":
        """An engine that continues from ``state``."""
        restored = cls(policy, engine=engine)
        restored._clock = state.clock
        restored._states = {
            escalation.escalation_id: escalation for escalation in state.escalations
        }
        restored._rebuild_heap()
        return restored
