"""What one store transaction holds for the step: the escalations' records, their sequence
numbers, a heap of when each next falls due, and what the transaction writes."""

import datetime as dt
import heapq
from collections.abc import Iterator

import attrs

from escalation_policy.errors import (
    StaleFactError,
)
from escalation_policy.policy.record import Record
from escalation_policy.service._results import _instant, _micros
from escalation_policy.store import (
    HandledFact,
    NewAction,
    SeenFact,
    StateRow,
)


@attrs.define
class _Working:
    """The escalations one transaction holds, as records, with their last sequence numbers and
    a heap of when each next falls due (entries left behind by a move are skipped)."""

    records: dict[str, Record | None] = attrs.field(factory=dict)
    seqs: dict[str, int] = attrs.field(factory=dict)
    heap: list[tuple[dt.datetime, str]] = attrs.field(factory=list)
    changed: set[str] = attrs.field(factory=set)
    outbox: list[NewAction] = attrs.field(factory=list)
    remembered: list[HandledFact] = attrs.field(factory=list)
    digests: dict[str, SeenFact | HandledFact] = attrs.field(factory=dict)
    """The facts handled, by id: as the store has them, or as this transaction records them."""
    settled: dict[str, int] = attrs.field(factory=dict)
    """The clocks of the held escalations that settled: facts older than them are stale."""
    clock: dt.datetime | None = None
    """The store's clock, kept by a service that catches up."""

    def load(self, row: StateRow, record: Record | None) -> None:
        """Hold an escalation as the store has it: its record (read from ``row``), its last
        sequence number, and for a settled one the clock it settled at."""
        key = row.escalation_id
        self.hold(key, record)
        self.seqs[key] = row.seq
        if record is None and row.clock is not None:
            self.settled[key] = row.clock

    def settle(self, key: str, clock: dt.datetime) -> None:
        """The escalation settled at ``clock``: forget its record, keep its clock."""
        self.hold(key, None)
        self.settled[key] = _micros(clock)

    def hold(self, key: str, record: Record | None) -> None:
        """Keep ``record`` (``None``: settled or never opened) as the escalation's."""
        self.records[key] = record
        if record is not None and record.next_due is not None:
            heapq.heappush(self.heap, (record.next_due, key))

    # The step's view of what the transaction holds (escalation_policy._core.step.Held).
    def record(self, key: str) -> Record | None:
        return self.records.get(key)

    def check_unknown(self, key: str, at: dt.datetime) -> None:
        """A fact about a settled escalation older than its last fact or scan is stale, as
        it is for an open one: a redelivery whose id was pruned does not apply again."""
        settled = self.settled.get(key)
        if settled is not None and _micros(at) < settled:
            raise StaleFactError(
                f"got {at.isoformat()}, older than the escalation's last fact or scan at "
                f"{_instant(settled).isoformat()} (it closed and settled); facts must arrive "
                "in time order",
                path="$.at",
            )

    def due(self, before: dt.datetime, skip: str | None) -> Iterator[tuple[str, Record]]:
        heap = self.heap
        aside: list[tuple[dt.datetime, str]] = []
        try:
            while heap and heap[0][0] < before:
                due, key = heapq.heappop(heap)
                record = self.records.get(key)
                if record is None or record.next_due != due:
                    continue  # superseded by a later entry
                if key == skip:
                    aside.append((due, key))
                    continue
                # A copy: the record read may be the one a state's text was read as.
                yield key, record.copy()
        finally:
            for entry in aside:
                heapq.heappush(heap, entry)

    def advanced(self, key: str, record: Record) -> None:
        if record.settled:
            self.settle(key, record.clock)
        else:
            self.hold(key, record)
        self.changed.add(key)

    def decided(
        self, key: str, before: Record | None, after: Record | None, at: dt.datetime
    ) -> None:
        if after is not None and not after.settled:
            self.hold(key, after)
            self.settled.pop(key, None)
        elif before is not None:  # the escalation it held settled
            self.settle(key, after.clock if after is not None else at)
        else:  # a fact about an escalation never opened
            self.hold(key, None)
        self.changed.add(key)
