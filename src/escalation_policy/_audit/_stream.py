"""The audit written as it goes: memory follows the escalations the engine holds, not the
history.

The replay lets an escalation go once the engine has settled and forgotten it
(:class:`~escalation_policy._audit._replay.Replay` with ``release=True``); the audit then keeps
what it observed of it (its tracker) in a temporary file, with its place in the order of
opening. What comes about it after (a post the policy reports as misuse) is kept beside, and
told to it when it is read back. Once the history has ended the report is written from the
file, escalation by escalation in order of opening: the same bytes as from a report in memory.
"""

import datetime as dt
import functools
import json
import math
import pickle
import shutil
import tempfile
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

import attrs

from escalation_policy._audit import _stored
from escalation_policy._audit._coverage import CoverageObserver, _Counts
from escalation_policy._audit._replay import AuditCalendar, Replay, Replayed
from escalation_policy._audit._report import (
    AuditListing,
    AuditObserver,
    AuditReport,
    AuditViolation,
    EscalationAudit,
    ObligationFigures,
    TotalsSum,
    _Tracker,
    _value,
    audit_end,
)
from escalation_policy._convert import shared_converter
from escalation_policy.engine import EngineName, PolicyEngine
from escalation_policy.errors import InputError
from escalation_policy.model import Action, EscalationFact, Fact, Violation
from escalation_policy.policy import Policy, default_policy
from escalation_policy.state import EscalationState, Fulfilment

__all__ = ["StreamedAudit", "audit_streamed", "json_text", "spooled_audit", "write_json"]


class _Late:
    """What happens about an escalation already let go, kept to be told to it when it is read
    back."""

    __slots__ = ("entry", "events")

    def __init__(self, entry: list[Any]) -> None:
        self.entry = entry
        self.events: list[tuple[str, Any, Any]] = []

    def action(self, action: Action) -> None:
        self.events.append(("action", action, None))
        if isinstance(action, Violation):
            self.entry[_VIOLATIONS] = True

    def fulfilled(self, fulfilment: Fulfilment) -> None:
        self.events.append(("fulfilled", fulfilment, None))

    def fact(self, fact: EscalationFact, fulfilled: Sequence[Fulfilment]) -> None:
        self.events.append(("fact", fact, fulfilled))

    def state(self, state: EscalationState | None, at: dt.datetime) -> None:
        """The audit does not ask the engine's state."""

    def tell(self, tracker: _Tracker) -> None:
        for kind, first, second in self.events:
            if kind == "action":
                tracker.action(first)
            elif kind == "fulfilled":
                tracker.fulfilled(first)
            else:
                tracker.fact(first, second)


# An entry of the spool's index: opened_at, escalation id, order let go, offset, size, whether
# it has violations (a list: a late violation sets it).
_OFFSET, _SIZE, _VIOLATIONS = 3, 4, 5


class _SpoolingObserver(AuditObserver):
    """The audit's observer, keeping each escalation the replay lets go in a temporary file."""

    def __init__(self, policy: Policy, spool: IO[bytes]) -> None:
        super().__init__(policy)
        self.spool = spool
        self.index: list[list[Any]] = []
        self.last: dict[str, list[Any]] = {}
        """The entry of the escalation last let go under each id (for what comes after)."""
        self.late_events: dict[int, _Late] = {}
        self.codes: set[str] = set()
        """Every violation code seen: the text's code column is as wide as the longest."""
        self.members = _stored.Members()

    def opened(self, fact: EscalationFact, calendar: AuditCalendar | None) -> _Tracker:
        return _Tracker(fact, self.book, calendar)

    def unopened(self, action: Action) -> None:
        super().unopened(action)
        if isinstance(action, Violation):
            self.codes.add(_value(action.code))

    def settled(self, tracker: _Tracker) -> None:
        for item in tracker.violations:
            self.codes.add(_value(item["code"]))
        data = _stored.dumps(tracker, self.members)
        entry = [
            tracker.opened_at,
            tracker.escalation_id,
            len(self.index),
            self.spool.tell(),
            len(data),
            bool(tracker.violations),
        ]
        self.spool.write(data)
        self.index.append(entry)
        self.last[tracker.escalation_id] = entry

    def late(self, escalation_id: str) -> _Late:
        entry = self.last[escalation_id]
        late = self.late_events.get(entry[2])
        if late is None:
            late = self.late_events[entry[2]] = _Late(entry)
        return late

    def ended(self, escalations: Sequence[_Tracker], replayed: Replayed) -> None:
        for tracker in escalations:  # still held at the end
            self.settled(tracker)
        self.last.clear()
        self.index.sort(key=lambda entry: (entry[0], entry[1], entry[2]))
        self.escalations = ()

    def read(self, end: dt.datetime | None, only_violations: bool) -> Iterator[EscalationAudit]:
        """The escalations, from the file, in order of opening."""
        spool, book, members = self.spool, self.book, self.members
        for entry in self.index:
            if only_violations and not entry[_VIOLATIONS]:
                continue
            spool.seek(entry[_OFFSET])
            tracker = _stored.loads(spool.read(entry[_SIZE]), book, members)
            late = self.late_events.get(entry[2])
            if late is not None:
                late.tell(tracker)
            yield tracker.finish(end)


