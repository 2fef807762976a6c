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
the agreement and merges; :func:`audit_partitioned` runs the rounds, in local processes or
on a Dask cluster.
"""

import bisect
import concurrent.futures
import contextlib
import datetime as dt
import heapq
import importlib
import multiprocessing
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._audit._coverage import CoverageObserver, RuleCoverage
from escalation_policy._audit._replay import AuditRefusal, Replay, UnopenedKey
from escalation_policy._audit._report import (
    AuditObserver,
    AuditPart,
    AuditReport,
    TotalsSum,
    audit_end,
)
from escalation_policy._convert import shared_converter
from escalation_policy._core.step import Limits, admit
from escalation_policy.engine import EngineName, PolicyEngine
from escalation_policy.errors import InputError
from escalation_policy.model import Fact, parse_timestamp
from escalation_policy.policy import Policy, default_policy, load_policy

__all__ = [
    "AuditPartsDisagree",
    "audit_part",
    "audit_partitioned",
    "merge_audits",
    "part_of",
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


def _time_of(data: object) -> dt.datetime | None:
    if isinstance(data, Fact):
        return data.at
    if not isinstance(data, Mapping):
        return None
    try:
        return parse_timestamp(data.get("at"))
    except ValueError:
        return None


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
    if not 0 <= part < parts:
        raise ValueError(f"got part {part} of {parts}; expected 0 to {parts - 1}")
    policy_engine = PolicyEngine(policy, engine=engine)
    chosen = policy_engine.policy
    converter = shared_converter(chosen)
    limits = Limits(policy_engine.max_clock_jump, policy_engine.lateness)
    skipped = frozenset(not_taken)
    observer = AuditObserver(chosen)
    coverage = CoverageObserver(chosen)
    stepped = Replay(policy_engine, [observer, coverage], keep_going=keep_going, keyed=True)
    owned: list[int] = []
    moved: list[int] = []
    for item in facts:
        owner = _fact_owner(item, parts) if isinstance(item, Fact) else _owner(item, parts)
        if owner is None or owner == part:
            refused = len(stepped.refused)
            clock = policy_engine.clock
            stepped.feed(_read(item, converter))
            if owner is not None and len(stepped.refused) > refused:
                owned.append(stepped.count)
                at = _time_of(item)
                if at is not None and _moves(chosen, limits, clock, at):
                    moved.append(stepped.count)
            continue
        stepped.count += 1
        if stepped.count not in skipped:
            at = _time_of(item)
            if at is not None:
                stepped.pass_time(at)
    replayed = stepped.end(audit_end(as_of))
    report = observer.report(replayed, coverage.coverage())
    return attrs.evolve(
        report,
        part=AuditPart(
            part=part,
            parts=parts,
            not_taken=skipped,
            refused_at=tuple(item.line for item in report.refused),
            owned_refusals=tuple(owned),
            moved_clock=tuple(moved),
            unopened_keys=tuple(stepped.unopened_keys[index] for index in observer.unopened_calls),
            rules=len(chosen.rules),
            obligations=tuple(chosen.obligations),
            severities=tuple(member.value for member in chosen.terms.severity),
        ),
    )


def _fact_owner(fact: Fact, parts: int) -> int | None:
    escalation_id = getattr(fact, "escalation_id", None)
    return part_of(escalation_id, parts) if isinstance(escalation_id, str) else None


def _read(item: Any, converter: Any) -> Fact | InputError:
    """An item as a fact of the policy, or the ``InputError`` that says why it is not one."""
    if not isinstance(item, Mapping):
        return item  # a fact, an InputError, or what the engine refuses as it is
    try:
        fact: Fact = converter.structure(item, Fact)
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
    return _merged(reports, info)


def _merged(reports: Sequence[AuditReport], info: Sequence[AuditPart]) -> AuditReport:
    first, part = reports[0], info[0]
    escalations = tuple(
        heapq.merge(*(r.escalations for r in reports), key=lambda e: (e.opened_at, e.escalation_id))
    )
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
    sums = TotalsSum(part.obligations, part.severities)
    for escalation in escalations:
        sums.add(escalation)
    for violation in unopened:
        sums.violation(violation)
    started = [r.started_at for r in reports if r.started_at is not None]
    return AuditReport(
        policy=first.policy,
        facts=first.facts,
        started_at=min(started) if started else None,
        as_of=first.as_of,
        escalations=escalations,
        totals=sums.totals(refused=len(refused)),
        refused=tuple(refused[position] for position in sorted(refused)),
        unopened=unopened,
        coverage={rule: coverage[rule] for rule in [*names, *extra]},
    )


# ------------------------------------------------------------------------- reading, running
@attrs.frozen(kw_only=True)
class PartTask:
    """One part's audit, as a process or a Dask worker is given it: the files it reads (JSON
    lines, or Parquet by their extension), and the policy by name."""

    paths: tuple[str, ...]
    names: tuple[str, ...]
    """How each path is named in refusals."""
    package: str | None = None
    settings: tuple[tuple[str, object], ...] = ()
    part: int
    parts: int
    not_taken: frozenset[int] = frozenset()
    as_of: dt.datetime | None = None
    engine: EngineName = "native"
    keep_going: bool = False

    def policy(self) -> Policy:
        if self.package is None and not self.settings:
            return default_policy()
        return load_policy(self.package or "escalation_policy.rules", settings=dict(self.settings))


@attrs.frozen
class PartStopped:
    """A part stopped at a refused item (without ``keep_going``): its position, and the message
    naming its file and line."""

    position: int
    message: str


class _Origins:
    """The file and line of each item by its position, kept as runs of consecutive lines."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.runs: list[tuple[str, int]] = []
        self.expected: tuple[str, int] | None = None

    def add(self, position: int, name: str, number: int) -> None:
        if (name, number) != self.expected:
            self.starts.append(position)
            self.runs.append((name, number))
        self.expected = (name, number + 1)

    def __getitem__(self, position: int) -> tuple[str, int]:
        index = bisect.bisect_right(self.starts, position) - 1
        name, number = self.runs[index]
        return name, number + position - self.starts[index]


