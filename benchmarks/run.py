"""The benchmark suite: every figure side by side, in one run, on this machine.

    python benchmarks/run.py            # the full run (a few minutes); prints Markdown tables
    python benchmarks/run.py --quick    # seconds: checks every implementation's answers only

Peers (zen-engine, durable-rules) come with ``pip install -e ".[bench,durable]"``; an
implementation whose package is missing is reported as skipped. The machine is noisy: compare
figures taken in the same run, as ratios. See docs/performance.md.
"""

import argparse
import datetime as dt
import gc
import io
import json
import os
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

import workload

from escalation_policy import PolicyEngine, default_policy
from escalation_policy._core import evaluate_plan
from escalation_policy.model import (
    Action,
    Fact,
    Opened,
    Segment,
    Severity,
    Tick,
    shared_converter,
)

ROOT = Path(__file__).resolve().parent.parent
SEVERITIES = ("critical", "high", "medium", "low")
EVENTS = ("opened", "tam_assigned", "posted", "closed")
INPUTS = [(s, e, t) for s in SEVERITIES for e in EVENTS for t in (False, True)]
Decision = tuple[str, str, tuple[str, ...], str | None, bool]


def best_rate(run: Callable[[], int], repeat: int) -> float:
    """Items a second: the median of ``repeat`` timed runs."""
    return interleaved_rates({"run": run}, repeat)["run"]


def interleaved_rates(runs: dict[str, Callable[[], int]], repeat: int) -> dict[str, float]:
    """Items a second for each run: the median of ``repeat`` rounds, each round timing every
    run once, so that a slow spell of the machine falls on all of them alike."""
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            gc.collect()
            started = time.perf_counter()
            count = run()
            rates[name].append(count / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in rates.items()}


# ---------------------------------------------------------------- 1. the stateless decision
def floor_decider() -> Callable[[str, str, bool], Decision]:
    """Hand-written plain Python: the floor."""
    owner = {
        "critical": "tam",
        "high": "tam",
        "medium": "support_engineering",
        "low": "support_engineering",
    }
    cadence = {
        "critical": "daily",
        "high": "multiple_per_week",
        "medium": "weekly_to_biweekly",
        "low": "standard",
    }
    executives = ("vp_sales", "product", "cro", "ceo", "vp_customer_success")
    involvement = {
        "critical": executives,
        "high": executives,
        "medium": ("vp_sales", "vp_customer_success"),
        "low": ("director_customer_success", "account_manager"),
    }
    post = {"opened": "created", "closed": "closed"}

    def decide(severity: str, event: str, tam: bool) -> Decision:
        who = owner[severity]
        inform = tam and who == "support_engineering" and event in ("opened", "tam_assigned")
        return (who, cadence[severity], involvement[severity], post.get(event), inform)

    return decide


def policy_decider(engine: str) -> Callable[[str, str, bool], Decision]:
    """The policy's own tables and reactions, matched by the native or durable matcher."""
    policy = default_policy()
    if engine == "native":
        matcher: Any = policy.native
    else:
        from escalation_policy._durable import DurableMatcher

        matcher = DurableMatcher(policy)
    reactions = [compiled.reaction.id for compiled in policy.reactions]
    posts = {
        "communication.post_when_created": "created",
        "communication.post_when_closed": "closed",
    }
    base = {
        "segment": Segment.ENTERPRISE,
        "strategic_partnership": False,
        "broad_impact": False,
        "initiated_by": None,
        "issue_type": None,
    }

    def decide(severity: str, event: str, tam: bool) -> Decision:
        plan = evaluate_plan(policy, matcher, {**base, "severity": Severity(severity)})
        values = plan.values
        context = {
            "severity": severity,
            "in_scope": True,
            "owner": values["owner"].value,
            "cadence": values["cadence"].value,
            "status": "active",
            "tam_assigned": tam,
            "segment": "enterprise",
            "strategic_partnership": False,
            "broad_impact": False,
        }
        if event == "posted":
            context.update(
                purpose="update", by=values["owner"].value, escalation_channel=True, by_owner=True
            )
        matched = [reactions[i] for i in matcher.reactions(event, context)]
        post = next((posts[r] for r in matched if r in posts), None)
        return (
            values["owner"].value,
            values["cadence"].value,
            tuple(role.value for role in values["involvement"]),
            post,
            "responsibilities.inform_tam" in matched,
        )

    return decide