class _StreamingCoverage(CoverageObserver):
    def settled(self, kept: _Counts) -> None:
        """Coverage keeps nothing per escalation."""

    def late(self, escalation_id: str) -> _Counts:
        return self._counts


@attrs.frozen(kw_only=True)
class StreamedAudit:
    """An audit whose escalations wait on disk (:func:`~escalation_policy.audit_streamed`):
    ``report``, the report without its escalations (every total, refusal, rule's coverage and
    violation about an escalation never opened is there), and :meth:`escalations`, which
    reads them back in order of opening each time it is called. Use it in a ``with`` block,
    or call :meth:`close`, which deletes the file."""

    report: AuditReport
    """The report, ``escalations`` left empty: :meth:`escalations` reads them."""
    _listing: AuditListing = attrs.field(repr=False)
    codes: frozenset[str] = attrs.field(repr=False)
    """Every violation code the report holds."""
    _spool: IO[bytes] | None = attrs.field(repr=False)
    _folder: str | None = attrs.field(default=None, repr=False)
    _text_spool: IO[bytes] | None = attrs.field(default=None, repr=False)
    _texts: Callable[[bool], Iterator[str]] | None = attrs.field(default=None, repr=False)
    """The escalations' :func:`json_text`, in order, when they come so (an audit in parts
    rendered them): like the listing's ``listed``."""

    def escalations(self, *, only_violations: bool = False) -> Iterator[EscalationAudit]:
        """The escalations, read back from disk one at a time in order of opening, as
        ``report.escalations`` of :func:`~escalation_policy.audit` lists them
        (``only_violations``: only those with violations)."""
        return self._listing.listed(only_violations)

    def write_json(self, write: Callable[[str], object], *, only_violations: bool = False) -> None:
        """Write the report's JSON form (what ``escalation-policy audit --format json``
        writes: ``json.dumps(report.to_json(), indent=2)`` and a line feed, for the report of
        :func:`~escalation_policy.audit`) an escalation at a time, with ``write`` (a file's
        ``write``, say). ``only_violations`` lists only the escalations with violations,
        as ``--only-violations`` does."""
        escalations = (
            self.escalations(only_violations=only_violations)
            if self._texts is None
            else self._texts(only_violations)
        )
        write_json(self.report, escalations, write, only_violations=only_violations)

    def close(self) -> None:
        """Delete the escalations kept on disk."""
        if self._spool is not None:
            self._spool.close()
        if self._text_spool is not None:
            self._text_spool.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> "StreamedAudit":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @classmethod
    def of(cls, report: AuditReport) -> "StreamedAudit":
        """A report already in memory, written the same way."""
        codes = frozenset(_value(v.code) for v in report.violations)
        return cls(report=report, listing=AuditListing.of(report), codes=codes, spool=None)


