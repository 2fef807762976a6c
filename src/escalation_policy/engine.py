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
from escalation_policy._frozen import quick_init
from escalation_policy.errors import EngineUnavailableError, InvalidFactError, StaleFactError
from escalation_policy.model import Action, EscalationFact, Fact, shared_converter
from escalation_policy.policy import Policy, default_policy
from escalation_policy.state import EngineState, EscalationState, Fulfilment, Outcome

__all__ = ["ENGINES", "Decision", "EngineName", "PolicyEngine", "advance", "decide"]

EngineName = Literal["native", "durable"]
ENGINES: tuple[EngineName, ...] = ("native", "durable")


@quick_init
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
    record = _core.Record.thaw(state) if state is not None else None
    record, actions, fulfilled, matched = _core.decide(chosen, chosen.native, record, fact)
    return Outcome(
        state=record.freeze() if record is not None else None,
        actions=actions,
        fulfilled=fulfilled,
        matched=matched,
    )


def advance(state: EscalationState, to: dt.datetime, *, policy: Policy | None = None) -> Outcome:
    """Let time pass for one escalation: call it when ``state.next_due`` is before ``to``."""
    record = _core.Record.thaw(state)
    actions = _core.advance(policy or default_policy(), record, to)
    if not actions and record.clock == state.clock:
        return Outcome(state=state)  # nothing was due
    return Outcome(state=None if record.settled else record.freeze(), actions=tuple(actions))


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
        self._records: dict[str, _core.Record] = {}
        self._heap: list[tuple[dt.datetime, str]] = []
        self._clock: dt.datetime | None = None

    # ------------------------------------------------------------------------------- queries
    @property
    def clock(self) -> dt.datetime | None:
        """The time of the latest fact handled, or ``None`` before the first."""
        return self._clock

    def __len__(self) -> int:
        """How many escalations the engine holds (open, or closed and not yet settled)."""
        return len(self._records)

    def escalation(self, escalation_id: str) -> EscalationState | None:
        with self._lock:
            record = self._records.get(escalation_id)
            return record.freeze() if record is not None else None

    def escalations(self) -> tuple[EscalationState, ...]:
        with self._lock:
            return tuple(self._records[key].freeze() for key in sorted(self._records))

    # ------------------------------------------------------------------------------ handling
    def handle(self, fact: Fact | Mapping[str, Any]) -> Decision:
        """Apply one fact (an object, or its JSON form as a mapping).

        Raises an :class:`~escalation_policy.errors.InputError` for a fact the policy cannot
        take; the engine is then exactly as it was before the call.
        """
        if not isinstance(fact, Fact):
            if not isinstance(fact, Mapping):
                raise InvalidFactError(
                    f"got {type(fact).__name__}, expected a Fact or a JSON object", path="$"
                )
            fact = shared_converter().structure(fact, Fact)
        with self._lock:
            return self._handle(fact)

    def replay(self, facts: Iterable[Fact | Mapping[str, Any]]) -> Iterator[Decision]:
        """Handle facts in order, yielding each decision; stops at the first error."""
        for fact in facts:
            yield self.handle(fact)

    def _handle(self, fact: Fact) -> Decision:
        at = fact.at
        if self._clock is not None and at < self._clock:
            raise StaleFactError(
                f"got {at.isoformat()}, older than the engine's clock "
                f"{self._clock.isoformat()}; facts must arrive in time order",
                path="$.at",
            )
        heap = self._heap
        if isinstance(fact, EscalationFact) and (
            not heap or heap[0][0] >= at or not self._due_before(at)
        ):
            return self._handle_one(fact)  # nothing falls due: only this escalation changes
        # Time passes for every escalation with something due, then the fact applies. Each
        # changes a copy (a draft); the drafts replace the records only once all succeeded.
        drafts: dict[str, _core.Record] = {}
        actions: list[Action] = []
        popped: list[tuple[dt.datetime, str]] = []
        forget: str | None = None
        try:
            if isinstance(fact, EscalationFact):
                # Judged as the host sent it, before time passes: an escalation still open
                # refuses a second 'opened' even if this fact's time would settle it.
                _core.check(self._records.get(fact.escalation_id), fact)
            while heap and heap[0][0] < at:
                entry = heapq.heappop(heap)
                popped.append(entry)
                due, escalation_id = entry
                draft = drafts.get(escalation_id)
                if draft is None:
                    record = self._records.get(escalation_id)
                    if record is None or record.next_due != due:
                        continue  # superseded by a later entry
                    draft = drafts[escalation_id] = record.copy()
                elif draft.next_due != due:
                    continue
                actions.extend(_core.advance(self.policy, draft, at))
            fulfilled: tuple[Fulfilment, ...] = ()
            matched: tuple[str, ...] = ()
            target = fact.escalation_id if isinstance(fact, EscalationFact) else None
            if target is not None:
                assert isinstance(fact, EscalationFact)
                draft = drafts.get(target)
                if draft is None:
                    record = self._records.get(target)
                    draft = record.copy() if record is not None else None
                elif draft.settled:
                    draft = None  # passing time settled it: the check below says so
                result, done, fulfilled, matched = _core.decide(
                    self.policy, self._matcher, draft, fact
                )
                actions.extend(done)
                if result is not None:
                    drafts[target] = result
                else:
                    drafts.pop(target, None)
                    forget = target  # settled by this very fact
        except BaseException:
            for entry in popped:
                heapq.heappush(heap, entry)
            raise
        if forget is not None:
            self._records.pop(forget, None)
        requeue = {entry[1] for entry in popped}
        for escalation_id, draft in drafts.items():
            old = self._records.get(escalation_id)
            if draft.settled:
                self._records.pop(escalation_id, None)
                continue
            self._records[escalation_id] = draft
            next_due = draft.next_due
            if next_due is not None and (
                old is None or old.next_due != next_due or escalation_id in requeue
            ):
                heapq.heappush(heap, (next_due, escalation_id))
        self._clock = at
        if len(heap) > 2 * len(self._records) + 1024:
            self._rebuild_heap()
        return Decision(fact=fact, actions=tuple(actions), fulfilled=fulfilled, matched=matched)

    def _due_before(self, at: dt.datetime) -> bool:
        """Whether some escalation has something due before ``at``.

        Entries left behind when an escalation's next due time moved are dropped on the way:
        they would otherwise send facts down the slow path for nothing.
        """
        heap = self._heap
        while heap and heap[0][0] < at:
            due, escalation_id = heap[0]
            record = self._records.get(escalation_id)
            if record is not None and record.next_due == due:
                return True
            heapq.heappop(heap)
        return False

    def _handle_one(self, fact: EscalationFact) -> Decision:
        target = fact.escalation_id
        old = self._records.get(target)
        result, actions, fulfilled, matched = _core.decide(
            self.policy, self._matcher, old.copy() if old is not None else None, fact
        )
        if result is None:
            self._records.pop(target, None)
        else:
            self._records[target] = result
            next_due = result.next_due
            if next_due is not None and (old is None or old.next_due != next_due):
                heapq.heappush(self._heap, (next_due, target))
        self._clock = fact.at
        if len(self._heap) > 2 * len(self._records) + 1024:
            self._rebuild_heap()
        return Decision(fact=fact, actions=actions, fulfilled=fulfilled, matched=matched)

    def _rebuild_heap(self) -> None:
        self._heap = [
            (record.next_due, key)
            for key, record in self._records.items()
            if record.next_due is not None
        ]
        heapq.heapify(self._heap)

    # ----------------------------------------------------------------------------- snapshots
    def snapshot(self) -> EngineState:
        """Everything the engine holds, as data (``to_json`` gives its JSON form)."""
        with self._lock:
            return EngineState(
                clock=self._clock,
                escalations=tuple(self._records[key].freeze() for key in sorted(self._records)),
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
        restored._records = {
            escalation.escalation_id: _core.Record.thaw(escalation)
            for escalation in state.escalations
        }
        restored._rebuild_heap()
        return restored
