"""What the compiler hands the core: the loaded :class:`Policy` and its compiled tables,
reactions and obligations, immutable once loaded."""

import abc
import datetime as dt
import enum
import types
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

import attrs

from escalation_policy._language.context import Context
from escalation_policy._language.typed import LATEST
from escalation_policy.calendar import Calendar
from escalation_policy.errors import InputError, did_you_mean
from escalation_policy.model import Contract, EscalationFact
from escalation_policy.policy.terms import Terms
from escalation_policy.state import EarlyWork, PendingObligation
from escalation_policy.vocabulary import (
    BusinessTime,
    Calendars,
    DecisionTable,
    Effect,
    Obligation,
    Reaction,
    Setting,
    Tier,
)

if TYPE_CHECKING:
    from escalation_policy.policy.diff import PolicyDifference


@attrs.frozen
class Condition:
    """One compiled cell: ``field`` must (or, negated, must not) be one of ``values``."""

    field: str
    values: frozenset[object]
    negated: bool = False

    def matches(self, context: Mapping[str, object]) -> bool:
        return (context.get(self.field) in self.values) is not self.negated


class RuleKind(str, enum.Enum):
    """What a rule id names: a table's row or a reaction."""

    ROW = "row"
    REACTION = "reaction"

    def __str__(self) -> str:
        return str(self.value)


@attrs.frozen
class RuleInfo:
    """What the policy says about one rule id: a table row or a reaction."""

    id: str
    title: str
    cites: str
    module: str
    kind: RuleKind


@attrs.frozen
class CompiledTable:
    table: DecisionTable
    module: str
    row_ids: tuple[str, ...]  # full ids, "table.id/row.id"
    conditions: tuple[tuple[Condition, ...], ...]
    finite: bool  # every input has a finite domain: results can be memoised


@attrs.frozen
class CompiledReaction:
    """A reaction as the matchers and the core use it. A reaction that tests ``known`` may be
    compiled twice: for facts about escalations the engine knows, and for facts about those it
    does not (never opened, or settled and forgotten), which only the fact's own fields can
    match."""

    reaction: Reaction
    module: str
    types: frozenset[str]
    conditions: tuple[Condition, ...]
    known: bool = True
    """For facts about an escalation the engine knows; else about one it does not."""
    then: tuple[tuple[Effect, object], ...] = ()
    """Each effect, with what the loader compiled of it for the core's handler (the function
    that builds an :class:`~escalation_policy.vocabulary.Emit` effect's action; ``None`` for
    most kinds)."""


CALENDAR_TIME = Calendar.always("calendar time")
"""The clock of a policy that declares no calendars: open at every instant."""


class UnknownCalendarError(InputError):
    """A state names a calendar the policy does not declare."""


Announce = Callable[[str, dt.datetime, PendingObligation, object, Any], Any]
"""Builds an announcement: (escalation id, at, the pending instance, owner, record)."""


@attrs.frozen
class CompiledObligation:
    """An obligation as the core uses it: its declaration's knobs, its violation's detail and
    the function that builds its announcement (``None``: it is not announced)."""

    obligation: Obligation
    module: str
    id: str
    violation: Any
    key_from: str | None
    one_at_a_time: bool
    once_per_key: bool
    renew_when_overdue: bool
    announce_again_on_new_owner: bool
    announce: Announce | None
    owner_field: str | None
    pausable: bool = False
    parts: tuple[str, ...] = ()
    remind_in_open_hours: bool = False
    tiers: tuple[Tier, ...] = ()
    early_grace: "dt.timedelta | BusinessTime | None" = None
    early_keys: frozenset[str | None] | None = None
    """With an ``early_grace``: the keys its instances are required for (``None``: any)."""
    covered_by: frozenset[str] = frozenset()
    """The names of the obligations whose violation, due at the same instant (or, periodic,
    counting its due time among those missed), reports its miss
    (:attr:`~escalation_policy.vocabulary.Obligation.covered_by`)."""

    def keeps_early(self, key: str | None) -> bool:
        """Whether work done early for its instance of ``key`` (``None``: any) is kept: it has
        an ``early_grace``, and an instance of that key is ever required."""
        keys = self.early_keys
        return self.early_grace is not None and (key is None or keys is None or key in keys)

    def early_instance(self, work: EarlyWork) -> tuple[str, str | None]:
        """What one piece of work kept early stands for: its instance, or for an obligation
        keyed by the escalation's attribute the obligation (only the latest work counts)."""
        return work.obligation, None if self.key_from else work.key

    def missed(self, due: str, key: str | None, missing: str = "") -> str:
        """The detail of the violation reported when an instance is missed (``missing``:
        what its period lacked, for an obligation with parts)."""
        fields = {"due": due, "missing": missing}
        if self.obligation.key is not None:
            fields[self.obligation.key] = key or ""
        return self.obligation.missed.format(**fields)