def durable_raw_decider() -> Callable[[str, str, bool], Decision]:
    """durable_rules used directly: one rule per input combination, one post per decision."""
    import durable.engine as durable_engine

    class Host(durable_engine.Host):  # type: ignore[misc]
        def _run(self) -> None:  # no dispatcher threads (they crashed under load)
            return None

    floor = floor_decider()
    result: list[Decision] = []
    rules = {}

    def action_for(answer: Decision) -> Callable[[Any], None]:
        # One parameter: durable_rules treats a two-parameter action as asynchronous.
        def action(_closure: Any) -> None:
            result.append(answer)

        return action

    for number, (severity, event, tam) in enumerate(INPUTS):
        rules[f"r{number}"] = {
            "all": [{"m": {"$and": [{"severity": severity}, {"event": event}, {"tam": tam}]}}],
            "run": action_for(floor(severity, event, tam)),
        }
    host = Host()
    host.register_rulesets({"bench_raw": rules})

    def decide(severity: str, event: str, tam: bool) -> Decision:
        result.clear()
        host.post("bench_raw", {"sid": "0", "severity": severity, "event": event, "tam": tam})
        return result[0]

    return decide


def zen_decider() -> Callable[[str, str, bool], Decision]:
    """zen-engine: three decision tables in one JDM graph, ``ZenEngine.evaluate``."""
    import zen

    floor = floor_decider()

    def table(node: str, inputs: list[str], outputs: list[str], rows: list[list[str]]) -> Any:
        return {
            "id": node,
            "type": "decisionTableNode",
            "name": node,
            "position": {"x": 0, "y": 0},
            "content": {
                "hitPolicy": "first",
                "inputs": [
                    {"id": f"{node}-i{n}", "name": f, "type": "expression", "field": f}
                    for n, f in enumerate(inputs)
                ],
                "outputs": [
                    {"id": f"{node}-o{n}", "name": f, "type": "expression", "field": f}
                    for n, f in enumerate(outputs)
                ],
                "rules": [
                    {
                        "_id": f"{node}-r{r}",
                        **{f"{node}-i{n}": cell for n, cell in enumerate(row[: len(inputs)])},
                        **{f"{node}-o{n}": cell for n, cell in enumerate(row[len(inputs) :])},
                    }
                    for r, row in enumerate(rows)
                ],
            },
        }

    plan_rows = []
    for severity in SEVERITIES:
        who, cadence, involvement, _, _ = floor(severity, "posted", False)
        roles = json.dumps(list(involvement))
        plan_rows.append([f'"{severity}"', f'"{who}"', f'"{cadence}"', roles])
    graph = {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "in", "position": {"x": 0, "y": 0}},
            {"id": "out", "type": "outputNode", "name": "out", "position": {"x": 0, "y": 0}},
            table("owner", ["severity"], ["owner"], [[r[0], r[1]] for r in plan_rows]),
            table(
                "levels",
                ["severity"],
                ["cadence", "involvement"],
                [[r[0], r[2], r[3]] for r in plan_rows],
            ),
            table(
                "events",
                ["event", "severity", "tam"],
                ["post", "inform"],
                [
                    ['"opened"', '"medium", "low"', "true", '"created"', "true"],
                    ['"opened"', "", "", '"created"', "false"],
                    ['"tam_assigned"', '"medium", "low"', "true", "null", "true"],
                    ['"closed"', "", "", '"closed"', "false"],
                    ["", "", "", "null", "false"],
                ],
            ),
        ],
        "edges": [
            {"id": f"e{n}", "type": "edge", "sourceId": source, "targetId": target}
            for n, (source, target) in enumerate(
                [
                    ("in", "owner"),
                    ("in", "levels"),
                    ("in", "events"),
                    ("owner", "out"),
                    ("levels", "out"),
                    ("events", "out"),
                ]
            )
        ],
    }
    decision = zen.ZenEngine().create_decision(json.dumps(graph))

    def decide(severity: str, event: str, tam: bool) -> Decision:
        out = decision.evaluate({"severity": severity, "event": event, "tam": tam})["result"]
        return (
            out["owner"],
            out["cadence"],
            tuple(out["involvement"]),
            out.get("post"),
            out["inform"],
        )

    return decide


