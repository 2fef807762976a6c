"""An audit in parts, by escalation, merged into the audit of the whole history.

Each part reads the whole history: it audits the escalations whose id falls in it (``crc32``
of the id, as ``escalation-policy impact --jobs`` partitions), takes every item about no
escalation (a tick) as one replay would, and lets the time of every other item pass, so that
its clock is the whole history's and its escalations see time pass exactly as in one replay.

One thing a part cannot see is whether another part's escalation refused an item (a fact
about an escalation already closed, say): one replay's clock does not move for a refused
item, while a part that only knew its time let it pass. The part that refuses such an item
tells which of its refusals would have moved the clock (``AuditPart.moved_clock``); the parts
agree when each of those was left out by the others (``not_taken``) and each item left out
was refused. Up to the first item where they do not, every part replayed exactly what one
replay does, so the refusals it reports there are right: the parts are audited again with
``not_taken`` those refusals that moved the clock, and agree up to a later item at least.
One round when nothing that moves the clock is refused; in practice two when something is
(a wrongly moved clock is set right by the next item taken). :func:`merge_audits` checks
the agreement and merges; ``escalation_policy._partitioned`` runs the rounds, on files, in
local processes or on a Dask cluster.
"""

import datetime as dt
import heapq
import re
import typing
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import attrs

from escalation_policy._audit import _replay
from escalation_policy._audit._coverage import CoverageObserver, RuleCoverage
from escalation_policy._audit._replay import AuditRefusal, Replay, UnopenedKey
from escalation_policy._audit._report import (
    AuditObserver,
    AuditPart,
    AuditReport,
    EscalationAudit,
    TotalsSum,
    _value,
    audit_end,
)
from escalation_policy._convert import shared_fact_reader
from escalation_policy._convert.lines import json_value
from escalation_policy._core.step import Limits, admit
from escalation_policy._language.typed import EARLIEST, LATEST
from escalation_policy.engine import EngineName, PolicyEngine
from escalation_policy.errors import InputError
from escalation_policy.model import Fact, parse_timestamp
from escalation_policy.policy import Policy

__all__ = [
    "AuditPartsDisagree",
    "Owned",
    "audit_part",
    "audit_part_items",
    "checked_parts",
    "in_order",
    "line_owner",
    "merge_audits",
    "merged_head",
    "owned",
    "part_of",
    "utc_time",
]


def part_of(escalation_id: str, parts: int) -> int:
    """The part (``0`` to ``parts - 1``) an escalation's id falls in."""
    return zlib.crc32(escalation_id.encode("utf-8", "surrogatepass")) % parts


def _owner(data: object, parts: int) -> int | None:
    """The part an item's escalation falls in (``None``: every part's, an item about no
    escalation, or one that is not a JSON object)."""
    escalation_id = data.get("escalation_id") if isinstance(data, Mapping) else None
    if not isinstance(escalation_id, str):
        return None
    return part_of(escalation_id, parts)


_DIGITS = bytes.maketrans(b"0123456789", b"0000000000")
_UTC_FORM = b"0000-00-00T00:00:00+00:00"
"""The common form of a time in UTC, each digit a ``0``: as ``datetime.fromisoformat`` reads
it, in UTC."""
_UTC = b"+00:00"
_EARLIEST = EARLIEST.isoformat().encode()
_LATEST = LATEST.isoformat().encode()


def utc_time(data: bytes) -> dt.datetime | None:
    """The time a text of the common form in UTC (``2026-03-02T09:00:00+00:00``) gives, as
    ``parse_timestamp`` reads it; ``None`` for any other text, or a time out of range."""
    # Told by two comparisons rather than a pattern: the digits where the form has them, its
    # other characters as they are, in UTC. Times of that form compare as their texts do.
    if data.translate(_DIGITS) != _UTC_FORM or not data.endswith(_UTC):
        return None
    if not _EARLIEST <= data < _LATEST:
        return None
    try:
        return dt.datetime.fromisoformat(data.decode("ascii"))
    except ValueError:  # a day or an hour out of range
        return None


