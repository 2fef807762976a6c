"""The rule vocabulary: what a rule module is written in.

A rule module declares ``TABLES`` (decision tables with an explicit hit policy),
``REACTIONS`` (what the policy does when a fact arrives) and ``OBLIGATIONS`` (what its people
must do by a due time), and may declare the terms they are written in: ``FACTS`` (fact types,
attrs classes derived from :class:`~escalation_policy.model.EscalationFact`), ``ACTIONS``,
``CONTEXT`` (fields its conditions compute, :class:`ContextField`) and ``OUTPUTS`` (its own
table outputs, name: description). All are plain, frozen data; the engines interpret them.
A package needs nothing of the library but this module: the bases of its facts and actions
(:class:`EscalationFact`, :class:`Action`), its value sets (:class:`Values`, ``NON_EMPTY``
for text that must not be empty), :func:`quick_init` for the actions it emits often, and the
wording its actions' ``describe`` uses (:func:`label`, :func:`timestamp`, :func:`duration`).
Conditions compare the *context* of a fact: the escalation's attributes, the fact's own fields,
the engine's ``in_scope``, ``status``, ``owner`` and ``cadence``, and the computed fields (see
``docs/writing-rules.md``; ``Policy.context`` lists them for a loaded policy).
"""

import datetime as dt
import enum
import sys
from collections.abc import Mapping
from typing import Any, ClassVar, TypeAlias

import attrs

from escalation_policy._language.context import BOOL, ContextField, Situation
from escalation_policy._language.frozen import quick_init
from escalation_policy._language.typed import NON_EMPTY
from escalation_policy._language.wording import duration, label, timestamp
from escalation_policy.calendar import (
    FRIDAY,
    MONDAY,
    SATURDAY,
    SUNDAY,
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    Calendar,
    Holiday,
)
from escalation_policy.model import Action, EscalationFact, Fact, Values
from escalation_policy.periods import (
    BusinessTime,
    EachBusinessDay,
    EveryBusinessDays,
    Period,
    Rolling,
    TimesPerWeek,
)

__all__ = [
    "ANY",
    "BOOL",
    "EFFECTS",
    "FRIDAY",
    "MONDAY",
    "NON_EMPTY",
    "SATURDAY",
    "SUNDAY",
    "THURSDAY",
    "TUESDAY",
    "WEDNESDAY",
    "Accept",
    "Action",
    "AnyValue",
    "ApplyPlan",
    "BusinessTime",
    "Calendar",
    "Calendars",
    "Cancel",
    "ContextField",
    "DecisionTable",
    "EachBusinessDay",
    "Effect",
    "Emit",
    "EscalationFact",
    "EveryBusinessDays",
    "Fulfil",
    "HitPolicy",
    "Holiday",
    "Location",
    "NoneOf",
    "Obligation",
    "OneOf",
    "OutOfScope",
    "Pause",
    "Period",
    "Reaction",
    "ReactsTo",
    "Require",
    "Resume",
    "Rolling",
    "Row",
    "Setting",
    "Situation",
    "Tier",
    "TimesPerWeek",
    "Values",
    "Violation",
    "duration",
    "label",
    "none_of",
    "one_of",
    "quick_init",
    "timestamp",
]


# ----------------------------------------------------------------------------------- conditions
@attrs.frozen
class AnyValue:
    """Matches every value (a ``-`` cell in a decision table)."""

    def __repr__(self) -> str:
        return "ANY"


ANY = AnyValue()


@attrs.frozen
class OneOf:
    """Matches any of ``values``."""

    values: tuple[object, ...]


@attrs.frozen
class NoneOf:
    """Matches anything but ``values``."""

    values: tuple[object, ...]


def one_of(*values: object) -> OneOf:
    return OneOf(values)


def none_of(*values: object) -> NoneOf:
    return NoneOf(values)


Cell: TypeAlias = object
"""A condition cell: a value, :func:`one_of`, :func:`none_of` or :data:`ANY`."""


