"""The policy over a durable store: the same decisions as the in-memory engine, each fact
handled once, each action delivered at least once and in order, on SQLite and PostgreSQL."""

import datetime as dt
import json
import pathlib
import sqlite3
import threading
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation_policy import (
    ClockJumpError,
    DuplicateFactError,
    InputError,
    InvalidFactError,
    PolicyEngine,
    Service,
    StaleFactError,
    StoreError,
    make_converter,
    open_store,
)
from escalation_policy.model import Action, Fact, parse_timestamp
from escalation_policy.store import SCHEMA_VERSION, _open
from escalation_policy.testing import strategies
from tests.conftest import examples

from .conftest import DOC, T0, TAM, at
from .stores import postgres_url, require_postgres

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.jsonl"))
ONE_CLOSED_ESCALATION = ROOT / "examples" / "critical-outage.jsonl"  # one escalation, closed
CONVERTER = make_converter()
SETTINGS = settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def lines(path: pathlib.Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def as_json(actions: Any) -> list[dict[str, Any]]:
    return [CONVERTER.unstructure(action, Action) for action in actions]


def replayed(facts: list[Any]) -> tuple[list[dict[str, Any]], PolicyEngine]:
    engine = PolicyEngine()
    actions = [action for fact in facts for action in engine.handle(fact).actions]
    return as_json(actions), engine


def opened(escalation_id: str = "ESC-1", when: dt.datetime = T0, **fields: Any) -> dict[str, Any]:
    return {
        "type": "opened",
        "escalation_id": escalation_id,
        "at": when.isoformat(),
        "customer": "Acme",
        "segment": "enterprise",
        "severity": "critical",
        "tam": TAM,
        **fields,
    }


def posted(escalation_id: str, when: dt.datetime, purpose: str, by: str, **fields: Any) -> Any:
    return {
        "type": "posted",
        "escalation_id": escalation_id,
        "at": when.isoformat(),
        "channel": "#customer-escalations",
        "purpose": purpose,
        "by": by,
        "url": DOC,
        **fields,
    }


def contents(service: Service) -> tuple[Any, ...]:
    """Everything a store holds that a user can see: states and the outbox."""
    return (
        service.escalations(),
        [(d.id, CONVERTER.unstructure(d.action, Action)) for d in service.outbox()],
    )


# ------------------------------------------------------------------------- the same decisions
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_a_store_gives_the_in_memory_engines_actions_and_states(
    new_store_url: Any, path: pathlib.Path
) -> None:
    facts = lines(path)
    expected, engine = replayed(facts)
    with Service(new_store_url()) as service:
        got = [delivery for fact in facts for delivery in service.handle(fact).deliveries]
        assert expected == as_json(delivery.action for delivery in got)
        assert engine.escalations() == service.escalations()
        assert [delivery.id for delivery in got] == [delivery.id for delivery in service.outbox()]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_both_engines_give_the_same_actions_through_a_store(
    engine_name: str, path: pathlib.Path
) -> None:
    facts = lines(path)
    expected, _ = replayed(facts)
    with Service(":memory:", engine=engine_name) as service:  # type: ignore[arg-type]
        assert expected == as_json(a for r in service.handle_many(facts) for a in r.actions)


def test_action_ids_are_the_escalation_and_a_sequence_from_1(new_store_url: Any) -> None:
    facts = lines(ROOT / "examples" / "severity-change.jsonl")
    with Service(new_store_url()) as service:
        service.handle_many(facts)
        by_escalation: dict[str, list[int]] = {}
        for delivery in service.outbox():
            escalation, _, seq = delivery.id.rpartition("/")
            assert escalation == delivery.action.escalation_id
            by_escalation.setdefault(escalation, []).append(int(seq))
    assert by_escalation
    for numbers in by_escalation.values():
        assert list(range(1, len(numbers) + 1)) == numbers


@SETTINGS
@given(strategies.histories(max_escalations=3, max_steps=30), st.data())
def test_any_history_in_any_batches_gives_the_in_memory_engines_actions(
    history: list[Fact], data: st.DataObject
) -> None:
    expected, engine = replayed(history)
    with Service(":memory:") as service:
        got: list[Action] = []
        start = 0
        while start < len(history):
            size = data.draw(st.integers(min_value=1, max_value=8), label="batch")
            for result in service.handle_many(history[start : start + size]):
                assert not isinstance(result, InputError)
                got += result.actions
            start += size
        assert expected == as_json(got)
        assert engine.escalations() == service.escalations()


@SETTINGS
@given(strategies.histories(max_escalations=3, max_steps=30))
def test_a_service_continues_where_a_snapshot_of_it_leaves_off(history: list[Fact]) -> None:
    """The store's states are the in-memory engine's: either can take over from the other."""
    half = len(history) // 2
    with Service(":memory:") as service:
        service.handle_many(history[:half])
        engine = PolicyEngine.restore(service.snapshot())
        rest = [action for fact in history[half:] for action in engine.handle(fact).actions]
        whole, _ = replayed(history)
        first = [d.action for d in service.outbox()]
        assert whole == as_json([*first, *rest])


# --------------------------------------------------------------------------------- fact ids
@SETTINGS
@given(strategies.histories(max_escalations=3, max_steps=25), st.data())
def test_every_fact_delivered_twice_gives_the_outbox_of_once(
    history: list[Fact], data: st.DataObject
) -> None:
    with_ids = [attrs.evolve(fact, id=f"event-{n}") for n, fact in enumerate(history)]
    once = Service(":memory:")
    once.handle_many(with_ids)
    # Each fact again, at a random later point (after itself), in random batches.
    stream = list(with_ids)
    for n, fact in enumerate(with_ids):
        position = data.draw(st.integers(min_value=stream.index(fact) + 1, max_value=len(stream)))
        stream.insert(position, with_ids[n])
    twice = Service(":memory:")
    start = 0
    while start < len(stream):
        size = data.draw(st.integers(min_value=1, max_value=6))
        for result in twice.handle_many(stream[start : start + size]):
            assert not isinstance(result, InputError), result
        start += size
    assert contents(once) == contents(twice)


def test_a_redelivered_fact_returns_its_first_actions_and_emits_nothing(
    new_store_url: Any,
) -> None:
    with Service(new_store_url()) as service:
        first = service.handle(opened(id="crm-1"))
        again = service.handle(opened(id="crm-1"))
        assert first.deliveries
        assert not first.duplicate
        assert again.duplicate
        assert first.deliveries == again.deliveries
        assert len(first.deliveries) == len(service.outbox())


def test_the_same_id_with_other_content_is_refused_and_changes_nothing(
    new_store_url: Any,
) -> None:
    with Service(new_store_url()) as service:
        service.handle(opened(id="crm-1"))
        before = contents(service)
        with pytest.raises(DuplicateFactError, match="crm-1") as caught:
            service.handle(opened("ESC-2", id="crm-1"))
        assert "$.id" == caught.value.path
        assert before == contents(service)


def test_facts_without_ids_are_applied_each_time_as_before(new_store_url: Any) -> None:
    post = posted("ESC-1", at(hours=1), "created", "tam")
    with Service(new_store_url()) as service:
        service.handle(opened())
        first = service.handle(post)
        second = service.handle(post)
    assert not first.duplicate
    assert not second.duplicate


def test_an_empty_fact_id_is_refused() -> None:
    with Service(":memory:") as service, pytest.raises(InputError, match="non-empty") as caught:
        service.handle(opened(id=""))
    assert "$.id" == caught.value.path


# ----------------------------------------------------------------------------- bad input
def test_a_refused_fact_changes_nothing_and_leaves_no_row(new_store_url: Any) -> None:
    with Service(new_store_url()) as service:
        service.handle(opened())
        before = contents(service)
        for bad in (
            posted("ESC-404", at(hours=1), "created", "tam"),  # no such escalation
            opened(when=at(hours=2)),  # already open
            {"type": "posted", "escalation_id": "ESC-1"},  # missing fields
            posted("ESC-1", at(hours=-1), "created", "tam"),  # older than its last fact
        ):
            with pytest.raises(InputError):
                service.handle(bad)
            assert before == contents(service)
        assert service.store.state("ESC-404") is None


def test_text_a_store_cannot_hold_is_refused_and_the_batch_goes_on(new_store_url: Any) -> None:
    """PostgreSQL's text holds no NUL: such a fact is refused as an input error, on every
    store alike, and the facts after it are handled."""
    with Service(new_store_url()) as service:
        results = service.handle_many(
            [opened("ESC-\x00"), opened("ESC-2", customer="A\x00"), opened("ESC-3")],
            keep_going=True,
        )
        assert ["$.escalation_id", "$.customer"] == [
            r.path for r in results[:2] if isinstance(r, InputError)
        ]
        assert ["ESC-3"] == [state.escalation_id for state in service.escalations()]


def test_a_stale_fact_names_the_escalations_clock(new_store_url: Any) -> None:
    with Service(new_store_url()) as service:
        service.handle(opened(when=at(hours=5)))
        with pytest.raises(StaleFactError, match="facts must arrive in time order"):
            service.handle(posted("ESC-1", at(hours=1), "created", "tam"))


def test_a_refused_fact_in_a_batch_ends_it_after_committing_those_before(
    new_store_url: Any,
) -> None:
    facts = [opened(), {"type": "nonsense"}, opened("ESC-2")]
    with Service(new_store_url()) as service:
        results = service.handle_many(facts, source="feed", positions=[1, 2, 3])
        assert 2 == len(results)
        assert isinstance(results[1], InputError)
        assert service.escalation("ESC-1") is not None
        assert service.escalation("ESC-2") is None
        assert 1 == service.position("feed")


def test_keep_going_refuses_the_bad_fact_and_handles_the_rest(new_store_url: Any) -> None:
    facts = [opened(), {"type": "nonsense"}, opened("ESC-2")]
    with Service(new_store_url()) as service:
        results = service.handle_many(facts, keep_going=True, source="feed", positions=[4, 5, 6])
        assert [False, True, False] == [isinstance(r, InputError) for r in results]
        assert service.escalation("ESC-2") is not None
        assert 6 == service.position("feed")


def posts_after_openings(count: int) -> tuple[list[Any], list[Any]]:
    """``count`` escalations opened, then a post for each without an id, all at one time: a
    post by the wrong person, which emits a violation each time it is handled."""
    openings = [opened(f"ESC-{n}", severity="low") for n in range(count)]
    posts = [
        posted(f"ESC-{n}", at(minutes=10), "update", "tam", channel="#escalated_customers")
        for n in range(count)
    ]
    return openings, posts


def test_facts_a_source_has_read_past_are_skipped_by_a_second_reader(
    new_store_url: Any,
) -> None:
    """Two readers of one source that both start from its beginning: the second handles only
    what the first has not, and records no refusal the first recorded, so the store ends as
    after one reader."""
    openings, posts = posts_after_openings(3)
    facts = [*posts, {"type": "nonsense"}]
    url = new_store_url()
    with Service(url) as first, Service(url) as second:
        first.handle_many(openings)
        first.handle_many(facts[:3], keep_going=True, source="feed", positions=[1, 2, 3])
        results = second.handle_many(facts, keep_going=True, source="feed", positions=[1, 2, 3, 4])
        assert 1 == len(results)
        assert isinstance(results[0], InputError)
        assert 4 == second.position("feed")
        assert [4] == [refusal.position for refusal in second.refusals()]
        alone = Service(new_store_url())
        with alone:
            alone.handle_many(openings)
            alone.handle_many(facts, keep_going=True, source="feed", positions=[1, 2, 3, 4])
            assert contents(alone) == contents(second)


def test_two_readers_of_one_source_at_once_leave_the_outbox_of_one(new_store_url: Any) -> None:
    """Two threads feed the same source in the same batches at the same time, each through
    its own service: each batch is handled once, by whichever comes first."""
    openings, posts = posts_after_openings(200)
    batches = [list(range(start, start + 10)) for start in range(0, len(posts), 10)]
    url = new_store_url()
    with Service(url) as service:
        service.handle_many(openings)
    start = threading.Barrier(2)
    handled: list[int] = []

    def read() -> None:
        with Service(url) as reader:
            start.wait()
            for batch in batches:
                results = reader.handle_many(
                    [posts[index] for index in batch],
                    source="feed",
                    positions=[index + 1 for index in batch],
                )
                handled.extend(len(r.deliveries) for r in results if not isinstance(r, InputError))

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Service(new_store_url()) as alone:
        alone.handle_many(openings)
        once = alone.handle_many(posts, source="feed", positions=range(1, len(posts) + 1))
        with Service(url) as service:
            assert contents(alone) == contents(service)
        assert sum(len(r.deliveries) for r in once if not isinstance(r, InputError)) == sum(handled)


def test_positions_of_a_source_must_increase(new_store_url: Any) -> None:
    with Service(new_store_url()) as service, pytest.raises(ValueError, match="increase"):
        service.handle_many([opened(), opened("ESC-2")], source="feed", positions=[2, 2])


def test_a_negative_lateness_is_refused() -> None:
    with pytest.raises(InputError, match="lateness"):
        Service(":memory:", lateness=dt.timedelta(seconds=-1))


@pytest.mark.parametrize("lateness", [dt.timedelta(days=7, seconds=1), dt.timedelta(days=9999999)])
def test_a_lateness_over_seven_days_is_refused_by_services_and_engines(
    lateness: dt.timedelta,
) -> None:
    for make in (
        lambda: Service(":memory:", lateness=lateness),
        lambda: PolicyEngine(lateness=lateness),
    ):
        with pytest.raises(InputError, match="expected a duration from 0 to 7 days") as caught:
            make()
        assert "lateness" == caught.value.path
    with Service(":memory:", lateness=dt.timedelta(days=7)) as service:
        assert dt.timedelta(days=7) == service.lateness


# -------------------------------------------------------------------------------- due scans
def test_run_due_reports_what_fell_due_once_and_next_wakeup_is_the_earliest_due(
    new_store_url: Any,
) -> None:
    with Service(new_store_url(), catch_up=False) as service:
        service.handle(opened("ESC-1"))
        service.handle(opened("ESC-2", when=at(hours=1), severity="low"))
        wakeup = service.next_wakeup()
        states = service.escalations()
        assert min(state.next_due for state in states if state.next_due) == wakeup
        assert wakeup is not None
        assert [] == service.run_due(wakeup)  # due *before* now: nothing yet
        later = wakeup + dt.timedelta(seconds=1)
        reported = service.run_due(later)
        assert reported
        assert all(delivery.action.at == later for delivery in reported)
        assert [] == service.run_due(later)
        assert service.next_wakeup() is None or service.next_wakeup() >= later


def test_run_due_matches_the_in_memory_engines_ticks(new_store_url: Any) -> None:
    facts = lines(ROOT / "examples" / "non-compliant.jsonl")
    end = parse_timestamp(facts[-1]["at"]) + dt.timedelta(days=30)
    expected, _ = replayed([*facts, {"type": "tick", "at": end.isoformat()}])
    with Service(new_store_url()) as service:
        service.handle_many(facts)
        service.run_due(end)
        assert expected == as_json(d.action for d in service.outbox())


def test_run_due_with_a_limit_advances_at_most_that_many(new_store_url: Any) -> None:
    with Service(new_store_url(), catch_up=False) as service:
        service.handle_many([opened(f"ESC-{n}", severity="low") for n in range(5)])
        wakeup = service.next_wakeup()
        assert wakeup is not None
        later = wakeup + dt.timedelta(days=1)
        first = service.run_due(later, limit=2)
        assert 2 == len({d.action.escalation_id for d in first})
        rest = service.run_due(later)
        assert 3 == len({d.action.escalation_id for d in rest})


def test_a_tick_lets_time_pass_for_every_escalation(new_store_url: Any) -> None:
    facts = [opened(), {"type": "tick", "at": at(days=3).isoformat()}]
    expected, _ = replayed(facts)
    with Service(new_store_url(), catch_up=False) as service:
        service.handle_many(facts)
        assert expected == as_json(d.action for d in service.outbox())


# --------------------------------------------------------------------------------- delivery
def test_claim_gives_each_escalations_actions_one_at_a_time_in_order(new_store_url: Any) -> None:
    with Service(new_store_url()) as service:
        service.handle_many([opened("ESC-1"), opened("ESC-2")])
        now = at(hours=1)
        delivered: list[str] = []
        while claimed := service.claim(now, limit=10):
            assert len({d.action.escalation_id for d in claimed}) == len(claimed)
            service.ack([d.id for d in claimed], now)
            delivered += [d.id for d in claimed]
        assert sorted(delivered) == sorted(d.id for d in service.outbox())
        for escalation in ("ESC-1", "ESC-2"):
            mine = [i for i in delivered if i.startswith(escalation + "/")]
            assert sorted(mine, key=lambda i: int(i.rpartition("/")[2])) == mine
        assert [] == service.outbox(delivered=False)


def test_an_unacknowledged_claim_is_claimed_again_after_its_lease(new_store_url: Any) -> None:
    with Service(new_store_url()) as service:
        service.handle(opened())
        lease = dt.timedelta(minutes=1)
        first = service.claim(at(hours=1), limit=1, lease=lease)
        assert [] == service.claim(at(hours=1, minutes=0.5), limit=1, lease=lease)
        again = service.claim(at(hours=1, minutes=2), limit=1, lease=lease)
        assert [d.id for d in first] == [d.id for d in again]
        assert [2] == [d.attempts for d in again]


def test_a_failed_delivery_is_retried_with_doubling_backoff_and_never_lost(
    new_store_url: Any,
) -> None:
    with Service(new_store_url()) as service:
        service.handle(opened())
        now = at(hours=1)
        (delivery,) = service.claim(now, limit=1)
        waits = []
        for _ in range(4):
            retry = service.release(delivery, now, "receiver down")
            waits.append(retry - now)
            assert [] == service.claim(retry - dt.timedelta(microseconds=1), limit=1)
            (delivery,) = service.claim(retry, limit=1)
            now = retry
        assert [dt.timedelta(seconds=5 * 2**n) for n in range(4)] == waits
        service.ack([delivery.id], now)
        assert delivery.id in [d.id for d in service.outbox(delivered=True)]


def test_backoff_stops_growing_at_its_cap(new_store_url: Any) -> None:
    with Service(new_store_url()) as service:
        service.handle(opened())
        (delivery,) = service.claim(at(hours=1), limit=1)
        tired = attrs.evolve(delivery, attempts=10_000)
        retry = service.release(tired, at(hours=1), "down", max_backoff=dt.timedelta(hours=2))
        assert dt.timedelta(hours=2) == retry - at(hours=1)


# ---------------------------------------------------------------------------------- pruning
def test_prune_forgets_old_fact_ids_and_delivered_actions_only(new_store_url: Any) -> None:
    """Fact ids older than the cut are forgotten, newer ones kept; actions delivered before
    the cut go, those delivered later and those not delivered stay; states are untouched."""
    with Service(new_store_url()) as service:
        service.handle(opened("ESC-1", id="crm-1"))
        service.handle(opened("ESC-2", at(hours=2), id="crm-2"))
        delivered = [d.id for d in service.claim(at(hours=3), limit=100)]  # one per escalation
        service.ack(delivered[:1], at(hours=3))
        service.ack(delivered[1:], at(hours=5))
        outbox, states = len(service.outbox()), service.escalations()
        pruned = service.prune(facts_before=at(hours=1), delivered_before=at(hours=4))
        assert (1, 1) == (pruned.facts, pruned.actions)
        assert outbox - 1 == len(service.outbox())
        assert delivered[0] not in {d.id for d in service.outbox()}
        assert states == service.escalations()
        assert service.handle(opened("ESC-2", at(hours=2), id="crm-2")).duplicate  # kept
        # Forgotten: the opening fact is handled as new, and refused: it is older than the
        # store's clock (and its escalation is open).
        with pytest.raises(StaleFactError, match="older than the engine's clock"):
            service.handle(opened("ESC-1", id="crm-1"))
        assert (0, 0) == attrs.astuple(service.prune(facts_before=at(hours=1)))


def test_a_redelivered_fact_whose_actions_were_pruned_returns_those_kept(
    new_store_url: Any,
) -> None:
    with Service(new_store_url()) as service:
        first = service.handle(opened(id="crm-1"))
        (claimed,) = service.claim(at(hours=1), limit=1)
        service.ack([claimed.id], at(hours=1))
        service.prune(delivered_before=at(hours=2))
        again = service.handle(opened(id="crm-1"))
        assert again.duplicate
        assert [d for d in first.deliveries if d.id != claimed.id] == list(again.deliveries)


def test_prune_without_a_limit_keeps_everything_and_a_bad_time_is_refused(
    new_store_url: Any,
) -> None:
    with Service(new_store_url()) as service:
        service.handle(opened(id="crm-1"))
        before = contents(service)
        assert (0, 0) == attrs.astuple(service.prune())
        with pytest.raises(InputError) as caught:
            service.prune(facts_before=dt.datetime(2026, 3, 2))  # naive
        assert "facts_before" == caught.value.path
        assert before == contents(service)


@pytest.mark.parametrize(
    ("catch_up", "reason"),
    [(True, "older than the engine's clock"), (False, "closed and settled")],
)
def test_a_fact_redelivered_after_its_id_was_pruned_is_stale_even_once_settled(
    new_store_url: Any, catch_up: bool, reason: str
) -> None:
    """A settled escalation keeps its last time: its facts, redelivered after their ids were
    forgotten, are refused as stale instead of opening it again (older than the store's clock
    when the service catches up, than the escalation's own last time otherwise)."""
    facts = [{**fact, "id": f"crm-{n}"} for n, fact in enumerate(lines(ONE_CLOSED_ESCALATION))]
    with Service(new_store_url(), catch_up=catch_up) as service:
        service.handle_many(facts)
        (escalation_id,) = {fact["escalation_id"] for fact in facts}
        assert service.escalation(escalation_id) is None  # closed and settled
        end = parse_timestamp(facts[-1]["at"])
        service.ack([d.id for d in service.outbox()], end)
        assert len(facts) == service.prune(facts_before=end + dt.timedelta(days=1)).facts
        before = contents(service)
        for fact in facts[:-1]:
            with pytest.raises(StaleFactError, match=reason):
                service.handle(fact)
        assert before == contents(service)


def test_a_failed_prune_on_postgresql_is_a_store_error() -> None:
    """The server's refusal (here a lock held elsewhere, and a lock timeout) is a StoreError
    naming the store, as for every other call."""
    require_postgres()  # psycopg may be missing: skip (or fail where required), saying why
    import psycopg

    schema = postgres_url()
    url = next(schema)
    try:
        Service(url).close()
        with psycopg.connect(url) as holder:
            holder.execute("LOCK TABLE ep_facts IN ACCESS EXCLUSIVE MODE")
            impatient = url + "%20-clock_timeout%3D200"  # options=-csearch_path=... -c...
            with Service(impatient) as service, pytest.raises(StoreError, match="PostgreSQL"):
                service.prune(facts_before=T0)
    finally:
        schema.close()


# ---------------------------------------------------------------------------------- schema
def _v1_rows(url: str) -> int:
    """Write, through schema version 1 only, what a version-1 store held."""
    store = _open(url, 1)
    with Service(":memory:") as reference:
        reference.handle(opened("ESC-9"))
        (kept,) = reference.escalations()
        state = CONVERTER.unstructure(kept)
        actions = [(d.id, d.action) for d in reference.outbox()]
    with store.transaction() as tx:
        db: Any = tx.db  # type: ignore[attr-defined]  # version 1's own columns, in SQL
        db.execute(
            store._sql(
                "INSERT INTO ep_escalations (escalation_id, state, next_due, seq)"
                " VALUES (?, ?, ?, ?)"
            ),
            ("ESC-9", json.dumps(state), None, len(actions)),
        )
        db.execute(
            store._sql("INSERT INTO ep_outbox (action_id, escalation_id, action) VALUES (?, ?, ?)"),
            (actions[0][0], "ESC-9", json.dumps(CONVERTER.unstructure(actions[0][1], Action))),
        )
    assert 1 == store.schema_version()
    store.close()
    return len(actions)


def test_a_store_of_the_previous_schema_is_upgraded_when_opened(new_store_url: Any) -> None:
    url = new_store_url()
    emitted = _v1_rows(url)
    with Service(url) as service:
        assert SCHEMA_VERSION == service.store.schema_version()
        assert "ESC-9" == service.escalation("ESC-9").escalation_id  # type: ignore[union-attr]
        (waiting,) = service.claim(at(hours=1), limit=5)
        assert "ESC-9/1" == waiting.id
        handled = service.handle(
            {
                "type": "severity_changed",
                "escalation_id": "ESC-9",
                "at": at(hours=1).isoformat(),
                "severity": "medium",
            }
        )
        assert f"ESC-9/{emitted + 1}" == handled.deliveries[0].id


def test_fact_ids_recorded_before_version_3_are_kept_and_recognised(new_store_url: Any) -> None:
    """A version-2 store's handled facts have no time: upgraded, they are still recognised as
    redeliveries, and pruning by time keeps them."""
    url = new_store_url()
    with Service(":memory:") as reference:
        fact = opened(id="crm-1")
        handled = reference.handle(fact)
        digest = reference._digest(reference._read(fact))
    store = _open(url, 2)
    with store.transaction() as tx:
        db: Any = tx.db  # type: ignore[attr-defined]  # version 2's own columns, in SQL
        db.execute(
            store._sql(
                "INSERT INTO ep_facts (fact_id, digest, escalation_id, actions) VALUES (?, ?, ?, ?)"
            ),
            ("crm-1", digest, "ESC-1", json.dumps([d.id for d in handled.deliveries])),
        )
        for delivery in handled.deliveries:
            db.execute(
                store._sql(
                    "INSERT INTO ep_outbox (action_id, escalation_id, action) VALUES (?, ?, ?)"
                ),
                (delivery.id, "ESC-1", json.dumps(CONVERTER.unstructure(delivery.action, Action))),
            )
    store.close()
    with Service(url) as service:
        assert SCHEMA_VERSION == service.store.schema_version()
        assert (0, 0) == attrs.astuple(service.prune(facts_before=at(days=400)))
        again = service.handle(fact)
        assert again.duplicate
        assert [d.id for d in handled.deliveries] == [d.id for d in again.deliveries]
        assert {None} == {d.policy for d in again.deliveries}  # decided before it was kept


def test_a_store_of_a_newer_schema_is_refused(new_store_url: Any) -> None:
    url = new_store_url()
    open_store(url).close()
    with open_store(url) as store:
        store._query(store._sql("UPDATE ep_meta SET value = ? WHERE key = ?"), ("99", "schema"))
    with pytest.raises(StoreError, match="schema version 99, written by a newer version"):
        open_store(url)


@pytest.mark.parametrize("written", [1, 2], ids=["format 1", "format 2"])
def test_a_state_of_an_earlier_snapshot_format_is_upgraded_when_read(
    tmp_path: pathlib.Path, written: int
) -> None:
    """A row an earlier release wrote (its ``state_format``) reads as that release's snapshot
    restored: format 1's TAM informed as ``informed_tam``, format 2's as a text in ``done``."""
    data = ROOT / "tests" / "data" / f"snapshot-format-{written}.json"
    snapshot = json.loads(data.read_text())
    (old,) = [e for e in snapshot["escalations"] if e.get("informed_tam") or e.get("done")][:1]
    path = tmp_path / "old.db"
    open_store(str(path)).close()
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO ep_escalations (escalation_id, state, state_format, seq) VALUES (?, ?, ?, 0)",
        (old["escalation_id"], json.dumps(old), written),
    )
    db.commit()
    db.close()
    engine = PolicyEngine.restore({**snapshot, "policy": None})  # the state alone, as read
    with Service(str(path)) as service:
        assert engine.escalation(old["escalation_id"]) == service.escalation(old["escalation_id"])
    assert ("alex",) == engine.escalation(old["escalation_id"]).done["inform_tam"]  # type: ignore[union-attr]