def stateless(quick: bool, repeat: int) -> list[list[str]]:
    makers: dict[str, Callable[[], Callable[[str, str, bool], Decision]]] = {
        "plain Python, the floor": floor_decider,
        "escalation-policy, native engine": lambda: policy_decider("native"),
        "escalation-policy, durable engine": lambda: policy_decider("durable"),
        "durable-rules 2.0.28, one post a decision": durable_raw_decider,
        "zen-engine, 3 decision tables": zen_decider,
    }
    expected = [floor_decider()(*args) for args in INPUTS]
    rows: list[list[str]] = []
    runs: dict[str, Callable[[], int]] = {}
    count = 2_000 if quick else 64_000
    for name, make in makers.items():
        try:
            decide = make()
        except Exception as error:  # a peer that is not installed, or cannot run here
            if os.environ.get("ESCALATION_POLICY_REQUIRE_PEERS") == "1":
                raise SystemExit(f"{name} is required here but cannot run: {error}") from error
            rows.append([name, f"skipped: {error}", ""])
            continue
        answers = [decide(*args) for args in INPUTS]
        if answers != expected:
            wrong = next(a for a, b in zip(answers, expected, strict=True) if a != b)
            raise SystemExit(f"{name} gives a different decision: {wrong}")

        def run(decide: Callable[[str, str, bool], Decision] = decide) -> int:
            for index in range(count):
                decide(*INPUTS[index & 31])
            return count

        runs[name] = run
    rates = interleaved_rates(runs, 1 if quick else repeat)
    native = rates.get("escalation-policy, native engine")
    for name, rate in rates.items():
        ratio = f"{native / rate:.2f}x" if native else ""
        rows.append([name, f"{rate:,.0f}", ratio])
    return rows


# --------------------------------------------------------------------------- 2. throughput
def throughput(quick: bool, repeat: int) -> list[list[str]]:
    facts = workload.realistic_mix(300 if quick else 6_000)
    converter = shared_converter()
    lines = [json.dumps(converter.unstructure(fact, Fact)) for fact in facts]
    rows = []
    outputs: dict[str, list[Any]] = {}
    for engine in ("native", "durable"):
        try:
            PolicyEngine(engine=engine)  # type: ignore[arg-type]
        except Exception as error:  # reported as skipped
            rows.append([f"handle(), {engine}, from objects", f"skipped: {error}"])
            continue

        checked = PolicyEngine(engine=engine)  # type: ignore[arg-type]
        outputs[engine] = [checked.handle(fact).actions for fact in facts]  # untimed

        def from_objects(engine: str = engine) -> int:
            # Decisions are dropped as a host drops them once acted on: keeping 67,000 of
            # them alive while timing would time the garbage collector walking them.
            policy_engine = PolicyEngine(engine=engine)  # type: ignore[arg-type]
            for fact in facts:
                policy_engine.handle(fact)
            return len(facts)

        def json_to_json(engine: str = engine) -> int:
            policy_engine = PolicyEngine(engine=engine)  # type: ignore[arg-type]
            sink = io.StringIO()
            for line in lines:
                decision = policy_engine.handle(converter.structure(json.loads(line), Fact))
                for action in decision.actions:
                    sink.write(json.dumps(converter.unstructure(action, Action)) + "\n")
            return len(lines)

        rows.append(
            [
                f"handle(), {engine} engine, from fact objects",
                f"{best_rate(from_objects, 1 if quick else repeat):,.0f} facts/s",
            ]
        )
        rows.append(
            [
                f"JSON lines to JSON lines, {engine} engine",
                f"{best_rate(json_to_json, 1 if quick else repeat):,.0f} facts/s",
            ]
        )
    if len(outputs) == 2 and outputs["native"] != outputs["durable"]:
        raise SystemExit("the native and durable engines disagree on the realistic mix")
    rows.insert(0, ["facts in the mix", f"{len(facts):,}"])
    return rows


