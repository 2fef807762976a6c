"""One replay of a recorded history, and what reports observe of it.

:func:`replay` streams the facts through a :class:`~escalation_policy.PolicyEngine` once and
tells each observer, escalation by escalation, what happened: the actions, the obligations
met, the facts, and (for observers that ask) the engine's state after each. The audit's report
and the HTML page's timelines are observers; they keep different things but never replay, nor
tell escalations apart, on their own.
"""

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import attrs

from escalation_policy._core.escalation import choose_calendar
from escalation_policy.calendar import Calendar
from escalation_policy.engine import Decision, PolicyEngine
from escalation_policy.errors import DuplicateFactError, InputError
from escalation_policy.model import AWAITING_OPENING, CLOSED, Action, EscalationFact, Fact, Tick
from escalation_policy.state import EscalationState, Fulfilment

__all__ = [
    "AuditCalendar",
    "AuditRefusal",
    "DecisionObserver",
    "EscalationObserver",
    "Observer",
    "Replay",
    "Replayed",
    "SettledObserver",
    "UnopenedKey",
    "replay",
]

SWEEP = 8192
"""Items between two looks, in a replay that lets settled escalations go, at which of them the
engine has forgotten."""


@attrs.frozen(kw_only=True)
class AuditCalendar:
    """The calendar an escalation's clocks counted on, pinned when it opened: its ``name``
    as the escalation's state keeps it (``NAME@ZONE`` when moved into the customer's zone)
    and the IANA ``zone`` its hours are read in, in which its times are shown to people."""

    name: str
    zone: str

    @property
    def tzinfo(self) -> dt.tzinfo:
        """The calendar's zone, read from the same zone data as the calendar's own."""
        return _tzinfo(self.zone)


@functools.lru_cache(maxsize=64)
def _tzinfo(zone: str) -> dt.tzinfo:
    return Calendar.always().in_zone(zone).tzinfo


@attrs.frozen(kw_only=True)
class AuditRefusal:
    """A fact the policy refused (or an item that could not be read as one), and why.

    ``line`` is the item's position in the history (1-based); when ``file`` is set (the
    command line sets it), the line of that file. ``code`` is the error's code
    (``docs/errors.md``), ``path`` the field at fault, if one is, and ``reason`` what arrived
    and what was expected.
    """

    file: str | None = None
    line: int
    code: str
    path: str | None = None
    reason: str


class EscalationObserver(Protocol):
    """What one observer keeps about one escalation, told in order what happens to it."""

    def action(self, action: Action) -> None:
        """An action the policy took about the escalation."""

    def fulfilled(self, fulfilment: Fulfilment) -> None:
        """An obligation of the escalation a fact met."""

    def fact(self, fact: EscalationFact, fulfilled: Sequence[Fulfilment]) -> None:
        """A fact about the escalation, after its actions and fulfilments."""

    def state(self, state: EscalationState | None, at: dt.datetime) -> None:
        """The engine's state of the escalation after a fact that touched it (``None``:
        settled and forgotten); only for an observer whose ``needs_state`` is true."""


Kept = TypeVar("Kept", bound=EscalationObserver)


class Observer(Protocol[Kept]):
    """A report built from a replay: one ``Kept`` per escalation, opened as the history
    opens them, and the actions about escalations the history never opened."""

    needs_state: bool
    """Whether its escalations want the engine's state after each fact that touches them."""

    def opened(self, fact: EscalationFact, calendar: AuditCalendar | None) -> Kept:
        """What it will keep about the escalation ``fact`` opens, whose clocks count on
        ``calendar`` (``None``: calendar time, for a policy that declares no calendars)."""

    def unopened(self, action: Action) -> None:
        """An action about an escalation the history never opened (the policy reports a post
        to the escalation channel about one as misuse)."""

    def ended(self, escalations: Sequence[Kept], replayed: "Replayed") -> None:
        """The history ended: its escalations, in order of opening."""