def audit_streamed(
    facts: Iterable[Fact | Mapping[str, Any] | InputError],
    *,
    as_of: dt.datetime | None = None,
    policy: Policy | None = None,
    engine: EngineName = "native",
    progress: Callable[[int], None] | None = None,
    keep_going: bool = False,
) -> StreamedAudit:
    """:func:`~escalation_policy.audit`, with memory that follows the escalations still open
    rather than the history: each escalation, once the engine has settled and forgotten it,
    waits in a temporary file. The arguments are :func:`~escalation_policy.audit`'s.

    The report (``report``: totals, refusals, rule coverage) is the one
    :func:`~escalation_policy.audit` gives, its escalations left out; ``escalations()`` reads
    them back in order of opening, and ``write_json`` writes the whole report's JSON form an
    escalation at a time. Close it (or use it in a ``with`` block) to delete the file.
    """
    return spooled_audit(
        facts,
        policy=default_policy() if policy is None else policy,
        as_of=audit_end(as_of),
        engine=engine,
        keep_going=keep_going,
        progress=progress,
    )


def spooled_audit(
    facts: Iterable[Fact | Mapping[str, Any] | InputError],
    *,
    policy: Policy,
    as_of: dt.datetime | None = None,
    engine: EngineName = "native",
    keep_going: bool = False,
    progress: Callable[[int], None] | None = None,
    refusals: Callable[[AuditReport], AuditReport] | None = None,
    as_json: bool = False,
) -> StreamedAudit:
    """:func:`audit_streamed` (``as_of`` already an instant), for a report written as it goes
    (``refusals``: what the head's refusals become, their files and lines, say). The totals
    are added up while the escalations are read back once; with ``as_json``, their
    :func:`json_text` is written then too, to another file, read back as ``texts``."""
    policy_engine = PolicyEngine(policy, engine=engine)
    spool = tempfile.TemporaryFile(prefix="escalation-policy-audit-")  # noqa: SIM115  # closed by close()
    text_spool: IO[bytes] | None = None
    try:
        observer = _SpoolingObserver(policy_engine.policy, spool)
        coverage = _StreamingCoverage(policy_engine.policy)
        stepped = Replay(policy_engine, [observer, coverage], keep_going=keep_going, release=True)
        for fact in facts:
            stepped.feed(fact)
            if progress is not None and stepped.count % 10_000 == 0:
                progress(stepped.count)
        replayed = stepped.end(as_of)
        end = replayed.end
        sums = TotalsSum(observer.book.obligations, list(observer.book.order))
        with_violations = 0
        batch: list[tuple[bool, str]] = []
        if as_json:
            text_spool = tempfile.TemporaryFile(prefix="escalation-policy-audit-")  # noqa: SIM115
        for escalation in observer.read(end, only_violations=False):
            sums.add(escalation)
            with_violations += bool(escalation.violations)
            if text_spool is not None:
                batch.append((bool(escalation.violations), json_text(escalation)))
                if len(batch) == _BATCH:
                    pickle.dump(batch, text_spool, protocol=pickle.HIGHEST_PROTOCOL)
                    batch = []
        if text_spool is not None and batch:
            pickle.dump(batch, text_spool, protocol=pickle.HIGHEST_PROTOCOL)
        unopened = tuple(observer.about_unopened)
        for violation in unopened:
            sums.violation(violation)
        head = AuditReport(
            policy=policy_engine.policy.identity,
            facts=replayed.facts,
            started_at=replayed.started_at,
            as_of=end,
            escalations=(),
            totals=sums.totals(refused=len(replayed.refused), redelivered=replayed.redelivered),
            refused=replayed.refused,
            unopened=unopened,
            coverage=coverage.coverage(),
        )
        if refusals is not None:
            head = refusals(head)

        def listed(only_violations: bool) -> Iterator[EscalationAudit]:
            return observer.read(end, only_violations)

        listing = AuditListing(
            count=len(observer.index),
            with_violations=with_violations,
            code_width=max(map(len, observer.codes), default=0),
            listed=listed,
        )
        return StreamedAudit(
            report=head,
            listing=listing,
            codes=frozenset(observer.codes),
            spool=spool,
            text_spool=text_spool,
            texts=None if text_spool is None else functools.partial(_texts, text_spool),
        )
    except BaseException:
        spool.close()
        if text_spool is not None:
            text_spool.close()
        raise


