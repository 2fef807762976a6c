"""The benchmark suite: every figure side by side, in one run, on this machine.

    python benchmarks/run.py                    # the full run; prints Markdown tables
    python benchmarks/run.py --sections 1,2     # some tables only
    python benchmarks/run.py --no-instructions  # without callgrind's counts (much quicker)
    python benchmarks/run.py --quick            # seconds: checks every implementation's answers

Peers (zen-engine, durable-rules) come with ``pip install -e ".[bench,durable]"``; an
implementation whose package is missing is reported as skipped. The machine is noisy: compare
figures taken in the same run, as ratios. See docs/performance.md.
"""

import argparse
import concurrent.futures
import datetime as dt
import gc
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import decision
import host
import workload

from escalation_policy import Action, Fact, PolicyEngine, Tick, make_converter
from escalation_policy.rules import Closed, Opened, Segment, Severity

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------- 1. the decision on an opened escalation
def interleaved_seconds(
    contenders: list[decision.Contender], repeat: int, scale: float
) -> dict[str, list[float]]:
    """Decisions a second for each contender, one figure per round; each round times every
    contender once, so that a slow spell of the machine falls on all of them alike."""
    rates: dict[str, list[float]] = {contender.name: [] for contender in contenders}
    for _ in range(repeat):
        for contender in contenders:
            count = max(96, int(contender.count * scale))
            gc.collect()
            rates[contender.name].append(count / contender.run(count))
    return rates


