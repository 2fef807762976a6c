"""The engine hosts talk to: it holds every open escalation and the clock.

Time passes only with facts. Work per fact is bounded by the escalation it names plus the
obligations that fall due (a priority queue keyed by each escalation's next due time): idle
escalations cost nothing.
"""

import datetime as dt
import heapq
import threading
from abc import get_cache_token
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

import attrs

from escalation_policy import _core
from escalation_policy._convert import (
    LineReader,
    check_declared,
    read_fact,
    shared_answer_writers,
    shared_converter,
    shared_fact_reader,
    shared_line_reader,
)
from escalation_policy._core.escalation import MAX_HELD, new_decision
from escalation_policy._core.matching import Matcher, Opening
from escalation_policy._core.obligations import ON_CALENDAR
from escalation_policy._core.replan import mended as _mended
from escalation_policy._core.replan import replan as _replan
from escalation_policy._core.step import DEFAULT_MAX_CLOCK_JUMP, Limits, admit, step
from escalation_policy._engines import ENGINES, EngineName, matcher_of, shared_matcher
from escalation_policy._language.typed import FieldProblem, check_fields, to_instant
from escalation_policy.errors import (
    EngineFailure,
    InputError,
    InvalidFactError,
    InvalidSnapshotError,
    PolicyChangedError,
    PolicyDefinitionError,
    describe,
)
from escalation_policy.model import (
    AWAITING_OPENING,
    CLOSED,
    Action,
    EscalationFact,
    Fact,
    Tick,
)
from escalation_policy.periods import parse_period
from escalation_policy.policy import Policy, default_policy
from escalation_policy.policy.compiled import UnknownCalendarError
from escalation_policy.policy.obligations import one_off_of_rule
from escalation_policy.policy.outputs import output_value_sets
from escalation_policy.policy.record import Record
from escalation_policy.state import (
    SNAPSHOT_FORMAT,
    ClockFigures,
    Decision,
    EngineState,
    EscalationState,
    Replanned,
)

__all__ = [
    "ENGINES",
    "Decision",
    "EngineName",
    "PolicyEngine",
    "advance",
    "clock_figures",
    "decide",
]


_OPENING = "opening of"
"""The key, with a fact class, under which :func:`decide` keeps in ``Policy._kept`` what it
found for a fact object of that class that the policy takes as it is and that opens, once
the type's opening is generated (from the type's second fact on):
the ABCs' cache token then (:meth:`Policy._takes_as_object` says the same while it holds),
the generated opening and the shared matcher, so that the next such fact goes straight to
its opening."""


def decide(
    state: EscalationState | None,
    fact: EscalationFact | Mapping[str, Any],
    *,
    policy: Policy | None = None,
) -> Decision:
    """The pure core for hosts that keep state themselves: one escalation, one fact.

    ``state`` is the escalation's last state, or ``None`` for an ``opened`` fact; ``fact`` is
    a fact object or its JSON form. Time passes first (obligations due before ``fact.at`` are
    reported), then the fact applies: exactly the step :class:`PolicyEngine` takes.
    ``Decision.state`` is its new state, ``None`` once the escalation is closed and settled.
    Raises an :class:`~escalation_policy.errors.InputError` (and returns nothing) for a fact
    the escalation cannot take.
    """
    chosen = policy or default_policy()
    if state is None:
        known: tuple[object, Opening, Matcher] | None = chosen._kept.get((_OPENING, type(fact)))
        if known is not None and known[0] == get_cache_token():
            # A fact object of a class this policy takes as it is, which opens: as below.
            opening: EscalationFact = fact  # type: ignore[assignment]  # as the entry says
            if opening.at >= chosen.latest:
                _core.check_time(chosen, opening.at, "$.at")
            return known[1](chosen, known[2], opening, True)[1]
    takes = False
    if chosen._takes_as_object(fact):
        takes = True  # a declared fact object, as it takes it
    else:
        fact = _escalation_fact(fact, chosen)
    if state is not None:
        _check_state(state, fact.escalation_id, chosen)
    if fact.at >= chosen.latest:
        _core.check_time(chosen, fact.at, "$.at")
    matcher = shared_matcher(chosen)
    if state is None and fact.OPENS:
        # As _core.decide opens it, by its generated opening: the decision, with the new
        # state, built once.
        generated = matcher.generated(fact.TYPE)
        if generated is not None and generated.opening is not None:
            if takes:  # the next fact of its class goes straight to its opening
                chosen._kept[(_OPENING, type(fact))] = (
                    get_cache_token(),
                    generated.opening,
                    matcher,
                )
            return generated.opening(chosen, matcher, fact, True)[1]
    record = Record.thaw(pinned(state, chosen)) if state is not None else None
    record, decision = _core.decide(chosen, matcher, record, fact)
    return new_decision(
        fact=fact,
        actions=decision.actions,
        fulfilled=decision.fulfilled,
        matched=decision.matched,
        state=record.KIND.freeze(record) if record is not None else None,
    )