def _time_of(data: object) -> dt.datetime | None:
    """The time of an item (a fact, its JSON form) or the text of one (as a line gave it): an
    instant, a UTC datetime in range (as ``to_instant`` gives it)."""
    if isinstance(data, bytes):
        when = utc_time(data)
        if when is not None:
            return when
        try:
            return parse_timestamp(data.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError too
            return None
    if isinstance(data, Fact):
        return data.at
    if not isinstance(data, Mapping):
        return None
    try:
        return parse_timestamp(data.get("at"))
    except ValueError:
        return None


_ID_KEY = b'"escalation_id"'
_ID_VALUE = re.compile(rb'"escalation_id"\s*:\s*"([^"]*)"')
_AT_KEY = b'"at"'
_AT_VALUE = re.compile(rb'"at"\s*:\s*"([^"]*)"')
_SPACE = frozenset(b" \t\n\r\f\v")
"""What ``\\s`` matches in a pattern of bytes."""


def _key_at(line: bytes, start: int) -> bool:
    """Whether the quoted text at ``start`` follows ``{`` or ``,`` (and spaces): a key."""
    index = start - 1
    while index >= 0 and line[index] in _SPACE:
        index -= 1
    return index >= 0 and line[index] in b"{,"


_COMMON = re.compile(
    rb'\{"type": "[a-z_]+", "escalation_id": "([^"\\{]*)"'
    rb'(?:, "(?!at")[^"\\{]*": (?:"[^"\\{]*"|[^"\\{,]*))*'
    rb', "at": "([^"\\{]*)"'
    rb'(?:, "[^"\\{]*": (?:"[^"\\{]*"|[^"\\{,]*))*\}\n?'
)
"""A line as ``json.dumps`` writes a fact whose ``type`` and ``escalation_id`` come first: no
backslash, no ``{`` but the first, no key ``at`` before its ``at``. With the string
``"escalation_id"`` there once, what :func:`line_owner` tells of it, in one match: its id, and
its time (the first ``at`` with a string)."""


def line_owner(line: bytes, parts: int) -> tuple[int, bytes | None] | None:
    """The part a JSON line's escalation falls in, and the text of its ``at``, told from the
    line's bytes without reading it as JSON; ``None`` when that cannot be told for sure (read it
    then). In a line with no backslash, quotes are only around strings; with one ``{``, a JSON
    object's keys are its own: what follows its key ``escalation_id`` (there once) is the
    escalation's id as JSON reads it. A line that is not JSON after all falls in that part
    too, for every part tells it the same way: that part refuses it, and says whether its time
    moved the clock."""
    common = _COMMON.fullmatch(line)
    if common is not None and line.count(_ID_KEY) == 1:  # most lines: told in one match
        return zlib.crc32(common[1]) % parts, common[2]
    start = line.find(_ID_KEY)
    if (
        start < 0
        or line.find(_ID_KEY, start + 1) >= 0
        or b"\\" in line
        or line.count(b"{") != 1
        or (line[start - 2 : start] != b", " and not _key_at(line, start))
    ):
        return None
    found = _ID_VALUE.match(line, start)
    if found is None:
        return None
    at = None
    index = line.find(_AT_KEY)
    while index >= 0:  # the first "at" that is a key and has a string
        if line[index - 2 : index] == b", " or _key_at(line, index):
            value = _AT_VALUE.match(line, index)
            if value is not None:
                at = value.group(1)
                break
        index = line.find(_AT_KEY, index + 1)
    return zlib.crc32(found.group(1)) % parts, at


Owned = tuple[int | None, Any, object]
"""An item of a history as a part reads it: its part (``None``: every part's), the item (read
only by its part; ``None`` in the others) and its time (a ``datetime``, the item, or the text
of its ``at``). An item of ``bytes`` (its part ``None``) is the JSON line of a tick, not read
yet, at its time (a ``datetime``): taken without being read when nothing falls due by then."""


def owned(facts: Iterable[Fact | Mapping[str, Any] | InputError], parts: int) -> Iterator[Owned]:
    """The items of a history, each with its part."""
    for item in facts:
        owner = _fact_owner(item, parts) if isinstance(item, Fact) else _owner(item, parts)
        yield owner, item, item


class AuditPartsDisagree(ValueError):
    """The parts of an audit did not take the same facts: audit them again with
    ``not_taken``."""

    def __init__(self, message: str, not_taken: frozenset[int]) -> None:
        super().__init__(message)
        self.not_taken = not_taken


def audit_part(
    facts: Iterable[Fact | Mapping[str, Any] | InputError],
    *,
    part: int,
    parts: int,
    not_taken: Iterable[int] = (),
    as_of: dt.datetime | None = None,
    policy: Policy | None = None,
    engine: EngineName = "native",
    keep_going: bool = False,
) -> AuditReport:
    """The audit of one part of a history: the escalations whose id falls in part ``part`` of
    ``parts`` (see :func:`merge_audits`), every item read. ``facts`` are the whole history, as
    :func:`audit` takes it (facts, their JSON forms, or the ``InputError`` of an item that
    could not be read); the part is told apart by the ``escalation_id`` of each. The time of
    an item of another part passes, unless its position is in ``not_taken``."""
    report, _, _ = audit_part_items(
        owned(facts, parts),
        part=part,
        parts=parts,
        not_taken=not_taken,
        as_of=as_of,
        policy=policy,
        engine=engine,
        keep_going=keep_going,
    )
    return report


def audit_part_items(
    items: Iterable[Owned],
    *,
    part: int,
    parts: int,
    not_taken: Iterable[int] = (),
    as_of: dt.datetime | None = None,
    policy: Policy | None = None,
    engine: EngineName = "native",
    keep_going: bool = False,
    keep: Callable[[Sequence[EscalationAudit]], object] | None = None,
    spooled: tuple[AuditObserver, CoverageObserver] | None = None,
) -> tuple[AuditReport, frozenset[str], TotalsSum]:
    """:func:`audit_part` of items already told apart (see :data:`Owned`), every violation
    code the report holds, and the totals of its escalations added up.
    ``keep``: the escalations are let go once settled (kept on disk meanwhile) and given to
    ``keep`` in order of opening, a batch at a time, once the history has ended; the report
    then holds none of them. ``spooled``, with ``keep``: the audit's observers that keep the
    escalations on disk (``escalation_policy._audit._stream``), read back with ``read``."""
    if not 0 <= part < parts:
        raise ValueError(f"got part {part} of {parts}; expected 0 to {parts - 1}")
    policy_engine = PolicyEngine(policy, engine=engine)
    chosen = policy_engine.policy
    read = shared_fact_reader(chosen)
    limits = Limits(policy_engine.max_clock_jump, policy_engine.lateness)
    skipped = frozenset(not_taken)
    if (keep is None) != (spooled is None):
        raise ValueError("got keep without spooled observers, or the other way; expected both")
    observer, coverage = spooled or (AuditObserver(chosen), CoverageObserver(chosen))
    spool = spooled
    stepped = Replay(
        policy_engine,
        [observer, coverage],
        keep_going=keep_going,
        keyed=True,
        release=spool is not None,
        quiet_time=True,
    )
    owned_refusals: list[int] = []
    moved: list[int] = []
    sweep = _replay.SWEEP
    last_at: object = None  # the time of the last item of another part, and its instant
    last_when: dt.datetime | None = None
    for owner, item, at in items:
        if type(item) is bytes:  # a tick's line, not read yet
            if not stepped.feed_quiet_tick(typing.cast(dt.datetime, at)):
                stepped.feed(_read(json_value(item), read))  # as any item about no escalation
        elif owner is None or owner == part:
            refused = len(stepped.refused)
            clock = policy_engine.clock
            stepped.feed(_read(item, read))
            if owner is not None and len(stepped.refused) > refused:
                owned_refusals.append(stepped.count)
                when = _time_of(at)
                if when is not None and _moves(chosen, limits, clock, when):
                    moved.append(stepped.count)
        else:
            stepped.count += 1
            if stepped.count not in skipped:
                if type(at) is not bytes or at != last_at:  # often the same as the last
                    last_at, last_when = at, _time_of(at)
                when = last_when
                if when is not None:  # an instant (see _time_of)
                    stepped.pass_time(when, True)
        if spool is not None and stepped.count >= sweep:
            stepped.sweep()  # a part feeds only its own items: feed() seldom sweeps
            sweep = stepped.count + _replay.SWEEP
    replayed = stepped.end(audit_end(as_of))
    part_info = AuditPart(
        part=part,
        parts=parts,
        not_taken=skipped,
        refused_at=tuple(item.line for item in replayed.refused),
        owned_refusals=tuple(owned_refusals),
        moved_clock=tuple(moved),
        unopened_keys=tuple(stepped.unopened_keys[index] for index in observer.unopened_calls),
        rules=len(chosen.rules),
        obligations=tuple(chosen.obligations),
        severities=tuple(member.value for member in chosen.terms.severity),
    )
    if keep is None or spool is None:
        report = observer.report(replayed, coverage.coverage())
        codes = frozenset(_value(v.code) for v in report.violations)
        sums = TotalsSum(part_info.obligations, part_info.severities)
        for escalation in report.escalations:
            sums.add(escalation)
        return attrs.evolve(report, part=part_info), codes, sums
    sums = TotalsSum(part_info.obligations, part_info.severities)
    batch: list[EscalationAudit] = []
    spooling = typing.cast(Spooling, observer)
    for escalation in spooling.read(replayed.end, False):
        sums.add(escalation)
        batch.append(escalation)
        if len(batch) == _BATCH:
            keep(batch)
            batch = []
    if batch:
        keep(batch)
    unopened = tuple(observer.about_unopened)
    with_unopened = TotalsSum(part_info.obligations, part_info.severities)
    with_unopened.extend(sums)
    for violation in unopened:
        with_unopened.violation(violation)
    head = AuditReport(
        policy=chosen.identity,
        facts=replayed.facts,
        started_at=replayed.started_at,
        as_of=replayed.end,
        escalations=(),
        totals=with_unopened.totals(
            refused=len(replayed.refused), redelivered=replayed.redelivered
        ),
        refused=replayed.refused,
        unopened=unopened,
        coverage=coverage.coverage(),
        part=part_info,
    )
    return head, frozenset(spooling.codes), sums


class Spooling(Protocol):
    """An audit observer that keeps escalations on disk once settled."""

    codes: set[str]

    def read(self, end: dt.datetime | None, only_violations: bool) -> Iterator[EscalationAudit]:
        """The escalations, in order of opening."""


_BATCH = 512
"""Escalations given to ``keep`` at a time."""


def _fact_owner(fact: Fact, parts: int) -> int | None:
    escalation_id = getattr(fact, "escalation_id", None)
    return part_of(escalation_id, parts) if isinstance(escalation_id, str) else None


def _read(item: Any, read: Callable[[Mapping[str, Any]], Fact]) -> Any:
    """An item as a fact of the policy (``read``: its reader), or the ``InputError`` that says
    why it is not one."""
    if type(item) is not dict and not isinstance(item, Mapping):
        return item  # a fact, an InputError, or what the engine refuses as it is
    try:
        fact: Fact = read(item)
    except InputError as error:
        found = item.get("id") if isinstance(item, Mapping) else None
        error.fact_id = found if isinstance(found, str) else None
        return error
    return fact


def _moves(policy: Policy, limits: Limits, clock: dt.datetime | None, at: dt.datetime) -> bool:
    """Whether time passing to ``at`` would move the clock: what the other parts did for an
    item this part's escalation refused."""
    try:
        after, _ = admit(policy, limits, clock, at)
    except InputError:
        return False
    return after != clock


# ------------------------------------------------------------------------------------ merging
def merge_audits(reports: Iterable[AuditReport]) -> AuditReport:
    """The audit of a whole history from the audits of its parts (``audit(facts,
    part=(index, parts))`` for every index, each given the whole history): exactly the report
    one :func:`audit` of the history gives, refusals included.

    Raises ``ValueError`` when the reports are not the parts of one audit (a part missing or
    twice, other histories, policies or ends), and :class:`AuditPartsDisagree` (a ``ValueError``)
    when a fact refused in one part moved the clock in others: audit every part again with
    ``not_taken=error.not_taken`` (:func:`audit_partitioned` does).
    """
    reports = list(reports)
    if not reports:
        raise ValueError("got no reports; expected the audit of each part of a history")
    if len(reports) == 1 and reports[0].part is None:
        return reports[0]
    info = checked_parts(reports)
    escalations = tuple(in_order(report.escalations for report in reports))
    sums = TotalsSum(info[0].obligations, info[0].severities)
    for escalation in escalations:
        sums.add(escalation)
    return attrs.evolve(merged_head(reports, sums), escalations=escalations)


def checked_parts(reports: Sequence[AuditReport]) -> list[AuditPart]:
    """What each of ``reports`` says of its part, once checked that they are the parts of one
    audit that agree (see :func:`merge_audits`)."""
    if not reports:
        raise ValueError("got no reports; expected the audit of each part of a history")
    parts = [report.part for report in reports]
    if any(part is None for part in parts):
        raise ValueError("got a report that is not a part's; expected audit(..., part=...)")
    info = [part for part in parts if part is not None]
    count = info[0].parts
    if sorted(part.part for part in info) != list(range(count)) or any(
        part.parts != count for part in info
    ):
        got = ", ".join(f"{part.part} of {part.parts}" for part in info)
        raise ValueError(f"got parts {got}; expected each part 0 to {count - 1} of {count} once")
    not_taken = info[0].not_taken
    owned = {position for part in info for position in part.owned_refusals}
    moved = {position for part in info for position in part.moved_clock}
    if any(part.not_taken != not_taken for part in info):
        raise ValueError("the parts were audited with different not_taken; expected the same")
    if count > 1 and (not moved <= not_taken or not not_taken <= owned):
        lines = sorted((moved - not_taken) | (not_taken - owned))
        raise AuditPartsDisagree(
            f"the parts disagree on whether {len(lines)} item(s) were taken (the first at "
            f"position {lines[0]}): audit each part again with not_taken",
            frozenset(moved | (not_taken & owned)),
        )
    first = reports[0]
    for report in reports[1:]:
        for name in ("policy", "facts", "as_of"):
            if getattr(report, name) != getattr(first, name):
                raise ValueError(
                    f"the parts differ in {name} ({getattr(first, name)} and "
                    f"{getattr(report, name)}); expected the parts of one audit"
                )
    return info


def in_order(listings: Iterable[Iterable[EscalationAudit]]) -> Iterator[EscalationAudit]:
    """The escalations of the parts (each in order of opening), in order of opening."""
    return heapq.merge(*listings, key=lambda e: (e.opened_at, e.escalation_id))


def merged_head(reports: Sequence[AuditReport], sums: TotalsSum) -> AuditReport:
    """The merged report of parts that :func:`checked_parts` accepted, without its escalations,
    whose totals ``sums`` added up (then the violations about escalations never opened)."""
    info = [report.part for report in reports if report.part is not None]
    first, part = reports[0], info[0]
    keyed: list[tuple[UnopenedKey, Any]] = [
        (key, violation)
        for report, about in zip(reports, info, strict=True)
        for key, violation in zip(about.unopened_keys, report.unopened, strict=True)
    ]
    keyed.sort(key=lambda pair: pair[0])
    unopened = tuple(violation for _, violation in keyed)
    refused: dict[int, AuditRefusal] = {}
    for report, about in zip(reports, info, strict=True):
        for position, item in zip(about.refused_at, report.refused, strict=True):
            refused.setdefault(position, item)  # an item about no escalation: in every part
    coverage: dict[str, RuleCoverage] = {}
    for report in reports:
        for rule, figures in report.coverage.items():
            was = coverage.get(rule, RuleCoverage())
            coverage[rule] = RuleCoverage(
                fired=was.fired + figures.fired, actions=was.actions + figures.actions
            )
    names = list(first.coverage)[: part.rules]
    extra = sorted(set(coverage) - set(names))
    for violation in unopened:
        sums.violation(violation)
    started = [r.started_at for r in reports if r.started_at is not None]
    return AuditReport(
        policy=first.policy,
        facts=first.facts,
        started_at=min(started) if started else None,
        as_of=first.as_of,
        escalations=(),
        totals=sums.totals(
            refused=len(refused),
            # each part takes the redeliveries of its own escalations' facts
            redelivered=sum(report.totals.redelivered for report in reports),
        ),
        refused=tuple(refused[position] for position in sorted(refused)),
        unopened=unopened,
        coverage={rule: coverage[rule] for rule in [*names, *extra]},
    )
