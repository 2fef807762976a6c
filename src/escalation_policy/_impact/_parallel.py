"""The impact of a change of policy in partitions by escalation, in local processes or on a
Dask cluster, merged into the report one replay gives: an edge (it reads files and starts
processes), reading with the audit's readers (JSON lines, Parquet) and running on its Dask
plumbing (:mod:`escalation_policy._partitioned`)."""

import concurrent.futures
import datetime as dt
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._audit import AuditRefusal, audit_end, part_of
from escalation_policy._impact._compare import Comparison, order, time_of
from escalation_policy._impact._report import ImpactReport, totals_of
from escalation_policy._impact._sources import PolicySource, base_source
from escalation_policy._partitioned import dask_map, local_processes, read_items
from escalation_policy.engine import EngineName
from escalation_policy.errors import InputError
from escalation_policy.policy import Policy

__all__ = [
    "PartitionStopped",
    "PartitionTask",
    "impact_partitioned",
    "in_processes",
    "merged",
    "on_dask",
    "run_partition",
]


@attrs.frozen(kw_only=True)
class PartitionTask:
    """One partition's replay, as a process or a Dask worker is given it: the files it reads
    and the two policies by name (each worker loads them)."""

    paths: tuple[str, ...]
    names: tuple[str, ...]
    """How each path is named in messages (standard input spooled to a file keeps its name)."""
    policy: PolicySource
    base: PolicySource
    jobs: int
    """The number of partitions."""
    keep_going: bool
    as_of: dt.datetime | None
    engine: EngineName
    index: int = 0
    """This partition."""


@attrs.frozen
class PartitionStopped:
    """A partition stopped at a refused line: its position in the history and the message."""

    position: int
    message: str


def _partition_of(data: Any, jobs: int) -> int | None:
    """Which partition a line's escalation falls in (``None``: every one, a tick)."""
    escalation_id = data.get("escalation_id") if isinstance(data, dict) else None
    if not isinstance(escalation_id, str):
        return None
    return part_of(escalation_id, jobs)  # the audit's parts: one partitioning


_COUNTS: Any = None
"""In a local process: the items each partition has read, shared with the process that shows
the progress."""


def _share_counts(counts: Any) -> None:
    global _COUNTS
    _COUNTS = counts


def run_partition(
    task: PartitionTask,
    loaded: "tuple[Policy, Policy] | None" = None,
    progress: Callable[[int], None] | None = None,
) -> ImpactReport | PartitionStopped:
    """Replay one partition of the history: the escalations whose id falls in it, and the
    time of every other fact, so that its clock is the whole history's."""
    policy, base = loaded or (task.policy.load(), task.base.load())
    comparison = Comparison(policy, base, engine=task.engine, keep_going=task.keep_going)
    origins: list[tuple[str, int]] = []
    counts = _COUNTS
    index, jobs = task.index, task.jobs
    try:
        for position, (name, number, item) in enumerate(read_items(task.paths, task.names), 1):
            origins.append((name, number))
            if jobs == 1 or _partition_of(item, jobs) in (None, index):
                comparison.feed(item)
            else:
                comparison.skip(time_of(item))
            if position % 10_000 == 0:
                if counts is not None:
                    counts[index] = position
                if progress is not None:
                    progress(position)
        report = comparison.report(task.as_of)
    except InputError as error:
        if error.path == "as_of":
            return PartitionStopped(0, f"--as-of: {error.reason}")
        if error.line is None:
            raise
        name, number = origins[error.line - 1]
        return PartitionStopped(error.line, f"{name}: {error.at_line(number, name)}")

    def located(item: AuditRefusal) -> AuditRefusal:
        name, number = origins[item.line - 1]
        return attrs.evolve(item, file=name, line=number)

    return attrs.evolve(
        report,
        refused=tuple(located(item) for item in report.refused),
        skipped_by_base=tuple(located(item) for item in report.skipped_by_base),
    )