def test_the_stores_write_states_in_the_snapshot_format_of_the_engine() -> None:
    from escalation_policy.state import SNAPSHOT_FORMAT
    from escalation_policy.store.base import _STATE_FORMAT

    assert SNAPSHOT_FORMAT == _STATE_FORMAT


# ------------------------------------------------------------------------------- store URLs
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://localhost/db", "scheme 'mysql'"),
        ("sqlite://relative.db", "three slashes"),
        ("sqlite:///", "expected a file after sqlite:///"),
        ("", "expected a store URL"),
    ],
)
def test_a_wrong_store_url_is_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_a_postgres_server_that_is_not_there_is_a_clear_error() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError, match="cannot connect to the PostgreSQL store"):
        open_store("postgresql://nobody:secret@127.0.0.1:9/none?connect_timeout=1")


def test_the_password_is_never_in_a_message() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://nobody:secret@127.0.0.1:9/none?connect_timeout=1")
    assert "secret" not in str(caught.value)


def test_a_sqlite_file_that_cannot_be_opened_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(StoreError, match="cannot open the SQLite store"):
        open_store(str(tmp_path / "missing-folder" / "store.db"))


def test_actions_decided_on_states_read_back_from_json_are_written_as_json() -> None:
    """A host's stored state holds the owner as text: the actions built from it still write,
    and they are the in-memory engine's."""
    from escalation_policy import decide

    facts = lines(ROOT / "examples" / "critical-outage.jsonl")
    expected, _ = replayed(facts)
    state, written = None, []
    for fact in facts:
        decision = decide(state, fact)
        written += as_json(decision.actions)
        if decision.state is not None:
            text = json.dumps(CONVERTER.unstructure(decision.state))
            state = CONVERTER.structure(json.loads(text), type(decision.state))
    assert expected == written


