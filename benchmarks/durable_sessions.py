"""100,000 escalations opened and closed over time on the durable engine, 5,000 open at once.

    python benchmarks/durable_sessions.py [--escalations N] [--open-at-once K]

durable-rules holds at most 1,024 live sessions per ruleset; the durable engine keeps
escalation state in the core and uses one session, so this must complete with flat memory.
Prints the time, the peak memory and the memory after each fifth of the run.
"""

import argparse
import datetime as dt
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from workload import close_announced, open_announced

from escalation_policy import PolicyEngine
from escalation_policy.rules import Severity

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--escalations", type=int, default=100_000)
    parser.add_argument("--open-at-once", type=int, default=5_000)
    args = parser.parse_args()
    engine = PolicyEngine(engine="durable")
    threads = threading.active_count()
    now = START
    started = time.perf_counter()
    most_open = 0
    samples = []
    for number in range(args.escalations):
        now += dt.timedelta(seconds=1)
        escalation_id = f"ESC-{number}"
        for fact in open_announced(now, escalation_id, Severity.MEDIUM):
            engine.handle(fact)
        most_open = max(most_open, len(engine))
        if number >= args.open_at_once - 1:
            old = f"ESC-{number - args.open_at_once + 1}"
            for fact in close_announced(now, old, Severity.MEDIUM):
                engine.handle(fact)
        if (number + 1) % (args.escalations // 5) == 0:
            samples.append(f"{number + 1:,}: {rss_mb():.0f} MB")
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"escalations opened and closed: {args.escalations:,}")
    print(f"most open at once: {most_open:,}")
    print(f"still held at the end: {len(engine):,} (the last {args.open_at_once - 1:,} are open)")
    print(f"time: {elapsed:.1f} s ({4 * args.escalations / elapsed:,.0f} facts/s)")
    print(f"memory by escalations handled: {'; '.join(samples)}; peak {peak:.0f} MB")
    print(f"threads before and after: {threads}, {threading.active_count()}")
    return 0 if threading.active_count() == threads else 1


if __name__ == "__main__":
    sys.exit(main())
