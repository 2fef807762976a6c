"""Facts through the durable stores (SQLite, PostgreSQL), beside the in-memory engine, one run.

    python benchmarks/stores.py                    # the full run; prints Markdown tables
    python benchmarks/stores.py --no-instructions  # without callgrind's counts (much quicker)
    python benchmarks/stores.py --repeat 3         # rounds (default 5): median and best
    python benchmarks/stores.py --facts 5000       # timed facts of the stream (default 10,000)
    python benchmarks/stores.py --quick            # seconds: checks every store's actions

1. Facts a second through ``Service`` on each store (one fact a transaction, and batches of
   500 through ``handle_many``; PostgreSQL also with 1, 2 and 4 worker processes), beside
   ``PolicyEngine.handle`` on the same facts. Every configuration's outbox is compared, escalation
   by escalation, with the actions of the in-memory engine; the run stops on any difference.
2. A due scan: ``run_due(now)`` and ``next_wakeup()`` on stores holding 1,000 and 100,000 open
   escalations, 100 of them due.
3. Instructions a fact (callgrind): ``PolicyEngine.handle`` against SQLite in batches.

PostgreSQL is the server at ``$ESCALATION_POLICY_TEST_POSTGRES`` (default: the test server,
``postgresql://postgres@127.0.0.1:5432/test``); each measurement gets a schema of its own,
dropped afterwards. Without a server its rows are reported as skipped (a failure where
``ESCALATION_POLICY_REQUIRE_POSTGRES=1``). SQLite files go to a temporary folder. The machine is
noisy: the rounds interleave the configurations; compare figures taken in the same run.
"""

import argparse
import collections
import concurrent.futures
import contextlib
import datetime as dt
import gc
import json
import multiprocessing
import os
import pickle
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the tests' store helpers

import run  # the callgrind helper and the table printer beside this file
import workload
from tests.stores import POSTGRES, postgres_missing, with_schema

import escalation_policy
from escalation_policy import Action, Fact, InputError, PolicyEngine, Tick, decide, make_converter
from escalation_policy.rules import Opened, Segment, Severity
from escalation_policy.service import Delivery, Service

ROOT = Path(__file__).resolve().parent.parent
BATCH = 500
WORKERS = (1, 2, 4)
SQLITE_TARGET = 10_000  # facts/s, SQLite in batches
POSTGRES_TARGET = 5_000  # facts/s, PostgreSQL in batches with 4 workers
SCAN_RATIO = 1.5  # "close to 1": the due scan at 100,000 open within 1.5x of 1,000
DUE = 100  # escalations with something due at the scan
SCAN_AT = workload.START + dt.timedelta(hours=3)
QUICK = " (quick mode: figures are not meaningful)"
QUICK_SINGLE = 300  # facts one a transaction in quick mode (each waits for the disk)

SQLITE_BATCHED = f"SQLite, batches of {BATCH} (`handle_many`)"

Actions = dict[str, list[dict[str, Any]]]
"""The actions emitted for each escalation, in order, as JSON objects."""

CONVERTER = make_converter()


def as_json(action: Action) -> dict[str, Any]:
    body: dict[str, Any] = CONVERTER.unstructure(action, Action)
    return body


def progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ stores
def postgres_admin(*statements: str) -> list[Any]:
    """Run statements on the server (outside any benchmark schema); the last one's rows."""
    import psycopg

    rows: list[Any] = []
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        for statement in statements:
            cursor = connection.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
    return rows