# ------------------------------------------------------------------------- the clock's guards
def test_a_mistyped_year_is_refused_and_changes_nothing(new_store_url: Any) -> None:
    """A fact further ahead of the store's clock than ``max_clock_jump`` is refused, as the
    in-memory engine refuses it: time does not pass for the others, and the correct facts
    after it are still taken."""
    with Service(new_store_url()) as service:
        for number in range(20):
            service.handle(opened(f"ESC-{number}", at(minutes=number)))
        before = contents(service)
        with pytest.raises(ClockJumpError, match="max_clock_jump"):
            service.handle(opened("ESC-typo", at(days=3650)))
        assert before == contents(service)
        later = service.handle(opened("ESC-late", at(hours=1)))
        assert "ESC-late" in {delivery.action.escalation_id for delivery in later.deliveries}


def test_the_service_takes_the_engines_limits(new_store_url: Any) -> None:
    """``max_clock_jump`` and ``lateness`` are checked as the engine checks them."""
    url = new_store_url()
    with pytest.raises(InvalidFactError) as caught:
        Service(url, lateness=dt.timedelta(days=8))
    assert ("lateness", "got datetime.timedelta(days=8), expected a duration from 0 to 7 days") == (
        caught.value.path,
        caught.value.reason,
    )
    with pytest.raises(InvalidFactError) as caught:
        Service(url, max_clock_jump=dt.timedelta(0))
    assert "max_clock_jump" == caught.value.path
    with Service(url, max_clock_jump=None) as service:
        service.handle(opened("ESC-1"))
        assert service.handle(opened("ESC-2", at(days=3650))).deliveries


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.permutations(range(6)),
    lateness=st.sampled_from([dt.timedelta(0), dt.timedelta(hours=2)]),
)
def test_service_and_engine_refuse_and_take_the_same_facts(
    order: list[int], lateness: dt.timedelta
) -> None:
    """One step for both: facts out of time order across escalations are refused, or taken
    within the lateness window, alike by the engine and by a catching-up service."""
    facts = [opened(f"ESC-{n}", at(hours=n)) for n in order]
    engine = PolicyEngine(lateness=lateness)
    with Service(":memory:", lateness=lateness) as service:
        for fact in facts:
            try:
                expected: object = engine.handle(fact).actions
            except InputError as error:
                expected = str(error)
            try:
                actual: object = service.handle(fact).actions
            except InputError as error:
                actual = str(error)
            assert expected == actual