@attrs.frozen(kw_only=True)
class Replayed:
    """What the replay itself counted."""

    facts: int
    """Items read, refused ones included."""
    started_at: dt.datetime | None
    """The time of the first fact taken."""
    end: dt.datetime | None
    """The end of the history: ``as_of``, or the engine's clock after the last fact."""
    refused: tuple[AuditRefusal, ...]
    """With ``keep_going``: the items refused, in the order read."""
    redelivered: int = 0
    """Facts delivered again (an ``id`` taken before for the same open escalation, the same
    fact): each taken once, as a store takes a redelivery."""


class _Escalation:
    """One escalation of the history, from its opening: what each observer keeps of it."""

    __slots__ = ("escalation_id", "forgotten", "kept", "next_due", "opened_at")

    def __init__(self, fact: EscalationFact, kept: list[EscalationObserver]) -> None:
        self.escalation_id = fact.escalation_id
        self.opened_at = fact.at
        self.kept = kept
        self.forgotten = False
        """Settled: the engine no longer holds it, and nothing about it changes any more."""
        self.next_due: dt.datetime | None = fact.at
        """When passing time next changes it, as its state last said (``None``: never)."""

    def due_by(self, at: dt.datetime) -> bool:
        """Whether time passing until ``at`` may change it: a tick before its next due time
        changes nothing of it, and its observers need not read its state."""
        return not self.forgotten and self.next_due is not None and self.next_due <= at


@runtime_checkable
class DecisionObserver(Protocol):
    """An observer that also wants each decision whole, as the engine returned it (the rules
    that matched, for rule coverage): an :class:`Observer` with a ``decided`` method."""

    def decided(self, decision: Decision) -> None:
        """A fact the policy took, and what it decided: told before the escalations are."""


@runtime_checkable
class SettledObserver(Protocol):
    """An observer that keeps what it observed of an escalation elsewhere once the engine has
    settled and forgotten it (a report written as it goes): an :class:`Observer` with
    ``settled`` and ``late``, for a :class:`Replay` made with ``release=True``."""

    def settled(self, kept: Any) -> None:
        """The engine forgot the escalation ``kept`` observes (settled, or its id opened
        again): nothing but facts about an escalation not open will be told of it."""

    def late(self, escalation_id: str) -> EscalationObserver:
        """Where to tell what happens about an escalation already settled (a post about it
        that the policy reports as misuse, say), which the replay no longer holds."""


UnopenedKey = tuple[int, int, dt.datetime, str, int]
"""Where an action about an escalation never opened falls in the replay of the whole history:
the item's position (the end: one and two past the last), then 0 for time passing and 1 for
the item's own escalation, the time the engine had the escalation next due (time passing
takes them in that order, then by id), its id, and the order among its own actions."""

_NO_DUE = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