@contextlib.contextmanager
def postgres_schema() -> Iterator[tuple[str, str]]:
    """A fresh, empty schema: ``(name, URL)``; dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    postgres_admin(f"CREATE SCHEMA {schema}")
    try:
        yield schema, with_schema(POSTGRES, schema)
    finally:
        postgres_admin(f"DROP SCHEMA {schema} CASCADE")


@contextlib.contextmanager
def sqlite_file(folder: Path) -> Iterator[str]:
    """The URL of a fresh SQLite file; removed afterwards (with its WAL)."""
    path = folder / f"store-{uuid.uuid4().hex[:8]}.db"
    try:
        yield f"sqlite:///{path}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite store (the backup API: the WAL included)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as origin,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        origin.backup(copy)


def load(service: Service, facts: Sequence[Fact], batch: int = BATCH) -> None:
    """Untimed: handle ``facts`` in batches; any refusal stops the run. (Batches much larger
    than 500 take longer with ``catch_up=True``: each fact scans what the batch holds.)"""
    for start in range(0, len(facts), batch):
        refuse(service.handle_many(facts[start : start + batch]))


def refuse(results: Sequence[object]) -> None:
    errors = [result for result in results if isinstance(result, InputError)]
    if errors:
        raise SystemExit(f"the store refused a fact of the benchmark: {errors[0]}")


def stored_actions(service: Service) -> Actions:
    """The outbox, escalation by escalation (action ids are ``ESCALATION/SEQUENCE``)."""
    actions: Actions = collections.defaultdict(list)
    for action_id, text, *_ in service.store.outbox():
        actions[action_id.rpartition("/")[0]].append(json.loads(text))
    return dict(actions)


def grouped(actions: Sequence[Action]) -> Actions:
    by_escalation: Actions = collections.defaultdict(list)
    for action in actions:
        by_escalation[action.escalation_id].append(as_json(action))
    return dict(by_escalation)


def compare(name: str, expected: Actions, got: Actions) -> None:
    """Stop the run (exit status 1) unless ``got`` is ``expected``, escalation by escalation."""
    if got == expected:
        return
    for key in sorted(set(expected) | set(got)):
        mine, theirs = got.get(key, []), expected.get(key, [])
        if mine != theirs:
            first = next(
                (i for i, pair in enumerate(zip(mine, theirs, strict=False)) if pair[0] != pair[1]),
                min(len(mine), len(theirs)),
            )
            raise SystemExit(
                f"{name} emitted other actions than the in-memory engine for {key}: "
                f"{len(mine)} actions against {len(theirs)}; first difference at #{first}:\n"
                f"  store:  {mine[first] if first < len(mine) else 'nothing'}\n"
                f"  engine: {theirs[first] if first < len(theirs) else 'nothing'}"
            )


# ---------------------------------------------------------------------- 1. facts a second
class Stream(NamedTuple):
    """The realistic mix of benchmarks/run.py: a backlog handled first (untimed), then the
    timed facts; ``own`` is the timed facts without ticks, for workers that share them."""

    backlog: list[Fact]
    facts: list[Fact]
    own: list[Fact]


def the_stream(quick: bool, count: int) -> Stream:
    size = 150 if quick else 3_000
    mix = workload.realistic_mix(escalations=size, open_at_once=size)
    facts = mix.facts if quick else mix.facts[:count]
    return Stream(mix.backlog, facts, [fact for fact in facts if not isinstance(fact, Tick)])


def engine_actions(facts: Sequence[Fact]) -> Actions:
    """What ``PolicyEngine`` emits for ``facts``, by escalation: what a ``Service`` with
    ``catch_up=True`` must emit for the same facts."""
    engine = PolicyEngine()
    return grouped([action for fact in facts for action in engine.handle(fact).actions])


def own_time_actions(facts: Sequence[Fact]) -> Actions:
    """What the in-memory core emits when time passes for each escalation by its own facts only
    (``decide`` on each escalation's state): what workers with ``catch_up=False`` must emit."""
    states: dict[str, Any] = {}
    emitted: list[Action] = []
    for fact in facts:
        key = fact.escalation_id  # type: ignore[attr-defined]  # no ticks here
        decision = decide(states.get(key), fact)  # type: ignore[arg-type]
        states[key] = decision.state
        emitted += decision.actions
    return grouped(emitted)


class Config(NamedTuple):
    name: str
    facts: int
    transactions: int
    expected: tuple[str, int]  # ("engine" or "own", facts): the in-memory answers to hold
    run: Callable[[], tuple[float, Actions | None]]  # seconds, and the outbox (None: not a store)


def in_memory(stream: Stream) -> Callable[[], tuple[float, Actions | None]]:
    def timed() -> tuple[float, Actions | None]:
        engine = PolicyEngine()
        for fact in stream.backlog:
            engine.handle(fact)
        gc.collect()
        started = time.perf_counter()
        for fact in stream.facts:
            engine.handle(fact)
        return time.perf_counter() - started, None

    return timed


def in_process(
    new_url: Callable[[], contextlib.AbstractContextManager[str]],
    facts: Sequence[Fact],
    backlog: Sequence[Fact],
    *,
    batch: int,
    catch_up: bool = True,
) -> Callable[[], tuple[float, Actions | None]]:
    """One ``Service`` in this process on a fresh store holding the backlog (loaded untimed):
    the facts one a transaction (``batch`` 1) or in batches through ``handle_many``."""

    def timed() -> tuple[float, Actions | None]:
        with new_url() as url:
            service = Service(url, catch_up=catch_up)
            try:
                load(service, backlog)
                results: list[object] = []
                gc.collect()
                started = time.perf_counter()
                if batch == 1:
                    for fact in facts:
                        service.handle(fact)  # raises on a refusal
                else:
                    for start in range(0, len(facts), batch):
                        results += service.handle_many(facts[start : start + batch])
                elapsed = time.perf_counter() - started
                refuse(results)
                return elapsed, stored_actions(service)
            finally:
                service.close()

    return timed


def partition(facts: Sequence[Fact], workers: int) -> list[list[Fact]]:
    """The facts split by escalation: each escalation's facts, in their order, to one worker;
    the escalations dealt out so that the workers get about as many facts each."""
    sizes = collections.Counter(fact.escalation_id for fact in facts)  # type: ignore[attr-defined]
    loads = [0] * workers
    owner: dict[str, int] = {}
    for key, size in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        chosen = min(range(workers), key=loads.__getitem__)
        owner[key] = chosen
        loads[chosen] += size
    parts: list[list[Fact]] = [[] for _ in range(workers)]
    for fact in facts:
        parts[owner[fact.escalation_id]].append(fact)  # type: ignore[attr-defined]
    return parts


def worker(url: str, facts: list[Fact], batch: int, barrier: Any, results: Any) -> None:
    """A worker process: its own ``Service`` (``catch_up=False``), its share of the facts."""
    try:
        service = Service(url, catch_up=False)
    except BaseException as error:
        barrier.abort()
        results.put(("failed", f"{type(error).__name__}: {error}"))
        raise
    try:
        barrier.wait()
        started = time.perf_counter()
        refused = 0
        first = ""
        for start in range(0, len(facts), batch):
            for result in service.handle_many(facts[start : start + batch]):
                if isinstance(result, InputError):
                    refused += 1
                    first = first or str(result)
        finished = time.perf_counter()  # CLOCK_MONOTONIC: comparable between processes
        results.put(("done", (started, finished, refused, first)))
    except BaseException as error:
        results.put(("failed", f"{type(error).__name__}: {error}"))
        raise
    finally:
        service.close()


def pooled(stream: Stream, workers: int, batch: int) -> Callable[[], tuple[float, Actions | None]]:
    """``workers`` processes ('spawn'), each with its own ``Service`` on one PostgreSQL schema
    holding the backlog; timed from the barrier that starts them all to the last one's end."""
    parts = partition(stream.own, workers)

    def timed() -> tuple[float, Actions | None]:
        with postgres_schema() as (_, url):
            with Service(url, catch_up=False) as service:
                load(service, stream.backlog)
            context = multiprocessing.get_context("spawn")
            barrier = context.Barrier(workers + 1)
            results = context.Queue()
            processes = [
                context.Process(target=worker, args=(url, part, batch, barrier, results))
                for part in parts
            ]
            for process in processes:
                process.start()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=300)  # broken if a worker could not start: see the queue
            reports = [results.get(timeout=3_600) for _ in processes]
            for process in processes:
                process.join()
            failed = [report for kind, report in reports if kind == "failed"]
            if failed:
                raise SystemExit(f"a worker failed: {failed[0]}")
            done = [report for _, report in reports]
            refused = [first for _, _, count, first in done if count]
            if refused:
                raise SystemExit(f"the store refused a fact of the benchmark: {refused[0]}")
            elapsed = max(report[1] for report in done) - min(report[0] for report in done)
            with Service(url, catch_up=False) as service:
                return elapsed, stored_actions(service)

    return timed


