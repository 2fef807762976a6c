"""The audit of history files in parts, in local processes or on a Dask cluster: an edge of
the library (it reads files and starts processes) around ``escalation_policy._audit._parts``,
which audits a part and merges the parts."""

import bisect
import concurrent.futures
import contextlib
import datetime as dt
import heapq
import importlib
import io
import multiprocessing
import os
import pickle
import shutil
import signal
import tempfile
import threading
import types
import typing
import zlib
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import IO, Any

import attrs

from escalation_policy._audit._parts import (
    AuditPartsDisagree,
    Owned,
    _owner,
    audit_part_items,
    checked_parts,
    in_order,
    line_owner,
    merged_head,
    part_of,
    utc_time,
)
from escalation_policy._audit._report import (
    AuditListing,
    AuditReport,
    EscalationAudit,
    TotalsSum,
    audit_end,
)
from escalation_policy._audit._stream import (
    StreamedAudit,
    _SpoolingObserver,
    _StreamingCoverage,
    json_text,
)
from escalation_policy._convert import shared_fact_reader, shared_line_reader
from escalation_policy._lines import (
    MAX_LINE,
    json_data,
    open_lines,
    read_json_items,
    skip_rest,
    too_long,
)
from escalation_policy.engine import EngineName
from escalation_policy.errors import InputError, InvalidFactError, is_parquet
from escalation_policy.policy import Policy, default_policy, load_policy