class Replay:
    """One replay, a fact at a time: :meth:`feed` each item in time order, then :meth:`end`.

    :func:`replay` feeds a whole history; a report that compares two policies feeds two
    replays in step, one item at a time, so that neither keeps what the other already
    matched.

    ``release``: every observer is a :class:`SettledObserver`, told when the engine forgets
    an escalation (looked at every :data:`SWEEP` items), so that the replay keeps only the
    escalations the engine holds; :meth:`end` then tells ``ended`` only of those.
    ``keyed``: keep, for each action about an escalation never opened, where it falls in the
    whole history (:data:`UnopenedKey`, in ``unopened_keys``), to merge the parts of a
    partitioned audit in the order one replay gives.
    """

    def __init__(
        self,
        policy_engine: PolicyEngine,
        observers: Sequence[Observer[Any]],
        *,
        keep_going: bool = False,
        release: bool = False,
        keyed: bool = False,
        quiet_time: bool = False,
    ) -> None:
        self.policy_engine = policy_engine
        self.observers = tuple(observers)
        self.keep_going = keep_going
        self.release = release
        if release and not all(isinstance(o, SettledObserver) for o in self.observers):
            raise TypeError("release=True needs observers with settled() and late()")
        self.released: dict[str, list[EscalationObserver] | None] = {}
        """In release mode: the escalations let go whose id has not opened again, with where
        to tell what comes about them after (made when something does)."""
        self.watch: set[str] = set()
        terms = policy_engine.policy.terms
        self.closing = frozenset(
            tag for tag, moves in terms.moves.items() if CLOSED in moves.values()
        )
        self.keyed = keyed
        self.unopened_keys: list[UnopenedKey] = []
        self.awaiting: dict[str, dt.datetime | None] = {}
        """With ``keyed`` and an opening grace: when each escalation awaiting its opening is
        next due, as the engine last said."""
        self.position = 0
        """The position the actions told now belong to (see :data:`UnopenedKey`)."""
        self.needs_state = [
            index for index, observer in enumerate(self.observers) if observer.needs_state
        ]
        self.deciders = [o for o in self.observers if isinstance(o, DecisionObserver)]
        self.active: dict[str, _Escalation] = {}
        self.finished: list[_Escalation] = []
        self.refused: list[AuditRefusal] = []
        self.count = 0
        """Items fed so far, refused ones included."""
        self.redelivered = 0
        self.held_ids: set[str] = set()
        """Escalations not opened yet whose facts' ids are kept (their facts held)."""
        self.ids: dict[str, dict[str, Fact]] = {}
        """The facts with an ``id`` taken about each escalation the replay follows, by id:
        a redelivery (the same fact) is taken once, another fact under a taken id refused.
        Let go with the escalation."""
        self.started_at: dt.datetime | None = None
        self.quiet_time = quiet_time and not self.needs_state
        """Whether time passing that makes nothing fall due may skip the tick: no observer
        hears of it (the deciders hear only the rules a decision matched, which a tick
        matches none of)."""

    def feed(self, item: Fact | Mapping[str, Any] | InputError) -> None:
        """Take the next item of the history. A fact the policy cannot take, or an
        ``InputError`` (an item the caller could not read as a fact), raises an
        ``InputError`` whose ``line`` is its position (1-based); with ``keep_going`` it is
        counted in ``refused`` instead, the engine as if it had never arrived."""
        self.count += 1
        try:
            if isinstance(item, InputError):
                raise item
            if type(item) is dict and item.get("id") is not None:
                item = self.policy_engine._read(item)  # as handle() reads it: by its id
            try:
                fact_id = item.id  # type: ignore[union-attr]  # a fact's, most often None
            except AttributeError:  # a mapping without one: the engine reads it
                fact_id = None
            if fact_id is not None and self._delivered_before(item):
                self.redelivered += 1  # the same fact again: taken once
                return
            decision = self.policy_engine.handle(item)
        except InputError as error:
            if not self.keep_going:
                raise error.at_line(self.count) from None
            self.refused.append(
                AuditRefusal(line=self.count, code=error.code, reason=error.reason, path=error.path)
            )
            return
        if self.started_at is None:
            self.started_at = decision.fact.at
        self.position = self.count
        self.tell(decision)
        fact = decision.fact
        if fact.id is not None:
            fact_id = fact.id
            escalation_id = getattr(fact, "escalation_id", None)
            if escalation_id in self.active:  # followed: its ids go when it is let go
                self.ids.setdefault(escalation_id, {})[fact_id] = fact
            elif isinstance(escalation_id, str) and (
                self.policy_engine._status_of(escalation_id) is not None
            ):  # held for its opening: its ids go when the engine forgets it (sweep)
                self.ids.setdefault(escalation_id, {})[fact_id] = fact
                self.held_ids.add(escalation_id)
        if self.release and self.count % SWEEP == 0:
            self.sweep()

    def _delivered_before(self, item: object) -> bool:
        """Whether ``item`` (a fact with an ``id``) was taken before about its escalation,
        while the engine still knows it; ``DuplicateFactError`` for another fact under that
        id."""
        escalation_id = getattr(item, "escalation_id", None)
        taken = self.ids.get(escalation_id) if isinstance(escalation_id, str) else None
        earlier = None if taken is None else taken.get(getattr(item, "id", None))  # type: ignore[arg-type]
        if earlier is None:
            return False
        if self.policy_engine._status_of(escalation_id) is None:  # type: ignore[arg-type]
            # Forgotten by the engine (a history replayed whole does not let it go): a fact
            # about it is new to it, as to a store that pruned its ids.
            del self.ids[escalation_id]  # type: ignore[arg-type]
            return False
        if earlier != item:
            field = next(
                (
                    name
                    for name in attrs.fields_dict(type(earlier))
                    if getattr(earlier, name, None) != getattr(item, name, None)
                ),
                "type",
            )
            raise DuplicateFactError(
                f"the fact {getattr(item, 'id', None)!r} was taken before with {field} "
                f"{_shown(getattr(earlier, field, None))}, and now has "
                f"{_shown(getattr(item, field, None))}; expected the same fact again (a "
                "redelivery), or a new id for another fact",
                path="$.id",
            )
        return True

    def pass_time(self, at: dt.datetime, instant: bool = False) -> bool:
        """Let time pass to ``at``, as a ``tick`` would, counting no item: whether it could
        (a time before the clock, or too far past it, changes nothing). ``instant``: ``at``
        is one already (a UTC datetime in range, as ``to_instant`` gives it), not checked
        again."""
        if self.quiet_time and not self.awaiting:
            engine = self.policy_engine
            quiet = engine._pass_quiet_instant(at) if instant else engine._pass_quiet_time(at)
            if quiet is not None:
                if quiet:
                    self.position = self.count
                return quiet
        try:
            decision = self.policy_engine.handle(Tick(at=at))
        except InputError:
            return False
        self.position = self.count
        if decision.actions or decision.fulfilled or self.needs_state or self.awaiting:
            self.tell(decision)
        else:  # nothing fell due: only the deciders have anything to hear
            for decider in self.deciders:
                decider.decided(decision)
        return True

    def feed_quiet_tick(self, at: dt.datetime) -> bool:
        """:meth:`feed` of ``Tick(at=at)`` when nothing falls due by then, in less time: the
        clock moves, the item is counted, and ``True``; ``False`` (nothing changed) when that
        cannot be told so cheaply: feed the tick then. Only with ``quiet_time``, and once a
        fact has been taken (the first sets ``started_at``)."""
        if not self.quiet_time or self.awaiting or self.started_at is None:
            return False
        if self.policy_engine._pass_quiet_time(at) is not True:
            return False  # refused (unchanged) or something falls due: feed() says
        self.count += 1
        self.position = self.count
        if self.release and self.count % SWEEP == 0:
            self.sweep()
        return True

    def sweep(self) -> None:
        """Let go of the escalations the engine has forgotten since the last look: those
        opened or closed since, and those closed and still held then."""
        watch, self.watch = self.watch, set()
        policy_engine = self.policy_engine
        for escalation_id in sorted(self.held_ids):  # opened since, or forgotten unopened
            if escalation_id in self.active:
                self.held_ids.discard(escalation_id)
            elif policy_engine._status_of(escalation_id) is None:
                self.held_ids.discard(escalation_id)
                self.ids.pop(escalation_id, None)
        for escalation_id in sorted(watch):
            escalation = self.active.get(escalation_id)
            if escalation is None:
                continue
            held = policy_engine._status_of(escalation_id)
            if held is None:
                del self.active[escalation_id]
                self._let_go(escalation)
            elif held[0] == CLOSED:
                self.watch.add(escalation_id)

    def _let_go(self, escalation: "_Escalation") -> None:
        self.ids.pop(escalation.escalation_id, None)
        for observer, kept in zip(self.observers, escalation.kept, strict=True):
            observer.settled(kept)  # type: ignore[attr-defined]
        self.released[escalation.escalation_id] = None

    def _late(self, escalation_id: str) -> list[EscalationObserver] | None:
        """Where to tell what happens about an escalation let go, if ``escalation_id`` is
        one."""
        if escalation_id not in self.released:
            return None
        kept = self.released[escalation_id]
        if kept is None:
            kept = self.released[escalation_id] = [
                observer.late(escalation_id)  # type: ignore[attr-defined]
                for observer in self.observers
            ]
        return kept

    def _unopened(self, action: Action, own: str | None) -> None:
        """Tell the observers of ``action`` about an escalation never opened (or let go)."""
        if self.release:
            late = self._late(action.escalation_id)
            if late is not None:
                for kept in late:
                    kept.action(action)
                return
        if self.keyed:
            escalation_id = action.escalation_id
            if escalation_id == own:
                key: UnopenedKey = (self.position, 1, _NO_DUE, escalation_id, 0)
            else:
                due = self.awaiting.get(escalation_id) or _NO_DUE
                key = (self.position, 0, due, escalation_id, 0)
            self.unopened_keys.append((*key[:4], len(self.unopened_keys)))
        for observer in self.observers:
            observer.unopened(action)

    def _awaiting_after(self, decision: Decision) -> None:
        """With ``keyed``: when the escalations awaiting their opening that ``decision``
        touched, or that fell due in it, are next due now."""
        fact = decision.fact
        if not self.awaiting:
            active = self.active
            if isinstance(fact, EscalationFact):
                if fact.escalation_id in active:
                    for action in decision.actions:
                        if action.escalation_id not in active:
                            break
                    else:
                        return  # about held escalations only, with nothing awaiting its opening
            elif not decision.actions:
                return  # time passing, with nothing awaiting its opening nor falling due
        touched = {key for key, due in self.awaiting.items() if due is not None and due < fact.at}
        if isinstance(fact, EscalationFact) and fact.escalation_id not in self.active:
            touched.add(fact.escalation_id)
        touched.update(
            a.escalation_id for a in decision.actions if a.escalation_id not in self.active
        )
        for escalation_id in touched:
            state = self.policy_engine.escalation(escalation_id)
            if state is not None and state.status == AWAITING_OPENING:
                self.awaiting[escalation_id] = state.next_due
            else:
                self.awaiting.pop(escalation_id, None)

    def tell(self, decision: Decision) -> None:
        """Tell the observers what ``decision`` did."""
        active = self.active
        for decider in self.deciders:
            decider.decided(decision)
        fact = decision.fact
        own = None
        own_fact: EscalationFact | None = None
        if isinstance(fact, EscalationFact):
            own_fact, own = fact, fact.escalation_id
            if fact.OPENS:
                old = active.pop(own, None)
                if old is not None:  # an id reused after its escalation was settled
                    self.ids.pop(own, None)  # its facts' ids start afresh
                    if self.release:
                        self._let_go(old)
                    else:
                        self.finished.append(old)
                self.released.pop(own, None)
                calendar = _calendar_of(self.policy_engine, fact)
                active[own] = _Escalation(
                    fact, [observer.opened(fact, calendar) for observer in self.observers]
                )
            if self.release and (fact.OPENS or fact.TYPE in self.closing):
                self.watch.add(own)
        for action in decision.actions:
            escalation = active.get(action.escalation_id)
            if escalation is None:
                self._unopened(action, own)
                continue
            for kept in escalation.kept:
                kept.action(action)
        fulfilled = decision.fulfilled
        for fulfilment in fulfilled:
            # only a held escalation has any
            for kept in active[fulfilment.escalation_id].kept:
                kept.fulfilled(fulfilment)
        if own is not None and own_fact is not None:
            escalation = active.get(own)
            if escalation is not None:
                for kept in escalation.kept:
                    kept.fact(own_fact, fulfilled)
            elif self.release:
                late = self._late(own)
                for kept in late or ():
                    kept.fact(own_fact, fulfilled)
        if self.keyed and self.policy_engine.policy.holds_for_opening:
            self._awaiting_after(decision)
        if self.needs_state:
            self._tell_states(decision, own)

    def _tell_states(self, decision: Decision, own: str | None) -> None:
        """Tell the observers that ask the engine's state of each escalation ``decision``
        touched (``own``: its fact's), in order of id."""
        active = self.active
        fact = decision.fact
        touched: set[str] = set()
        if own is not None:
            touched.add(own)
        elif isinstance(fact, Tick):
            touched.update(key for key, known in active.items() if known.due_by(fact.at))
        touched.update(
            action.escalation_id for action in decision.actions if action.escalation_id in active
        )
        touched.update(fulfilment.escalation_id for fulfilment in decision.fulfilled)
        needs_state = self.needs_state
        for escalation_id in sorted(touched):
            escalation = active.get(escalation_id)
            if escalation is None:
                continue
            state = self.policy_engine.escalation(escalation_id)
            escalation.forgotten = state is None
            escalation.next_due = None if state is None else state.next_due
            for index in needs_state:
                escalation.kept[index].state(state, fact.at)

    def end(self, as_of: dt.datetime | None = None) -> Replayed:
        """The history has ended (``as_of``: time passes until then): tell the observers."""
        policy_engine = self.policy_engine
        end = policy_engine.clock
        if as_of is not None:
            self.position = self.count + 1
            self.tell(_close_at(policy_engine, as_of))
            end = as_of
        # The history has ended: the openings of the facts still held for one will not come.
        self.position = self.count + 2
        for action in policy_engine.release_held():
            escalation = self.active.get(action.escalation_id)
            if escalation is None:
                self._unopened(action, action.escalation_id)
                continue
            for kept in escalation.kept:
                kept.action(action)
        escalations = self.finished + list(self.active.values())
        escalations.sort(key=lambda e: (e.opened_at, e.escalation_id))
        replayed = Replayed(
            facts=self.count,
            started_at=self.started_at,
            end=end,
            refused=tuple(self.refused),
            redelivered=self.redelivered,
        )
        for index, observer in enumerate(self.observers):
            observer.ended([escalation.kept[index] for escalation in escalations], replayed)
        return replayed


