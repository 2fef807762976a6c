"""The audit of history files in parts, in local processes or on a Dask cluster: an edge of
the library (it reads files and starts processes) around ``escalation_policy._audit._parts``,
which audits a part and merges the parts."""

import bisect
import concurrent.futures
import contextlib
import datetime as dt
import importlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._audit._parts import AuditPartsDisagree, audit_part, merge_audits
from escalation_policy._audit._report import AuditReport, audit_end
from escalation_policy.cli._common import read_json_items
from escalation_policy.engine import EngineName
from escalation_policy.errors import InputError
from escalation_policy.policy import Policy, default_policy, load_policy

__all__ = [
    "PartStopped",
    "PartTask",
    "audit_partitioned",
    "dask_client",
    "in_processes",
    "is_parquet",
    "on_dask",
    "run_partitioned",
]


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
    for path, name in zip(task.paths, task.names, strict=True):
        if is_parquet(path):
            yield from read_rows(path, name)
        else:
            yield from read_json_items((path,), (name,))


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
