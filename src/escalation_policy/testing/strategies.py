"""Hypothesis strategies for a policy's facts, actions and whole histories.

Everything is derived from the loaded policy (the handbook's by default): its fact and action
types, the values their fields hold, the texts its rules name (its channel, say), and what it
requires and what fulfils it. ``histories()`` draws coherent histories: several escalations
interleaved, time never going back, the opening fact before anything else about an escalation,
and after closing only what the policy still takes from a closed escalation. ``compliant=True``
draws histories in which every obligation is met on time; ``compliant=False`` draws anything
coherent (some comply, most do not).

Importing this module registers its strategies for the handbook's types, so that
``st.from_type(Opened)``, ``st.from_type(EscalationFact)`` or ``st.from_type(Violation)`` draw
only what the library accepts: timezone-aware timestamps, non-empty identifiers, values the
JSON edge reads back. Hypothesis imports it through the package's ``hypothesis`` entry point,
so a host's tests get them with nothing to configure; :func:`register_type_strategies` does the
same for a company's policy.
"""

import datetime as dt
import enum
import itertools
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs
from hypothesis import strategies as st

from escalation_policy._core.obligations import ON_CALENDAR
from escalation_policy._language.context import scalar
from escalation_policy.engine import PolicyEngine, decide
from escalation_policy.errors import InputError
from escalation_policy.model import (
    CLOSED,
    COMMON_FIELDS,
    Action,
    EscalationFact,
    Fact,
    Tick,
    Violation,
)
from escalation_policy.policy import Policy, default_policy
from escalation_policy.state import EscalationState, PendingObligation
from escalation_policy.vocabulary import AnyValue, Fulfil, NoneOf, OneOf, Reaction

__all__ = [
    "START",
    "actions",
    "aware_datetimes",
    "escalation_ids",
    "fact_types",
    "facts",
    "histories",
    "register_type_strategies",
]

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)

_OFFSETS = st.sampled_from(
    [dt.timezone.utc, dt.timezone(dt.timedelta(hours=-5)), dt.timezone(dt.timedelta(hours=2))]
)
_NAMES = ("alex", "sam", "kim")
"""A small pool of texts, so that histories repeat them (the same TAM assigned twice)."""


def aware_datetimes() -> st.SearchStrategy[dt.datetime]:
    """Timezone-aware datetimes (whole seconds, years 2000 to 2100)."""
    return st.builds(
        lambda naive, zone: naive.replace(microsecond=0, tzinfo=zone),
        st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)),
        _OFFSETS,
    )


def escalation_ids() -> st.SearchStrategy[str]:
    """Escalation ids such as ``ESC-42``."""
    return st.from_regex(r"\AESC-[0-9]{1,4}\Z")


_ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")
"""Time zones the field that moves an escalation's calendar (``Calendars.zone_from``) takes:
with and without daylight saving time, and an offset of half an hour."""

_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=20
)
"""Free text as facts may hold it: any character but NUL and lone surrogates."""


