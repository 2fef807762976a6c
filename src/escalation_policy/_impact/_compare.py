"""Two replays in step: a history under the base policy and under the new one, and what
differs, escalation by escalation.

Each item of the history goes to both replays (:class:`~escalation_policy._audit.Replay`)
before the next is read, and each replay's observer writes the actions it is told into one
ledger per escalation: the new policy's count up, the base's down. An action both take cancels
out as soon as both have taken it, so the ledgers hold only what differs, however long the
history. When the history ends, what is left is paired: an action of the same kind, rule and
obligation (or code) that both take at other times, or with other fields, is one change, not
one added and one removed.
"""

import datetime as dt
import enum
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._audit import AuditCalendar, AuditRefusal, Replay, Replayed
from escalation_policy._convert import read_fact, shared_converter
from escalation_policy._impact._report import (
    ActionChange,
    ChangeKind,
    EscalationImpact,
    ImpactReport,
    totals_of,
)
from escalation_policy.engine import EngineName, PolicyEngine
from escalation_policy.errors import InputError, PolicyDefinitionError
from escalation_policy.model import ACTION_FIELDS, Action, EscalationFact, Fact, parse_timestamp
from escalation_policy.policy import Policy
from escalation_policy.state import EscalationState, Fulfilment

__all__ = ["Comparison", "order", "renames", "time_of"]

_Key = tuple[str, dt.datetime | None]
"""An escalation of the history: its id and when it opened (``None``: never opened)."""

_IDENTIFYING = ("code", "obligation", "key", "tier", "reason", "purpose")
"""Fields that tell what an action is about, where an action has them: two actions of the same
type and rule that differ in one of these are not the same action at another time."""


def renames(base: Policy, policy: Policy) -> dict[str, str]:
    """The base's rule ids that ``policy`` declares renamed (``replaces``), with their new ids.

    A rule may replace ids of the base it no longer has; naming one the policy still has, or
    one another rule replaces too, is a :class:`PolicyDefinitionError` (two rules cannot both
    be the one the base had)."""
    found: dict[str, str] = {}

    def add(old: str, new: str) -> None:
        if old in policy.rules:
            raise PolicyDefinitionError(
                f"replaces {old!r}, which the policy still has: a rule replaces the id of a "
                "rule renamed, which is gone",
                rule=new,
            )
        if found.get(old, new) != new:
            raise PolicyDefinitionError(
                f"replaces {old!r}, which {found[old]!r} replaces too: one rule takes the "
                "place of a renamed one",
                rule=new,
            )
        found[old] = new

    for compiled in policy.tables:
        table = compiled.table
        for row, full in zip(table.rows, compiled.row_ids, strict=True):
            for old in row.replaces:
                add(old if "/" in old else f"{table.id}/{old}", full)
    for compiled_reaction in policy.reactions:
        reaction = compiled_reaction.reaction
        for old in reaction.replaces:
            add(old, reaction.id)
    return {old: new for old, new in found.items() if old in base.rules}


def _plain(value: object) -> object:
    """A value as both policies' actions can be compared by: a member by its value."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return tuple(_plain(item) for item in value)
    if isinstance(value, Mapping):
        return tuple(sorted((str(key), _plain(item)) for key, item in value.items()))
    return value


class _Canon:
    """What an action is compared by: the action itself where both policies have its class
    (attrs compares and hashes it by its fields), else its type and its fields' plain
    values; the base's actions under the new policy's id for a renamed rule."""

    def __init__(self, policy: Policy, other: Policy, rename: Mapping[str, str]) -> None:
        self.shared = frozenset(
            tag
            for tag, cls in policy.contract.actions.items()
            if other.contract.actions.get(tag) is cls
        )
        self.rename = dict(rename)
        self.names: dict[type[Any], tuple[str, ...]] = {}

    def __call__(self, action: Action) -> object:
        if self.rename:
            renamed = self.rename.get(action.rule)
            if renamed is not None:
                action = attrs.evolve(action, rule=renamed)
        if action.TYPE in self.shared:
            return action
        return self.plain(action)

    def plain(self, action: Action) -> tuple[object, ...]:
        cls = type(action)
        names = self.names.get(cls)
        if names is None:
            names = self.names[cls] = tuple(field.name for field in attrs.fields(cls))
        return (action.TYPE, *(_plain(getattr(action, name)) for name in names))


class _Ledger:
    """One escalation's actions not yet matched: by what they are compared by, the count
    (the new policy's up, the base's down) and one of them, as taken."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[object, list[Any]] = {}


class _Kept:
    """One policy's side of one escalation: its actions, into the escalation's ledger."""

    __slots__ = ("canon", "ledger", "sign")

    def __init__(self, ledger: _Ledger, sign: int, canon: _Canon) -> None:
        self.ledger = ledger
        self.sign = sign
        self.canon = canon

    def action(self, action: Action) -> None:
        key = self.canon(action)
        entries = self.ledger.entries
        try:
            found = entries.get(key)
        except TypeError:  # a field that cannot be hashed: its plain form can
            key = self.canon.plain(action)
            found = entries.get(key)
        if found is None:
            entries[key] = [self.sign, action]
            return
        found[0] += self.sign
        if not found[0]:
            del entries[key]

    def fulfilled(self, fulfilment: Fulfilment) -> None:
        """Compared are actions: what people did is the same history under both."""

    def fact(self, fact: EscalationFact, fulfilled: Sequence[Fulfilment]) -> None:
        """The same facts under both policies."""

    def state(self, state: EscalationState | None, at: dt.datetime) -> None:
        """Not asked for."""