def pooled_name(workers: int) -> str:
    return (
        f"PostgreSQL, batches of {BATCH}, {workers} worker process"
        f"{'es' if workers > 1 else ''}, `catch_up=False`, ticks left out"
    )


def configurations(stream: Stream, folder: Path, postgres: bool, single: int) -> list[Config]:
    """Every configuration of table 1; those with one fact a transaction take the first
    ``single`` facts only (all but in quick mode)."""
    facts, own = len(stream.facts), len(stream.own)
    batches, own_batches = -(-facts // BATCH), -(-own // BATCH)

    def sqlite() -> contextlib.AbstractContextManager[str]:
        return sqlite_file(folder)

    @contextlib.contextmanager
    def postgresql() -> Iterator[str]:
        with postgres_schema() as (_, url):
            yield url

    configs = [
        Config(
            "in-memory `PolicyEngine.handle` (baseline)",
            facts,
            0,
            ("", 0),
            in_memory(stream),
        ),
        Config(
            "SQLite, one fact a transaction (`handle`)",
            single,
            single,
            ("engine", single),
            in_process(sqlite, stream.facts[:single], stream.backlog, batch=1),
        ),
        Config(
            SQLITE_BATCHED,
            facts,
            batches,
            ("engine", facts),
            in_process(sqlite, stream.facts, stream.backlog, batch=BATCH),
        ),
        Config(
            f"SQLite, batches of {BATCH}, `catch_up=False`, ticks left out",
            own,
            own_batches,
            ("own", own),
            in_process(sqlite, stream.own, stream.backlog, batch=BATCH, catch_up=False),
        ),
    ]
    if postgres:
        configs += [
            Config(
                "PostgreSQL, one fact a transaction (`handle`), 1 worker",
                single,
                single,
                ("engine", single),
                in_process(postgresql, stream.facts[:single], stream.backlog, batch=1),
            ),
            Config(
                f"PostgreSQL, batches of {BATCH} (`handle_many`), 1 worker, `catch_up=True`",
                facts,
                batches,
                ("engine", facts),
                in_process(postgresql, stream.facts, stream.backlog, batch=BATCH),
            ),
        ]
        configs += [
            Config(
                pooled_name(workers),
                own,
                sum(-(-len(part) // BATCH) for part in partition(stream.own, workers)),
                ("own", own),
                pooled(stream, workers, BATCH),
            )
            for workers in WORKERS
        ]
    return configs


def throughput(
    quick: bool, repeat: int, count: int, folder: Path, postgres: str | None
) -> tuple[list[list[str]], list[list[str]], dict[str, float]]:
    """Table 1's rows, its notes, and the median facts a second of each configuration."""
    stream = the_stream(quick, count)
    single = QUICK_SINGLE if quick else len(stream.facts)
    configs = configurations(stream, folder, postgres is None, single)
    expected: dict[tuple[str, int], Actions] = {}
    for kind, size in {config.expected for config in configs if config.expected[0]}:
        if kind == "engine":
            expected[kind, size] = engine_actions(stream.backlog + stream.facts[:size])
        else:
            expected[kind, size] = own_time_actions(stream.backlog + stream.own[:size])
    seconds: dict[str, list[float]] = {config.name: [] for config in configs}
    rounds = 1 if quick else repeat
    for round_ in range(rounds):
        for config in configs:
            progress(f"round {round_ + 1}/{rounds}: {config.name}")
            elapsed, actions = config.run()
            if actions is not None:
                compare(config.name, expected[config.expected], actions)
            seconds[config.name].append(elapsed)
    rates: dict[str, float] = {}
    baseline = statistics.median(seconds[configs[0].name]) / configs[0].facts
    rows = []
    for config in configs:
        median, best = statistics.median(seconds[config.name]), min(seconds[config.name])
        rates[config.name] = config.facts / median
        rows.append(
            [
                config.name,
                f"{config.facts:,}",
                f"{config.transactions:,}" if config.transactions else "none",
                f"{config.facts / median:,.0f}",
                f"{config.facts / best:,.0f}",
                f"{median / config.facts / baseline:,.1f}x",
            ]
        )
    if postgres is not None:
        rows.append(["PostgreSQL", "skipped: no server (see the first line)", "", "", "", ""])
    hours = (stream.facts[-1].at - stream.facts[0].at).total_seconds() / 3600
    ticks = len(stream.facts) - len(stream.own)
    notes = [
        ["backlog handled first, untimed", f"{len(stream.backlog):,} facts"],
        ["timed facts", f"{len(stream.facts):,} over {hours:.0f} hours, {ticks:,} of them ticks"],
        *(
            [["one fact a transaction", f"the first {single:,} facts only"]]
            if single < len(stream.facts)
            else []
        ),
        ["rounds", f"{rounds} (each configuration once a round, on a fresh store)"],
        [
            "checked",
            "every store's outbox, escalation by escalation, against the in-memory engine "
            "(`catch_up=False`: against `decide` on each escalation's own facts)",
        ],
    ]
    return rows, notes, rates


# ---------------------------------------------------------------------------- 2. due scan
def scan_facts(size: int) -> list[Fact]:
    """``size`` open escalations: ``DUE`` Critical ones opened at the start (their "created"
    post due two hours later, before the scan), and idle ones opened from a day later, a second
    apart (nothing due before a day and two hours after the start)."""
    facts: list[Fact] = []
    for number in range(DUE):
        facts.append(
            Opened(
                at=workload.START,
                escalation_id=f"DUE-{number}",
                customer="Acme",
                segment=Segment.ENTERPRISE,
                severity=Severity.CRITICAL,
                tam="Alex",
            )
        )
    later = workload.START + dt.timedelta(days=1)
    for number in range(size - DUE):
        facts.append(
            Opened(
                at=later + dt.timedelta(seconds=number),
                escalation_id=f"IDLE-{number}",
                customer=f"Customer {number % 997}",
                segment=Segment.ENTERPRISE,
                severity=Severity.MEDIUM,
                tam=None,
            )
        )
    return facts


def scan_expected() -> Actions:
    """What a tick at the scan time reports for the due escalations, in memory."""
    engine = PolicyEngine()
    for fact in scan_facts(DUE):
        engine.handle(fact)
    return grouped(engine.handle(Tick(at=SCAN_AT)).actions)


class Ratio(NamedTuple):
    """How much longer a call took on the largest store than on the smallest (medians)."""

    kind: str
    call: str
    small: int
    large: int
    ratio: float


class Templates:
    """Stores built once per size (untimed), copied fresh for each timed scan."""

    def __init__(self, folder: Path, stack: contextlib.ExitStack) -> None:
        self.folder = folder
        self.stack = stack

    def build(self, kind: str, size: int) -> str:
        """The store's URL (SQLite) or schema (PostgreSQL)."""
        if kind == "SQLite":
            url = self.stack.enter_context(sqlite_file(self.folder))
        else:
            schema, url = self.stack.enter_context(postgres_schema())
        with Service(url, catch_up=False) as service:
            load(service, scan_facts(size), batch=10_000)
        return url if kind == "SQLite" else schema

    @contextlib.contextmanager
    def copy(self, kind: str, template: str) -> Iterator[str]:
        if kind == "SQLite":
            with sqlite_file(self.folder) as url:
                copy_sqlite(Path(template[len("sqlite:///") :]), Path(url[len("sqlite:///") :]))
                yield url
            return
        with postgres_schema() as (schema, url):
            Service(url).close()  # the library's own tables and indexes, empty
            tables = ("ep_escalations", "ep_facts", "ep_outbox", "ep_sources")
            postgres_admin(
                *(f"INSERT INTO {schema}.{t} SELECT * FROM {template}.{t}" for t in tables),
                f"SELECT setval(pg_get_serial_sequence('{schema}.ep_outbox', 'position'),"
                f" (SELECT COALESCE(MAX(position), 0) + 1 FROM {schema}.ep_outbox), false)",
                *(f"ANALYZE {schema}.{t}" for t in tables),  # as autovacuum would, soon
            )
            yield url


def due_scan(
    quick: bool, repeat: int, folder: Path, postgres: str | None
) -> tuple[list[list[str]], list[Ratio]]:
    """Table 2's rows, and the ratios (largest store against smallest) of each store's times."""
    sizes = (1_000, 2_000) if quick else (1_000, 100_000)
    kinds = ["SQLite"] + (["PostgreSQL"] if postgres is None else [])
    expected = scan_expected()
    wakeup_expected = workload.START + dt.timedelta(hours=2)
    scans: dict[tuple[str, int], list[float]] = collections.defaultdict(list)
    wakeups: dict[tuple[str, int], list[float]] = collections.defaultdict(list)
    rounds = 1 if quick else repeat
    with contextlib.ExitStack() as stack:
        templates = Templates(folder, stack)
        built = {}
        for kind in kinds:
            for size in sizes:
                progress(f"building a {kind} store with {size:,} open escalations")
                built[kind, size] = templates.build(kind, size)
        for round_ in range(rounds):
            for kind in kinds:
                for size in sizes:
                    progress(f"round {round_ + 1}/{rounds}: due scan, {kind}, {size:,} open")
                    with templates.copy(kind, built[kind, size]) as url:
                        service = Service(url, catch_up=False)
                        try:
                            for _ in range(5):
                                started = time.perf_counter()
                                wakeup = service.next_wakeup()
                                wakeups[kind, size].append(time.perf_counter() - started)
                            if wakeup != wakeup_expected:
                                raise SystemExit(f"{kind}: next_wakeup() gave {wakeup}")
                            gc.collect()
                            started = time.perf_counter()
                            deliveries = service.run_due(SCAN_AT)
                            scans[kind, size].append(time.perf_counter() - started)
                        finally:
                            service.close()
                    compare(f"run_due on {kind}, {size:,} open", expected, delivered(deliveries))
    rows = []
    ratios = []
    for kind in kinds:
        for size in sizes:
            scan, wake = scans[kind, size], wakeups[kind, size]
            rows.append(
                [
                    kind,
                    f"{size:,} open, {DUE} due",
                    f"{statistics.median(scan) * 1e3:.1f} ms ({min(scan) * 1e3:.1f})",
                    f"{statistics.median(wake) * 1e3:.3f} ms ({min(wake) * 1e3:.3f})",
                ]
            )
        small, large = sizes[0], sizes[-1]
        scan_ratio = statistics.median(scans[kind, large]) / statistics.median(scans[kind, small])
        wake_ratio = statistics.median(wakeups[kind, large]) / statistics.median(
            wakeups[kind, small]
        )
        ratios += [
            Ratio(kind, "run_due", small, large, scan_ratio),
            Ratio(kind, "next_wakeup", small, large, wake_ratio),
        ]
        rows.append(
            [kind, f"{large:,} against {small:,}", f"{scan_ratio:.2f}x", f"{wake_ratio:.2f}x"]
        )
    if postgres is not None:
        rows.append(["PostgreSQL", "skipped: no server (see the first line)", "", ""])
    return rows, ratios


def delivered(deliveries: Sequence[Delivery]) -> Actions:
    return grouped([delivery.action for delivery in deliveries])


# --------------------------------------------------------------------------- 3. instructions
def facts_between_marks(kind: str, folder: str) -> None:
    """The child callgrind counts. Untimed: the engine or store holding the backlog (the
    SQLite store is a copy of one the parent built). Between two marks: the facts loaded from
    their file and cut into batches, then handled (``prepare``: loaded and cut only)."""
    handle_many: Callable[[list[Fact]], object] = nothing
    if kind == "handle":
        backlog = pickle.loads(Path(folder, "backlog.pickle").read_bytes())
        handle_many = one_by_one(PolicyEngine(), backlog)
    elif kind == "sqlite":
        path = Path(folder, f"{kind}-{os.getpid()}.db")
        copy_sqlite(Path(folder, "backlog.db"), path)
        handle_many = Service(f"sqlite:///{path}").handle_many
    gc.collect()
    os.getppid()
    facts = pickle.loads(Path(folder, "facts.pickle").read_bytes())
    batches = [facts[start : start + BATCH] for start in range(0, len(facts), BATCH)]
    for batch in batches:
        handle_many(batch)
    os.getppid()


def nothing(batch: list[Fact]) -> None:
    """What ``prepare`` does with each batch."""


def one_by_one(engine: PolicyEngine, backlog: Sequence[Fact]) -> Callable[[list[Fact]], None]:
    """The engine, holding the backlog, fed a batch one fact at a time."""
    for fact in backlog:
        engine.handle(fact)

    def handle_many(batch: list[Fact]) -> None:
        for fact in batch:
            engine.handle(fact)

    return handle_many


def instructions(count: int, stream: Stream) -> list[list[str]]:
    """Table 3: callgrind's counts between the marks of three children, run two at a time."""
    if not shutil.which("valgrind"):
        return [["skipped", "valgrind is not installed", ""]]
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "backlog.pickle").write_bytes(pickle.dumps(stream.backlog))
        Path(folder, "facts.pickle").write_bytes(pickle.dumps(stream.facts[:count]))
        with Service(f"sqlite:///{folder}/backlog.db") as service:
            load(service, stream.backlog)
        command = [sys.executable, str(Path(__file__).resolve()), "--facts-of"]
        with concurrent.futures.ThreadPoolExecutor(2) as pool:  # one callgrind a core
            futures = {
                kind: pool.submit(run.callgrind_between_marks, [*command, kind, folder])
                for kind in ("prepare", "handle", "sqlite")
            }
            counted = {kind: future.result() for kind, future in futures.items()}
    if any(value is None for value in counted.values()):
        return [["skipped", "callgrind cannot see the marks (the interpreter's symbols)", ""]]
    base = counted["prepare"] or 0
    per_fact = {kind: ((counted[kind] or 0) - base) / count for kind in ("handle", "sqlite")}
    return [
        [
            f"{count:,} facts loaded from a file and handled",
            f"{counted['handle']:,}",
            f"{counted['sqlite']:,}",
        ],
        ["the same facts only loaded (and cut into batches)", f"{base:,}", f"{base:,}"],
        [
            "instructions a fact, the difference",
            f"{per_fact['handle']:,.0f}",
            f"{per_fact['sqlite']:,.0f} ({per_fact['sqlite'] / per_fact['handle']:.1f}x)",
        ],
    ]


# -------------------------------------------------------------------------------- targets
def verdict(met: bool, quick: bool) -> str:
    return "not judged (quick mode)" if quick else ("met" if met else "missed")


def short(rate: float, target: float) -> str:
    """How far ``rate`` falls short of ``target``, if it does."""
    if rate >= target:
        return ""
    if rate >= target * 0.9:
        return f", {1 - rate / target:.0%} short"
    return f", {target / rate:.1f}x short"


def targets(
    rates: dict[str, float], ratios: list[Ratio], quick: bool, postgres: str | None
) -> list[list[str]]:
    sqlite = rates[SQLITE_BATCHED]
    rows = [
        [
            f"SQLite in batches: at least {SQLITE_TARGET:,} facts/s",
            f"{sqlite:,.0f} facts/s" + short(sqlite, SQLITE_TARGET),
            verdict(sqlite >= SQLITE_TARGET, quick),
        ]
    ]
    if postgres is None:
        four = rates[pooled_name(WORKERS[-1])]
        rows.append(
            [
                f"PostgreSQL in batches, {WORKERS[-1]} workers: at least "
                f"{POSTGRES_TARGET:,} facts/s",
                f"{four:,.0f} facts/s" + short(four, POSTGRES_TARGET),
                verdict(four >= POSTGRES_TARGET, quick),
            ]
        )
    else:
        rows.append(
            [
                f"PostgreSQL in batches, {WORKERS[-1]} workers: at least "
                f"{POSTGRES_TARGET:,} facts/s",
                "not measured: no server (see the first line)",
                "not judged",
            ]
        )
    for item in ratios:
        rows.append(
            [
                f"{item.kind} `{item.call}()` at {item.large:,} open within {SCAN_RATIO}x of "
                f"{item.small:,} (index, not scan)",
                f"{item.ratio:.2f}x",
                verdict(item.ratio <= SCAN_RATIO, quick),
            ]
        )
    return rows


def measured() -> str:
    """Which code is measured: the commit, and whether src/ differs from it."""
    package = Path(escalation_policy.__file__).resolve().parent
    if package != ROOT / "src" / "escalation_policy":
        return f"escalation-policy from {package}"  # not this checkout's: no commit to name
    try:
        commit, changed = (
            subprocess.run(
                ["git", "-C", str(ROOT), *command], capture_output=True, text=True, check=True
            ).stdout.strip()
            for command in (["rev-parse", "--short", "HEAD"], ["status", "--porcelain", "src"])
        )
    except (OSError, subprocess.CalledProcessError):
        return "escalation-policy (not a git checkout)"
    return f"escalation-policy at {commit}" + (", src/ changed since" if changed else "")


def header(folder: Path, postgres: str | None) -> str:
    parts = [
        measured(),
        f"Python {sys.version.split()[0]} on {os.uname().machine}, {os.cpu_count()} CPUs",
        f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=FULL) in {folder}",
    ]
    if postgres is None:
        version, commit = (
            row[0][0]
            for row in (
                postgres_admin("SHOW server_version"),
                postgres_admin("SHOW synchronous_commit"),
            )
        )
        parts.append(f"PostgreSQL {version} (synchronous_commit={commit})")
    else:
        parts.append(f"PostgreSQL skipped: {postgres}")
    return "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="seconds; correctness only")
    parser.add_argument("--repeat", type=int, default=5, help="rounds per figure (median, min)")
    parser.add_argument("--facts", type=int, default=10_000, help="timed facts (table 1)")
    parser.add_argument(
        "--no-instructions", action="store_true", help="leave out callgrind's counts (table 3)"
    )
    parser.add_argument("--facts-of", nargs=2, help=argparse.SUPPRESS)  # for callgrind
    args = parser.parse_args()
    if args.facts_of:
        facts_between_marks(args.facts_of[0], args.facts_of[1])
        return 0
    quick = args.quick
    postgres = postgres_missing()
    if postgres is not None and os.environ.get("ESCALATION_POLICY_REQUIRE_POSTGRES") == "1":
        raise SystemExit(f"PostgreSQL is required here: {postgres}")
    with tempfile.TemporaryDirectory(prefix="stores-bench-") as name:
        folder = Path(name)
        print(header(folder, postgres) + (QUICK if quick else ""))
        rows, notes, rates = throughput(quick, args.repeat, args.facts, folder, postgres)
        run.table(
            "1. Facts a second through the stores (the same actions as the in-memory engine)",
            [
                "configuration",
                "facts",
                "transactions",
                "facts/s, median",
                "facts/s, best",
                "time a fact vs in-memory",
            ],
            rows,
        )
        run.table("1b. What table 1 timed", ["measure", "figure"], notes)
        scan_rows, ratios = due_scan(quick, args.repeat, folder, postgres)
        run.table(
            f"2. A due scan: `run_due(now)` with {DUE} due, and `next_wakeup()`",
            ["store", "open", "run_due, median (min)", "next_wakeup, median (min)"],
            scan_rows,
        )
    if not args.no_instructions and not quick:
        count = 2_000
        run.table(
            "3. Instructions a fact (callgrind), the same facts",
            ["measure", "in-memory `handle`", f"SQLite, batches of {BATCH}"],
            instructions(count, the_stream(False, args.facts)),
        )
    run.table("Targets", ["target", "measured", "verdict"], targets(rates, ratios, quick, postgres))
    print("\nevery store gave the in-memory engine's actions (tables 1 and 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