def advance(state: EscalationState, to: dt.datetime, *, policy: Policy | None = None) -> Decision:
    """Let time pass for one escalation: call it when ``state.next_due`` is before ``to``.

    Each obligation that fell due unmet before ``to`` is reported once; consecutive missed
    periods of a periodic obligation are one violation (``Violation.periods``). The decision's
    ``fact`` is a ``tick`` at ``to``, and its ``state`` the escalation's new state.
    """
    try:
        to = to_instant(to)
    except FieldProblem as problem:
        raise InvalidFactError(str(problem), path="to") from None
    chosen = policy or default_policy()
    _check_state(state, None, chosen)
    _core.check_time(chosen, to, "to")
    record = Record.thaw(pinned(state, chosen))
    actions = _core.advance(chosen, shared_matcher(chosen), record, to)
    tick = Tick(at=to)
    if not actions and record.clock == state.clock:
        return Decision(fact=tick, actions=(), state=state)  # nothing was due
    return Decision(
        fact=tick, actions=tuple(actions), state=None if record.settled else record.freeze()
    )


def clock_figures(
    state: EscalationState, at: dt.datetime | None = None, *, policy: Policy | None = None
) -> ClockFigures:
    """How long the escalation has run at ``at`` (by default its clock): in calendar time,
    paused, and in the open time of the calendar it counts on (see :class:`ClockFigures`)."""
    chosen = policy or default_policy()
    _check_state(state, None, chosen)
    try:
        when = to_instant(at) if at is not None else state.clock
    except FieldProblem as problem:
        raise InvalidFactError(str(problem), path="at") from None
    if when < state.opened_at:
        raise InvalidFactError(
            f"got {when.isoformat()}, expected a time at or after the opening "
            f"{state.opened_at.isoformat()}",
            path="at",
        )
    paused, paused_open = state.paused_for, state.paused_open_for
    calendar = chosen.calendar(state.calendar, state.calendar_identity)
    if state.paused_since is not None and when > state.paused_since:
        paused += when - state.paused_since
        if state.calendar is not None:
            paused_open += calendar.elapsed(state.paused_since, when)
    elapsed = when - state.opened_at
    open_time = calendar.elapsed(state.opened_at, when) if state.calendar is not None else elapsed
    if state.calendar is None:
        paused_open = paused
    return ClockFigures(
        at=when,
        elapsed=elapsed,
        paused=paused,
        open_time=open_time,
        paused_open_time=paused_open,
    )


def _escalation_fact(fact: object, policy: Policy) -> EscalationFact:
    if isinstance(fact, Mapping):
        fact = read_fact(fact, policy)
    if not isinstance(fact, EscalationFact):
        raise InvalidFactError(
            f"got {describe(fact)}, expected a fact about one escalation "
            "(an EscalationFact or its JSON object)",
            path="$",
        )
    check_declared(fact, policy)
    return fact


def _check_state(state: object, escalation_id: str | None, policy: Policy) -> None:
    """``state`` checked as one a host kept: its fields, and what no engine could write."""
    if not isinstance(state, policy.contract.state):
        raise InvalidFactError(
            f"got {describe(state)}, expected the EscalationState of this policy (None only "
            f"for {policy.terms.opening.TYPE!r})",
            path="state",
        )
    if escalation_id is not None and state.escalation_id != escalation_id:
        raise InvalidFactError(
            f"got a fact about {escalation_id!r} with the state of {state.escalation_id!r}; "
            "expected the state of the escalation the fact names",
            path="$.escalation_id",
        )
    try:
        if state.status != AWAITING_OPENING:  # it has no attributes yet
            check_fields(state, "state")
    except InputError as error:
        raise InvalidFactError(error.reason, path=error.path) from None
    problem = _inconsistency(state, None, policy, set())
    if problem is not None:
        raise InvalidFactError(problem[1], path=f"state.{problem[0]}")


_NO_TIME = object()
"""What :meth:`PolicyEngine.handle_json` gives the action writers as the fact's time when the
line did not give its text: no time of an action is it."""