_BATCH = 512
"""Escalations' texts written to their file at a time."""


def _texts(spool: IO[bytes], only_violations: bool) -> Iterator[str]:
    """The texts :func:`spooled_audit` wrote, in order (``only_violations``: of those with
    violations)."""
    spool.seek(0)
    while True:
        try:
            batch: list[tuple[bool, str]] = pickle.load(spool)
        except EOFError:
            return
        for violations, text in batch:
            if violations or not only_violations:
                yield text


_MARK = "\u0000escalations\u0000"


def json_text(escalation: EscalationAudit) -> str:
    """An escalation's JSON form as :func:`write_json` writes it (before its indentation)."""
    try:
        return _escalation_text(escalation)
    except TypeError:  # a value of another type than the report's own: as the converter says
        return _converted_text(escalation)


def _converted_text(escalation: EscalationAudit) -> str:
    """:func:`json_text` through the converter's JSON form (the reference)."""
    data = shared_converter().unstructure(escalation, EscalationAudit)
    try:
        return _indented(data, "")
    except (TypeError, ValueError):  # a value only the json module writes
        return json.dumps(data, indent=2)


_string = json.encoder.encode_basestring_ascii
_float = float.__repr__
_int = int.__repr__


def _indented(value: object, indent: str) -> str:
    """``json.dumps(value, indent=2)`` for JSON data of dicts, lists, strings, numbers, booleans
    and nulls, the same text in half the time: the json module indents with the Python
    encoder, a generator per level. Anything else (a non-finite float, another type) raises
    for ``json.dumps`` to write."""
    kind = type(value)
    if kind is str:
        return _string(typing.cast(str, value))
    if kind is dict:
        if not value:
            return "{}"
        inner = indent + "  "
        items = typing.cast(dict[str, object], value).items()  # a key not a string raises
        return (
            "{\n"
            + inner
            + (",\n" + inner).join(
                [_string(key) + ": " + _indented(item, inner) for key, item in items]
            )
            + "\n"
            + indent
            + "}"
        )
    if kind is list:
        if not value:
            return "[]"
        inner = indent + "  "
        elements = typing.cast(list[object], value)
        return (
            "[\n"
            + inner
            + (",\n" + inner).join([_indented(item, inner) for item in elements])
            + "\n"
            + indent
            + "]"
        )
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return _int(value)
    if kind is float and math.isfinite(value):  # type: ignore[arg-type]
        return _float(value)
    if isinstance(value, str):  # a member of a policy's value set (a violation's code)
        return _string(value)
    raise TypeError(f"{kind.__name__} is not written here")


def _text(value: object) -> str:
    """A text (or a member of a policy's value set) as JSON; else TypeError."""
    if not isinstance(value, str):
        raise TypeError(f"{type(value).__name__} is not a text")
    return _string(value)


def _time(value: object) -> str:
    """A time as the converter writes it (``null`` for none)."""
    if value is None:
        return "null"
    if type(value) is not dt.datetime:
        raise TypeError(f"{type(value).__name__} is not a time")
    return _string(value.isoformat())


def _seconds(value: object) -> str:
    """A duration as the converter writes it, its seconds (``null`` for none)."""
    if value is None:
        return "null"
    if type(value) is not dt.timedelta:
        raise TypeError(f"{type(value).__name__} is not a duration")
    return _float(value.total_seconds())


def _count(value: object) -> str:
    if type(value) is not int:
        raise TypeError(f"{type(value).__name__} is not a count")
    return _int(value)


def _violation_text(violation: AuditViolation) -> str:
    if type(violation) is not AuditViolation:
        raise TypeError(f"{type(violation).__name__} is not a violation")
    return (
        f'{{\n      "escalation_id": {_text(violation.escalation_id)}'
        f',\n      "code": {_text(violation.code)}'
        f',\n      "rule": {_text(violation.rule)}'
        f',\n      "cites": {_text(violation.cites)}'
        f',\n      "detail": {_text(violation.detail)}'
        f',\n      "detected_at": {_time(violation.detected_at)}'
        f',\n      "due": {_time(violation.due)}'
        f',\n      "fulfilled_at": {_time(violation.fulfilled_at)}'
        f',\n      "late_by": {_seconds(violation.late_by)}'
        f',\n      "periods": {_count(violation.periods)}'
        f',\n      "last_due": {_time(violation.last_due)}'
        "\n    }"
    )