# ------------------------------------------------------------------------------ dead letters
def _rewrite_action(service: Service, action_id: str, text: str) -> None:
    """Change an action's stored JSON, as a damaged row or an edited policy leaves it."""
    with service.store.transaction() as tx:
        db: Any = tx.db  # type: ignore[attr-defined]
        db.execute(
            service.store._sql("UPDATE ep_outbox SET action = ? WHERE action_id = ?"),
            (text, action_id),
        )


def _with_undeclared_value(service: Service, action_id: str) -> str:
    """The stored JSON of ``action_id`` as a policy that declared another action type wrote
    it (the policy that reads it has dropped that type)."""
    (entry,) = [e for e in service.store.outbox() if e.action_id == action_id]
    return json.dumps({**json.loads(entry.action), "type": "retired_value"})


def test_an_action_that_cannot_be_read_is_set_aside_and_the_others_delivered(
    new_store_url: Any,
) -> None:
    with Service(new_store_url()) as service:
        service.handle(opened("ESC-1"))
        service.handle(opened("ESC-2"))
        service.handle(opened("ESC-3"))
        _rewrite_action(service, "ESC-1/1", '{"type": "assign_owner", "escalati')
        _rewrite_action(service, "ESC-2/1", _with_undeclared_value(service, "ESC-2/1"))
        claimed = service.claim(at(hours=1), limit=10)
        # The others are delivered at once, the actions after a dead letter included.
        assert ["ESC-1/2", "ESC-2/2", "ESC-3/1"] == sorted(d.id for d in claimed)
        letters = service.dead_letters()
        assert ["ESC-1/1", "ESC-2/1"] == [letter.id for letter in letters]
        assert "JSON cannot be read" in letters[0].error
        assert "retired_value" in letters[1].error
        assert {at(hours=1)} == {letter.at for letter in letters}
        assert 2 == service.status().dead_letters
        assert not {"ESC-1/1", "ESC-2/1"} & {d.id for d in service.outbox(delivered=False)}