@attrs.frozen(eq=False)
class Policy:
    """A loaded, validated policy. Build it with :func:`load_policy`."""

    tables: tuple[CompiledTable, ...]  # in dependency order
    reactions: tuple[CompiledReaction, ...]
    rules: Mapping[str, RuleInfo]
    obligations: Mapping[str, "CompiledObligation"]
    """The policy's obligations by name."""
    announces_period: Mapping[type[Any], frozenset[str]]
    """For each action class that announces the next period of a periodic obligation, the
    names of those obligations."""
    changes: Mapping[
        str,
        tuple[
            tuple[tuple[str, str], ...],
            Mapping[str, str],
            Callable[[object, object], bool] | None,
        ],
    ]
    """For each fact type that changes the escalation itself: the attributes it sets (attribute,
    field), how it moves the status (before: after), and, if the move depends on the
    severity it sets (``STATUS_WHEN``), whether a change from one severity to another moves
    it."""
    about_unknown: frozenset[str]
    """The fact types some reaction takes about an escalation the engine does not know."""
    terms: Terms
    """The facts, actions, values, attributes and context the policy is written in."""
    outputs: Mapping[str, str]
    """Every plan output the tables may produce, with its description."""
    channel: str | None
    """The channel the policy's obligations announce posts to, if it is one channel."""
    violation_codes: tuple[str, ...]
    """Every violation code the policy may report: its obligations' and its rules'."""
    late_fulfilment_window: dt.timedelta
    plan_inputs: tuple[str, ...]
    """The escalation's attributes the decision tables read: what a plan depends on."""
    settings: Mapping[str, object]
    """The value of each of the policy's settings, by name."""
    setting_declarations: Mapping[str, Setting]
    """Each of the policy's settings, as its rules declare it."""
    planning: frozenset[str]
    """The fact types on which the plan is made (the opening one, and those that set an
    attribute the tables read)."""
    calendars: Calendars | None = None
    """Which calendar each escalation's clocks count on (``None``: calendar time)."""
    horizon: dt.timedelta = dt.timedelta(0)
    """How far past a fact the policy may schedule anything: its longest ``within`` and
    longest period together, and the late fulfilment window."""
    latest: dt.datetime = LATEST
    """Facts must come before this, so that what the policy schedules stays in range."""
    opening_grace: dt.timedelta | BusinessTime = dt.timedelta(0)
    """How long a fact about an escalation not opened yet, which a reaction takes as such, is
    held for its opening to arrive (an ingestion race); zero: decided at once. A
    ``BusinessTime`` is open time on the escalation's calendar, which its opening chooses
    (:meth:`held_until`, :meth:`grace_ends`)."""
    setting_places: Mapping[tuple[str, str], str] = attrs.field(factory=dict)
    """Where the rules use a setting, by the rule's id and the place in it (a table row's
    output, or ``"2.within"``: a reaction's third effect's ``within``): the setting's name.
    The rules themselves hold its value."""
    _pinned: dict[str, Calendar] = attrs.field(
        init=False, factory=dict, repr=False, alias="_pinned"
    )
    _calendars: dict[str | None, Calendar] = attrs.field(
        init=False, factory=dict, repr=False, alias="_calendars"
    )
    _kept: dict[object, Any] = attrs.field(init=False, factory=dict, repr=False, alias="_kept")
    """What the library works out once for this policy and reuses (its shared matcher, its
    fact readers, the opening a fact class goes to), each under a key of its own: kept with
    the policy, not in the library's modules, so that it goes when the policy goes."""
    _fact_classes: list[tuple[object, frozenset[type[Any]]]] = attrs.field(
        init=False, factory=lambda: [(None, frozenset())], repr=False, alias="_fact_classes"
    )
    """One item: the ABCs' cache token, and the fact classes this policy declares whose
    objects :meth:`_takes_as_object` takes, as they were under that token."""

    def _takes_as_object(self, fact: object) -> TypeGuard[EscalationFact]:
        """Whether ``fact`` is an object of the class this policy declares for its type, a
        fact about one escalation and not a mapping (whose JSON form is read instead): the
        object :func:`~escalation_policy.decide` takes as it is. The same answer as
        ``isinstance(fact, EscalationFact) and not isinstance(fact, Mapping)`` with its class
        the declared one, without asking the ``Mapping`` ABC on every fact: its answer for
        each declared class is kept until the ABCs' cache token changes (a class registered
        with an ABC), as the ABC keeps its own."""
        token = abc.get_cache_token()
        known, classes = self._fact_classes[0]
        if known != token:
            classes = frozenset(
                cls
                for cls in self.terms.contract.facts.values()
                if issubclass(cls, EscalationFact) and not issubclass(cls, Mapping)
            )
            self._fact_classes[0] = (token, classes)
        kind = type(fact)
        if kind not in classes or not isinstance(fact, EscalationFact):
            return False
        return self.terms.contract.facts.get(fact.TYPE) is kind

    @property
    def contract(self) -> Contract:
        """The policy's JSON contract: its fact and action types, its value sets."""
        return self.terms.contract

    @property
    def identity(self) -> str:
        """``sha256:`` and 64 hexadecimal digits: the digest of everything the policy declares
        (its tables, reactions, obligations, citations, terms and settings' values), the same
        for the same package and settings on any machine; where a rule sits in its file,
        comments and formatting take no part. Actions, audits and stores name the policy by
        it."""
        from escalation_policy.policy.identity import identity

        return identity(self)

    @property
    def holds_for_opening(self) -> bool:
        """Whether facts about an escalation not opened yet are held for its opening."""
        grace = self.opening_grace
        return bool(grace.duration if isinstance(grace, BusinessTime) else grace)

    def done_once(self, name: str, key: str) -> Mapping[str, tuple[str, ...]]:
        """``{name: (key,)}``: an escalation's ``done`` once the obligation ``name`` was met for
        ``key``, and nothing else was. One mapping, never changed (a record replaces its
        ``done``), shared by the escalations of each of the first pairs met (a TAM informed of
        many escalations), so that each costs a reference; a new one for each after them."""
        shared: dict[tuple[str, str], Mapping[str, tuple[str, ...]]] | None
        shared = self._kept.get("done once")
        if shared is None:
            shared = self._kept["done once"] = {}
        found = shared.get((name, key))
        if found is None:
            found = types.MappingProxyType({name: (key,)})
            if len(shared) < _SHARED_DONE:
                shared[name, key] = found
        return found

    def held_until(self, at: dt.datetime) -> dt.datetime:
        """Until when a fact of time ``at``, about an escalation not opened yet, is held for
        its opening: the opening grace after it (in open time for a ``BusinessTime``) on
        whichever calendar the escalation may count on ends it last. Which that is, its
        opening says (``Calendars.by``, and its zone with ``Calendars.zone_from``): until then
        every calendar the policy declares is one, in any time zone where it takes its zone
        from the opening. At the opening, the escalation's own calendar decides
        (:meth:`grace_ends`). In calendar time for a policy without ``CALENDARS``."""
        grace = self.opening_grace
        if not isinstance(grace, BusinessTime):
            return at + grace
        if self.calendars is None:  # as a BusinessTime within is: calendar time
            return at + grace.duration
        ends: dict[dt.datetime, dt.datetime] | None = self._kept.get("held until")
        if ends is None:
            ends = self._kept["held until"] = {}
        end = ends.get(at)
        if end is None:
            end = max(calendar.add(at, grace.duration) for calendar in self._opening_calendars())
            if self.calendars.zone_from is not None:  # summer time begun or ended between
                end += _CLOCKS_CHANGED
            if len(ends) >= _HELD_UNTIL_KEPT:
                ends.clear()
            ends[at] = end
        return end

    def grace_ends(self, at: dt.datetime, calendar: str | None) -> dt.datetime:
        """When the opening grace of a fact of time ``at`` ends on the calendar an escalation
        counts on (its name, as :attr:`EscalationState.calendar` gives it): a fact held for
        the opening is the escalation's if the opening comes by then."""
        grace = self.opening_grace
        if not isinstance(grace, BusinessTime):
            return at + grace
        if self.calendars is None:
            return at + grace.duration
        return self.calendar(calendar).add(at, grace.duration)

    def _opening_calendars(self) -> "tuple[Calendar, ...]":
        """The calendars an escalation not opened yet may count on: see :meth:`held_until`."""
        found: tuple[Calendar, ...] | None = self._kept.get("opening calendars")
        if found is None:
            declared = self.calendars
            assert declared is not None
            names = sorted({c.name for c in (declared.default, *declared.choose.values())})
            zones = ("",) if declared.zone_from is None else ("", *_EVERY_OFFSET)
            found = tuple(
                self.calendar(f"{name}@{zone}" if zone else name)
                for name in names
                for zone in zones
            )
            self._kept["opening calendars"] = found
        return found

    def calendar(self, name: str | None, pinned: str | None = None) -> Calendar:
        """The calendar an escalation's state names (:attr:`EscalationState.calendar`):
        one the policy declares, moved into a zone for ``NAME@ZONE``; calendar time for
        ``None``. With ``pinned`` (:attr:`EscalationState.calendar_identity`), the calendar of
        that identity the escalation was opened or last re-planned under, where it differs
        from the one the policy declares now and its definition is known
        (:meth:`remember`); else the one declared now."""
        found = self._calendars.get(name)
        if found is None:
            found = self._calendars[name] = self._find_calendar(name)
        if pinned is not None and pinned != found.identity:
            return self._pinned.get(pinned, found)
        return found

    def remember(self, calendar: Calendar) -> None:
        """Keep ``calendar``, one escalations were pinned to (read back from a store or a
        snapshot), so that they keep counting on it until re-planned."""
        self._pinned.setdefault(calendar.identity, calendar)

    def pinned_calendars(self, identities: "Iterable[str | None]") -> tuple[Calendar, ...]:
        """The calendars of these identities that this policy knows (declared or
        remembered), in order of identity: what a snapshot keeps of them."""
        known = {calendar.identity: calendar for calendar in self._pinned.values()}
        for name in self._calendars:
            calendar = self._calendars[name]
            known.setdefault(calendar.identity, calendar)
        wanted = {identity for identity in identities if identity is not None}
        return tuple(known[identity] for identity in sorted(wanted) if identity in known)

    def _find_calendar(self, name: str | None) -> Calendar:
        if name is None or self.calendars is None:
            return CALENDAR_TIME
        base, _, zone = name.partition("@")
        declared = self.calendars
        for calendar in (declared.default, *declared.choose.values()):
            if calendar.name == base:
                return calendar.in_zone(zone) if zone else calendar
        raise UnknownCalendarError(
            f"got the calendar {name!r}, which this policy does not declare; expected one of "
            + ", ".join(sorted({c.name for c in (declared.default, *declared.choose.values())}))
            + " (was the state written with another policy?)"
        )

    def diff(self, other: "Policy") -> "tuple[PolicyDifference, ...]":
        """What changes from this policy to ``other``: each place where what they declare
        differs (a table's row, a reaction, an obligation, a setting, a term), named by its
        rule ids. Empty exactly when both have the same :attr:`identity`."""
        from escalation_policy.policy.diff import differences

        return differences(self, other)

    @property
    def context(self) -> Context:
        """The fields the policy's conditions may test."""
        return self.terms.context

    def rule(self, rule_id: str) -> RuleInfo:
        """The rule with this id; ``KeyError`` naming close ids if there is none."""
        try:
            return self.rules[rule_id]
        except KeyError:
            raise KeyError(f"no rule {rule_id!r}{did_you_mean(rule_id, self.rules)}") from None

    def table(self, table_id: str) -> DecisionTable:
        """The decision table with id ``table_id`` (a ``KeyError`` names a close one)."""
        for compiled in self.tables:
            if compiled.table.id == table_id:
                return compiled.table
        raise KeyError(f"no table {table_id!r}")

    def is_escalation_channel(self, channel: str) -> bool:
        """Whether ``channel`` names the policy's channel (``#`` and case do not matter)."""
        mine = self.channel
        return mine is not None and channel_key(channel) == channel_key(mine)


