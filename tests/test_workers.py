"""Several worker processes on one PostgreSQL store give one engine's result.

Four processes share a stream: each escalation's facts go to one worker chosen at random (a
stream partitioned by escalation, as a queue with partitions delivers it), every worker also
gets redeliveries of facts handled before, by itself or by others, and all four race the due
scans. The stream is cut into phases at fixed times: at the start of each, every worker runs
the due scan to that time at once (only one may report each miss), then they handle the
phase's facts. The store must then hold exactly what one service replaying the stream alone,
in memory, holds: the same states and, for each escalation, the same actions with the same ids.
"""

import datetime as dt
import json
import multiprocessing
import random
from typing import Any

import pytest

from escalation_policy import Service, make_converter
from escalation_policy.model import Action, parse_timestamp

from .stores import postgres_url, require_postgres
from .test_crash_safety import stream

WORKERS = 4
PHASES = 16
CONVERTER = make_converter()


def plan(seed: int) -> tuple[list[dt.datetime], list[list[list[dict[str, Any]]]], list[Any]]:
    """The phase times, each worker's items per phase (its facts, with redeliveries), and the
    stream by phase for the reference."""
    rng = random.Random(seed)
    # Without ticks: a tick lets time pass for every escalation, which in a partitioned stream
    # is the due scans' work (a worker's tick would overtake the other workers' facts).
    facts = [fact for fact in stream(copies=10) if fact["type"] != "tick"]
    for number, fact in enumerate(facts):
        fact["id"] = f"src-{number}"
    # Phases of equal size; each starts at its first fact's time, so the due scan to that
    # time never overtakes a fact of the phase.
    size = -(-len(facts) // PHASES)
    by_phase = [facts[k : k + size] for k in range(0, len(facts), size)]
    starts = [parse_timestamp(phase[0]["at"]) for phase in by_phase]
    owner: dict[str, int] = {}
    items: list[list[list[dict[str, Any]]]] = [[[] for _ in by_phase] for _ in range(WORKERS)]
    handled: list[dict[str, Any]] = []
    for phase, phase_facts in enumerate(by_phase):
        mine: list[list[dict[str, Any]]] = [[] for _ in range(WORKERS)]
        for fact in phase_facts:
            key = fact.get("escalation_id", "")
            worker = owner.setdefault(key, rng.randrange(WORKERS))
            items[worker][phase].append(fact)
            mine[worker].append(fact)
            if rng.random() < 0.3:  # a redelivery of its own, later in the phase
                items[worker][phase].append(rng.choice(mine[worker]))
            if handled and rng.random() < 0.3:  # a redelivery of an earlier phase's fact
                items[rng.randrange(WORKERS)][phase].append(rng.choice(handled))
        handled += phase_facts
    return starts, items, by_phase


def _worker(
    url: str, number: int, seed: int, barrier: Any, end: str, errors: Any
) -> None:  # pragma: no cover - runs in a child process
    try:
        starts, items, _ = plan(seed)
        rng = random.Random(seed * 100 + number)
        with Service(url, catch_up=False) as service:
            for phase, start in enumerate(starts):
                service.run_due(start)
                barrier.wait()
                queue = items[number][phase]
                while queue:
                    size = rng.randint(1, 20)
                    batch, queue = queue[:size], queue[size:]
                    for result in service.handle_many(batch):
                        assert not isinstance(result, Exception), result
                barrier.wait()
            service.run_due(parse_timestamp(end))
    except BaseException as error:
        errors.put(f"worker {number}: {type(error).__name__}: {error}")
        barrier.abort()
        raise


def by_escalation(service: Service) -> dict[str, list[tuple[str, str]]]:
    grouped: dict[str, list[tuple[str, str]]] = {}
    for delivery in service.outbox():
        body = json.dumps(CONVERTER.unstructure(delivery.action, Action), sort_keys=True)
        grouped.setdefault(delivery.action.escalation_id, []).append((delivery.id, body))
    return grouped


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 8, 9])
def test_four_workers_sharing_a_stream_give_one_in_memory_replays_result(seed: int) -> None:
    require_postgres()  # before the reference replay: a machine without a server skips at once
    starts, _, by_phase = plan(seed)
    end = starts[-1] + dt.timedelta(days=60)
    reference = Service(":memory:", catch_up=False)
    for start, phase_facts in zip(starts, by_phase, strict=True):
        reference.run_due(start)
        reference.handle_many(phase_facts)
    reference.run_due(end)

    schema = postgres_url()
    url = next(schema)
    try:
        Service(url).close()  # the schema, made once before the workers start
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(WORKERS, timeout=300)
        errors = context.Queue()
        processes = [
            context.Process(
                target=_worker, args=(url, number, seed, barrier, end.isoformat(), errors)
            )
            for number in range(WORKERS)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=600)
        failures = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
        assert [0] * WORKERS == [process.exitcode for process in processes], failures
        with Service(url) as service:
            assert reference.escalations() == service.escalations()
            assert by_escalation(reference) == by_escalation(service)
            assert len(reference.outbox()) == len(service.outbox())
    finally:
        for _ in schema:
            pass