# ------------------------------------------------------------------------------------- location
@attrs.frozen
class Location:
    """Where a table, row or reaction was declared: the file and line of the call that built
    it. Load errors name it; it takes no part in comparing rules."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


def _declared_at() -> Location | None:
    """The location of the code that is building a rule: the first caller outside attrs.

    Rules are built when their module is imported (or copied with ``attrs.evolve``), never
    while facts are handled, so reading the stack costs nothing at run time. The field is not
    an argument of ``__init__``: an evolved copy is a new declaration, located where it is made.
    """
    frame = sys._getframe(1)
    while frame is not None:
        file = frame.f_code.co_filename
        package = str(frame.f_globals.get("__name__", "")).partition(".")[0]
        if not file.startswith("<attrs generated") and package not in ("attr", "attrs"):
            return Location(file=file, line=frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _rule_ids(value: "str | tuple[str, ...]") -> tuple[str, ...]:
    """``replaces`` as a tuple of rule ids: one id may be given alone."""
    return (value,) if isinstance(value, str) else tuple(value)


def _obligations(value: object) -> Any:
    """``covered_by`` as a tuple: one obligation may be given alone. Anything else is kept as
    it is, for the loader to refuse with the module and line."""
    if isinstance(value, Obligation):
        return (value,)
    if isinstance(value, list):
        return tuple(value)
    return value


# ------------------------------------------------------------------------------------- settings
@attrs.frozen(kw_only=True)
class Setting:
    """A limit the handbook leaves open, declared once with its default and what it means.

    Rules use it wherever a value goes (a ``within``, a ``remind_before``, a table's output);
    ``load_policy(settings={name: value})`` or ``--setting NAME=VALUE`` on the command line
    changes it without editing the rules, and the policy's reference shows each value.
    """

    name: str
    default: object
    description: str
    defined_at: Location | None = attrs.field(
        init=False, factory=_declared_at, eq=False, hash=False, repr=False
    )
    """Where the setting was declared (``None`` if Python cannot tell)."""


# --------------------------------------------------------------------------------------- tables
class HitPolicy(str, enum.Enum):
    """How many rows of a decision table may match one input."""

    UNIQUE = "unique"
    """Exactly one row matches every input; overlapping rows are an error at load time."""
    FIRST = "first"
    """Rows may overlap; the first matching row wins. Every input must match some row."""
    COLLECT = "collect"
    """Every matching row contributes; outputs are lists concatenated in row order."""


@attrs.frozen(kw_only=True)
class Row:
    """One row of a decision table: ``when`` every input cell matches, ``then`` these outputs."""

    id: str
    when: Mapping[str, Cell]
    then: Mapping[str, Any]
    cites: str | None = None
    """A narrower handbook section than the table's, if the row has one."""
    replaces: tuple[str, ...] = attrs.field(default=(), converter=_rule_ids)
    """The ids this row had before it was renamed (in the same table), so that comparing
    what two policies do (``escalation-policy impact``) takes the rename for no change."""
    defined_at: Location | None = attrs.field(
        init=False, factory=_declared_at, eq=False, hash=False, repr=False
    )
    """Where the row was declared (``None`` if Python cannot tell)."""


@attrs.frozen(kw_only=True)
class DecisionTable:
    id: str
    title: str
    cites: str
    hit_policy: HitPolicy
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    rows: tuple[Row, ...]
    columns: Mapping[str, str] = attrs.field(factory=dict)
    """How the rendered table titles its columns (``{"severity": "Severity Level"}``); a
    field without a title is titled after its name."""
    defined_at: Location | None = attrs.field(
        init=False, factory=_declared_at, eq=False, hash=False, repr=False
    )
    """Where the table was declared (``None`` if Python cannot tell)."""


# -------------------------------------------------------------------------------------- effects
class ReactsTo(enum.Enum):
    """The facts a kind of effect may react to."""

    ANY_FACT = "any fact"
    PLANNING_FACTS = "the facts on which the plan is made"
    OPENING_FACT = "the fact that opens an escalation"


class Effect:
    """What a reaction does. A kind that emits one action is named after it
    (``CreateTrackerDocument`` emits ``create_tracker_document``; :class:`Require` emits the
    obligation's announcement).

    Each kind is declared once, here, and listed in :data:`EFFECTS`; what the rest of the
    library needs to know of it, it declares on itself: the facts it may react to
    (``REACTS_TO``) and why, whether it may react to a fact about an escalation the engine does
    not know (``ABOUT_UNKNOWN``), and its name (``NAME``), under which the loader's check and
    the core's handler of the kind are found (both are looked up for every kind of
    :data:`EFFECTS` when their module is imported). The loader refuses any other kind."""

    __slots__ = ()

    NAME: ClassVar[str] = ""
    """The kind's name, as its action's: ``apply_plan`` for :class:`ApplyPlan`."""
    REACTS_TO: ClassVar[ReactsTo] = ReactsTo.ANY_FACT
    REACTS_TO_WHY: ClassVar[str] = ""
    """Why it reacts to no other facts than ``REACTS_TO``, for the loader's error."""
    ABOUT_UNKNOWN: ClassVar[bool] = False
    """It may react to a fact about an escalation the engine does not know (``known``:
    ``False``): it needs no escalation."""


@attrs.frozen(kw_only=True)
class Tier:
    """One step in chasing an obligation that stays unmet after its due time: ``after`` that
    long past the due time (on the obligation's clock: open time, for one due within a
    :class:`BusinessTime`), an ``overdue_notice`` action tells ``notify`` (``"manager"``,
    ``"director of customer success"``: whom the host should tell)."""

    after: dt.timedelta
    notify: str


@attrs.frozen(kw_only=True)
class Obligation:
    """Something the policy expects of the escalation's people by a due time, declared once.

    Reactions *require* it (:class:`Require`: within a time, or every period a table gives),
    *discharge* it (:class:`Fulfil`: the reaction's fact type and conditions say what fulfils
    it) and *drop* it (:class:`Cancel`). Missed, it is reported as a ``violation`` with code
    ``violation`` and the detail ``missed``, in which ``{due}`` is the due time and, for a keyed
    obligation, ``{KEY!r}`` the key (``KEY`` the name given by ``key``).

    The rest is optional, each attribute documented below: its instances (``key``,
    ``key_from``, ``one_at_a_time``, ``once_per_key``, ``renew_when_overdue``); what the host
    is told (``announce``, ``announce_with``, ``announce_from``, ``owner_field``,
    ``announce_again_on_new_owner``); its clock (``pausable``, ``remind_in_open_hours``); a
    periodic one's ``parts``; whom to tell once it is late (``tiers``); work done before it is
    required (``early_grace``); and other obligations whose violation reports its miss
    (``covered_by``). The loader checks each, with the module and line.
    """

    id: str
    """The obligation's name, as snapshots and ``reminder`` actions carry it."""
    violation: object
    """The violation code reported when it is missed: one of the policy's codes."""
    missed: str
    """The violation's detail: ``{due}`` and, if keyed, the key by its name."""
    key: str | None = None
    """What tells its instances apart (``"reason"``: one post per reason), if anything. The
    key is given by :attr:`Require.key`, or read from the escalation (:attr:`key_from`)."""
    key_from: str | None = None
    """The escalation's attribute the key is read from when it is required (``"tam"``): while
    the attribute is unset, nothing is required."""
    one_at_a_time: bool = False
    """One instance at most: requiring it for a new key replaces the pending one."""
    once_per_key: bool = False
    """Once fulfilled for a key, it is not required again for that key."""
    renew_when_overdue: bool = False
    """Requiring it while it is overdue starts it afresh (else the overdue one stands)."""
    announce: type[Any] | None = None
    """The action the host gets when it is required, and for a periodic obligation each time a
    new period starts: an action class whose fields are filled by name from ``due``, the key,
    the owner (:attr:`owner_field`), :attr:`announce_with` and :attr:`announce_from`."""
    announce_with: Mapping[str, object] = attrs.field(factory=dict)
    """Fixed values of the announcement's other fields."""
    announce_from: Mapping[str, str] = attrs.field(factory=dict)
    """Fields of the announcement read from the escalation, as of when it is announced:
    announcement field: the escalation's attribute (``{"channel": "dedicated_channel"}``)."""
    owner_field: str | None = None
    """The announcement's field that names the escalation's owner (who must act), if any."""
    announce_again_on_new_owner: bool = False
    """When the owner changes, announce it again (to the new owner) while it is not overdue."""
    pausable: bool = False
    """Its clock stops while the escalation's clocks are paused (:class:`Pause`): the time
    left when they stop is what is left when they resume (open time, on a calendar), as
    Zendesk's pausable updates. Otherwise it runs on, as a periodic update does."""
    parts: tuple[str, ...] = ()
    """The parts a period of a periodic obligation asks for, each as often as the period says
    (``("meeting", "customer_communication")``): a fact fulfils one part
    (:attr:`Fulfil.part`), and a period that ends short is one violation naming what was
    missing (``{missing}`` in :attr:`missed`). Empty: any fulfilment counts."""
    remind_in_open_hours: bool = False
    """A reminder (:attr:`Require.remind_before`) that would fall while the escalation's
    calendar is closed waits for its next opening, and is not sent if that is not before the
    due time. (A reminder of an obligation counted on the calendar is always in open time:
    its lead is open time.)"""
    tiers: "tuple[Tier, ...]" = ()
    """Whom to tell, and when, while a one-off obligation stays unmet after its due time (the
    owner's manager after an hour, then a director...): each tier once, in order, until it is
    met or dropped. The violation at the due time is reported as ever."""
    early_grace: "dt.timedelta | BusinessTime | None" = None
    """How long before it is required the work that meets it may come and still count: a
    fact that would fulfil it while no instance is pending is kept that long, and an instance
    required meanwhile (of a one-off obligation, for the same key or any) is met at once, at
    the time of that work. A ``timedelta`` is calendar time; a :class:`BusinessTime`, open
    time on the escalation's calendar (a post on Friday evening counts for a change recorded
    on Monday morning). For work a host may record just before the fact that asks for it (a
    closing post made minutes before the escalation is recorded closed). The work counts for
    every instance required within its grace (one summary saved just before two changes
    recorded together answers both; work for any key, once it met one, counts for that key).
    Work for an obligation keyed by ``key_from`` and met once per key, done when the
    attribute's instance was met already (the TAM told again), counts for the next instance,
    whichever it is. ``None``: only work done while it is pending counts."""
    covered_by: "tuple[Obligation, ...]" = attrs.field(default=(), converter=_obligations)
    """Obligations the same work meets (one may be given alone), whose violation reports this
    one's miss: an instance that falls due unmet at the same instant as an unmet instance of
    one of these, or, for a periodic one, within the due times its violation counts as missed
    (its first missed due time to its last before the miss is found: one reported before has
    moved on to its next due time), is not reported on its own (it is overdue all the same,
    and met late as ever).
    One missing post is one violation: the handbook's update after a raise late in the day,
    due with the next day's daily update, is reported once, as that update
    (``update_overdue``)."""
    defined_at: Location | None = attrs.field(
        init=False, factory=_declared_at, eq=False, hash=False, repr=False
    )
    """Where the obligation was declared (``None`` if Python cannot tell)."""

    def __str__(self) -> str:
        return self.id


@attrs.frozen(kw_only=True)
class Require(Effect):
    """``obligation`` is due ``within`` this long, or every ``every`` (the name of the table
    output that gives the period, read on ``opened`` and ``severity_changed`` facts: no period
    stops it). ``key`` tells this instance apart, for a keyed obligation. ``remind_before``:
    remind the owner this long before each due time (a ``reminder`` action): a plain
    ``timedelta`` even when ``within`` is a :class:`BusinessTime`, as the lead is counted on
    the obligation's clock (open time, before a due time in business time)."""

    NAME = "require"
    obligation: Obligation
    within: "dt.timedelta | BusinessTime | Setting | None" = None
    every: str | None = None
    key: object = None
    remind_before: "dt.timedelta | Setting | None" = None


@attrs.frozen(kw_only=True)
class Fulfil(Effect):
    """The fact discharges a pending ``obligation``. ``key``: the fact's field whose value is
    the key of the instance it discharges (``"purpose"``: a post discharges the one for its
    purpose); without it, the fact discharges the pending instance, whatever its key."""

    NAME = "fulfil"
    obligation: Obligation
    key: str | None = None
    part: str | None = None
    """For an obligation with :attr:`~Obligation.parts`: the part the fact fulfils."""


@attrs.frozen(kw_only=True)
class Cancel(Effect):
    """These obligations no longer apply; they are dropped without a violation."""

    NAME = "cancel"
    obligations: tuple[Obligation, ...]


@attrs.frozen(kw_only=True)
class Violation(Effect):
    """Report a violation now."""

    NAME = "violation"
    ABOUT_UNKNOWN = True
    code: object
    """One of the policy's violation codes."""
    detail: str


@attrs.frozen(kw_only=True)
class ApplyPlan(Effect):
    """Apply the decision tables: assign the owner, set the involvement and the cadence."""

    NAME = "apply_plan"
    REACTS_TO = ReactsTo.PLANNING_FACTS
    REACTS_TO_WHY = (
        "the plan is made on the opening fact and on facts that set what the tables read"
    )


@attrs.frozen(kw_only=True)
class OutOfScope(Effect):
    """The escalation is outside the process: say why; no owner, no obligations."""

    NAME = "out_of_scope"
    REACTS_TO = ReactsTo.OPENING_FACT
    REACTS_TO_WHY = "scope is decided when an escalation opens"


@attrs.frozen(kw_only=True)
class Emit(Effect):
    """Emit an ``action`` (one of the policy's action classes), each of its fields from
    ``values`` (fixed), ``fact`` (the fact's field of that name), ``escalation`` (the
    escalation's attribute of that name) or ``text`` (a template the escalation's attributes
    fill: ``"{customer} Escalation Tracker"``)."""

    NAME = "emit"
    action: type[Any]
    values: Mapping[str, object] = attrs.field(factory=dict)
    fact: Mapping[str, str] = attrs.field(factory=dict)
    escalation: Mapping[str, str] = attrs.field(factory=dict)
    text: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Pause(Effect):
    """Stop the clocks of the escalation's pausable obligations (waiting on the customer):
    they are not due while paused, and resume with the time they had left."""

    NAME = "pause"


@attrs.frozen(kw_only=True)
class Resume(Effect):
    """Start the paused clocks again: a pausable one-off obligation, or one of a rolling
    period, is due when the time it had left has run again, counted from now (on the
    calendar, in open time); a period of days or weeks keeps its end and asks in proportion
    to its open time not paused (see docs/business-time.md)."""

    NAME = "resume"


@attrs.frozen(kw_only=True)
class Accept(Effect):
    """Take the fact and report nothing: for a fact about an escalation the engine does not
    know (``known: False``) that is no one's mistake, such as an update posted for awareness
    after its escalation closed and was forgotten, which would otherwise be refused."""

    NAME = "accept"
    ABOUT_UNKNOWN = True


EFFECTS: tuple[type[Effect], ...] = (
    Require,
    Fulfil,
    Cancel,
    Violation,
    ApplyPlan,
    OutOfScope,
    Emit,
    Pause,
    Resume,
    Accept,
)
"""Every kind of effect: the one list of them."""


@attrs.frozen(kw_only=True)
class Reaction:
    """When a fact of type ``on`` arrives and its context matches ``when``, do ``then``."""

    id: str
    title: str
    cites: str
    on: tuple[type[Fact], ...]
    then: tuple[Effect, ...]
    when: Mapping[str, Cell] = attrs.field(factory=dict)
    replaces: tuple[str, ...] = attrs.field(default=(), converter=_rule_ids)
    """The ids this reaction had before it was renamed, so that comparing what two policies do
    (``escalation-policy impact``) takes the rename for no change."""
    defined_at: Location | None = attrs.field(
        init=False, factory=_declared_at, eq=False, hash=False, repr=False
    )
    """Where the reaction was declared (``None`` if Python cannot tell)."""


@attrs.frozen(kw_only=True)
class Calendars:
    """Which calendar each escalation's clocks count on, chosen when it opens and kept for
    its life (a rule module declares it as ``CALENDARS``; a policy has one at most).

    ``default`` serves every escalation, unless ``by`` names a field of the opening fact whose
    value picks another from ``choose``; ``zone_from`` names a field of the opening fact that
    may give an IANA time zone (the customer's) to move the chosen calendar into, its hours
    then read in that zone. Without a declaration, clocks count calendar time."""

    default: Calendar
    by: str | None = None
    choose: Mapping[object, Calendar] = attrs.field(factory=dict)
    zone_from: str | None = None