class PolicyEngine:
    """Holds the state of every open escalation; feed it facts with :meth:`handle`.

    ``engine`` chooses who matches the rules: ``"native"`` (the default, pure Python, every
    supported Python) or ``"durable"`` (durable_rules; see ``docs/engines.md``). Both give the
    same decisions. Calls are serialised, so several threads may share one engine.

    ``max_clock_jump``: a fact further than this ahead of the engine's clock is refused with a
    :class:`~escalation_policy.errors.ClockJumpError` (``None``: no limit), so that a mistyped
    year cannot make every later fact stale. ``lateness``: a window for out-of-order delivery;
    a fact up to this much older than the clock is still applied to its escalation, and other
    escalations' obligations are reported only once the window has passed them. Facts about
    one escalation must still arrive in their own order.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        engine: EngineName = "native",
        max_clock_jump: dt.timedelta | None = DEFAULT_MAX_CLOCK_JUMP,
        lateness: dt.timedelta = dt.timedelta(0),
    ) -> None:
        self.policy = policy or default_policy()
        self.engine = engine
        self._limits = Limits.checked(max_clock_jump, lateness)
        self._matcher = matcher_of(engine, self.policy)
        self._fact_types = self.policy.contract.facts
        self._read = shared_fact_reader(self.policy)
        self._action_texts: Mapping[type[Any], Callable[..., str]] | None = None  # on first use
        self._read_line: LineReader | None = None  # on first use
        # The native matcher is plain Python over the compiled policy: a fact is checked in
        # full, then changes its record in place. durable_rules may fail in the middle of a
        # fact (EngineFailure), which must change nothing too: its facts apply to a copy.
        self._in_place = engine == "native"
        self._lock = threading.Lock()
        self._held = _Escalations()
        self._records = self._held.records
        self._clock: dt.datetime | None = None
        # The identity of the policy the escalations held were planned under, where it is not
        # this engine's (a snapshot restored with replan=True): facts wait for replan().
        self._planned_under: str | None = None
        # What went wrong in the middle of a fact changed in place, if anything did: the
        # engine then refuses to go on, or to be snapshotted, rather than build on a record
        # it may have left half-changed.
        self._failed: str | None = None

    @property
    def max_clock_jump(self) -> dt.timedelta | None:
        """How far ahead of the clock a fact may be (``None``: no limit); may be changed."""
        return self._limits.max_clock_jump

    @max_clock_jump.setter
    def max_clock_jump(self, value: dt.timedelta | None) -> None:
        self._limits = Limits.checked(value, self._limits.lateness)

    @property
    def lateness(self) -> dt.timedelta:
        """The window for facts that arrive late (see the class)."""
        return self._limits.lateness

    # ------------------------------------------------------------------------------- queries
    @property
    def clock(self) -> dt.datetime | None:
        """The time of the latest fact handled, or ``None`` before the first."""
        return self._clock

    def __len__(self) -> int:
        """How many escalations the engine holds: open, closed and not yet settled, or
        awaiting their opening (facts about them held for the policy's opening grace)."""
        return len(self._records)

    def escalation(self, escalation_id: str) -> EscalationState | None:
        """The state of one escalation the engine holds, or ``None``."""
        with self._lock:
            record = self._records.get(escalation_id)
            return record.freeze() if record is not None else None

    def _status_of(self, escalation_id: str) -> tuple[str, str | None] | None:
        """The ``status`` and ``calendar`` of :meth:`escalation`'s state (``None``: not held),
        without making the state: for a replay that asks at every opening and closing."""
        with self._lock:
            record = self._records.get(escalation_id)
            return None if record is None else (record.status, record.calendar)

    def escalations(self) -> tuple[EscalationState, ...]:
        """The state of every escalation the engine holds, by escalation id."""
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
            fact = self._read(fact)
        elif self._fact_types.get(fact.TYPE) is not type(fact):
            check_declared(fact, self.policy)
        if self._planned_under is not None:
            raise policy_changed(self._planned_under, self.policy, "call replan() first", None)
        with self._lock:
            if self._failed is not None:
                raise self._stopped()
            clock, watermark = admit(self.policy, self._limits, self._clock, fact.at)
            try:
                decision = step(
                    self.policy,
                    self._matcher,
                    self._held,
                    fact,
                    watermark,
                    in_place=self._in_place,
                )
            except InputError:
                raise  # refused before anything changed
            except BaseException as error:
                if self._in_place:
                    self._failed = (
                        f"{type(error).__name__} ({describe(str(error))}) in the middle of the "
                        f"{fact.TYPE} fact at {fact.at.isoformat()}"
                    )
                raise
            self._clock = clock
            return decision

    def handle_json(self, line: str | bytes) -> list[str]:
        """Apply one fact given as its JSON text (a line of a JSON-lines stream, ``str`` or
        UTF-8 ``bytes``) and return the JSON text of each action, in order.

        Each text is exactly :func:`~escalation_policy.action_json` of the action, which is
        ``json.dumps(make_converter(policy).unstructure(action, Action))``, written without
        building the dictionary. A fact the policy cannot take raises the same
        :class:`~escalation_policy.errors.InputError` as :meth:`handle` of its JSON object
        (with its ``fact_id``), and so does a line that is not one JSON object: not JSON, not
        UTF-8, or with a key given twice (see ``docs/json-contract.md``). The engine is then
        exactly as it was before the call.
        """
        read = self._read_line
        if read is None:
            read = self._read_line = shared_line_reader(self.policy)
        fact, at_text = read(line)
        try:
            decision = self.handle(fact)
        except InputError as error:
            error.fact_id = fact.id  # kept with the refusal, as for a line it could not read
            raise
        actions = decision.actions
        if not actions:
            return []
        write = self._action_texts
        if write is None:
            write = self._action_texts = shared_answer_writers(self.policy)
        # The actions' times that are the fact's own are written as the line gave it, where
        # it gave it as they are written (at_text); else as any other time.
        if at_text is None:
            return [write[type(action)](action, _NO_TIME, None) for action in actions]
        at, at_json = fact.at, '"' + at_text + '"'
        return [write[type(action)](action, at, at_json) for action in actions]

    def _pass_quiet_time(self, at: dt.datetime) -> bool | None:
        """What :meth:`handle` of ``Tick(at=at)`` does when nothing falls due by then, without
        making the tick: the clock moves, and ``True``; ``False`` for a time the engine refuses
        (changing nothing); ``None`` (changing nothing) when that cannot be told so cheaply,
        something falling due say: handle the tick then. For an audit that lets the time of
        the items it does not audit pass."""
        try:
            at = to_instant(at)
        except FieldProblem:
            return None
        return self._pass_quiet_instant(at)

    def _pass_quiet_instant(self, at: dt.datetime) -> bool | None:
        """:meth:`_pass_quiet_time` of an instant (a UTC datetime in range, as ``to_instant``
        gives it), not checked again."""
        if (
            self._planned_under is not None
            or self._failed is not None
            or self._fact_types.get(Tick.TYPE) is not Tick
        ):
            return None
        with self._lock:
            try:
                clock, watermark = admit(self.policy, self._limits, self._clock, at)
            except InputError:
                return False
            heap = self._held.heap
            if heap and heap[0][0] < watermark:
                return None  # something may fall due (or an entry left behind: skipped)
            self._clock = clock
            return True

    def _stopped(self) -> EngineFailure:
        return EngineFailure(
            f"the engine stopped after an unexpected error, {self._failed}, which may have "
            "left an escalation half-changed; expected a new engine: restore one from a "
            "snapshot taken before (PolicyEngine.restore), and report the error"
        )

    def replay(self, facts: Iterable[Fact | Mapping[str, Any]]) -> Iterator[Decision]:
        """Handle facts in order, yielding each decision; stops at the first error."""
        for fact in facts:
            yield self.handle(fact)

    def release_held(self) -> tuple[Action, ...]:
        """Decide every fact held for an opening (see ``opening_grace`` in
        :func:`~escalation_policy.load_policy`) now, as a fact about an escalation that is
        not open, and return what that reports, by escalation id: for a history that has
        ended, whose openings will not come (the audit does this at the end)."""
        actions: list[Action] = []
        with self._lock:
            records = self._records
            for key in sorted(records):
                record = records[key]
                if record.status != AWAITING_OPENING:
                    continue
                actions.extend(_core.release(self.policy, self._matcher, record))
                del records[key]  # it holds nothing more: settled
        return tuple(actions)

    # ----------------------------------------------------------------------------- snapshots
    def snapshot(self) -> EngineState:
        """Everything the engine holds, as data.

        ``make_converter().unstructure(snapshot)`` gives its JSON form, which carries the
        snapshot ``format`` so that :meth:`restore` can tell what it reads.
        """
        with self._lock:
            if self._failed is not None:
                raise self._stopped()
            records = self._records
            return EngineState(
                clock=self._clock,
                escalations=tuple(records[key].freeze() for key in sorted(records)),
                calendars=self.policy.pinned_calendars(
                    record.calendar_identity for record in records.values()
                ),
                policy=self._planned_under or self.policy.identity,
            )

    def replan(
        self, at: dt.datetime | None = None, *, dry_run: bool = False
    ) -> tuple[Replanned, ...]:
        """Plan the open escalations again, and say what changed (by escalation id).

        An escalation keeps counting on the calendar it was opened under (its
        ``calendar_identity``) until this is asked: a change of a calendar's hours, holidays or
        zone rewrites no plan by itself. Each escalation pinned to a calendar other than the
        one the policy declares now is planned on the one it declares now
        (:attr:`Replanned.moved`). After :meth:`restore` with ``replan=True`` of a snapshot
        planned under another policy, every open escalation is also planned again under this
        one: its tables' outputs (:attr:`Replanned.plan`), and the pending obligations the
        policy adds, removes or changes (see ``docs/policy-owners.md``); facts are taken
        again once this is done.

        ``at`` (by default the engine's clock) is the moment from which the open time a
        deadline has left is counted again, and a new or changed period starts. ``dry_run``:
        say what would change, and change nothing.
        """
        with self._lock:
            if at is None:
                at = self._clock
            if at is None:
                if not dry_run:
                    self._planned_under = None  # nothing held: nothing to plan again
                return ()
            try:
                at = to_instant(at)
            except FieldProblem as problem:
                raise InvalidFactError(str(problem), path="at") from None
            rederive = self._planned_under is not None
            done: list[Replanned] = []
            for key in sorted(self._records):
                before = self._records[key]
                if before.status == AWAITING_OPENING:
                    continue
                after = before.copy()
                replanned = _replan(self.policy, self._matcher, after, at, rederive=rederive)
                if replanned is not None:
                    done.append(replanned)
                if not dry_run and (replanned is not None or _mended(before, after)):
                    self._held.decided(key, before, after, at)
            if not dry_run:
                self._planned_under = None
            return tuple(done)

    @classmethod
    def restore(
        cls,
        state: EngineState | Mapping[str, Any],
        policy: Policy | None = None,
        *,
        engine: EngineName = "native",
        max_clock_jump: dt.timedelta | None = DEFAULT_MAX_CLOCK_JUMP,
        lateness: dt.timedelta = dt.timedelta(0),
        replan: bool = False,
    ) -> "PolicyEngine":
        """An engine that continues from ``state`` (a snapshot, or its JSON form).

        The snapshot is checked like any input: a malformed or inconsistent one, or one
        written with a policy that lacks its rules, raises
        :class:`~escalation_policy.errors.InvalidSnapshotError` naming the field.

        A snapshot whose escalations were planned under another policy (its
        :attr:`EngineState.policy` is not ``policy.identity``) raises
        :class:`~escalation_policy.errors.PolicyChangedError`, unless ``replan``: the engine
        then holds them as they are, refuses facts, and plans them again under ``policy``
        when :meth:`replan` is called. A snapshot that records no policy is taken as it is.
        """
        restored = cls(policy, engine=engine, max_clock_jump=max_clock_jump, lateness=lateness)
        state = read_snapshot(state, restored.policy, replan=replan)
        if state.policy not in (None, restored.policy.identity) and state.escalations:
            restored._planned_under = state.policy
        restored._clock = state.clock
        for calendar in state.calendars:
            restored.policy.remember(calendar)
        restored._held.restore(Record.thaw(escalation) for escalation in state.escalations)
        return restored


class _Escalations:
    """The escalations an engine holds: a record each, and a heap of when each next falls
    due (entries left behind when a due time moved are skipped and dropped). The step
    changes the records in place (``read_due``: when the record last read fell due then)."""

    __slots__ = ("heap", "read_due", "records")

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.heap: list[tuple[dt.datetime, str]] = []
        self.read_due: dt.datetime | None = None

    def restore(self, records: Iterable[Record]) -> None:
        self.records.clear()
        self.records.update((record.escalation_id, record) for record in records)
        self._rebuild()

    def record(self, escalation_id: str) -> Record | None:
        record = self.records.get(escalation_id)
        if record is not None:
            self.read_due = record.next_due
        return record

    def check_unknown(self, escalation_id: str, at: dt.datetime) -> None:
        pass  # the engine forgets a settled escalation: its clock is the engine's

    def due(self, before: dt.datetime, skip: str | None) -> Iterable[tuple[str, Record]]:
        heap = self.heap
        if not heap or heap[0][0] >= before:
            return ()  # most facts: nothing due, and no generator made
        return self._due(before, skip)

    def _due(self, before: dt.datetime, skip: str | None) -> Iterator[tuple[str, Record]]:
        heap = self.heap
        records = self.records
        aside: list[tuple[dt.datetime, str]] = []
        try:
            while heap and heap[0][0] < before:
                entry = heapq.heappop(heap)
                due, escalation_id = entry
                record = records.get(escalation_id)
                if record is None or record.next_due != due:
                    continue  # superseded by a later entry
                if escalation_id == skip:
                    aside.append(entry)  # its own step lets time pass for it
                    continue
                yield escalation_id, record
        finally:
            for entry in aside:
                heapq.heappush(heap, entry)

    def advanced(self, escalation_id: str, record: Record) -> None:
        if record.settled:
            del self.records[escalation_id]
        elif record.next_due is not None:
            heapq.heappush(self.heap, (record.next_due, escalation_id))

    def decided(
        self, escalation_id: str, before: Record | None, after: Record | None, at: dt.datetime
    ) -> None:
        if after is None:
            self.records.pop(escalation_id, None)
        else:
            self.records[escalation_id] = after
            next_due = after.next_due
            if before is after:  # changed in place: as it was when read
                due_before = self.read_due
            else:
                due_before = before.next_due if before is not None else None
            if next_due is not None and (before is None or due_before != next_due):
                heapq.heappush(self.heap, (next_due, escalation_id))
        if len(self.heap) > 2 * len(self.records) + 1024:
            self._rebuild()

    def _rebuild(self) -> None:
        self.heap[:] = [
            (record.next_due, key)
            for key, record in self.records.items()
            if record.next_due is not None
        ]
        heapq.heapify(self.heap)


def policy_changed(
    planned: str, policy: Policy, how: str, path: str | None = "$.policy"
) -> PolicyChangedError:
    """The error that refuses escalations planned under the policy ``planned`` to ``policy``;
    ``how``: what the host does to re-plan them."""
    return PolicyChangedError(
        f"the escalations were planned under the policy {planned}, not under the policy "
        f"loaded ({policy.identity}); expected the same policy, or a re-plan under this one: "
        f"{how}",
        planned=planned,
        loaded=policy.identity,
        path=path,
    )


def read_snapshot(state: object, policy: Policy, *, replan: bool = False) -> EngineState:
    """``state`` checked as a snapshot ``policy`` can continue from, else an input error.
    One planned under another policy is refused with a :class:`PolicyChangedError`, unless
    ``replan``: its escalations are then checked only as far as another policy allows."""
    if isinstance(state, Mapping):
        planned = state.get("policy")
        if (
            not replan
            and isinstance(planned, str)
            and state.get("escalations")
            and planned != policy.identity
        ):
            raise policy_changed(planned, policy, _HOW)
        state = _structure_snapshot(state, policy)
    elif replan and isinstance(state, EngineState):
        state = _with_states_of(state, policy)
    if not isinstance(state, EngineState):
        raise InvalidSnapshotError(
            f"got {describe(state)}, expected an EngineState or its JSON object", path="$"
        )
    try:
        # An escalation awaiting its opening has no attributes yet: its facts are checked
        # with it, below; the calendars were checked as they were read.
        opened = tuple(e for e in state.escalations if e.status != AWAITING_OPENING)
        check_fields(attrs.evolve(state, escalations=opened, calendars=()))
    except InputError as error:
        raise InvalidSnapshotError(error.reason, path=error.path) from None
    if state.format != SNAPSHOT_FORMAT:
        raise InvalidSnapshotError(
            f"got format {state.format}, expected {SNAPSHOT_FORMAT}: the format this version "
            "of the library writes and reads",
            path="$.format",
        )
    if state.clock is None and state.escalations:
        raise InvalidSnapshotError(
            "got escalations without a clock, expected a clock no earlier than their last fact",
            path="$.clock",
        )
    foreign = (
        state.policy is not None and bool(state.escalations) and state.policy != policy.identity
    )
    if foreign and not replan:
        assert state.policy is not None
        raise policy_changed(state.policy, policy, _HOW)
    seen: set[str] = set()
    for index, escalation in enumerate(state.escalations):
        where = f"$.escalations[{index}]"
        if not isinstance(escalation, policy.contract.state):
            raise InvalidSnapshotError(
                f"got {describe(escalation)}, expected the EscalationState of this policy",
                path=where,
            )
        problem = _inconsistency(escalation, state.clock, policy, seen, foreign=foreign)
        if problem is not None:
            field, message = problem
            raise InvalidSnapshotError(message, path=f"{where}.{field}")
        seen.add(escalation.escalation_id)
    if any(e.calendar is not None and e.calendar_identity is None for e in state.escalations):
        state = attrs.evolve(state, escalations=tuple(pinned(e, policy) for e in state.escalations))
    return state


_HOW = "restore it with PolicyEngine.restore(..., replan=True), then call replan()"


def pinned(state: EscalationState, policy: Policy) -> EscalationState:
    """``state`` pinned to its calendar: one written before escalations kept the identity of
    their calendar counts on the one the policy declares now."""
    if state.calendar is None or state.calendar_identity is not None:
        return state
    return attrs.evolve(state, calendar_identity=policy.calendar(state.calendar).identity)


def upgrade_snapshot(data: Mapping[str, Any], policy: Policy) -> Mapping[str, Any]:
    """The JSON of a snapshot in an earlier format, in the current one (others unchanged).

    Format 1 kept a pending obligation's key as ``reason`` (required posts; the periodic update
    carried ``"update"``, which is no key) or ``tam`` (informing the TAM), and the TAM last
    informed as ``informed_tam``: format 2 keeps each key as ``key``, and what was done once
    per key as ``done``. Format 1 names no policy: a one-off obligation whose rule now
    requires another one of ``policy`` is that one. Format 2 kept in ``done`` the key an
    obligation was last fulfilled for (a text): format 3 keeps every key (a list).
    """
    if not isinstance(data.get("escalations"), (list, tuple)):
        return data
    if data.get("format", 1) == 1:
        data = _from_format_1(data, policy)
    if data.get("format") == 2:
        data = {
            **data,
            "format": 3,
            "escalations": [_from_format_2(escalation) for escalation in data["escalations"]],
        }
    return data


def _from_format_1(data: Mapping[str, Any], policy: Policy) -> Mapping[str, Any]:
    one_off = one_off_of_rule(policy.reactions)
    escalations = []
    for escalation in data["escalations"]:
        if isinstance(escalation, Mapping):
            escalation = dict(escalation)
            escalation.pop("severity_changes", None)  # counted by the audit, not kept
            informed = escalation.pop("informed_tam", None)
            if informed is not None:
                escalation["done"] = {"inform_tam": informed}
            pending = escalation.get("pending")
            if isinstance(pending, (list, tuple)):
                escalation["pending"] = [
                    _upgrade_pending(item, policy, one_off) for item in pending
                ]
        escalations.append(escalation)
    return {**data, "format": 2, "escalations": escalations}


def _from_format_2(escalation: object) -> object:
    """An escalation's state with each key in ``done`` a list of keys."""
    done = escalation.get("done") if isinstance(escalation, Mapping) else None
    if not isinstance(done, Mapping):
        return escalation
    upgraded = {name: [key] if isinstance(key, str) else key for name, key in done.items()}
    return {**cast("Mapping[str, Any]", escalation), "done": upgraded}


def _upgrade_pending(item: object, policy: Policy, one_off: Mapping[str, str]) -> object:
    if not isinstance(item, Mapping):
        return item
    item = dict(item)
    reason, tam = item.pop("reason", None), item.pop("tam", None)
    key = reason if item.get("obligation") == "channel_post" else tam
    if key is not None:
        item["key"] = key
    rule = item.get("rule")
    now = one_off.get(rule) if isinstance(rule, str) else None
    if (
        now is not None
        and item.get("every") is None
        and (policy.obligations[now].obligation.key is None) == (key is None)
    ):
        item["obligation"] = now
    return item


def _with_states_of(state: EngineState, policy: Policy) -> EngineState:
    """``state``, whose escalations may be the states of another policy (a snapshot object
    restored to be re-planned), with each one read as a state of ``policy``, as its JSON."""
    kind = policy.contract.state
    if all(isinstance(escalation, kind) for escalation in state.escalations):
        return state
    converter = shared_converter(policy)
    data = converter.unstructure(attrs.evolve(state, escalations=()))
    data["escalations"] = [converter.unstructure(e, type(e)) for e in state.escalations]
    return _structure_snapshot(data, policy)


def _structure_snapshot(data: Mapping[str, Any], policy: Policy) -> EngineState:
    from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError

    from escalation_policy.model import explain

    data = upgrade_snapshot(data, policy)
    try:
        snapshot: EngineState = shared_converter(policy).structure(data, EngineState)
    except (ClassValidationError, ForbiddenExtraKeysError, FieldProblem) as error:
        message, path = explain(error, "$")
        raise InvalidSnapshotError(message, path=path) from None
    except InputError as error:
        raise InvalidSnapshotError(error.reason, path=error.path) from None
    return snapshot


def _awaiting_inconsistency(escalation: EscalationState, policy: Policy) -> tuple[str, str] | None:
    """The first thing in an escalation awaiting its opening no engine could have written."""
    if escalation.status != AWAITING_OPENING:
        return "held", (
            f"got facts held with status {escalation.status!r}, expected them only while the "
            f"escalation is {AWAITING_OPENING!r}"
        )
    if not escalation.held or escalation.pending or escalation.early_work:
        return "held", (
            "expected the facts held for the opening, and nothing pending or kept as work done "
            "early"
        )
    if len(escalation.held) > MAX_HELD:
        return "held", f"got {len(escalation.held)} facts, expected at most {MAX_HELD}"
    for number, fact in enumerate(escalation.held):
        field = f"held[{number}]"
        if (
            not isinstance(fact, EscalationFact)
            or fact.OPENS
            or fact.escalation_id != escalation.escalation_id
            or fact.TYPE not in policy.about_unknown
        ):
            return field, (
                f"got {describe(fact)}, expected a fact about {escalation.escalation_id!r} "
                "that this policy takes before its opening"
            )
        try:
            check_declared(fact, policy)
        except InputError as error:
            return field, error.reason
        if fact.at > escalation.clock:
            return field, (
                f"got a fact at {fact.at.isoformat()}, expected none later than the "
                f"escalation's clock {escalation.clock.isoformat()}"
            )
    return None


def _planned_values(policy: Policy) -> Mapping[str, tuple[str, ...]]:
    """The values a state's ``owner``, ``cadence`` and ``involvement`` may hold: those of the
    value sets the policy's tables plan them from (kept in ``Policy._kept``)."""
    found: Mapping[str, tuple[str, ...]] | None = policy._kept.get(_planned_values)
    if found is None:
        sets = output_value_sets([(compiled.table, "") for compiled in policy.tables])
        found = policy._kept[_planned_values] = {
            field: tuple(str(member.value) for member in kind)
            for field, kind in (
                ("owner", sets.get("owner")),
                ("cadence", sets.get("cadence")),
                ("involvement", sets.get("roles")),
            )
            if kind is not None
        }
    return found


def stored_state_problem(
    escalation: EscalationState, escalation_id: str, policy: Policy, *, foreign: bool
) -> str | None:
    """What in an escalation's state read from a store's row of ``escalation_id`` no engine
    could have written (``foreign``: planned under another policy, until re-planned), as the
    field and what is wrong with it; ``None`` if nothing is."""
    if escalation.escalation_id != escalation_id:
        return (
            f"escalation_id: got {describe(escalation.escalation_id)} in the row of "
            f"{escalation_id!r}, expected the row's own escalation"
        )
    problem = _inconsistency(escalation, None, policy, set(), foreign=foreign)
    return None if problem is None else f"{problem[0]}: {problem[1]}"


def _inconsistency(
    escalation: EscalationState,
    clock: dt.datetime | None,
    policy: Policy,
    seen: set[str],
    *,
    foreign: bool = False,
) -> tuple[str, str] | None:
    """The first thing in ``escalation`` no engine could have written, as (field, message).
    ``foreign``: it was planned under another policy, whose teams, obligations and rules it
    may name until re-planned."""
    if not escalation.escalation_id:
        return "escalation_id", "got '', expected a non-empty string"
    if escalation.escalation_id in seen:
        return "escalation_id", f"got {escalation.escalation_id!r} twice, expected each once"
    if clock is not None and escalation.clock > clock:
        return "clock", (
            f"got {escalation.clock.isoformat()}, expected no later than the snapshot's "
            f"clock {clock.isoformat()}"
        )
    if escalation.opened_at > escalation.clock:
        return "opened_at", (
            f"got {escalation.opened_at.isoformat()}, expected no later than the "
            f"escalation's clock {escalation.clock.isoformat()}"
        )
    if escalation.status == AWAITING_OPENING or escalation.held:
        return _awaiting_inconsistency(escalation, policy)
    if escalation.status not in policy.terms.statuses:
        return "status", (
            f"got {escalation.status!r}, expected one of {', '.join(policy.terms.statuses)}"
        )
    if (escalation.status == CLOSED) != (escalation.closed_at is not None):
        return "closed_at", (
            f"got {describe(escalation.closed_at)} with status {escalation.status!r}, "
            "expected a closing time exactly when the escalation is closed"
        )
    if foreign:
        return _foreign_inconsistency(escalation, policy)
    for field, values in _planned_values(policy).items():
        given = getattr(escalation, field)
        items = enumerate(given) if isinstance(given, tuple) else ((None, given),)
        for index, item in items:
            if item is not None and item not in values:
                return field + ("" if index is None else f"[{index}]"), (
                    f"got {describe(item)}, a value this policy does not declare; expected one "
                    f"of {', '.join(values)} (was the state written with another policy?)"
                )
    for obligation in escalation.done:
        if obligation not in policy.obligations:
            return f"done[{obligation!r}]", (
                f"got {describe(obligation)}, an obligation this policy does not have; expected "
                f"one of {', '.join(policy.obligations)}"
            )
    if escalation.calendar is not None:
        try:
            policy.calendar(escalation.calendar)
        except (UnknownCalendarError, PolicyDefinitionError) as error:
            return "calendar", str(error)
    early = _early_work_inconsistency(escalation, policy)
    if early is not None:
        return early
    for number, pending in enumerate(escalation.pending):
        field = f"pending[{number}]"
        if pending.period not in (None, ON_CALENDAR) and parse_period(pending.period) is None:
            return f"{field}.period", (
                f"got {pending.period!r}, expected a period's text form ('each business day', "
                "'2 per week', 'every 1d', ...) or null"
            )
        if pending.every is not None and pending.every <= dt.timedelta(0):
            return f"{field}.every", (
                f"got {pending.every.total_seconds()} seconds, expected a positive period"
            )
        for name in ("every", "remind_before"):
            length = getattr(pending, name)
            if length is not None and length > policy.horizon:
                return f"{field}.{name}", (
                    f"got {length.total_seconds()} seconds, expected at most the policy's "
                    f"horizon ({policy.horizon.total_seconds()} seconds)"
                )
        declared = policy.obligations.get(pending.obligation)
        if declared is None:
            return f"{field}.obligation", (
                f"got {pending.obligation!r}, an obligation this policy does not have; expected "
                f"one of {', '.join(policy.obligations)} (was the snapshot written with another "
                "policy?)"
            )
        if declared.owner_field is not None and escalation.owner is None and not pending.overdue:
            return "owner", (
                f"got null with a {pending.obligation} pending, expected the owner who acts on it"
            )
        if pending.remind_before is not None and pending.remind_before <= dt.timedelta(0):
            return f"{field}.remind_before", (
                f"got {pending.remind_before.total_seconds()} seconds, expected a positive "
                "lead time or null"
            )
        if pending.waited is not None and pending.waited < dt.timedelta(0):
            return f"{field}.waited", (
                f"got {pending.waited.total_seconds()} seconds, expected the open time a wait "
                "took of the period (zero or more) or null"
            )
        full = pending.required_in_full
        if full is not None and not 0 <= pending.required <= full:
            return f"{field}.required_in_full", (
                f"got {full}, expected what the period asked in full: at least its required "
                f"({pending.required}), or null"
            )
        if pending.rule not in policy.rules:
            return f"{field}.rule", (
                f"got {pending.rule!r}, a rule this policy does not have; expected one of "
                "the policy's rule ids (was the snapshot written with another policy?)"
            )
    return None


def _early_work_inconsistency(
    escalation: EscalationState, policy: Policy
) -> tuple[str, str] | None:
    """What in ``escalation.early_work`` no engine of ``policy`` could have kept: work for an
    obligation that keeps none, for an instance never required, later than the escalation's
    clock, or twice for one instance (for an obligation keyed by the escalation's attribute,
    twice at all)."""
    kept: set[tuple[str, str | None]] = set()
    for number, early in enumerate(escalation.early_work):
        field = f"early_work[{number}]"
        declared = policy.obligations.get(early.obligation)
        if declared is None or declared.early_grace is None:
            keeping = [name for name, o in policy.obligations.items() if o.early_grace]
            return f"{field}.obligation", (
                f"got {early.obligation!r}, expected an obligation of this policy that counts "
                f"work done early: {', '.join(keeping) or 'it has none'}"
            )
        if not declared.keeps_early(early.key):
            return f"{field}.key", (
                f"got {early.key!r}, expected a key {early.obligation} is required for: "
                f"{', '.join(sorted(str(key) for key in declared.early_keys or ()))}"
            )
        if early.at > escalation.clock:
            return f"{field}.at", (
                f"got {early.at.isoformat()}, expected no later than the escalation's clock "
                f"{escalation.clock.isoformat()}"
            )
        # One for each instance; for one keyed by the escalation's attribute, one in all.
        instance = declared.early_instance(early)
        if instance in kept:
            return field, (
                f"got {early.obligation} for {early.key!r} again, expected work kept once for "
                + ("the obligation" if declared.key_from else "each of its instances")
            )
        kept.add(instance)
    return None


def _foreign_inconsistency(escalation: EscalationState, policy: Policy) -> tuple[str, str] | None:
    """What :func:`_inconsistency` checks of an escalation planned under another policy: what
    re-planning cannot mend."""
    if escalation.calendar is not None:
        try:
            policy.calendar(escalation.calendar)
        except (UnknownCalendarError, PolicyDefinitionError) as error:
            return "calendar", str(error)
    for number, pending in enumerate(escalation.pending):
        if pending.period not in (None, ON_CALENDAR) and parse_period(pending.period) is None:
            return f"pending[{number}].period", (
                f"got {pending.period!r}, expected a period's text form ('each business day', "
                "'2 per week', 'every 1d', ...) or null"
            )
    return None