# ---------------------------------------------------------------------------- 3. ticks
def tick_cost(quick: bool, repeat: int) -> list[list[str]]:
    """The cost of a tick that makes 100 escalations due, beside 1,000 to 100,000 idle ones.

    Every engine is built first and the rounds interleave them (a tick on each per round),
    so that the machine's slow spells fall on all sizes alike.
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
    now = workload.START
    for round_ in range(3 if quick else repeat * 3):
        for engine in engines.values():
            for number in range(due_now):  # due: critical, created post due in 2 hours
                engine.handle(
                    Opened(
                        at=now,
                        escalation_id=f"DUE-{round_}-{number}",
                        customer="c",
                        segment=Segment.ENTERPRISE,
                        severity=Severity.CRITICAL,
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
    rows = []
    for size in (2_000,) if quick else (10_000, 100_000):
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        engine = PolicyEngine()
        for number in range(size):
            severity = workload.SEVERITIES[number % 4]
            engine.handle(
                Opened(
                    at=workload.START,
                    escalation_id=f"ESC-{number}",
                    customer=f"Customer {number}",
                    segment=Segment.ENTERPRISE,
                    severity=severity,
                    tam="Alex",
                )
            )
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        if len(engine) != size:
            raise SystemExit("escalations went missing")
        rows.append([f"{size:,} open", f"{used / size:,.0f} bytes per escalation"])
    return rows


# ------------------------------------------------------------------------------- 5. start
def startup(quick: bool, repeat: int) -> list[list[str]]:
    """Start-up as a host sees it: with the library's bytecode cached, as after ``pip install``
    or a first import (an environment with PYTHONDONTWRITEBYTECODE would otherwise compile
    every module from source on every start)."""
    python = sys.executable
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    warm = [python, "-m", "escalation_policy", "table"]
    subprocess.run(warm, check=True, env=env, stdout=subprocess.DEVNULL)

    def wall(command: list[str]) -> float:
        timings = []
        for _ in range(1 if quick else repeat):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            timings.append(time.perf_counter() - started)
        return statistics.median(timings) * 1_000

    bare = wall([python, "-c", "pass"])
    imported = wall([python, "-c", "import escalation_policy"])
    table = wall([python, "-m", "escalation_policy", "table"])
    return [
        ["import escalation_policy", f"{imported - bare:.0f} ms (interpreter start excluded)"],
        ["escalation-policy table", f"{table:.0f} ms wall, interpreter start included"],
        ["python -c pass", f"{bare:.0f} ms"],
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
    args = parser.parse_args()
    sections = {int(part) for part in args.sections.split(",")}
    quick, repeat = args.quick, args.repeat
    print(
        f"Python {sys.version.split()[0]} on {os.uname().machine}, {os.cpu_count()} CPUs"
        + (" (quick mode: figures are not meaningful)" if quick else "")
    )
    if 1 in sections:
        table(
            "1. The stateless decision (severity and event to owner, cadence, involvement, "
            "post, inform TAM)",
            ["implementation", "decisions/s", "native is"],
            stateless(quick, repeat),
        )
    if 2 in sections:
        table("2. handle() on a realistic mix", ["measure", "figure"], throughput(quick, repeat))
    if 3 in sections:
        table(
            "3. A tick that makes 100 escalations due",
            ["open", "due", "tick", "vs smallest"],
            tick_cost(quick, repeat),
        )
    if 4 in sections:
        table("4. Memory per open escalation (tracemalloc)", ["open", "memory"], memory(quick))
    if 5 in sections:
        table("5. Start-up", ["what", "time"], startup(quick, repeat))
    if 6 in sections and not args.skip_audit:
        table("6. The audit of a long history", ["measure", "figure"], audit_history(quick))
    print("\nall implementations agree" if quick else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