def callgrind_between_marks(command: list[str]) -> int | None:
    """Instructions (every thread) that ``command`` runs between its two calls of
    ``os.getppid()``, counted by callgrind; ``None`` where the interpreter's symbols are
    stripped and callgrind cannot see the marks."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                "--dump-before=os_getppid",
                *command,
            ],
            check=True,
            capture_output=True,
        )
        between = Path(f"{out}.2")
        if not between.exists():
            return None
        for line in between.read_text().splitlines():
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    return None


COUNTED_DECISIONS = 2_000
"""Table 1's instructions are callgrind's over this many decisions of each contender, after a
warm-up."""


def instructions_per_decision(key: str, count: int) -> float | None:
    """Instructions per decision, over ``count`` decisions after a warm-up."""
    command = [sys.executable, str(Path(__file__).resolve()), "--decisions-of", key, str(count)]
    total = callgrind_between_marks(command)
    return None if total is None else total / count


def decisions_between_marks(key: str, count: int) -> None:
    """The child callgrind counts: set-up and a warm-up, a mark, the decisions, a mark."""
    contender = decision.MAKERS[key]()
    contender.run(min(count, 200))
    os.getppid()
    contender.run(count)
    os.getppid()


COMPARISONS = (
    ("decide", "zen", "`decide` (objects) against zen-engine (fast API)"),
    ("decide-json", "zen", "`decide` (JSON form) against zen-engine (fast API)"),
    ("handle-native", "zen", "`handle` (native) against zen-engine (fast API)"),
    ("decide", "durable-rules", "`decide` (objects) against durable-rules directly"),
    ("handle-native", "handle-durable", "`handle`: native against durable engine"),
    ("decide", "floor", "`decide` (objects) against the plain-Python floor"),
    ("zen", "zen-decision", "zen-engine: fast API against `ZenDecision.evaluate`"),
)


def opened_decision(
    quick: bool, repeat: int, instructions: bool
) -> tuple[list[list[str]], list[list[str]]]:
    contenders: list[decision.Contender] = []
    keys: dict[str, str] = {}
    skipped: list[list[str]] = []
    expected = decision.normalised(decision.decide_objects().answers())
    for key, make in decision.MAKERS.items():
        try:
            contender = make()
        except Exception as error:  # a peer that is not installed, or cannot run here
            if os.environ.get("ESCALATION_POLICY_REQUIRE_PEERS") == "1":
                raise SystemExit(f"{key} is required here but cannot run: {error}") from error
            skipped.append([key, f"skipped: {error}"])
            continue
        answers = decision.normalised(contender.answers())
        if answers != expected:
            number = next(
                n
                for n, pair in enumerate(zip(answers, expected, strict=True))
                if pair[0] != pair[1]
            )
            raise SystemExit(
                f"{contender.name} decides {decision.INPUTS[number]} differently:\n"
                f"{answers[number]}\nthe library: {expected[number]}"
            )
        contenders.append(contender)
        keys[key] = contender.name
    rates = interleaved_seconds(contenders, 1 if quick else repeat, 0.02 if quick else 1.0)
    counted: dict[str, float] = {}
    if instructions and not quick and shutil.which("valgrind"):
        # The same number of decisions for every contender on every machine: an engine
        # that keeps what it decided grows with it, and so does the cyclic garbage
        # collector's work, which a count over fewer decisions catches or misses.
        sizes = dict.fromkeys(keys, COUNTED_DECISIONS)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:  # one callgrind a core
            futures = {
                key: pool.submit(instructions_per_decision, key, n) for key, n in sizes.items()
            }
            for key, future in futures.items():
                value = future.result()
                if value is not None:
                    counted[key] = value
    rows = []
    for key, name in keys.items():
        values = rates[name]
        median = statistics.median(values)
        rows.append(
            [
                name,
                f"{median:,.0f}",
                f"{min(values):,.0f} to {max(values):,.0f}",
                f"{1e6 / median:,.1f}",
                f"{counted[key]:,.0f}" if key in counted else "not counted",
            ]
        )
    rows += [[name, reason] for name, reason in skipped]
    ratios = []
    for first, second, label in COMPARISONS:
        if first not in keys or second not in keys:
            continue
        wall = statistics.median(rates[keys[first]]) / statistics.median(rates[keys[second]])
        counts = (
            f"{counted[second] / counted[first]:.2f}x"
            if first in counted and second in counted
            else "not counted"
        )
        ratios.append([label, f"{wall:.2f}x", counts])
        if (first, second) == ("decide", "zen"):
            ratio = (
                counted[second] / counted[first] if first in counted and second in counted else wall
            )
            measure = "instructions" if first in counted and second in counted else "wall time"
            target(
                "public `decide` against zen-engine's fast API",
                f"{wall:.2f}x wall" + (f", {counts} instructions" if counts[0].isdigit() else ""),
                ratio,
                f"at least 4x faster (on {measure})",
                lambda v: v >= 4,
                f"{(ratio / 4 - 1) * 100:+.0f}% against 4x",
            )
    return rows, ratios


# --------------------------------------------------------------------------- 2. throughput
def the_mix(quick: bool) -> workload.Mix:
    if quick:
        return workload.realistic_mix(escalations=200, open_at_once=200)
    return workload.realistic_mix(escalations=1_500, open_at_once=3_000)


def seconds_and_cpu() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(started: tuple[float, float]) -> tuple[float, float]:
    """Wall and CPU seconds since ``started`` (from :func:`seconds_and_cpu`)."""
    return time.perf_counter() - started[0], time.process_time() - started[1]


def mix_runs(
    engine: str, mix: workload.Mix, mark: Callable[[], object] = lambda: None
) -> dict[str, Callable[[int], tuple[float, float]]]:
    """Timed runs of the stream (its first ``count`` facts) through the public API, each on
    an engine that already holds the backlog (handled first, untimed). ``mark`` is called
    just before and just after the timed part (callgrind counts what runs between)."""
    converter = make_converter()
    lines = [json.dumps(converter.unstructure(fact, Fact)) for fact in mix.facts]

    def prepared() -> PolicyEngine:
        policy_engine = PolicyEngine(engine=engine)  # type: ignore[arg-type]
        for fact in mix.backlog:
            policy_engine.handle(fact)
        return policy_engine

    def from_objects(count: int) -> tuple[float, float]:
        # Decisions are dropped as a host drops them once acted on: keeping them all alive
        # while timing would time the garbage collector walking them.
        policy_engine = prepared()
        facts = mix.facts[:count]
        gc.collect()
        mark()
        started = seconds_and_cpu()
        for fact in facts:
            policy_engine.handle(fact)
        elapsed = since(started)
        mark()
        return elapsed

    def json_to_json(count: int) -> tuple[float, float]:
        policy_engine = prepared()
        # The reader of each fact type and the writer of each action class are built at
        # their first use, once for the process, as the converter the other run uses is
        # built before it: a host's engine is warm. A throwaway engine (with the backlog)
        # handles the same lines first and builds them all, leaving the one timed as it was.
        chosen = lines[:count]
        warm = prepared()
        for line in chosen:
            warm.handle_json(line)
        del warm
        sink = io.StringIO()
        gc.collect()
        mark()
        started = seconds_and_cpu()
        for line in chosen:
            for text in policy_engine.handle_json(line):
                sink.write(text + "\n")
        elapsed = since(started)
        mark()
        return elapsed

    def parsed_to_json(count: int) -> tuple[float, float]:
        policy_engine = prepared()
        sink = io.StringIO()
        chosen = lines[:count]
        gc.collect()
        mark()
        started = seconds_and_cpu()
        for line in chosen:
            decided = policy_engine.handle(json.loads(line))
            for action in decided.actions:
                sink.write(json.dumps(converter.unstructure(action, Action)) + "\n")
        elapsed = since(started)
        mark()
        return elapsed

    return {
        f"`handle()` from fact objects, {engine} engine": from_objects,
        f"JSON lines in, JSON lines out (`handle_json`), {engine} engine": json_to_json,
        f"JSON lines by hand (`handle` of `json.loads`, `json.dumps` of the converter's "
        f"objects), {engine} engine": parsed_to_json,
    }


def host_runs(
    mix: workload.Mix, mark: Callable[[], object] = lambda: None
) -> dict[str, Callable[[int], tuple[float, float]]]:
    """The same timed runs through the hand-written host (``host.py``): fact objects in and
    the actions' JSON objects out, or JSON lines in and out."""
    converter = make_converter()
    lines = [json.dumps(converter.unstructure(fact, Fact)) for fact in mix.facts]

    def prepared() -> host.Host:
        hand_written = host.Host()
        for fact in mix.backlog:
            hand_written.handle(fact)
        return hand_written

    def from_objects(count: int) -> tuple[float, float]:
        hand_written = prepared()
        facts = mix.facts[:count]
        gc.collect()
        mark()
        started = seconds_and_cpu()
        for fact in facts:
            hand_written.handle(fact)
        elapsed = since(started)
        mark()
        return elapsed

    def json_to_json(count: int) -> tuple[float, float]:
        hand_written = prepared()
        sink = io.StringIO()
        chosen = lines[:count]
        gc.collect()
        mark()
        started = seconds_and_cpu()
        for line in chosen:
            for action in hand_written.handle_line(line):
                sink.write(action + "\n")
        elapsed = since(started)
        mark()
        return elapsed

    return {
        "the hand-written host from fact objects": from_objects,
        "the hand-written host, JSON lines in, JSON lines out": json_to_json,
    }