class _Side:
    """One policy's replay, observed into the shared ledgers."""

    needs_state = False

    def __init__(self, sign: int, ledgers: dict[_Key, _Ledger], canon: _Canon) -> None:
        self.sign = sign
        self.ledgers = ledgers
        self.canon = canon

    def _ledger(self, key: _Key) -> _Ledger:
        found = self.ledgers.get(key)
        if found is None:
            found = self.ledgers[key] = _Ledger()
        return found

    def opened(self, fact: EscalationFact, calendar: AuditCalendar | None) -> _Kept:
        return _Kept(self._ledger((fact.escalation_id, fact.at)), self.sign, self.canon)

    def unopened(self, action: Action) -> None:
        _Kept(self._ledger((action.escalation_id, None)), self.sign, self.canon).action(action)

    def ended(self, escalations: Sequence[_Kept], replayed: Replayed) -> None:
        """The ledgers are read once both replays have ended."""


def time_of(data: object) -> dt.datetime | None:
    """The time a fact's JSON form gives, if it gives one that reads."""
    if isinstance(data, Fact):
        return data.at
    if not isinstance(data, Mapping):
        return None
    try:
        return parse_timestamp(data.get("at"))
    except ValueError:
        return None


class Comparison:
    """The history under ``base`` and under ``policy``, fed an item at a time
    (:meth:`feed`), then :meth:`report`.

    An item is a fact's JSON form (a mapping, read by each policy), a fact of ``policy`` (read
    by the base from its JSON form, unless both policies have its class), or an
    ``InputError`` standing for an item that could not be read. What the new policy refuses
    raises, with its position, unless ``keep_going``; what the base does not know or refuses
    is skipped for the base and listed. Either way time passes to a skipped fact's time, so
    that both policies see the same clock.
    """

    def __init__(
        self,
        policy: Policy,
        base: Policy,
        *,
        engine: EngineName = "native",
        keep_going: bool = False,
    ) -> None:
        self.policy = policy
        self.base_policy = base
        self.rename = renames(base, policy)
        self.ledgers: dict[_Key, _Ledger] = {}
        self.new = Replay(
            PolicyEngine(policy, engine=engine),
            [_Side(1, self.ledgers, _Canon(policy, base, {}))],
            keep_going=keep_going,
        )
        self.base = Replay(
            PolicyEngine(base, engine=engine),
            [_Side(-1, self.ledgers, _Canon(base, policy, self.rename))],
            keep_going=True,
        )
        self.same_facts = dict(policy.contract.facts) == dict(base.contract.facts)
        self.skipped: list[AuditRefusal] = []
        self._to_json = shared_converter(policy)

    @property
    def count(self) -> int:
        """Items fed so far."""
        return self.new.count

    def feed(self, item: Fact | Mapping[str, Any] | InputError) -> None:
        new, base = self.new, self.base
        if isinstance(item, InputError):
            new.feed(item)  # raises, unless keep_going: then refused, for both
            return
        data: Mapping[str, Any] | None = None
        fact: Fact | InputError
        if isinstance(item, Fact):
            fact = item
        else:
            data = item
            try:
                fact = read_fact(data, self.policy)
            except InputError as error:
                fact = error
        at = fact.at if isinstance(fact, Fact) else time_of(data)
        refused = len(new.refused)
        new.feed(fact)
        new_refused = len(new.refused) > refused
        if new_refused and at is not None:
            new.pass_time(at)
        if isinstance(fact, Fact) and self.same_facts:
            taken: Fact | InputError = fact
        else:
            if data is None:
                data = self._to_json.unstructure(fact, Fact)
            try:
                taken = read_fact(data, self.base_policy)
            except InputError as error:
                taken = error
        before = len(base.refused)
        base.feed(taken)
        if len(base.refused) > before:
            refusal = base.refused.pop()
            if not new_refused:  # refused by both: listed once, as refused
                self.skipped.append(attrs.evolve(refusal, line=new.count))
            if at is not None:
                base.pass_time(at)

    def skip(self, at: dt.datetime | None) -> None:
        """An item about another partition's escalation: only its time passes, under both
        (as it does for the escalations it is not about when it is fed)."""
        self.new.count += 1
        self.base.count += 1
        if at is not None:
            self.new.pass_time(at)
            self.base.pass_time(at)

    def feed_all(
        self,
        items: Iterable[Fact | Mapping[str, Any] | InputError],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        for item in items:
            self.feed(item)
            if progress is not None and self.new.count % 10_000 == 0:
                progress(self.new.count)

    def report(self, as_of: dt.datetime | None = None) -> ImpactReport:
        """The history has ended (``as_of``: time passes until then under both): what
        differs."""
        replayed = self.new.end(as_of)
        self.base.end(as_of)
        base_json = shared_converter(self.base_policy)
        escalations = []
        for (escalation_id, opened_at), ledger in self.ledgers.items():
            if ledger.entries:
                changes = _changes(ledger, self.rename, self._to_json, base_json)
                escalations.append(
                    EscalationImpact(
                        escalation_id=escalation_id, opened_at=opened_at, changes=changes
                    )
                )
        escalations.sort(key=order)
        compared = sum(1 for _, opened_at in self.ledgers if opened_at is not None)
        return ImpactReport(
            base=self.base_policy.identity,
            policy=self.policy.identity,
            facts=replayed.facts,
            renamed=dict(sorted(self.rename.items())),
            escalations=tuple(escalations),
            totals=totals_of(escalations, compared),
            skipped_by_base=tuple(self.skipped),
            refused=replayed.refused,
        )


def order(escalation: EscalationImpact) -> tuple[bool, dt.datetime, str]:
    """Escalations in order of opening, then those never opened, by id."""
    opened = escalation.opened_at
    return (opened is None, opened or dt.datetime.min, escalation.escalation_id)


@attrs.frozen
class _Taken:
    """An action one policy took that the other did not, as the report shows it."""

    action: Action
    rule: str
    data: Mapping[str, Any]
    temporal: frozenset[str]


def _taken(action: Action, rule: str, converter: Any) -> _Taken:
    data = _json(converter.unstructure(action))
    temporal = frozenset(
        field.name
        for field in attrs.fields(type(action))
        if isinstance(getattr(action, field.name), (dt.datetime, dt.timedelta))
        or field.name == "periods"
    )
    return _Taken(action=action, rule=rule, data=data, temporal=temporal)


def _json(value: Any) -> Any:
    """The unstructured form with members as their values: plain JSON data."""
    if isinstance(value, enum.Enum):
        return _json(value.value)
    if isinstance(value, Mapping):
        return {str(key): _json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(item) for item in value]
    return value


def _same(taken: _Taken, *, timeless: bool) -> tuple[object, ...]:
    """What pairs an added action with a removed one: its type, rule and, ``timeless``, every
    field but its times (and a violation's detail, which gives them); else the fields that
    tell what it is about."""
    data = taken.data
    if timeless:
        skip = {*taken.temporal, *ACTION_FIELDS, "detail"}
        rest = tuple(sorted((k, repr(v)) for k, v in data.items() if k not in skip))
    else:
        rest = tuple((name, repr(data.get(name))) for name in _IDENTIFYING if name in data)
    return (taken.action.TYPE, taken.rule, rest)


def _changes(
    ledger: _Ledger, rename: Mapping[str, str], new_json: Any, base_json: Any
) -> tuple[ActionChange, ...]:
    added: list[_Taken] = []
    removed: list[_Taken] = []
    for count, action in ledger.entries.values():
        if count > 0:
            added += [_taken(action, action.rule, new_json) for _ in range(count)]
        else:
            rule = rename.get(action.rule, action.rule)
            removed += [_taken(action, rule, base_json) for _ in range(-count)]
    added.sort(key=lambda t: (t.action.at, repr(sorted(t.data.items()))))
    removed.sort(key=lambda t: (t.action.at, repr(sorted(t.data.items()))))
    pairs: list[tuple[_Taken, _Taken]] = []
    for timeless in (True, False):
        waiting: dict[tuple[object, ...], deque[_Taken]] = defaultdict(deque)
        for taken in removed:
            waiting[_same(taken, timeless=timeless)].append(taken)
        left: list[_Taken] = []
        paired: set[int] = set()
        for taken in added:
            queue = waiting.get(_same(taken, timeless=timeless))
            if queue:
                before = queue.popleft()
                pairs.append((before, taken))
                paired.add(id(before))
            else:
                left.append(taken)
        added = left
        removed = [taken for taken in removed if id(taken) not in paired]
    changes = [_change("changed", after, before, after) for before, after in pairs]
    changes += [_change("added", taken, None, taken) for taken in added]
    changes += [_change("removed", taken, taken, None) for taken in removed]
    kinds: dict[ChangeKind, int] = {"removed": 0, "changed": 1, "added": 2}
    changes.sort(key=lambda c: (c.at, kinds[c.kind], c.rule))
    return tuple(changes)


def _change(
    kind: ChangeKind, either: _Taken, before: _Taken | None, after: _Taken | None
) -> ActionChange:
    """A change, told by ``either`` of its sides (the new one where there is one)."""
    fields: tuple[str, ...] = ()
    if before is not None and after is not None:
        names = [*after.data, *(name for name in before.data if name not in after.data)]
        fields = tuple(
            name
            for name in names
            if name != "rule" and before.data.get(name) != after.data.get(name)
        )
    code = either.data.get("code") if either.action.TYPE == "violation" else None
    return ActionChange(
        kind=kind,
        type=either.action.TYPE,
        rule=either.rule,
        code=str(code) if code is not None else None,
        at=either.action.at,
        before=before.data if before is not None else None,
        after=after.data if after is not None else None,
        fields=fields,
    )