def is_parquet(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in (".parquet", ".pq")


def read_rows(path: str, name: str) -> Iterator[tuple[str, int, Any]]:
    """``(file, row number, the row as a fact's JSON form)`` for each row of a Parquet file:
    a column a field, a null an absent field, a timestamp as its ISO-8601 text."""
    try:  # optional: the [dask] extra; untyped
        parquet: Any = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise InputError(
            f"cannot read {name}: reading Parquet needs pyarrow "
            "(pip install 'escalation-policy[dask]')"
        ) from None
    try:
        table = parquet.ParquetFile(path)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {name}: {error}") from None
    number = 0
    for batch in table.iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            number += 1
            yield (
                name,
                number,
                {key: _json_value(value) for key, value in row.items() if value is not None},
            )


def _json_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _items(task: PartTask) -> Iterator[tuple[str, int, Any]]:
    from escalation_policy.cli.impact import _items as json_lines

    for path, name in zip(task.paths, task.names, strict=True):
        if is_parquet(path):
            yield from read_rows(path, name)
        else:
            yield from json_lines((path,), (name,))


def run_part(task: PartTask) -> AuditReport | PartStopped:
    """Audit one part of the files ``task`` names: refusals carry their file and line."""
    origins = _Origins()

    def items() -> Iterator[Any]:
        for position, (name, number, item) in enumerate(_items(task), start=1):
            origins.add(position, name, number)
            yield item

    try:
        report = audit_part(
            items(),
            part=task.part,
            parts=task.parts,
            not_taken=task.not_taken,
            as_of=task.as_of,
            policy=task.policy(),
            engine=task.engine,
            keep_going=task.keep_going,
        )
    except InputError as error:
        if error.path == "as_of" or error.line is None:
            raise
        name, number = origins[error.line]
        return PartStopped(error.line, f"{name}: {error.at_line(number)}")
    return attrs.evolve(
        report,
        refused=tuple(
            attrs.evolve(item, file=name, line=number)
            for item in report.refused
            for name, number in [origins[item.line]]
        ),
    )


Runner = Callable[[Sequence[PartTask]], list[AuditReport | PartStopped]]


def in_processes(jobs: int) -> Runner:
    """Run the parts in ``jobs`` local processes."""

    def run(tasks: Sequence[PartTask]) -> list[AuditReport | PartStopped]:
        if jobs == 1:
            return [run_part(task) for task in tasks]
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            return list(pool.map(run_part, tasks))

    return run


def on_dask(client: Any) -> Runner:
    """Run the parts on a ``dask.distributed`` client's workers (which read the files: on
    several machines, at paths they all see)."""

    def run(tasks: Sequence[PartTask]) -> list[AuditReport | PartStopped]:
        futures = client.map(run_part, list(tasks), pure=False)
        return list(client.gather(futures))

    return run


@contextlib.contextmanager
def dask_client(scheduler: str, workers: int) -> Iterator[Any]:
    """A ``dask.distributed`` client: of a cluster of ``workers`` local processes for
    ``"local"``, else of the scheduler at that address."""
    try:  # optional: the [dask] extra; untyped
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise InputError(
            "--dask needs dask.distributed: pip install 'escalation-policy[dask]'"
        ) from None
    if scheduler == "local":
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, dashboard_address=None
        )
        with cluster, distributed.Client(cluster) as client:
            yield client
        return
    with distributed.Client(scheduler) as client:
        yield client