def facts_between_marks(engine: str, name: str, count: int) -> None:
    """The child callgrind counts: the backlog, a mark, ``count`` facts of the stream, a mark."""
    mix = the_mix(quick=False)
    runs = host_runs(mix, os.getppid) if engine == "host" else mix_runs(engine, mix, os.getppid)
    next(run for label, run in runs.items() if name in label)(count)


def first_difference(
    facts: Iterable[Any], library: Callable[[Any], list[str]], hand: Callable[[Any], list[str]]
) -> str | None:
    """The first fact on which the hand-written host's actions differ from the library's,
    shown with both; ``None`` if they agree on every fact."""
    for number, fact in enumerate(facts):
        expected, got = library(fact), hand(fact)
        if expected != got:
            return "\n".join(
                [f"fact {number}: {fact}", "the library:", *expected, "the host:", *got]
            )
    return None


def cross_check(mix: workload.Mix, quick: bool) -> list[list[str]]:
    """The hand-written host against the library, action for action: on the mix, from
    objects and from JSON lines; in the full mode also on a long history. Stops at the first
    difference."""
    converter = make_converter()
    rows = []

    def library_of(engine: PolicyEngine) -> Callable[[Any], list[str]]:
        def actions(fact: Any) -> list[str]:
            if isinstance(fact, str):  # a JSON line, as a JSON host hands it over
                return engine.handle_json(fact)
            return [
                json.dumps(converter.unstructure(a, Action)) for a in engine.handle(fact).actions
            ]

        return actions

    def host_objects(hand_written: host.Host) -> Callable[[Any], list[str]]:
        return lambda fact: [json.dumps(action) for action in hand_written.handle(fact)]

    facts = mix.backlog + mix.facts
    lines = [json.dumps(converter.unstructure(fact, Fact)) for fact in facts]
    histories = [] if quick else [("a long history", list(workload.history_lines(200_000)))]
    checks = [
        ("the mix, from fact objects", facts, host_objects),
        ("the mix, JSON lines", lines, lambda h: h.handle_line),
        *[(name, history, lambda h: h.handle_line) for name, history in histories],
    ]
    for name, stream, hand in checks:
        engine, hand_written = PolicyEngine(), host.Host()
        difference = first_difference(stream, library_of(engine), hand(hand_written))  # type: ignore[no-untyped-call]
        if difference is not None:
            raise SystemExit(f"the hand-written host differs from the library on {name}:\n"
                             + difference)  # fmt: skip
        if len(engine) != len(hand_written):
            raise SystemExit(f"the hand-written host holds {len(hand_written)} escalations "
                             f"after {name}, the library {len(engine)}")  # fmt: skip
        rows.append([f"cross-checked: {name}", f"{len(stream):,} facts, the same actions"])
    return rows


