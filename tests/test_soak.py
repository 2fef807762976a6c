"""Soak: thousands of escalations through the durable engine from several threads."""

import collections
import resource
import threading
from typing import Any

import pytest

from escalation_policy import Action, PolicyEngine
from escalation_policy._engines.durable import durable_available
from tests.conftest import CHANNEL, at, owner_of

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(durable_available() is not None, reason=durable_available() or ""),
]

THREADS = 4
PER_THREAD = 750  # 3,000 escalations, 15,000 facts


def _phase_facts(worker: int, phase: int) -> list[dict[str, Any]]:
    """Every fact of one phase shares a time, so threads may interleave them freely."""
    when = at(minutes=10 * phase).isoformat()
    facts = []
    for number in range(PER_THREAD):
        escalation_id = f"W{worker}-{number}"
        severity = ("critical", "high", "medium", "low")[number % 4]
        owner = owner_of(severity)
        common = {"at": when, "escalation_id": escalation_id}
        facts.append(
            [
                {
                    **common,
                    "type": "opened",
                    "customer": f"C{number}",
                    "segment": "enterprise",
                    "severity": severity,
                    "tam": "alex" if number % 3 else None,
                },
                {
                    **common,
                    "type": "posted",
                    "channel": CHANNEL,
                    "purpose": "created",
                    "by": owner if number % 5 else "other",
                },
                {**common, "type": "meeting_held", "audience": "customer"},
                {**common, "type": "closed"},
                {**common, "type": "posted", "channel": CHANNEL, "purpose": "closed", "by": owner},
            ][phase]
        )
    return facts


def _by_escalation(actions: list[Action]) -> dict[str, collections.Counter[Action]]:
    grouped: dict[str, collections.Counter[Action]] = collections.defaultdict(collections.Counter)
    for action in actions:
        grouped[action.escalation_id][action] += 1
    return grouped


def test_threads_on_the_durable_engine_lose_and_duplicate_no_action() -> None:
    threads_before = threading.active_count()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    engine = PolicyEngine(engine="durable")
    barrier = threading.Barrier(THREADS)
    collected: list[Action] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for phase in range(5):
                barrier.wait()
                for body in _phase_facts(worker, phase):
                    actions = engine.handle(body).actions
                    with lock:
                        collected.extend(actions)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            barrier.abort()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert [] == errors

    reference = PolicyEngine(engine="native")
    expected = [
        action
        for phase in range(5)
        for worker in range(THREADS)
        for body in _phase_facts(worker, phase)
        for action in reference.handle(body).actions
    ]
    assert len(expected) == len(collected)
    assert _by_escalation(expected) == _by_escalation(collected)
    assert 0 == len(engine), "every escalation closed, posted and was forgotten"
    assert threads_before == threading.active_count(), "no dispatcher threads left behind"
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert growth_mb < 200, f"peak memory grew by {growth_mb:.0f} MB"
