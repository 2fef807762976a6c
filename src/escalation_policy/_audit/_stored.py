"""A settled escalation's tracker as the audit written as it goes keeps it on disk: its values
as plain numbers and texts.

Pickling a tracker spends most of its time on its times, durations and the policy's value
set members: pickle names their classes again in every tracker, written and read back, and a
member is reduced by a call into Python. Here a time in UTC is its state (the ten bytes pickle
keeps of it), a duration its microseconds, a member of an enumeration its place in
:class:`Members` (which holds it in memory: the spool is read back by the process that wrote
it). A tracker holding any other value (a time in another zone, a value of another type) is
pickled whole instead, so that every tracker reads back equal to what was kept, value for
value and type for type.
"""

import datetime as dt
import enum
import pickle
import typing
from collections.abc import Callable
from typing import Any

from escalation_policy._audit._replay import AuditCalendar
from escalation_policy._audit._report import _Book, _Tracker

__all__ = ["Members", "dumps", "loads"]

_UTC = dt.timezone.utc
_MICROSECOND = dt.timedelta(microseconds=1)
_VIOLATION = (
    "escalation_id",
    "code",
    "rule",
    "cites",
    "detail",
    "detected_at",
    "due",
    "fulfilled_at",
    "late_by",
    "periods",
    "last_due",
)
"""The keys of a tracker's violation (``_report._violation``), in the order kept."""
_FIGURE = ("due", "on_time", "first_met_after")
"""The keys of a tracker's figures for one obligation (``_Tracker.figure``)."""


class Members:
    """The members of enumerations (a policy's violation codes, say) the trackers of one spool
    hold: each kept once, on disk as its place here."""

    __slots__ = ("calendars", "known", "places")

    def __init__(self) -> None:
        self.known: list[enum.Enum] = []
        self.places: dict[int, int] = {}
        """Each member's place in ``known``, by its ``id`` (a member equals its value)."""
        self.calendars: dict[tuple[str | int, str | int], AuditCalendar] = {}
        """The calendars read back, by their plain name and zone: one of each (they are
        frozen)."""

    def place(self, member: enum.Enum) -> int:
        found = self.places.get(id(member))
        if found is None:
            found = self.places[id(member)] = len(self.known)
            self.known.append(member)
        return found

    def calendar(self, plain: tuple[str | int, str | int]) -> AuditCalendar:
        found = self.calendars.get(plain)
        if found is None:
            name, zone = (_from_text(value, self.known) for value in plain)
            found = self.calendars[plain] = AuditCalendar(name=name, zone=zone)
        return found


class _Other(Exception):
    """A value the plain form does not hold: the tracker is pickled whole."""


def dumps(tracker: _Tracker, members: Members) -> bytes:
    """The tracker's bytes on disk (its book stays behind): its plain form, or else the tracker
    pickled whole."""
    try:
        kept: object = _plain(tracker, members)
    except (_Other, KeyError):  # KeyError: a violation's keys are others
        kept = tracker
    return pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes, book: _Book, members: Members) -> _Tracker:
    """The tracker :func:`dumps` wrote, with ``book``."""
    kept = pickle.loads(data)
    tracker: _Tracker = kept if type(kept) is _Tracker else _tracker(kept, members)
    tracker.book = book
    return tracker


def _text(value: object, members: Members) -> str | int:
    if type(value) is str:
        return value
    if isinstance(value, enum.Enum):
        return members.place(value)
    raise _Other


def _number(value: object) -> int:
    if type(value) is not int:
        raise _Other
    return value


def _instant(value: object) -> bytes | None:
    """A time in UTC as the ten bytes pickle keeps of it (the datetime's own state, its fold
    included)."""
    if value is None:
        return None
    if type(value) is not dt.datetime or value.tzinfo is not _UTC:
        raise _Other
    reduced: Any = value.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    state: bytes = reduced[1][0]
    return state


def _duration(value: object) -> int | None:
    """A duration as its microseconds."""
    if value is None:
        return None
    if type(value) is not dt.timedelta:
        raise _Other
    return value // _MICROSECOND