TARGETS: dict[str, tuple[str, float | None, str, Callable[[float], bool], str]] = {}
"""What the targets table prints: for each target, today's figure as text, its value, the
target as text, whether the value meets it, and by how much (filled by the sections)."""


def target(
    name: str, shown: str, value: float | None, goal: str, met: Callable[[float], bool], by: str
) -> None:
    TARGETS[name] = (shown, value, goal, met, by)


def host_comparison(quick: bool, repeat: int, instructions: bool) -> list[list[str]]:
    """``handle()`` against the hand-written host, from objects and JSON line to JSON line:
    interleaved rounds on fresh engines holding the backlog, wall and CPU time, and the
    instructions callgrind counts over the first 2,000 facts of the stream."""
    mix = the_mix(quick)
    rows = cross_check(mix, quick)
    runs = {**mix_runs("native", mix), **host_runs(mix)}
    walls: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(1 if quick else repeat):
        for name, run in runs.items():
            wall, cpu = run(len(mix.facts))
            walls[name].append(wall)
            cpus[name].append(cpu)
    count = 2_000
    counted: dict[str, float] = {}
    if instructions and not quick and shutil.which("valgrind"):
        command = [sys.executable, str(Path(__file__).resolve()), "--facts-of"]
        jobs = {
            "library objects": ["native", "`handle()`"],
            "library JSON": ["native", "JSON lines in"],
            "library JSON by hand": ["native", "JSON lines by hand"],
            "host objects": ["host", "from fact objects"],
            "host JSON": ["host", "JSON lines"],
        }
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = {
                key: pool.submit(callgrind_between_marks, [*command, *job, str(count)])
                for key, job in jobs.items()
            }
            for key, future in futures.items():
                total = future.result()
                if total is not None:
                    counted[key] = total / count
    facts = len(mix.facts)
    keys = dict(zip(runs, ("library objects", "library JSON", "library JSON by hand",
                           "host objects", "host JSON"), strict=True))  # fmt: skip
    for name in runs:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        counts = counted.get(keys[name])
        rows.append(
            [
                name,
                f"{facts / wall:,.0f} facts/s ({facts / max(walls[name]):,.0f} to "
                f"{facts / min(walls[name]):,.0f})",
                f"{cpu / facts * 1e6:,.1f} µs",
                f"{counts:,.0f}" if counts is not None else "not counted",
            ]
        )
    names = list(runs)
    for label, library, hand, goal, key in (
        ("`handle()` from objects against the host", names[0], names[3], 1.5, "objects"),
        ("JSON line in, JSON actions out, against the host", names[1], names[4], 1.25, "JSON"),
        ("the same by hand (`json.loads`, `handle`, `json.dumps`)", names[2], names[4], None,
         "JSON by hand"),
    ):  # fmt: skip
        wall = statistics.median(walls[library]) / statistics.median(walls[hand])
        cpu = statistics.median(cpus[library]) / statistics.median(cpus[hand])
        both = (f"library {key}", f"host {key.removesuffix(' by hand')}")
        ratio = counted[both[0]] / counted[both[1]] if all(k in counted for k in both) else None
        shown = f"{wall:.2f}x wall, {cpu:.2f}x CPU" + (
            f", {ratio:.2f}x instructions" if ratio is not None else ""
        )
        rows.append([label, shown, "", ""])
        if goal is None:  # shown for comparison: a host's own JSON handling, no target
            continue
        value = ratio if ratio is not None else cpu
        measure = "instructions" if ratio is not None else "CPU time"
        target(
            label,
            shown,
            value,
            f"at most {goal}x (on {measure})",
            lambda v, goal=goal: v <= goal,  # type: ignore[misc]
            f"{(value / goal - 1) * 100:+.0f}% against {goal}x",
        )
    return rows


KINDS = ("`handle()`", "JSON lines in", "JSON lines by hand")
"""How the runs of a stream begin: from objects, with ``handle_json``, or JSON by hand."""