def _figures_text(figures: ObligationFigures) -> str:
    if type(figures) is not ObligationFigures:
        raise TypeError(f"{type(figures).__name__} is not an obligation's figures")
    return (
        f'{{\n      "due": {_count(figures.due)}'
        f',\n      "on_time": {_count(figures.on_time)}'
        f',\n      "first_met_after": {_seconds(figures.first_met_after)}'
        "\n    }"
    )


def _escalation_text(escalation: EscalationAudit) -> str:
    """:func:`_converted_text` of an escalation whose values are of the report's own types,
    written directly (a TypeError for any other): the same text in a fraction of the time."""
    if type(escalation) is not EscalationAudit or type(escalation.in_scope) is not bool:
        raise TypeError("not an escalation's audit of the report's own types")
    calendar = escalation.calendar
    if calendar is None:
        calendar_text = "null"
    elif type(calendar) is AuditCalendar:
        calendar_text = (
            f'{{\n    "name": {_text(calendar.name)},\n    "zone": {_text(calendar.zone)}\n  }}'
        )
    else:
        raise TypeError(f"{type(calendar).__name__} is not a calendar")
    violations = escalation.violations
    obligations = escalation.obligations
    time_at = escalation.time_at_severity
    if type(violations) is not tuple or type(obligations) is not dict or type(time_at) is not dict:
        raise TypeError("not an escalation's audit of the report's own types")
    violations_text = (
        "[\n    " + ",\n    ".join([_violation_text(v) for v in violations]) + "\n  ]"
        if violations
        else "[]"
    )
    obligations_text = (
        "{\n    "
        + ",\n    ".join(
            [f"{_text(name)}: {_figures_text(figures)}" for name, figures in obligations.items()]
        )
        + "\n  }"
        if obligations
        else "{}"
    )
    time_at_text = (
        "{\n    "
        + ",\n    ".join([f"{_text(key)}: {_seconds(spent)}" for key, spent in time_at.items()])
        + "\n  }"
        if time_at
        else "{}"
    )
    return (
        f'{{\n  "escalation_id": {_text(escalation.escalation_id)}'
        f',\n  "customer": {_text(escalation.customer)}'
        f',\n  "in_scope": {"true" if escalation.in_scope else "false"}'
        f',\n  "severity": {_text(escalation.severity)}'
        f',\n  "opened_at": {_time(escalation.opened_at)}'
        f',\n  "closed_at": {_time(escalation.closed_at)}'
        f',\n  "calendar": {calendar_text}'
        f',\n  "violations": {violations_text}'
        f',\n  "obligations": {obligations_text}'
        f',\n  "time_at_severity": {time_at_text}'
        f',\n  "severity_changes": {_count(escalation.severity_changes)}'
        f',\n  "time_to_closure": {_seconds(escalation.time_to_closure)}'
        "\n}"
    )


def write_json(
    head: AuditReport,
    escalations: Iterable[EscalationAudit | str],
    write: Callable[[str], object],
    *,
    only_violations: bool = False,
) -> None:
    """The report's JSON form (``indent=2``, a line feed after), written an escalation at a
    time: ``head`` with ``escalations`` in its place (each an escalation, or its
    :func:`json_text`). With ``only_violations``, the escalations given are those listed, and
    ``"only_violations": true`` ends it."""
    data = head.to_json()
    data["escalations"] = _MARK
    if only_violations:
        data["only_violations"] = True
    before, after = json.dumps(data, indent=2).split(json.dumps(_MARK), 1)
    write(before)
    first = True
    for escalation in escalations:
        text = escalation if isinstance(escalation, str) else json_text(escalation)
        write(("[\n    " if first else ",\n    ") + text.replace("\n", "\n    "))
        first = False
    write("[]" if first else "\n  ]")
    write(after + "\n")