def _plain(tracker: _Tracker, members: Members) -> tuple[Any, ...]:
    """The tracker's values as numbers and texts (``_Other`` if one is not of the types they
    stand for)."""
    calendar = tracker.calendar
    if calendar is not None and type(calendar) is not AuditCalendar:
        raise _Other
    violations = tracker.violations
    if type(violations) is not list:
        raise _Other
    places: dict[int, int] = {}
    plain_violations: list[tuple[Any, ...]] = []
    for item in violations:
        if type(item) is not dict or len(item) != len(_VIOLATION) or id(item) in places:
            raise _Other
        places[id(item)] = len(plain_violations)
        plain_violations.append(
            (
                _text(item["escalation_id"], members),
                _text(item["code"], members),
                _text(item["rule"], members),
                _text(item["cites"], members),
                _text(item["detail"], members),
                _instant(item["detected_at"]),
                _instant(item["due"]),
                _instant(item["fulfilled_at"]),
                _duration(item["late_by"]),
                _number(item["periods"]),
                _instant(item["last_due"]),
            )
        )
    open_violations = []
    for key, violation in tracker.open_violations.items():
        if type(key) is not tuple or len(key) != 2:
            raise _Other
        place = None if violation is None else places.get(id(violation))
        if place is None and violation is not None:  # not one of the tracker's violations
            raise _Other
        open_violations.append((_text(key[0], members), _instant(key[1]), place))
    figures = []
    for name, figure in tracker.figures.items():
        if type(figure) is not dict or len(figure) != len(_FIGURE):
            raise _Other
        figures.append(
            (
                _text(name, members),
                _number(figure["due"]),
                _number(figure["on_time"]),
                _duration(figure["first_met_after"]),
            )
        )
    time_at = []
    for severity, spent in tracker.time_at.items():
        if type(spent) is not dt.timedelta:
            raise _Other
        time_at.append((_text(severity, members), spent // _MICROSECOND))
    in_scope = tracker.in_scope
    if type(in_scope) is not bool or type(tracker.figures) is not dict:
        raise _Other
    if type(tracker.open_violations) is not dict or type(tracker.time_at) is not dict:
        raise _Other
    return (
        None
        if calendar is None
        else (_text(calendar.name, members), _text(calendar.zone, members)),
        _text(tracker.escalation_id, members),
        _text(tracker.customer, members),
        in_scope,
        _instant(tracker.opened_at),
        _instant(tracker.closed_at),
        _text(tracker.severity, members),
        _text(tracker.status, members),
        _instant(tracker.since),
        _number(tracker.severity_changes),
        tuple(plain_violations),
        tuple(open_violations),
        tuple(figures),
        tuple(time_at),
    )


def _tracker(plain: tuple[Any, ...], members: Members) -> _Tracker:
    """The tracker whose plain form is ``plain`` (its book not yet set)."""
    known = members.known
    (
        calendar,
        escalation_id,
        customer,
        in_scope,
        opened_at,
        closed_at,
        severity,
        status,
        since,
        severity_changes,
        violations,
        open_violations,
        figures,
        time_at,
    ) = plain
    tracker = _Tracker.__new__(_Tracker)
    tracker.calendar = None if calendar is None else members.calendar(calendar)
    tracker.escalation_id = _from_text(escalation_id, known)
    tracker.customer = _from_text(customer, known)
    tracker.in_scope = in_scope
    tracker.opened_at = _from_instant(opened_at)
    tracker.closed_at = _from_instant(closed_at)
    tracker.severity = _from_text(severity, known)
    tracker.status = _from_text(status, known)
    tracker.since = _from_instant(since)
    tracker.severity_changes = severity_changes
    items = [
        {
            "escalation_id": _from_text(escalation_id, known),
            "code": _from_text(code, known),
            "rule": _from_text(rule, known),
            "cites": _from_text(cites, known),
            "detail": _from_text(detail, known),
            "detected_at": _from_instant(detected_at),
            "due": _from_instant(due),
            "fulfilled_at": _from_instant(fulfilled_at),
            "late_by": _from_duration(late_by),
            "periods": periods,
            "last_due": _from_instant(last_due),
        }
        for (
            escalation_id,
            code,
            rule,
            cites,
            detail,
            detected_at,
            due,
            fulfilled_at,
            late_by,
            periods,
            last_due,
        ) in violations
    ]
    tracker.violations = items
    tracker.open_violations = {
        (_from_text(rule, known), _from_instant(due)): None if place is None else items[place]  # type: ignore[misc]
        for rule, due, place in open_violations
    }
    tracker.figures = {
        _from_text(name, known): {
            "due": due,
            "on_time": on_time,
            "first_met_after": _from_duration(first),
        }
        for name, due, on_time, first in figures
    }
    tracker.time_at = {
        _from_text(severity, known): _MICROSECOND * spent for severity, spent in time_at
    }
    return tracker


def _from_text(value: str | int, known: list[enum.Enum]) -> Any:
    return value if type(value) is str else known[value]  # type: ignore[index]


def _from_duration(value: int | None) -> dt.timedelta | None:
    return None if value is None else _MICROSECOND * value


def _from_instant(value: bytes | None) -> dt.datetime | None:
    return None if value is None else _from_state(value, _UTC)


_from_state = typing.cast(Callable[[bytes, dt.tzinfo], dt.datetime], dt.datetime)
"""A datetime from its state, as pickle makes it."""