def test_a_dead_letter_put_back_is_delivered_once_it_can_be_read(new_store_url: Any) -> None:
    with Service(new_store_url()) as service:
        service.handle(opened("ESC-1"))
        (good,) = [e.action for e in service.store.outbox() if e.action_id == "ESC-1/1"]
        _rewrite_action(service, "ESC-1/1", "not json")
        service.claim(at(hours=1), limit=50)
        assert 1 == service.retry_dead_letters()
        assert [] == service.dead_letters()
        # Still unreadable: set aside again.
        assert "ESC-1/1" not in [d.id for d in service.claim(at(hours=2), limit=50)]
        assert ["ESC-1/1"] == [letter.id for letter in service.dead_letters()]
        _rewrite_action(service, "ESC-1/1", good)
        assert 1 == service.retry_dead_letters(["ESC-1/1"])
        assert "ESC-1/1" in [d.id for d in service.claim(at(hours=3), limit=50)]
        assert [] == service.dead_letters()
        assert 0 == service.retry_dead_letters(["ESC-1/1"])  # not a dead letter any more


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda s: s.claim(dt.datetime(2026, 3, 2, 9)), "now"),
        (lambda s: s.claim("2026-03-02T09:00:00Z"), "now"),
        (lambda s: s.claim(T0, lease=dt.timedelta(seconds=-1)), "lease"),
        (lambda s: s.claim(T0, lease=dt.timedelta(0)), "lease"),
        (lambda s: s.claim(T0, lease=dt.timedelta(days=400)), "lease"),
        (lambda s: s.claim(T0, limit=0), "limit"),
        (lambda s: s.ack(["ESC-1/1"], dt.datetime(2026, 3, 2, 9)), "now"),
        (lambda s: s.ack("ESC-1/1", T0), "ids"),
        (lambda s: s.ack([1], T0), "ids[0]"),
        (lambda s: s.acknowledge_refusals(dt.datetime(2026, 3, 2, 9)), "now"),
        (lambda s: s.handle_many([], now=dt.datetime(2026, 3, 2, 9)), "now"),
    ],
)
def test_claim_and_ack_refuse_a_naive_time_and_a_lease_that_is_not_positive(
    call: Any, path: str
) -> None:
    with Service(":memory:") as service:
        service.handle(opened("ESC-1"))
        before = [(e.action_id, e.delivered) for e in service.store.outbox()]
        with pytest.raises(InvalidFactError) as caught:
            call(service)
        assert path == caught.value.path
        assert before == [(e.action_id, e.delivered) for e in service.store.outbox()]