def merged(reports: Sequence[ImpactReport], names: Sequence[str]) -> ImpactReport:
    """The partitions' reports as one: what each found, in the order one replay gives."""
    if len(reports) == 1:
        return reports[0]
    files = {name: index for index, name in reversed(list(enumerate(names)))}

    def listed(items: Sequence[AuditRefusal]) -> tuple[AuditRefusal, ...]:
        once = {(item.file, item.line): item for item in items}  # a tick: in every partition
        return tuple(sorted(once.values(), key=lambda i: (files.get(i.file or "", 0), i.line)))

    escalations = sorted((e for r in reports for e in r.escalations), key=order)
    first = reports[0]
    return attrs.evolve(
        first,
        escalations=tuple(escalations),
        totals=totals_of(escalations, sum(r.totals.escalations for r in reports)),
        refused=listed([i for r in reports for i in r.refused]),
        skipped_by_base=listed([i for r in reports for i in r.skipped_by_base]),
    )


def _tasks(task: PartitionTask) -> list[PartitionTask]:
    return [attrs.evolve(task, index=index) for index in range(task.jobs)]


def in_processes(
    task: PartitionTask,
    workers: int | None = None,
    shown: Callable[[int], None] | None = None,
) -> list[ImpactReport | PartitionStopped]:
    """The partitions replayed in ``workers`` local processes (by default one a partition);
    ``shown`` is called now and then with the fewest items a partition has read."""
    if (workers or task.jobs) == 1:
        return [run_partition(each) for each in _tasks(task)]
    counts = multiprocessing.get_context("spawn").Array("q", task.jobs, lock=False)
    with local_processes(
        run_partition,
        _tasks(task),
        workers or task.jobs,
        initializer=_share_counts,
        initargs=(counts,),
    ) as futures:
        while True:
            _done, waiting = concurrent.futures.wait(futures, timeout=0.5)
            if shown is not None:
                shown(min(counts))
            if not waiting:
                break
        return [future.result() for future in futures]


def on_dask(client: Any, task: PartitionTask) -> list[ImpactReport | PartitionStopped]:
    """The partitions replayed on a ``dask.distributed`` client's workers (which read the
    files and load the policies: on several machines, at paths they all see)."""
    return list(dask_map(client, run_partition, _tasks(task)))


def impact_partitioned(
    paths: Sequence[str | os.PathLike[str]],
    *,
    base: str,
    parts: int,
    client: Any = None,
    jobs: int | None = None,
    package: str | None = None,
    settings: Mapping[str, object] | None = None,
    as_of: dt.datetime | None = None,
    engine: EngineName = "native",
    keep_going: bool = False,
) -> ImpactReport:
    """The impact over the history in ``paths`` (JSON lines; Parquet, a row a fact, for a
    ``.parquet`` file), replayed in ``parts`` partitions by escalation: the report one
    :func:`impact` gives.

    ``client``: a ``dask.distributed.Client`` whose workers replay the partitions (each reads
    the files and loads both policies: on several machines, at paths every worker sees);
    else ``jobs`` local processes (by default one per partition). The policy is the
    handbook's, or the package ``package`` names (a module or a folder) with ``settings``;
    ``base`` names the base as :func:`impact` reads it (``"handbook"``, a package, or
    ``"git:REV"``: its copy is in a temporary folder on this machine while the replay runs).
    Refusals name their file and line; without ``keep_going`` the first refused item raises
    an ``InputError``.
    """
    if parts < 1:
        raise ValueError(f"got {parts} parts; expected 1 or more")
    names = tuple(os.fspath(path) for path in paths)
    new = PolicySource(package=package, settings=tuple((settings or {}).items()))
    new.load()  # a mistake in it is said before anything is read
    with base_source(base, package) as source:
        source.load()
        task = PartitionTask(
            paths=names,
            names=names,
            policy=new,
            base=source,
            jobs=parts,
            keep_going=keep_going,
            as_of=audit_end(as_of),
            engine=engine,
        )
        results = on_dask(client, task) if client is not None else in_processes(task, jobs)
    stopped = [result for result in results if isinstance(result, PartitionStopped)]
    if stopped:
        raise InputError(min(stopped, key=lambda s: s.position).message)
    return merged([r for r in results if isinstance(r, ImpactReport)], names)
