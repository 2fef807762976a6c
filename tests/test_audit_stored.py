"""A settled escalation's tracker, kept on disk by the audit written as it goes, reads back
equal to what was kept: value for value, type for type, zone for zone."""

import datetime as dt
import enum
import io
import pickle
import zoneinfo
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from escalation_policy import default_policy
from escalation_policy._audit import _stored, _stream
from escalation_policy._audit._replay import AuditCalendar, Replay
from escalation_policy._audit._report import _KEPT, _Book, _Tracker
from escalation_policy.engine import PolicyEngine
from escalation_policy.rules import Severity, ViolationCode
from escalation_policy.testing import strategies


class _Colour(enum.Enum):
    RED = "red"
    BLUE = 2


class _Size(enum.IntEnum):
    SMALL = 1


_UTC = dt.timezone.utc
_ZONES = st.sampled_from(
    [
        _UTC,
        dt.timezone(dt.timedelta(0)),
        dt.timezone(dt.timedelta(0), "Z"),
        dt.timezone(dt.timedelta(hours=-5)),
        zoneinfo.ZoneInfo("Europe/Paris"),
        zoneinfo.ZoneInfo("UTC"),
    ]
)
_MEMBERS = st.sampled_from([*ViolationCode, *Severity, *_Colour, *_Size])


class _Text(str):
    """A text of another type than ``str``."""


_ODD = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.tuples(st.text(max_size=3)),
    st.builds(_Text, st.text()),
    st.timedeltas(),
)
"""Values of other types than a slot is meant to hold."""

_instants = st.one_of(
    st.none(),
    st.datetimes(timezones=st.just(_UTC)),
    st.datetimes(timezones=st.just(_UTC)).map(lambda at: at.replace(fold=1)),
)
_other_instants = st.one_of(
    st.datetimes(timezones=_ZONES, allow_imaginary=True),
    st.datetimes(),
)
_durations = st.one_of(st.none(), st.timedeltas())
_texts = st.one_of(st.text(), _MEMBERS)


@st.composite
def trackers(draw: st.DrawFn) -> _Tracker:
    """Trackers holding any values: a third of them only values of the types the audit puts
    there (times in UTC, texts and members of enumerations), the others now and then a time
    in another zone (or naive), or a value of another type."""
    odd = draw(st.sampled_from([None, "times", "types"]))

    def value(common: st.SearchStrategy[Any]) -> Any:
        if odd is None or draw(st.integers(0, 5)) != 0:
            return draw(common)
        if odd == "times":
            return draw(_other_instants if common is _instants else common)
        return draw(_ODD)

    def violation() -> dict[str, Any]:
        item = {
            "escalation_id": value(_texts),
            "code": value(_texts),
            "rule": value(_texts),
            "cites": value(_texts),
            "detail": value(_texts),
            "detected_at": value(_instants),
            "due": value(_instants),
            "fulfilled_at": value(_instants),
            "late_by": value(_durations),
            "periods": value(st.integers()),
            "last_due": value(_instants),
        }
        if odd == "types" and draw(st.integers(0, 3)) == 0:  # a key in the place of another
            item.pop(draw(st.sampled_from(sorted(item))))
            item[draw(st.sampled_from(["at", ""]))] = value(_instants)
        return item

    tracker = _Tracker.__new__(_Tracker)
    tracker.calendar = draw(
        st.one_of(st.none(), st.builds(AuditCalendar, name=_texts, zone=_texts))
    )
    tracker.escalation_id = value(_texts)
    tracker.customer = value(_texts)
    tracker.in_scope = value(st.booleans())
    tracker.opened_at = value(_instants)
    tracker.closed_at = value(_instants)
    tracker.severity = value(_texts)
    tracker.status = value(_texts)
    tracker.since = value(_instants)
    tracker.severity_changes = value(st.integers())
    violations = [violation() for _ in range(draw(st.integers(0, 3)))]
    if odd == "types" and violations and draw(st.booleans()):
        violations.append(violations[0])  # the same violation twice
    tracker.violations = violations
    open_items: list[dict[str, Any] | None] = [None, *violations]
    if odd == "types":
        open_items.append(violation())  # a violation the tracker does not list
    tracker.open_violations = {
        (value(_texts), value(_instants)): draw(st.sampled_from(open_items))
        for _ in range(draw(st.integers(0, 3)))
    }
    for item in draw(st.lists(st.sampled_from(violations))) if violations else ():
        tracker.open_violations[(item.get("rule"), item.get("due"))] = item
    tracker.figures = {
        value(_texts): {
            "due": value(st.integers()),
            "on_time": value(st.integers()),
            "first_met_after": value(_durations),
        }
        for _ in range(draw(st.integers(0, 3)))
    }
    tracker.time_at = {
        value(_texts): value(st.timedeltas()) for _ in range(draw(st.integers(0, 3)))
    }
    return tracker


def _same(expected: object, actual: object) -> bool:
    """Equal, and of the same types throughout (times in the same zone, of the same fold)."""
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, dict):
        assert isinstance(actual, dict)
        return list(expected) == list(actual) and all(
            _same(key, other) and _same(value, actual[other])
            for (key, value), other in zip(expected.items(), actual, strict=True)
        )
    if isinstance(expected, list | tuple):
        assert isinstance(actual, list | tuple)
        return len(expected) == len(actual) and all(
            _same(a, b) for a, b in zip(expected, actual, strict=True)
        )
    if isinstance(expected, dt.datetime):
        assert isinstance(actual, dt.datetime)
        return (expected, expected.tzinfo, expected.fold) == (actual, actual.tzinfo, actual.fold)
    if isinstance(expected, enum.Enum):
        return expected is actual
    return expected == actual


def _held(tracker: _Tracker) -> tuple[object, ...]:
    """What a tracker holds beside its book, and which of its violations each open one is."""
    places = [
        None if item is None else next(i for i, v in enumerate(tracker.violations) if v is item)
        for item in tracker.open_violations.values()
        if item is None or any(item is v for v in tracker.violations)
    ]
    return (tracker.calendar, *(getattr(tracker, name) for name in _KEPT), places)


@given(st.lists(trackers(), max_size=4))
def test_a_tracker_kept_on_disk_reads_back_the_same_values_of_the_same_types(
    kept: list[_Tracker],
) -> None:
    book = _Book(default_policy())
    members = _stored.Members()

    stored = [_stored.dumps(tracker, members) for tracker in kept]
    read = [_stored.loads(data, book, members) for data in stored]

    assert all(tracker.book is book for tracker in read)
    assert all(_same(_held(e), _held(a)) for e, a in zip(kept, read, strict=True))


@given(strategies.histories())
def test_the_trackers_of_an_audit_are_kept_as_numbers_and_texts(history: list[Any]) -> None:
    """The audit's own values take the plain form: no tracker of the handbook's policy is
    pickled whole (that would be slower, not wrong)."""
    policy = default_policy()
    spool = io.BytesIO()
    observer = _stream._SpoolingObserver(policy, spool)
    replay = Replay(PolicyEngine(policy), [observer], keep_going=True, release=True)
    for fact in history:
        replay.feed(fact)
    replay.end(None)

    written = spool.getvalue()
    offset, size = _stream._OFFSET, _stream._SIZE
    kept = [pickle.loads(written[e[offset] : e[offset] + e[size]]) for e in observer.index]
    assert [tuple] * len(kept) == [type(plain) for plain in kept]