def throughput(quick: bool, repeat: int, instructions: bool) -> list[list[str]]:
    mix = the_mix(quick)
    rows: list[list[str]] = []
    engines = []
    for engine in ("native", "durable"):
        try:
            PolicyEngine(engine=engine)  # type: ignore[arg-type]
        except Exception as error:  # reported as skipped
            rows.append([f"{engine} engine", f"skipped: {error}"])
            continue
        engines.append(engine)
    # Untimed: what the stream holds, and the engines' answers compared.
    outputs: dict[str, list[Any]] = {}
    held: list[int] = []
    open_now: list[int] = []
    for engine in engines:
        checked = PolicyEngine(engine=engine)  # type: ignore[arg-type]
        for fact in mix.backlog:
            checked.handle(fact)
        is_open = {fact.escalation_id for fact in mix.backlog if isinstance(fact, Opened)}
        outputs[engine] = []
        for fact in mix.facts:
            outputs[engine].append(checked.handle(fact).actions)
            if engine == engines[0]:
                if isinstance(fact, Opened):
                    is_open.add(fact.escalation_id)
                elif isinstance(fact, Closed):
                    is_open.discard(fact.escalation_id)
                open_now.append(len(is_open))
                held.append(len(checked))
    if len(outputs) == 2 and outputs["native"] != outputs["durable"]:
        raise SystemExit("the native and durable engines disagree on the realistic mix")
    actions = [action for decided in outputs[engines[0]] for action in decided]
    violations = sum(action.TYPE == "violation" for action in actions)
    codes: dict[str, int] = {}
    for action in actions:
        if action.TYPE == "violation":
            code = getattr(action.code, "value", action.code)
            codes[code] = codes.get(code, 0) + 1
    kinds = {fact.TYPE for fact in mix.backlog + mix.facts}
    missing = [kind for kind in workload.fact_types() if kind not in kinds]
    if missing:
        raise SystemExit(f"the mix has no {', '.join(missing)} fact")
    hours = (mix.facts[-1].at - mix.facts[0].at).total_seconds() / 3600
    rows += [
        ["backlog handled first, untimed", f"{len(mix.backlog):,} facts"],
        ["facts in the timed stream", f"{len(mix.facts):,} over {hours:.0f} hours"],
        [
            "open escalations during the stream",
            f"median {statistics.median(open_now):,.0f}, min {min(open_now):,}, "
            f"max {max(open_now):,}",
        ],
        [
            "escalations held by the engine (open, or closed and not yet settled)",
            f"median {statistics.median(held):,.0f}, max {max(held):,}",
        ],
        ["actions returned", f"{len(actions):,}, of which {violations:,} violations"],
        [
            "violations by code",
            ", ".join(f"{code} {n:,}" for code, n in sorted(codes.items(), key=lambda i: -i[1])),
        ],
        ["violations per fact of the stream", f"{violations / len(mix.facts):.1%}"],
        ["fact types", f"all {len(workload.fact_types())} the policy takes, tick included"],
    ]
    runs: dict[str, Callable[[int], tuple[float, float]]] = {}
    for engine in engines:
        runs.update(mix_runs(engine, mix))
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(1 if quick else max(1, repeat - 2)):
        for name, run in runs.items():
            rates[name].append(len(mix.facts) / run(len(mix.facts))[0])
    counted: dict[str, float] = {}
    if instructions and not quick and shutil.which("valgrind") and "native" in engines:
        count = 2_000  # callgrind runs the backlog and the first facts some 50x slower
        command = [sys.executable, str(Path(__file__).resolve()), "--facts-of", "native"]
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = {
                name: pool.submit(callgrind_between_marks, [*command, name, str(count)])
                for name in KINDS
            }
            for name, future in futures.items():
                total = future.result()
                if total is not None:
                    counted[name] = total / count
    for name, values in rates.items():
        median = statistics.median(values)
        figure = f"{median:,.0f} facts/s ({min(values):,.0f} to {max(values):,.0f})"
        key = next((k for k in counted if name.startswith(k) and "native" in name), None)
        if key is not None:
            figure += f"; {counted[key]:,.0f} instructions a fact over its first {count:,}"
        rows.append([name, figure])
    if len(engines) == 2:
        for kind in KINDS:
            native, durable = (statistics.median(v) for n, v in rates.items() if n.startswith(kind))
            rows.append([f"native against durable, {kind}", f"{native / durable:.2f}x"])
    return rows