def channel_key(channel: str) -> str:
    """A channel's name as channels are compared: ``#`` and case do not matter."""
    return channel.lstrip("#").casefold()


Emitter = Callable[[str, dt.datetime, str, str, Any, Any], Any]
"""Builds an emitted action: (escalation id, at, rule, cites, record, fact) -> action."""


_SHARED_DONE = 4096
"""At most this many ``done`` mappings a policy shares (see :meth:`Policy.done_once`): what
facts name (a TAM) is unbounded, what the policy keeps is not."""

_HELD_UNTIL_KEPT = 4096
"""How many facts' hold :meth:`Policy.held_until` keeps told, before it starts again."""

_CLOCKS_CHANGED = dt.timedelta(hours=2)
"""How much later a grace may end in a zone whose clocks change while it runs than in the zone
of its offset before (an hour in most zones, two in Antarctica/Troll)."""

_EVERY_OFFSET = (
    *(f"Etc/GMT{hours:+d}" if hours else "Etc/GMT" for hours in range(12, -15, -1)),
    "America/St_Johns",
    "Pacific/Marquesas",
    "Asia/Tehran",
    "Asia/Kabul",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Yangon",
    "Australia/Darwin",
    "Australia/Adelaide",
    "Australia/Eucla",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
)
"""A zone of each offset from UTC in use (``Etc/GMT+12`` is twelve hours behind UTC; the
half- and three-quarter-hour ones by a zone that keeps them): where a policy's calendar moves
into the customer's zone, a fact held for an opening is held until its grace has passed in
every one, and two hours more for clocks changed between (by one hour in most zones, two in
Antarctica/Troll) (:meth:`Policy.held_until`)."""
