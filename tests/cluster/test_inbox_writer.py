"""`InboxWriter`: a cluster member's results go to the store in batches; while the store
is unreachable at most `cap` wait in memory, the oldest dropped and counted."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.cluster.inbox import InboxWriter
from monitor.model import ProbeResult, Timings, Verdict
from monitor.store import Store
from tests.store.conftest import backend, store

__all__ = ["backend", "store"]

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class Seen:
    def __init__(self) -> None:
        self.probes = 0
        self.dropped = 0

    def observe_probe(self, result: ProbeResult, lateness: float) -> None:
        self.probes += 1

    def inbox_dropped(self, rows: int) -> None:
        self.dropped += rows


def result(n: int) -> ProbeResult:
    return ProbeResult(f"acme/shop/c{n}", Verdict.OK, T0, Timings(total=0.1), "oslo")


async def test_batches_reach_the_store_and_an_outage_keeps_at_most_cap(store: Store) -> None:
    seen = Seen()
    writer = InboxWriter(store, "me:1", batch=4, cap=6, observer=seen)
    for n in range(10):
        writer.submit(result(n))
    assert await writer.flush() == 10
    async with store.transaction(read_only=True) as tx:
        kept = [r.result.check_id for r in await tx.inbox.take(100)]
    assert kept == [f"acme/shop/c{n}" for n in range(4, 10)]  # the newest `cap` rows
    assert (seen.probes, seen.dropped) == (10, 4)
    async with store.transaction() as tx:
        await tx.inbox.consume([r.id for r in await tx.inbox.take(100)])
    await store.close()
    for n in range(10, 20):
        writer.submit(result(n))
    assert await writer.flush() == 0  # the store is down: kept in memory, bounded
    assert seen.dropped == 4 + 4
    await store.open()
    assert await writer.flush() == 6
    async with store.transaction(read_only=True) as tx:
        kept = [r.result.check_id for r in await tx.inbox.take(100)]
    assert kept == [f"acme/shop/c{n}" for n in range(14, 20)]