# ---------------------------------------------------------------------------- 3. ticks
def tick_cost(quick: bool, repeat: int) -> list[list[str]]:
    """The cost of a tick that makes 100 escalations due, beside 1,000 to 100,000 idle ones.

    Every engine is built first and the rounds interleave them (a tick on each per round),
    so that the machine's slow spells fall on all sizes alike. Each round opens 100 Critical
    escalations in business hours and ticks three hours later, when their created posts (due
    within two business hours) are overdue; the idle ones owe nothing within the week.
    """
    due_now = 100
    sizes = (200, 2_000) if quick else (1_000, 10_000, 100_000)
    engines = {}
    for size in sizes:
        engine = PolicyEngine()
        for number in range(size):  # idle: medium escalations, next meeting in 14 days
            for fact in workload.open_announced(workload.START, f"IDLE-{number}", Severity.MEDIUM):
                engine.handle(fact)
        engines[size] = engine
    timings: dict[int, list[float]] = {size: [] for size in sizes}
    now = workload.START  # a Monday's opening: three rounds a business day, one week
    for round_ in range(3 if quick else repeat * 3):
        if now.hour >= 18:  # the created posts are due in two business hours: open by day
            now += dt.timedelta(days=3 if now.weekday() == 4 else 1, hours=-9)
        for engine in engines.values():
            for number in range(due_now):  # due: critical, created post due in 2 hours
                engine.handle(
                    Opened(
                        at=now,
                        escalation_id=f"DUE-{round_}-{number}",
                        customer="c",
                        segment=Segment.ENTERPRISE,
                        severity=Severity.CRITICAL,
                        tam="Alex",
                    )
                )
        now += dt.timedelta(hours=3)
        for size, engine in engines.items():
            gc.collect()
            started = time.perf_counter()
            decision = engine.handle(Tick(at=now))
            timings[size].append(time.perf_counter() - started)
            reported = {a.escalation_id for a in decision.actions if a.TYPE == "violation"}
            if len(reported) != due_now or any(r.startswith("IDLE") for r in reported):
                raise SystemExit(f"a tick reported {len(reported)} escalations, not {due_now}")
            for number in range(due_now):  # settle them, so they never come due again
                escalation_id = f"DUE-{round_}-{number}"
                for fact in workload.close_announced(now, escalation_id, Severity.CRITICAL):
                    engine.handle(fact)
    rows = []
    baseline = statistics.median(timings[sizes[0]]) * 1_000
    for size in sizes:
        cost = statistics.median(timings[size]) * 1_000
        rows.append(
            [f"{size:,} open", f"{due_now} due", f"{cost:.2f} ms", f"{cost / baseline:.2f}x"]
        )
    return rows


# --------------------------------------------------------------------------- 4. memory
def memory(quick: bool) -> list[list[str]]:
    """Bytes per open escalation, the library's engine and the hand-written host holding the
    same opened escalations (``tracemalloc``)."""
    rows = []
    for size in (2_000,) if quick else (10_000, 100_000):
        facts = [
            Opened(
                at=workload.START,
                escalation_id=f"ESC-{number}",
                customer=f"Customer {number}",
                segment=Segment.ENTERPRISE,
                severity=workload.SEVERITIES[number % 4],
                tam="Alex",
            )
            for number in range(size)
        ]
        used = {}
        for name, make in (("library", PolicyEngine), ("host", host.Host)):
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            holder = make()
            for fact in facts:
                holder.handle(fact)
            gc.collect()
            used[name] = (tracemalloc.get_traced_memory()[0] - before) / size
            tracemalloc.stop()
            if len(holder) != size:
                raise SystemExit("escalations went missing")
            del holder
        rows.append(
            [
                f"{size:,} open",
                f"{used['library']:,.0f} bytes per escalation",
                f"{used['host']:,.0f} bytes per escalation",
            ]
        )
        kilobytes = used["library"] / 1024
        target(
            "memory per open escalation",
            f"{kilobytes:.2f} KB at {size:,} open (the host: {used['host'] / 1024:.2f} KB)",
            kilobytes,
            "at most 0.9 KB",
            lambda v: v <= 0.9,
            f"{(kilobytes / 0.9 - 1) * 100:+.0f}% against 0.9 KB",
        )
    return rows


# ------------------------------------------------------------------------------- 5. start
HOST_START = (
    "import escalation_policy as e\n"
    "engine = e.PolicyEngine(e.load_policy())\n"
    "engine.handle({'type': 'opened', 'at': '2026-03-02T09:00:00Z', 'escalation_id': 'ESC-1',"
    " 'customer': 'Acme', 'segment': 'enterprise', 'severity': 'critical'})\n"
)
"""What a host needs before its first decision: the import, the handbook's policy loaded, an
engine, and a first fact read from its JSON form."""