def _optional(kind: object) -> tuple[object, bool]:
    """``(the type, whether None is allowed)`` for ``kind`` or ``kind | None``."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        others = [argument for argument in typing.get_args(kind) if argument is not type(None)]
        if len(others) == 1:
            return others[0], True
    return kind, False


def _texts(policy: Policy) -> tuple[str, ...]:
    """The texts the policy's rules name (a channel, an issue type), with their variants
    that rules must still recognise (a channel without its ``#``)."""
    found: list[str] = []

    def add(value: object) -> None:
        if isinstance(value, str) and not isinstance(value, enum.Enum):
            found.append(value)
            if value.startswith("#"):
                found.append(value.lstrip("#"))

    for compiled in policy.obligations.values():
        for value in compiled.obligation.announce_with.values():
            add(value)
    for table in policy.tables:
        for row in table.table.rows:
            for cell in row.when.values():
                for value in cell.values if isinstance(cell, (OneOf, NoneOf)) else (cell,):
                    add(value)
    return tuple(dict.fromkeys(found))


def _zone_field(policy: Policy) -> str | None:
    """The opening fact's field that names the customer's time zone, if the policy has one."""
    return policy.calendars.zone_from if policy.calendars is not None else None


class _Strategies:
    """The strategies of one policy, built once."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.texts = _texts(policy)
        self.zone_field = _zone_field(policy)
        contract = policy.contract
        self.facts: dict[type[Fact], st.SearchStrategy[Any]] = {
            cls: self._fact(cls) for cls in contract.facts.values()
        }
        self.actions: dict[type[Action], st.SearchStrategy[Any]] = {
            cls: self._action(cls) for cls in contract.actions.values()
        }

    def value(self, kind: object, name: str) -> st.SearchStrategy[Any]:
        """Any valid value of a field of type ``kind``."""
        inner, optional = _optional(kind)
        strategy: st.SearchStrategy[Any]
        if inner is dt.datetime:
            strategy = aware_datetimes()
        elif name == "escalation_id":
            strategy = escalation_ids()
        elif inner is str and name == self.zone_field:
            strategy = st.sampled_from(_ZONES)
        elif inner is str:
            named = st.sampled_from(self.texts) if self.texts else st.nothing()
            strategy = named | _TEXT
        elif inner is bool:
            strategy = st.booleans()
        elif inner is int:
            strategy = st.integers(min_value=1, max_value=1000)
        elif isinstance(inner, type) and issubclass(inner, enum.Enum):
            strategy = st.sampled_from(inner)
        elif typing.get_origin(inner) is tuple:
            strategy = st.lists(self.value(typing.get_args(inner)[0], name), max_size=3).map(tuple)
        else:
            raise TypeError(f"no strategy for {name}: {kind!r}")
        return st.none() | strategy if optional else strategy

    def _fact(self, cls: type[Fact]) -> st.SearchStrategy[Any]:
        hints = typing.get_type_hints(cls)
        fields = {
            field.name: self.value(hints[field.name], field.name) for field in attrs.fields(cls)
        }
        return st.builds(cls, **fields)

    def _action(self, cls: type[Action]) -> st.SearchStrategy[Any]:
        hints = typing.get_type_hints(cls)
        fields: dict[str, Any] = {}
        for field in attrs.fields(cls):
            kind = hints[field.name]
            if field.name == "rule":
                fields[field.name] = st.from_regex(r"\A[a-z]+\.[a-z_]+\Z")
            elif field.name == "periods":
                fields[field.name] = st.integers(min_value=1, max_value=30)
            elif _optional(kind)[0] is str and field.name not in ("escalation_id",):
                fields[field.name] = (st.none() | _TEXT) if _optional(kind)[1] else _TEXT
            else:
                fields[field.name] = self.value(kind, field.name)
        return st.builds(cls, **fields)


def _of(policy: Policy | None) -> _Strategies:
    """The strategies of ``policy``, built once and kept with it (in ``Policy._kept``)."""
    chosen = policy or default_policy()
    found: _Strategies | None = chosen._kept.get(_Strategies)
    if found is None:
        found = chosen._kept[_Strategies] = _Strategies(chosen)
    return found


def fact_types(policy: Policy | None = None) -> tuple[type[Fact], ...]:
    """Every fact type of ``policy`` (by default the handbook's), in the order of its JSON
    contract."""
    return tuple(_of(policy).facts)


def facts(*types: type[Fact], policy: Policy | None = None) -> st.SearchStrategy[Fact]:
    """Single facts of ``policy`` of the given types (all types if none given), each valid on
    its own."""
    strategies = _of(policy).facts
    chosen = types or tuple(strategies)
    return st.one_of([strategies[cls] for cls in chosen])


def actions(*types: type[Action], policy: Policy | None = None) -> st.SearchStrategy[Action]:
    """Single actions of ``policy`` of the given types (all types if none given), as the
    policy might emit them: fields valid, values arbitrary."""
    strategies = _of(policy).actions
    chosen = types or tuple(strategies)
    return st.one_of([strategies[cls] for cls in chosen])


def register_type_strategies(policy: Policy | None = None) -> None:
    """Make ``st.from_type`` draw valid facts and actions of every type of ``policy`` (by
    default the handbook's): each concrete type, and the bases ``Fact``, ``EscalationFact``
    and ``Action``. Importing this module calls it for the handbook's policy; calling it
    again changes nothing."""
    built = _of(policy)
    for cls, strategy in built.facts.items():
        st.register_type_strategy(cls, strategy)
    st.register_type_strategy(Fact, facts(policy=policy))
    escalation_fact_types = [cls for cls in built.facts if issubclass(cls, EscalationFact)]
    st.register_type_strategy(EscalationFact, facts(*escalation_fact_types, policy=policy))
    for action_cls, action_strategy in built.actions.items():
        st.register_type_strategy(action_cls, action_strategy)
    st.register_type_strategy(Action, actions(policy=policy))


# -------------------------------------------------------------------------------------- histories
Draw = Callable[[st.SearchStrategy[Any]], Any]


class _Builder:
    """Builds facts of one policy for histories: fields from small pools, so that histories
    repeat names and values, and posts by the escalation's owner are common."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.texts = _of(policy).texts
        self.zone_field = _zone_field(policy)
        terms = policy.terms
        self.opening = terms.opening
        self.others = tuple(cls for cls in terms.facts.values() if not cls.OPENS)
        self.after_closing = tuple(cls for cls in self.others if cls.AFTER_CLOSING)
        self.closing = tuple(cls for cls in self.others if CLOSED in terms.moves[cls.TYPE].values())
        owner = next(
            (
                type(row.then["owner"])
                for compiled in policy.tables
                for row in compiled.table.rows
                if isinstance(row.then.get("owner"), enum.Enum)
            ),
            None,
        )
        self.owner_values: type[enum.Enum] | None = owner

    def pool(self, kind: object, name: str, owner: object) -> list[object]:
        """The values histories draw a field from."""
        inner, optional = _optional(kind)
        values: list[object]
        if inner is str and name == self.zone_field:
            values = list(_ZONES)
        elif inner is str:
            values = [*self.texts, *_NAMES] if name != "customer" else ["Acme", "Globex"]
        elif inner is bool:
            values = [False, True]
        elif isinstance(inner, type) and issubclass(inner, enum.Enum):
            values = list(inner)
            if inner is self.owner_values and owner is not None:
                values = [owner, *values]  # the owner acts more often than anyone else
        elif typing.get_origin(inner) is tuple:
            values = [(), (_NAMES[0],)]
        else:
            raise TypeError(f"no values for {name}: {kind!r}")
        return [None, *values] if optional else values

    def draw(
        self, draw: Draw, cls: type[Fact], at: dt.datetime, escalation_id: str, owner: object
    ) -> Fact:
        hints = typing.get_type_hints(cls)
        # No fact ids: two facts of a history with one id would be one fact delivered twice.
        fields: dict[str, Any] = {"at": at, "escalation_id": escalation_id, "id": None}
        for field in attrs.fields(cls):
            if field.name in fields:
                continue
            fields[field.name] = draw(
                st.sampled_from(self.pool(hints[field.name], field.name, owner))
            )
        return cls(**fields)


@st.composite
def _history(
    draw: Draw, max_escalations: int, max_steps: int, compliant: bool, policy: Policy | None
) -> list[Fact]:
    chosen = policy or default_policy()
    if compliant:
        return _compliant(draw, max_escalations, chosen)
    # The history is simulated as it is drawn: each step sees the policy's current state (who
    # owns the escalation), and a fact the policy would refuse (a post to a closed escalation
    # it has already settled, say) becomes a tick at the same time.
    simulation = PolicyEngine(chosen)
    history: list[Fact] = []
    for fact in _draw_steps(draw, max_escalations, max_steps, simulation):
        try:
            simulation.handle(fact)
        except InputError:
            fact = Tick(at=fact.at)
            simulation.handle(fact)
        history.append(fact)
    return history


def _draw_steps(
    draw: Draw, max_escalations: int, max_steps: int, simulation: PolicyEngine
) -> Iterator[Fact]:
    """Facts, drawn one at a time: each is applied to ``simulation`` before the next is drawn."""
    builder = _Builder(simulation.policy)
    now = START
    open_ids: list[str] = []
    closed_ids: list[str] = []
    opened = 0
    kinds: list[object] = ["open", "tick", *builder.others]

    def owner(escalation_id: str) -> object:
        state = simulation.escalation(escalation_id)
        return state.owner if state is not None else None

    steps = draw(st.integers(min_value=1, max_value=max_steps))
    for _ in range(steps):
        now += dt.timedelta(minutes=draw(st.sampled_from([0, 5, 30, 90, 600, 1500, 3000, 6000])))
        kind = draw(st.sampled_from(kinds))
        if kind == "open" or not (open_ids or closed_ids):
            if opened >= max_escalations:
                yield Tick(at=now)
                continue
            opened += 1
            escalation_id = f"ESC-{opened}"
            yield builder.draw(draw, builder.opening, now, escalation_id, None)
            open_ids.append(escalation_id)
            continue
        if kind == "tick" or not isinstance(kind, type):
            yield Tick(at=now)
            continue
        if kind in builder.after_closing and closed_ids and draw(st.booleans()):
            escalation_id = draw(st.sampled_from(closed_ids))
            yield builder.draw(draw, kind, now, escalation_id, owner(escalation_id))
            continue
        if not open_ids:
            yield Tick(at=now)
            continue
        escalation_id = draw(st.sampled_from(open_ids))
        yield builder.draw(draw, kind, now, escalation_id, owner(escalation_id))
        state = simulation.escalation(escalation_id)
        if kind in builder.closing and (state is None or state.status == CLOSED):
            # Closed once the engine applied it (a closing fact it refused became a tick).
            open_ids.remove(escalation_id)
            closed_ids.append(escalation_id)


def _compliant(draw: Draw, max_escalations: int, policy: Policy) -> list[Fact]:
    """Escalations that do everything on time: each obligation the policy sets is met within
    its window (one-off obligations early in it, periodic ones just before they fall due).

    What is due and when is read from an engine running the policy alongside, and what meets
    it is found from the rules that fulfil it, so the histories comply with whatever policy
    they are drawn for.
    """
    builder = _Builder(policy)
    count = draw(st.integers(min_value=1, max_value=max_escalations))
    timeline: list[tuple[dt.datetime, int, Fact]] = []
    for number in range(1, count + 1):
        start = START + dt.timedelta(minutes=draw(st.integers(min_value=0, max_value=3 * 24 * 60)))
        span = dt.timedelta(days=draw(st.integers(min_value=0, max_value=4)), hours=12)
        minutes = int(span.total_seconds() // 60)
        moments = draw(st.lists(st.integers(min_value=1, max_value=minutes - 1), max_size=3))
        escalation_id = f"ESC-{number}"
        opening = _in_scope(draw, builder, start, escalation_id)
        extras = sorted(start + dt.timedelta(minutes=m) for m in set(moments))
        for fact in _complying(draw, builder, opening, start + span, extras):
            timeline.append((fact.at, len(timeline), fact))
    timeline.sort(key=lambda item: (item[0], item[1]))
    return [fact for _, _, fact in timeline]


def _in_scope(draw: Draw, builder: _Builder, at: dt.datetime, escalation_id: str) -> Fact:
    """An opening fact, of an escalation in scope where one can be drawn (out of scope, the
    policy asks nothing, and compliance is trivial)."""
    fact = builder.draw(draw, builder.opening, at, escalation_id, None)
    for _ in range(20):
        decision = decide(None, fact, policy=builder.policy)  # type: ignore[arg-type]
        clean = not any(isinstance(action, Violation) for action in decision.actions)
        if clean and decision.state is not None and decision.state.in_scope:
            break
        fact = builder.draw(draw, builder.opening, at, escalation_id, None)
    return fact


def _complying(
    draw: Draw, builder: _Builder, opening: Fact, end: dt.datetime, extras: list[dt.datetime]
) -> Iterator[Fact]:
    """One escalation's facts, from its opening to its settling, meeting every obligation.

    At each of ``extras`` a fact of a drawn type happens (a change of status, say), if it is
    one that breaks no rule then; each obligation it creates is then met in turn.
    """
    policy = builder.policy
    engine = PolicyEngine(policy)
    escalation_id = opening.escalation_id  # type: ignore[attr-defined]
    engine.handle(opening)
    yield opening
    now = opening.at
    closed = False
    steps = 0
    while (state := engine.escalation(escalation_id)) is not None:
        steps += 1
        if steps > _MOST_STEPS:  # a policy that no closing fact can satisfy: stop drawing
            return
        moves: list[tuple[dt.datetime, Fact]] = []
        for pending in state.pending:
            window = max(pending.due - now, dt.timedelta(0))
            # A periodic obligation is met just before it falls due, so that each one counts
            # (and, on a calendar's periods, within its period); a one-off early in its window.
            if pending.paused_left is not None:
                continue  # its clock is stopped: nothing is due
            if pending.every is not None or pending.period not in (None, ON_CALENDAR):
                at = pending.due - min(window / 8, dt.timedelta(hours=1))
            else:
                at = now + window / 4
            at = max(now, at.replace(microsecond=0))
            fulfilling = _fulfilling(builder, state, pending, at)
            if fulfilling is not None:
                moves.append((at, fulfilling))
        if extras and not closed:
            at = extras.pop(0)
            if at >= now:
                kind = draw(
                    st.sampled_from([c for c in builder.others if c not in builder.closing])
                )
                extra = builder.draw(draw, kind, at, escalation_id, state.owner)
                if _harmless(policy, state, extra):
                    moves.append((at, extra))
        if not closed and builder.closing:
            closing = _closing(builder, state, max(end, now))
            if closing is not None:
                moves.append((closing.at, closing))
        if not moves:  # nothing left to do: it is settled, or waits for nothing the policy sets
            return
        at, fact = min(moves, key=lambda move: move[0])
        engine.handle(fact)
        closed = closed or (
            (after := engine.escalation(escalation_id)) is None or after.status == CLOSED
        )
        now = at
        yield fact


_MOST_STEPS = 400
"""The most facts one compliant escalation is drawn with, so that drawing ends."""


def _harmless(policy: Policy, state: EscalationState, fact: Fact) -> bool:
    """Whether ``fact`` may happen now without breaking a rule."""
    try:
        decision = decide(state, fact, policy=policy)  # type: ignore[arg-type]
    except InputError:
        return False
    return not any(isinstance(action, Violation) for action in decision.actions)


def _closing(builder: _Builder, state: EscalationState, at: dt.datetime) -> Fact | None:
    """A fact that closes the escalation at ``at``, breaking no rule, if there is one."""
    for cls in builder.closing:
        for fact in _candidates(builder, cls, state, at, {}, None):
            if _harmless(builder.policy, state, fact):
                return fact
    return None


def _fulfilling(
    builder: _Builder, state: EscalationState, pending: PendingObligation, at: dt.datetime
) -> Fact | None:
    """A fact that meets ``pending`` at ``at`` and breaks no rule: one that a reaction which
    fulfils the obligation matches, found among the facts its conditions describe."""
    policy = builder.policy
    for compiled in policy.reactions:
        reaction = compiled.reaction
        for effect in reaction.then:
            if not (isinstance(effect, Fulfil) and effect.obligation.id == pending.obligation):
                continue
            for cls in reaction.on:
                fixed = _conditions(reaction, cls)
                if effect.key is not None:
                    fixed[effect.key] = [pending.key]
                for fact in _candidates(builder, cls, state, at, fixed, pending):
                    try:
                        decision = decide(state, fact, policy=policy)  # type: ignore[arg-type]
                    except InputError:
                        continue
                    met = any(
                        f.obligation == pending.obligation and f.due == pending.due
                        for f in decision.fulfilled
                    ) or _counted(pending, decision.state)
                    if met and not any(isinstance(a, Violation) for a in decision.actions):
                        return fact
    return None


def _counted(pending: PendingObligation, after: EscalationState | None) -> bool:
    """Whether a fact counted toward ``pending``'s period without completing it (one of two
    meetings a week, one part of a cadence): the period is still ``pending``'s, with more done
    of what it still lacked."""
    if after is None:
        return False
    for now in after.pending:
        if (now.obligation, now.key, now.due) != (pending.obligation, pending.key, pending.due):
            continue
        before = pending.counts or (0,) * len(now.counts)
        done = zip(before, now.counts, strict=False)
        if any(old < new and old < pending.required for old, new in done):
            return True
    return False


def _conditions(reaction: Reaction, cls: type[Fact]) -> dict[str, list[object]]:
    """The values a reaction's conditions ask of the fact's own fields."""
    fields = attrs.fields_dict(cls)
    wanted: dict[str, list[object]] = {}
    for name, cell in reaction.when.items():
        if name not in fields or isinstance(cell, (AnyValue, NoneOf)):
            continue
        wanted[name] = list(cell.values) if isinstance(cell, OneOf) else [cell]
    return wanted


def _candidates(
    builder: _Builder,
    cls: type[Fact],
    state: EscalationState,
    at: dt.datetime,
    fixed: Mapping[str, Iterable[object]],
    pending: PendingObligation | None,
) -> Iterator[Fact]:
    """Facts of type ``cls`` about the escalation at ``at``: the fields ``fixed`` names take
    those values, the others each value of their pool (a bounded number of combinations)."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in attrs.fields(cls) if f.name not in COMMON_FIELDS]
    choices = []
    for name in names:
        kind = hints[name]
        if name in fixed:
            values = [_as(kind, value) for value in fixed[name]]
        else:
            values = builder.pool(kind, name, state.owner)
        choices.append(values)
    build: Any = cls
    for combination in itertools.islice(itertools.product(*choices), 200):
        try:
            fields = dict(zip(names, combination, strict=True))
            yield build(at=at, escalation_id=state.escalation_id, **fields)
        except InputError:
            continue


def _as(kind: object, value: object) -> object:
    """``value`` (a key kept as text, say) as a value of a field of type ``kind``."""
    inner, _ = _optional(kind)
    if value is None:
        return None
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return inner(scalar(value))
    return value


def histories(
    *,
    max_escalations: int = 4,
    max_steps: int = 40,
    compliant: bool = False,
    policy: Policy | None = None,
) -> st.SearchStrategy[list[Fact]]:
    """Coherent histories of facts in time order (see the module's documentation).

    ``policy`` (default: the handbook's) is the policy the histories must be coherent for.
    """
    return _history(max_escalations, max_steps, compliant, policy)


# Registered on import, not only through hypothesis' entry point: a module that imports these
# strategies before hypothesis is imported cannot be loaded by that entry point (it is still
# being imported when hypothesis runs it), and hypothesis skips entry points altogether
# under HYPOTHESIS_NO_PLUGINS.
register_type_strategies()