# ---------------------------------------------------------------------------------- refusals
def test_refused_facts_read_past_are_kept_until_acknowledged(new_store_url: Any) -> None:
    url = new_store_url()
    later = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    with Service(url) as service:
        results = service.handle_many(
            [opened("ESC-1"), {"type": "openned", "id": "crm-7"}, opened("ESC-2")],
            keep_going=True,
            source="crm",
            positions=[1, 2, 3],
            now=later,
        )
        assert [False, True, False] == [isinstance(r, InputError) for r in results]
        service.handle_many([{"type": "nope"}], keep_going=True)  # no source: not recorded
    with Service(url) as service:  # kept in the store, not in the process
        (refusal,) = service.refusals()
        assert ("crm", 2, "crm-7", "invalid_fact", "$.type", later) == (
            refusal.source,
            refusal.position,
            refusal.fact_id,
            refusal.code,
            refusal.path,
            refusal.at,
        )
        assert "openned" in refusal.reason
        assert 1 == service.status().refused
        assert [] == service.refusals(sources=["other"])
        assert [refusal] == service.acknowledge_refusals(later, sources=["crm"])
        assert [] == service.refusals()
        assert 0 == service.status().refused


def test_a_refusal_that_ends_a_batch_is_not_recorded_since_it_is_read_again(
    new_store_url: Any,
) -> None:
    with Service(new_store_url()) as service:
        results = service.handle_many(
            [opened("ESC-1"), {"type": "openned"}, opened("ESC-2")],
            source="crm",
            positions=[1, 2, 3],
        )
        assert 2 == len(results)
        assert 1 == service.position("crm")  # the next run reads line 2 again
        assert [] == service.refusals()


def test_a_redelivered_fact_leaves_out_the_actions_that_cannot_be_read(
    new_store_url: Any,
) -> None:
    with Service(new_store_url()) as service:
        first = service.handle(opened("ESC-1", id="crm-1"))
        _rewrite_action(service, "ESC-1/1", "not json")
        again = service.handle(opened("ESC-1", id="crm-1"))
        assert again.duplicate
        assert [d.id for d in first.deliveries][1:] == [d.id for d in again.deliveries]