HOST_SECOND = HOST_START + (
    "engine.handle({'type': 'opened', 'at': '2026-03-02T09:05:00Z', 'escalation_id': 'ESC-2',"
    " 'customer': 'Acme', 'segment': 'enterprise', 'severity': 'critical'})\n"
)
"""A host's start and a second fact of the first one's type, at which the engine generates
that type's functions: what a host that decides more than one fact pays before its second."""

START_TARGET_MS = 40.0
"""Issue 24's target for the import a host needs, the interpreter's own start excluded."""


def callgrind_total(command: list[str], env: dict[str, str]) -> int:
    """Instructions the whole process of ``command`` runs (every thread), counted by
    callgrind: steadier than a timing on a busy machine."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
            check=True,
            capture_output=True,
            env=env,
        )
        for line in out.read_text().splitlines():
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    raise RuntimeError(f"callgrind wrote no totals for {command}")


def startup(quick: bool, repeat: int, instructions: bool) -> list[list[str]]:
    """Start-up as a host and a shell see it: CPU time (user and system) of a fresh process,
    median of the runs, with the library's bytecode cached, as after ``pip install`` or a
    first import (an environment with PYTHONDONTWRITEBYTECODE would otherwise compile every
    module from source on every start). CPU time, not wall time: a busy machine delays a
    process more than it slows it. With ``instructions``, callgrind's count of the whole
    process beside it."""
    python = sys.executable
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    counted = instructions and not quick and shutil.which("valgrind") is not None
    cli = [python, "-m", "escalation_policy"]
    for warm in ([*cli, "table"], [python, "-c", HOST_SECOND], [*cli, "--version"]):
        subprocess.run(warm, check=True, env=env, stdout=subprocess.DEVNULL)

    def cpu(command: list[str]) -> float:
        timings = []
        for _ in range(1 if quick else max(repeat, 11)):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(command, check=True, capture_output=True, env=env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            timings.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        return statistics.median(timings) * 1_000

    bare = cpu([python, "-c", "pass"])
    bare_instructions = callgrind_total([python, "-c", "pass"], env) if counted else 0

    def counts(command: list[str]) -> list[str]:
        if not counted:
            return ["", ""]
        total = callgrind_total(command, env)
        return [f"{total / 1e6:,.0f} M", f"{(total - bare_instructions) / 1e6:,.0f} M"]

    def row(what: str, command: list[str], target: float | None = None) -> list[str]:
        spent = cpu(command)
        verdict = ""
        if target is not None:
            over = spent - bare - target
            verdict = (
                f"target < {target:.0f} ms: met, {-over:.0f} ms to spare"
                if over < 0
                else f"target < {target:.0f} ms: missed by {over:.0f} ms"
            )
        return [what, f"{spent:.0f} ms", f"{spent - bare:.0f} ms", *counts(command), verdict]

    shown_bare = f"{bare_instructions / 1e6:,.0f} M" if counted else ""
    host = row(
        "a host's start: import, load_policy(), PolicyEngine, first handle() of JSON",
        [python, "-c", HOST_START],
        START_TARGET_MS,
    )
    spent = float(host[2].removesuffix(" ms"))
    target(
        "a host's start (import, `load_policy`, `PolicyEngine`, a first `handle`)",
        f"{spent:.0f} ms (interpreter start excluded)",
        spent,
        f"under {START_TARGET_MS:.0f} ms",
        lambda v: v < START_TARGET_MS,
        f"{spent - START_TARGET_MS:+.0f} ms against {START_TARGET_MS:.0f} ms",
    )
    return [
        ["python -c pass", f"{bare:.0f} ms", "", shown_bare, "", ""],
        row("import escalation_policy", [python, "-c", "import escalation_policy"]),
        host,
        row(
            "the same and a second fact of its type (its functions generated)",
            [python, "-c", HOST_SECOND],
        ),
        row("escalation-policy --version", [*cli, "--version"]),
        row("escalation-policy table --help (a command's start)", [*cli, "table", "--help"]),
        row("escalation-policy --help (every command's parser)", [*cli, "--help"]),
        row("escalation-policy table", [*cli, "table"]),
    ]


# ------------------------------------------------------------------------------- 6. audit
def audit_history(quick: bool) -> list[list[str]]:
    facts = 20_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.jsonl"
        with path.open("w") as stream:
            for line in workload.history_lines(facts):
                stream.write(line + "\n")
        script = (
            "import json, resource, sys, time\n"
            "from escalation_policy import audit\n"
            "from escalation_policy.cli import read_facts\n"
            "started = time.perf_counter()\n"
            "with open(sys.argv[1]) as stream:\n"
            "    report = audit(fact for _, fact in read_facts(stream))\n"
            "print(json.dumps({'seconds': time.perf_counter() - started,\n"
            "  'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,\n"
            "  'facts': report.facts, 'escalations': report.totals.escalations,\n"
            "  'violations': report.totals.violations}))\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", script, str(path)], check=True, capture_output=True, text=True
        )
    figures = json.loads(result.stdout)
    if figures["facts"] != facts:
        raise SystemExit(f"the audit read {figures['facts']} facts, not {facts}")
    return [
        ["facts", f"{figures['facts']:,}"],
        ["escalations", f"{figures['escalations']:,}"],
        ["violations found", f"{figures['violations']:,}"],
        ["time (JSON lines in, report out)", f"{figures['seconds']:.1f} s"],
        ["peak memory (whole process)", f"{figures['peak_mb']:.0f} MB"],
    ]


def table(title: str, header: Iterable[str], rows: list[list[str]]) -> None:
    header = list(header)
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row + [""] * (len(header) - len(row))) + " |")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="seconds; correctness only")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument("--skip-audit", action="store_true", help="leave out the 1M-fact audit")
    parser.add_argument("--sections", default="1,2,3,4,5,6", help="which tables, e.g. 3,4")
    parser.add_argument(
        "--no-instructions",
        action="store_true",
        help="leave out callgrind's counts (tables 1, 2 and 5)",
    )
    parser.add_argument("--decisions-of", nargs=2, help=argparse.SUPPRESS)  # for callgrind
    parser.add_argument("--facts-of", nargs=3, help=argparse.SUPPRESS)  # for callgrind
    args = parser.parse_args()
    if args.decisions_of:  # one contender's decisions, counted by callgrind from outside
        decisions_between_marks(args.decisions_of[0], int(args.decisions_of[1]))
        return 0
    if args.facts_of:
        facts_between_marks(args.facts_of[0], args.facts_of[1], int(args.facts_of[2]))
        return 0
    sections = {int(part) for part in args.sections.split(",")}
    quick, repeat = args.quick, args.repeat
    print(
        f"Python {sys.version.split()[0]} on {os.uname().machine}, {os.cpu_count()} CPUs"
        + (" (quick mode: figures are not meaningful)" if quick else "")
    )
    if 1 in sections:
        rows, ratios = opened_decision(quick, repeat, not args.no_instructions)
        table(
            "1. The decision on an opened escalation (public APIs, the same answers)",
            ["implementation", "decisions/s", "range over rounds", "µs each", "instructions each"],
            rows,
        )
        table(
            "1b. Side by side (above 1x: the first is faster, or runs fewer instructions)",
            ["comparison", "wall time", "instructions"],
            ratios,
        )
    if 2 in sections:
        table(
            "2. handle() on a realistic mix, thousands of escalations open",
            ["measure", "figure"],
            throughput(quick, repeat, not args.no_instructions),
        )
        table(
            "2b. The same stream against the hand-written host (benchmarks/host.py)",
            ["measure", "facts/s (range over rounds)", "CPU a fact", "instructions a fact"],
            host_comparison(quick, repeat, not args.no_instructions),
        )
    if 3 in sections:
        table(
            "3. A tick that makes 100 escalations due",
            ["open", "due", "tick", "vs smallest"],
            tick_cost(quick, repeat),
        )
    if 4 in sections:
        table(
            "4. Memory per open escalation (tracemalloc)",
            ["open", "the library's engine", "the hand-written host"],
            memory(quick),
        )
    if 5 in sections:
        table(
            "5. Start-up (CPU time, median of runs)",
            ["what", "CPU", "beyond python's start", "instructions", "beyond python's", "target"],
            startup(quick, repeat, not args.no_instructions),
        )
    if 6 in sections and not args.skip_audit:
        table("6. The audit of a long history", ["measure", "figure"], audit_history(quick))
    if TARGETS:
        rows = []
        for name, (shown, value, goal, met, by) in TARGETS.items():
            verdict = "not measured" if value is None else ("met" if met(value) else "missed")
            rows.append([name, shown, goal, f"{verdict} ({by})"])
        table("Targets (issue 24)", ["target", "today", "target", "met or missed, by"], rows)
    print("\nall implementations agree" if quick else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
