"""``escalation-policy impact`` beside ``escalation-policy audit``, on generated histories.

    python benchmarks/impact.py                     # the 50,000-fact check, then 1,000,000 timed
    python benchmarks/impact.py --facts 200000      # the timing on another size
    python benchmarks/impact.py --quick             # seconds: a small check and timing

First the check: one cadence of the handbook's policy changed (``high_update_every=2d``), the
impact over a generated history of ``--check`` facts must name exactly the escalations whose
actions differ when the history is replayed under each policy and its actions are grouped
escalation by escalation (the test suite checks the same on a smaller history with each
escalation replayed alone). Then the timing: both commands run on one history of ``--facts``
facts, each in a process of its own, as a user runs them; the figures are wall time and CPU
time (the machine may be shared: the CPU time is the steadier). The target is an impact at
most 2.5 times one audit. Exit status 1 when the check fails or the impact takes more.
"""

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import workload

from escalation_policy import PolicyEngine, default_policy, impact, load_policy, make_converter
from escalation_policy.policy import Policy

CHANGE = {"high_update_every": "2d"}
TARGET = 2.5


def grouped(history: list[dict[str, Any]], policy: Policy) -> dict[tuple[str, str], Any]:
    """The history replayed under ``policy``; its actions grouped by escalation (its id and
    opening), as JSON."""
    engine = PolicyEngine(policy)
    converter = make_converter(policy)
    opened: dict[str, str] = {}
    found: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )

    def keep(actions: Any) -> None:
        for action in actions:
            key = (action.escalation_id, opened.get(action.escalation_id, ""))
            found[key][json.dumps(converter.unstructure(action), sort_keys=True)] += 1

    for item in history:
        if item["type"] == "opened":
            opened[item["escalation_id"]] = item["at"]
        keep(engine.handle(item).actions)
    keep(engine.release_held())
    return found


def check(facts: int) -> bool:
    history = [json.loads(line) for line in workload.history_lines(facts)]
    base, policy = default_policy(), load_policy(settings=CHANGE)
    started = time.perf_counter()
    report = impact(history, base=base, policy=policy)
    took = time.perf_counter() - started
    before, after = grouped(history, base), grouped(history, policy)
    differ = {key[0] for key in {*before, *after} if before.get(key) != after.get(key)}
    reported = {escalation.escalation_id for escalation in report.escalations}
    same = differ == reported
    print(
        f"Check on {facts:,} facts: {report.totals.escalations:,} escalations, "
        f"{report.totals.affected:,} change ({report.totals.added:,} actions added, "
        f"{report.totals.removed:,} removed, {report.totals.changed:,} changed), in {took:.1f} s"
    )
    print(
        "  against each policy's replay, escalation by escalation: "
        + ("the same escalations" if same else f"DIFFERENT ({len(differ ^ reported)} apart)")
    )
    return same


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of a command in a process of its own."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed: {result.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def timing(facts: int, jobs: int) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        history = Path(folder) / "history.jsonl"
        with history.open("w") as stream:
            for line in workload.history_lines(facts):
                stream.write(line + "\n")
        out = str(Path(folder) / "report.json")
        cli = [sys.executable, "-m", "escalation_policy"]
        audit = timed([*cli, "audit", str(history), "--format", "json", "-o", out])
        common = [*cli, "impact", str(history), "--base", "handbook", "--format", "json"]
        change = ["--setting", "high_update_every=2d", "-o", out]
        one = timed([*common, *change])
        rows = [("audit", audit), ("impact", one)]
        if jobs > 1:
            rows.append((f"impact --jobs {jobs}", timed([*common, *change, "--jobs", str(jobs)])))
    print(f"\nTiming on {facts:,} facts ({os.cpu_count()} cores)\n")
    print("| command | wall s | CPU s | wall / audit | CPU / audit |")
    print("| --- | --- | --- | --- | --- |")
    for name, (wall, cpu) in rows:
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {wall / audit[0]:.2f} | {cpu / audit[1]:.2f} |")
    ratio = one[1] / audit[1]
    verdict = "within" if ratio <= TARGET else "OVER"
    print(f"\nimpact / audit, CPU time: {ratio:.2f} ({verdict} the target of {TARGET})")
    return ratio <= TARGET


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", type=int, default=50_000, help="facts of the check")
    parser.add_argument("--facts", type=int, default=1_000_000, help="facts of the timing")
    parser.add_argument("--jobs", type=int, default=2, help="also time impact --jobs N")
    parser.add_argument("--quick", action="store_true", help="2,000 facts each: seconds")
    args = parser.parse_args()
    if args.quick:
        args.check = args.facts = 2_000
    ok = check(args.check)
    ok = timing(args.facts, args.jobs) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