__all__ = [
    "PartDone",
    "PartStopped",
    "PartTask",
    "audit_partitioned",
    "dask_client",
    "dask_map",
    "in_processes",
    "is_parquet",
    "local_processes",
    "on_dask",
    "read_items",
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
    json: bool = False
    """Render each escalation's JSON in the part (for a report written as JSON)."""
    folder: str | None = None
    """Where to write the part's escalations (a folder the merging process reads); ``None``:
    send them back with the result."""

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
            self.start(position, name, number)
        self.expected = (name, number + 1)

    def start(self, position: int, name: str, number: int) -> None:
        """A run starts at ``position``: a reader that tells where runs break itself."""
        self.starts.append(position)
        self.runs.append((name, number))

    def __getitem__(self, position: int) -> tuple[str, int]:
        index = bisect.bisect_right(self.starts, position) - 1
        name, number = self.runs[index]
        return name, number + position - self.starts[index]


def _parquet_batches(path: str, name: str) -> Iterator[tuple[int, Any]]:
    """The record batches of a Parquet file (``pyarrow.RecordBatch``), each with the number of
    its first row. A file that repeats a column's name is refused: which of the two is the
    fact's field?"""
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
    names = table.schema_arrow.names
    twice = sorted({field for field in names if names.count(field) > 1})
    if twice:
        raise InputError(
            f"cannot read {name}: the column {twice[0]!r} is there twice; expected each field "
            "of a fact in one column"
        )
    batches = table.iter_batches(batch_size=_PARQUET_BATCH)
    first = 1
    while True:
        with _unreadable(name, first):
            batch = next(batches, None)
        if batch is None:
            return
        yield first, batch
        first += batch.num_rows


_PARQUET_BATCH = 8192


_ARROW_ERRORS = (ValueError, OverflowError, TypeError, NotImplementedError)
"""What pyarrow raises for a value it cannot make into Python's, or a cast it cannot make."""


@contextlib.contextmanager
def _unreadable(name: str, first: int) -> Iterator[None]:
    """What pyarrow raises for a batch it cannot read or make Python values of (a damaged
    page, a time out of Python's range, text that is not UTF-8), as the ``InputError`` that
    names the file and the batch's first row."""
    try:
        yield
    except (OSError, *_ARROW_ERRORS) as error:
        if isinstance(error, InputError):
            raise
        reason = " ".join(str(error).split()) or type(error).__name__
        raise InputError(f"cannot read {name}, from row {first}: {reason}") from None


@attrs.frozen
class _Unreadable:
    """A Parquet value that pyarrow cannot make a Python value of (a time past the year 9999,
    a date before the year 1): what arrived, as Arrow writes it, and why."""

    column: str
    text: str
    reason: str

    def error(self) -> InvalidFactError:
        """The refusal of the row that holds it, naming the field, as a fact's is named."""
        return InvalidFactError(
            f"got {self.text}, which Python cannot hold ({self.reason}); expected a value "
            "Python holds (text in UTF-8; a time from the year 1 to 9999, to the microsecond)",
            path=f"$.{self.column}" if self.column.isidentifier() else f"$[{self.column!r}]",
        )


def _values(column: Any, name: str) -> list[object]:
    """The Python values of a column (``pyarrow``'s ``to_pylist``); one that cannot be made
    is an :class:`_Unreadable`, so that only its row is refused."""
    try:
        return typing.cast("list[object]", column.to_pylist())
    except _ARROW_ERRORS:
        return _each_value(column, name)


def _each_value(column: Any, name: str) -> list[object]:
    """:func:`_values` of a column ``to_pylist`` refused, made one at a time."""
    values: list[object] = []
    for index in range(len(column)):
        try:
            values.append(column[index].as_py())
        except _ARROW_ERRORS as error:
            # pyarrow's first sentence: the rest is advice to a programmer (install pandas).
            reason = " ".join(str(error).split()).split(". ")[0].rstrip(".")
            text = _arrow_text(column.slice(index, 1))
            values.append(_Unreadable(name, text, reason or type(error).__name__))
    return values


def _arrow_text(value: Any) -> str:
    """A value of one element as Arrow writes it as text, quoted, or as its bytes (its type,
    where it can be neither)."""
    pyarrow: Any = importlib.import_module("pyarrow")
    for kind in (pyarrow.string(), pyarrow.binary()):
        with contextlib.suppress(*_ARROW_ERRORS):
            return repr(value.cast(kind)[0].as_py())
    return f"a value of type {value.type}"


def _row(row: Mapping[str, object]) -> dict[str, object]:
    """A Parquet row as a fact's JSON form: a null an absent field, a timestamp its text."""
    return {key: _json_value(value) for key, value in row.items() if value is not None}


_PLAIN = ("is_string", "is_large_string", "is_boolean", "is_integer", "is_floating", "is_null")
"""The types (``pyarrow.types``' tests) whose values are never timestamps."""


def _rows(batch: Any) -> list[dict[str, object] | InvalidFactError]:
    """The rows of a batch as :func:`_row` makes each of ``batch.to_pylist()``, read a column
    at a time: only a column of a type whose values may be timestamps is looked at value by
    value. A row with a value Python cannot hold is its refusal (see :class:`_Unreadable`)."""
    names = batch.schema.names
    if not names:
        return [{} for _ in range(batch.num_rows)]
    arrow_types: Any = importlib.import_module("pyarrow").types
    columns = []
    spoiled = False
    for name, column in zip(names, batch.columns, strict=True):
        try:
            values = column.to_pylist()
        except _ARROW_ERRORS:
            values, spoiled = _each_value(column, name), True
        if not any(getattr(arrow_types, test)(column.type) for test in _PLAIN):
            values = [_json_value(value) for value in values]
        columns.append(values)
    if spoiled:  # rare: each row looked at
        return [_checked(names, values) for values in zip(*columns, strict=True)]
    return [
        {name: value for name, value in zip(names, values, strict=True) if value is not None}
        for values in zip(*columns, strict=True)
    ]


def _checked(
    names: Sequence[str], values: Sequence[object]
) -> dict[str, object] | InvalidFactError:
    """A row of :func:`_rows`: its values by name, or the refusal of its first value Python
    cannot hold."""
    row = {name: value for name, value in zip(names, values, strict=True) if value is not None}
    for value in row.values():
        if type(value) is _Unreadable:
            return value.error()
    return row


def read_rows(path: str, name: str) -> Iterator[tuple[str, int, Any]]:
    """``(file, row number, the row as a fact's JSON form)`` for each row of a Parquet file:
    a column a field, a null an absent field, a timestamp as its ISO-8601 text."""
    for first, batch in _parquet_batches(path, name):
        with _unreadable(name, first):
            rows = _rows(batch)
        for number, row in enumerate(rows, start=first):
            yield name, number, row


def part_rows(path: str, name: str, part: int, parts: int) -> Generator[Owned, None, int]:
    """Each row of a Parquet file as a part reads it (see :data:`Owned`), and then how many
    rows it had: a row of another part is not made into a fact's JSON form, only its
    ``escalation_id`` and ``at`` columns are read, and its time is what ``read_rows`` gives its
    ``at``, as a line of another part gives it."""
    rows = 0
    for first, batch in _parquet_batches(path, name):
        with _unreadable(name, first):
            owners, mine, times = _owners(batch, part, parts)
            # Every row this part's (or about no escalation), or only its own made.
            read = iter(_rows(batch) if times is None else _own_rows(batch, mine))
        rows += batch.num_rows
        for index, owner in enumerate(owners):
            if owner is None or owner == part:
                row = next(read)
                if type(row) is not dict:  # refused: its time as another part reads it
                    if times is None:
                        with _unreadable(name, first):
                            times = _times(batch)
                    yield owner, row, times[index] or _NO_TIME
                    continue
                if owner is None and len(row) == 2 and row.get("type") == "tick":
                    tick = _quiet_tick(row.get("at"))
                    if tick is not None:  # read by the part only if something falls due
                        yield tick
                        continue
                yield owner, row, row
            else:
                yield owner, None, times[index] or _NO_TIME  # b"": no time, as a null
    return rows


def _owners(batch: Any, part: int, parts: int) -> tuple[list[int | None], list[bool], Any]:
    """The part of each row of a batch (``None``: every part's, a row about no escalation), as
    ``_owner`` tells it of the row read; whether each is this part's to read; and, unless every
    row is, the time of each (see :func:`_times`)."""
    index = batch.schema.get_field_index("escalation_id")  # -1: none (no name is there twice)
    if index < 0:
        return [None] * batch.num_rows, [True] * batch.num_rows, None
    column = batch.column(index)
    if parts == 1:  # one part: every row read, a row with an id of part 0
        ids = [_json_value(value) for value in _values(column, "escalation_id")]
        return [0 if isinstance(i, str) else None for i in ids], [True] * len(ids), None
    pyarrow: Any = importlib.import_module("pyarrow")
    owners: list[int | None]
    text = pyarrow.types.is_string(column.type) or pyarrow.types.is_large_string(column.type)
    encoded: Any = column.dictionary_encode() if text else None
    distinct: list[str] | None = None
    if encoded is not None:
        with contextlib.suppress(*_ARROW_ERRORS):
            distinct = encoded.dictionary.to_pylist()  # not if an id is not UTF-8
    if distinct is not None:
        # Each id told once: a batch holds a few hundred escalations' rows. A null's part is
        # null: None, as for a row without an id.
        told = [part_of(escalation_id, parts) for escalation_id in distinct]
        owners = pyarrow.array(told, pyarrow.int64()).take(encoded.indices).to_pylist()
    else:  # an id as the row read gives it (a timestamp: its text), as _owner tells it; one
        # Python cannot hold is every part's (each refuses its row, as one process does)
        owners = [
            part_of(escalation_id, parts) if isinstance(escalation_id, str) else None
            for escalation_id in map(_json_value, _values(column, "escalation_id"))
        ]
    mine = [owner is None or owner == part for owner in owners]
    return owners, mine, None if all(mine) else _times(batch)


def _own_rows(batch: Any, mine: list[bool]) -> list[dict[str, object] | InvalidFactError]:
    """The rows of a batch that are this part's (``mine``), as :func:`_rows` makes them."""
    if not any(mine):
        return []
    pyarrow: Any = importlib.import_module("pyarrow")
    try:
        kept = batch.filter(pyarrow.array(mine, pyarrow.bool_()))
    except NotImplementedError:  # a column of a type filters do not take (string views)
        return [row for row, own in zip(_rows(batch), mine, strict=True) if own]
    return _rows(kept)


def _times(batch: Any) -> list[object]:
    """The time of each row of a batch, as :data:`Owned` holds another part's: the bytes of a
    text (a text column's values, read as bytes), of a timestamp's ISO-8601 text (as
    ``read_rows`` gives it), or the JSON form ``{"at": value}`` of any other value."""
    index = batch.schema.get_field_index("at")
    if index < 0:
        return [_NO_TIME] * batch.num_rows
    column = batch.column(index)
    pyarrow: Any = importlib.import_module("pyarrow")
    # A text column read as bytes: UTF-8, the bytes read_rows decodes (a null None, which
    # part_rows gives as _NO_TIME).
    if pyarrow.types.is_string(column.type):
        return typing.cast("list[object]", column.cast(pyarrow.binary()).to_pylist())
    if pyarrow.types.is_large_string(column.type):
        return typing.cast("list[object]", column.cast(pyarrow.large_binary()).to_pylist())
    return [
        at.isoformat().encode() if isinstance(at, dt.datetime) else {"at": _json_value(at)}
        for at in _values(column, "at")
    ]


_NO_TIME: Mapping[str, object] = types.MappingProxyType({})
"""The time of a row without one, as ``_time_of`` reads the row: none."""


def _quiet_tick(at: object) -> Owned | None:
    """A tick at ``at`` (a row's text) as a part takes the line of one (see :data:`Owned`): the
    line it is, at its time, when its time is of the common form in UTC."""
    if not isinstance(at, str) or not at.isascii():
        return None
    text = at.encode()
    when = utc_time(text)
    return None if when is None else (None, _TICK + text + b'"}', when)


def read_items(paths: Sequence[str], names: Sequence[str]) -> Iterator[tuple[str, int, Any]]:
    """``(file, line or row number, JSON data or the InputError of a line that is not JSON)``
    for each item of the files in order: JSON lines, or Parquet rows for a ``.parquet`` file."""
    for path, name in zip(paths, names, strict=True):
        if is_parquet(path):
            yield from read_rows(path, name)
        else:
            yield from read_json_items((path,), (name,))


def _json_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


_TICK = b'{"type": "tick", "at": "'
_TICK_TIME = len(_TICK)
_TICK_TIME_END = _TICK_TIME + len("2026-03-02T09:00:00+00:00")
_TICK_END = (b'"}\n', b'"}')
"""A tick's line as commonly written, around its time (in UTC, of the common form): its time
is all there is to read."""


def _items(task: PartTask, origins: _Origins, policy: Policy) -> Iterator[Owned]:
    """The items of the files, each with its part: a JSON line of another part is not read as
    JSON when its part and time can be told from its bytes (see ``line_owner``)."""
    part, parts = task.part, task.parts
    read = shared_fact_reader(policy)

    def json_item(line: bytes) -> Any:
        data = json_data(line)
        if type(data) is dict or isinstance(data, (Mapping, InputError)):
            return data
        try:  # refused as one process refuses it
            return read(data)
        except InputError as error:
            return error

    read_line = shared_line_reader(policy)

    def own_item(line: bytes) -> Any:  # a line of this part's, read as one process reads it
        try:
            return read_line(line)[0]
        except InputError as error:
            return error

    position = 0
    for path, name in zip(task.paths, task.names, strict=True):
        if is_parquet(path):
            origins.start(position + 1, name, 1)  # a row an item
            position += yield from part_rows(path, name, part, parts)
            continue
        # The lines read here, as read_json_lines reads them, in one loop: a part reads every
        # line of the history, and most only to let their time pass.
        stream = open_lines(path)
        readline = stream.readline
        number = following = 0  # the line after the last item: its origin is known
        try:
            while line := readline(MAX_LINE + 1):
                number += 1
                if len(line) > MAX_LINE and line[-1:] != b"\n":
                    position += 1
                    if number != following:
                        origins.start(position, name, number)
                    following = number + 1
                    error = too_long()
                    yield None, error, error  # said first: a part that stops at it reads no more
                    skip_rest(stream)
                    continue
                if number == 1:
                    line = line.removeprefix(b"\xef\xbb\xbf")
                if not line or line.isspace():  # as `not line.strip()`, without copying it
                    continue
                position += 1
                if number != following:
                    origins.start(position, name, number)
                following = number + 1
                hint = line_owner(line, parts)
                if hint is not None:
                    owner = hint[0]
                    if owner == part:
                        yield part, own_item(line), hint[1]
                    else:
                        yield owner, None, hint[1]
                    continue
                when = None
                if line.startswith(_TICK) and line[_TICK_TIME_END:] in _TICK_END:
                    when = utc_time(line[_TICK_TIME:_TICK_TIME_END])  # None: another form
                if when is not None:  # read by the part only if something falls due
                    yield None, line, when
                    continue
                item = json_item(line)
                yield _owner(item, parts), item, item
        except OSError as error:
            raise InputError(f"cannot read {name}: {error.strerror or error}") from None
        finally:
            if path != "-":
                stream.close()


@attrs.frozen(kw_only=True)
class PartDone:
    """A part's audit: its report without its escalations, which are in ``file`` (a pickled
    list at a time, in order of opening: each escalation, or with ``PartTask.json`` its
    opening, id, whether it has violations and its JSON) or, from a worker elsewhere, in
    ``data`` (the same, compressed); ``sums``, their totals added up."""

    head: AuditReport
    codes: frozenset[str]
    sums: TotalsSum
    count: int
    with_violations: int
    file: str | None = None
    data: bytes | None = None


def run_part(task: PartTask) -> PartDone | PartStopped:
    """Audit one part of the files ``task`` names: refusals carry their file and line."""
    origins = _Origins()
    policy = task.policy()
    if task.folder is not None:
        path = os.path.join(task.folder, f"part-{task.part}-of-{task.parts}")
        out: IO[bytes] = open(path, "wb")  # noqa: SIM115  # closed below
    else:
        path, out = None, io.BytesIO()

    count = with_violations = 0

    def keep(batch: Sequence[EscalationAudit]) -> None:
        nonlocal count, with_violations
        count += len(batch)
        with_violations += sum(1 for e in batch if e.violations)
        kept: list[Any] = list(batch)
        if task.json:
            kept = [(e.opened_at, e.escalation_id, bool(e.violations), json_text(e)) for e in batch]
        pickle.dump(kept, out, protocol=pickle.HIGHEST_PROTOCOL)

    spool = tempfile.TemporaryFile(prefix="escalation-policy-part-")  # noqa: SIM115  # closed below
    try:
        with out, spool:
            head, codes, sums = audit_part_items(
                _items(task, origins, policy),
                part=task.part,
                parts=task.parts,
                not_taken=task.not_taken,
                as_of=task.as_of,
                policy=policy,
                engine=task.engine,
                keep_going=task.keep_going,
                keep=keep,
                spooled=(_SpoolingObserver(policy, spool), _StreamingCoverage(policy)),
            )
            data = None if path is not None else zlib.compress(out.getvalue(), 1)  # type: ignore[attr-defined]
    except InputError as error:
        if error.path == "as_of":
            raise
        if error.line is None:  # a file that cannot be read: every part stops at it
            return PartStopped(0, str(error))
        name, number = origins[error.line]
        return PartStopped(error.line, f"{name}: {error.at_line(number, name)}")
    head = attrs.evolve(
        head,
        refused=tuple(
            attrs.evolve(item, file=name, line=number)
            for item in head.refused
            for name, number in [origins[item.line]]
        ),
    )
    return PartDone(
        head=head,
        codes=codes,
        sums=sums,
        count=count,
        with_violations=with_violations,
        file=path,
        data=data,
    )


def _kept(path: str) -> Iterator[Any]:
    with open(path, "rb") as stream:
        while True:
            try:
                batch: list[Any] = pickle.load(stream)
            except EOFError:
                return
            yield from batch


Runner = Callable[[Sequence[PartTask]], Iterator[PartDone | PartStopped]]


def in_processes(jobs: int) -> Runner:
    """Run the parts in ``jobs`` local processes."""

    def run(tasks: Sequence[PartTask]) -> Iterator[PartDone | PartStopped]:
        if jobs == 1:
            yield from (run_part(task) for task in tasks)
            return
        with local_processes(run_part, tasks, jobs) as futures:
            for future in futures:
                yield future.result()

    return run


@contextlib.contextmanager
def local_processes(
    function: Callable[[Any], Any],
    tasks: Sequence[Any],
    workers: int,
    *,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[list[concurrent.futures.Future[Any]]]:
    """``function`` of each task in ``workers`` new local processes: the futures of its results,
    in the order of the tasks, for the block to wait on (each process runs ``initializer``
    first).

    The processes ignore Ctrl-C: the process that started them handles it. An exception that
    ends the block (Ctrl-C among them) stops them at once rather than waiting for their work,
    and they end if the process that started them ends. While the block runs in the main
    thread, SIGTERM, unless a handler of its own is set, raises ``SystemExit(143)`` (128 plus
    its number, the status a shell gives a process it ends): the processes are stopped and
    temporary files deleted before this process exits, where by default it would end at once
    and leave them running."""
    context = multiprocessing.get_context("spawn")
    with _terminated_exits():
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_started,
            initargs=(initializer, initargs),
        )
        try:
            # A process starts when a task is submitted: Ctrl-C held back meanwhile (and
            # raised after) is held back in the new process, which so ignores it from its start.
            with _interrupts_held():
                futures = [pool.submit(function, task) for task in tasks]
            yield futures
        except BaseException:
            with _interrupts_held():
                _stop(pool)
            raise
        pool.shutdown()


def _started(initializer: Callable[..., object] | None, initargs: tuple[Any, ...]) -> None:
    """A local process's start: Ctrl-C ignored, and an end of its own when its parent ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent,), daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _end_with(parent: Any) -> None:
    parent.join()  # returns once the parent has ended: nobody waits for this process's work
    os._exit(1)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C held back in this thread during the block, and raised after it if it came."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: processes are not started by fork
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


@contextlib.contextmanager
def _terminated_exits() -> Iterator[None]:
    """SIGTERM raises ``SystemExit`` during the block, if it would otherwise end the process."""
    sigterm = getattr(signal, "SIGTERM", None)
    if (
        sigterm is None
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(sigterm) is not signal.SIG_DFL
    ):
        yield
        return

    def terminated(number: int, frame: object) -> None:
        raise SystemExit(128 + number)

    signal.signal(sigterm, terminated)
    try:
        yield
    finally:
        signal.signal(sigterm, signal.SIG_DFL)


def _stop(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Stop the pool's processes now, whatever they are doing: SIGTERM, then SIGKILL to one
    that is still running a few seconds later (Python 3.14's ``terminate_workers``)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # private: 3.10-3.13
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join()


def on_dask(client: Any) -> Runner:
    """Run the parts on a ``dask.distributed`` client's workers (which read the files: on
    several machines, at paths they all see)."""

    def run(tasks: Sequence[PartTask]) -> Iterator[PartDone | PartStopped]:
        return dask_map(client, run_part, tasks)

    return run


def dask_map(client: Any, function: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
    """``function`` of each task on a ``dask.distributed`` client's workers, each result in
    the order of the tasks, released once it is read (the function and tasks are pickled:
    workers import the function's module)."""
    futures = client.map(function, list(tasks), pure=False)
    for future in futures:  # one part's result at a time
        yield future.result()
        future.release()


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
            n_workers=workers,
            threads_per_worker=1,
            dashboard_address=None,
            # The scheduler's HTTP server (health, metrics) on a free port of this machine:
            # by default it takes 8787, and warns when another cluster holds it.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )
        with cluster, distributed.Client(cluster) as client:
            yield client
        return
    with distributed.Client(scheduler) as client:
        yield client


ROUNDS = 3
"""The most rounds of parts :func:`run_partitioned` runs before it audits the history in one
part. Each round agrees with one process up to a later item than the one before, and two
suffice in practice; but refused items whose times run backwards, about escalations of
other parts in turn, may each take a round of their own."""


def run_partitioned(
    tasks: Sequence[PartTask], runner: Runner, *, shared: bool = True
) -> StreamedAudit:
    """Run the parts, again with ``not_taken`` while they disagree (at most :data:`ROUNDS`
    times, then the history in one part), and merge them: the report's escalations are read
    from the parts' files, in order of opening, each time it is listed
    (:meth:`StreamedAudit.close` deletes the files). A part stopped at a refused item raises
    ``InputError`` for the first in the history."""
    folder = tempfile.mkdtemp(prefix="escalation-policy-parts-")
    if shared:  # the parts write their escalations where this process reads them
        tasks = [attrs.evolve(task, folder=folder) for task in tasks]
    try:
        rounds = 0
        while True:
            rounds += 1
            done: list[PartDone] = []
            stopped: list[PartStopped] = []
            files: list[str] = []
            results = runner(tasks)
            try:
                for index, result in enumerate(results):
                    if isinstance(result, PartStopped):
                        stopped.append(result)
                        continue
                    done.append(result)
                    files.append(_local(result, folder, index))
            finally:  # a runner's processes stop with it (on an exception, at once)
                close = getattr(results, "close", None)
                if close is not None:
                    close()
            if stopped:
                raise InputError(min(stopped, key=lambda s: s.position).message)
            try:
                checked_parts([result.head for result in done])
            except AuditPartsDisagree as disagree:
                if rounds < ROUNDS:
                    tasks = [attrs.evolve(task, not_taken=disagree.not_taken) for task in tasks]
                else:  # the history in one part: the audit of one process, in one more pass
                    tasks = [attrs.evolve(tasks[0], part=0, parts=1, not_taken=frozenset())]
                continue
            return _streamed(done, files, folder, json=tasks[0].json)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _local(result: PartDone, folder: str, index: int) -> str:
    """Where a part's escalations are on this machine."""
    if result.file is not None:
        return result.file
    path = os.path.join(folder, f"received-{index}")
    with open(path, "wb") as out:
        out.write(zlib.decompress(result.data or b""))
    return path


def _streamed(
    done: Sequence[PartDone], files: Sequence[str], folder: str, *, json: bool
) -> StreamedAudit:
    """The merged audit, its escalations read from the parts' files in order of opening."""
    reports = [result.head for result in done]
    info = [report.part for report in reports if report.part is not None]
    sums = TotalsSum(info[0].obligations, info[0].severities)
    for result in done:
        sums.extend(result.sums)
    codes = frozenset(code for result in done for code in result.codes)

    def listed(only_violations: bool) -> Iterator[EscalationAudit]:
        if json:
            raise TypeError("the parts rendered their escalations as JSON: read texts")
        every = in_order(_kept(path) for path in files)
        return (e for e in every if e.violations or not only_violations)

    def texts(only_violations: bool) -> Iterator[str]:
        every = heapq.merge(*(_kept(path) for path in files), key=lambda kept: kept[:2])
        return (kept[3] for kept in every if kept[2] or not only_violations)

    listing = AuditListing(
        count=sum(result.count for result in done),
        with_violations=sum(result.with_violations for result in done),
        code_width=max(map(len, codes), default=0),
        listed=listed,
    )
    return StreamedAudit(
        report=merged_head(reports, sums),
        listing=listing,
        codes=codes,
        spool=None,
        folder=folder,
        texts=texts if json else None,
    )


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
    # A cluster's workers may be elsewhere: they send their escalations back.
    streamed = run_partitioned(tasks, runner, shared=client is None)
    try:
        return attrs.evolve(streamed.report, escalations=tuple(streamed.escalations()))
    finally:
        streamed.close()