def _shown(value: object) -> str:
    """A fact's field as a message quotes it: a time as its ISO text, a value as JSON has it."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return repr(getattr(value, "value", value))


def replay(
    facts: Iterable[Fact | Mapping[str, Any] | InputError],
    policy_engine: PolicyEngine,
    observers: Sequence[Observer[Any]],
    *,
    as_of: dt.datetime | None = None,
    keep_going: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Replayed:
    """Feed ``facts`` (in time order) through ``policy_engine`` and tell ``observers``.

    A fact the policy cannot take, or an ``InputError`` among ``facts`` (an item the caller
    could not read as a fact), raises an ``InputError`` whose ``line`` is its position
    (1-based); with ``keep_going`` it is counted in ``refused`` instead and the replay goes on,
    the engine as if it had never arrived. ``as_of`` ends the history later than its last
    fact: time passes until then. ``progress`` is called with the number of items read, every
    10,000 items. Observers with a ``decided`` method (:class:`DecisionObserver`) are told
    each decision too.
    """
    stepped = Replay(policy_engine, observers, keep_going=keep_going)
    for fact in facts:
        stepped.feed(fact)
        if progress is not None and stepped.count % 10_000 == 0:
            progress(stepped.count)
    return stepped.end(as_of)


def _calendar_of(policy_engine: PolicyEngine, fact: EscalationFact) -> AuditCalendar | None:
    """The calendar the engine pinned for the escalation ``fact`` has just opened."""
    policy = policy_engine.policy
    held = policy_engine._status_of(fact.escalation_id)
    # Settled at its opening, the escalation is no longer held: its calendar is the one the
    # engine chose for it, by the same choice.
    name = held[1] if held is not None else choose_calendar(policy, fact)
    if name is None:
        return None
    return AuditCalendar(name=name, zone=policy.calendar(name).zone)


def _close_at(policy_engine: PolicyEngine, as_of: dt.datetime) -> Decision:
    end = policy_engine.clock
    if end is not None and as_of < end:
        raise InputError(
            f"got {as_of.isoformat()}, before the last fact at {end.isoformat()}; "
            "expected a time at or after the history's end",
            path="as_of",
        )
    # The history's end is a deliberate jump: as far past it as the reader asks.
    policy_engine.max_clock_jump = None
    try:
        return policy_engine.handle(Tick(at=as_of))
    except InputError as error:
        raise InputError(error.reason, path="as_of") from None