def run_partitioned(tasks: Sequence[PartTask], runner: Runner) -> AuditReport:
    """Run the parts, again with ``not_taken`` while they disagree, and merge them; a part
    stopped at a refused item raises ``InputError`` for the first in the history."""
    while True:
        results = runner(tasks)
        stopped = [result for result in results if isinstance(result, PartStopped)]
        if stopped:
            raise InputError(min(stopped, key=lambda s: s.position).message)
        reports = [result for result in results if isinstance(result, AuditReport)]
        try:
            return merge_audits(reports)
        except AuditPartsDisagree as disagree:
            tasks = [attrs.evolve(task, not_taken=disagree.not_taken) for task in tasks]


def audit_partitioned(
    paths: Sequence[str | os.PathLike[str]],
    *,
    parts: int,
    client: Any = None,
    jobs: int | None = None,
    package: str | None = None,
    settings: Mapping[str, object] | None = None,
    as_of: dt.datetime | None = None,
    engine: EngineName = "native",
    keep_going: bool = False,
) -> AuditReport:
    """The audit of the history in ``paths`` (JSON lines; Parquet, a row a fact, for a
    ``.parquet`` file), in ``parts`` parts by escalation: the report one :func:`audit` gives.

    ``client``: a ``dask.distributed.Client`` whose workers audit the parts (each reads the
    files: on several machines, at paths every worker sees); else ``jobs`` local processes
    (by default one per part). The policy is the handbook's, or the package ``package``
    names (a module or a folder) with ``settings``: each worker loads it. Refusals name their
    file and line; without ``keep_going`` the first refused item raises an ``InputError``.
    """
    if parts < 1:
        raise ValueError(f"got {parts} parts; expected 1 or more")
    names = tuple(os.fspath(path) for path in paths)
    tasks = [
        PartTask(
            paths=names,
            names=names,
            package=package,
            settings=tuple((settings or {}).items()),
            part=index,
            parts=parts,
            as_of=audit_end(as_of),
            engine=engine,
            keep_going=keep_going,
        )
        for index in range(parts)
    ]
    runner = on_dask(client) if client is not None else in_processes(jobs or parts)
    return run_partitioned(tasks, runner)
