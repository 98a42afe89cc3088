"""Engine memory: opaque JSON per (scope, key), replaced in bulk, loaded per scope."""

from __future__ import annotations

from datetime import timedelta

from monitor.store import Sample, Store
from tests.store.support import T0


async def test_memory_is_saved_replaced_loaded_and_deleted_per_scope(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.memory.save("baseline", {"a/b/c": '{"v":1}', "a/b/d": "{}"}, T0)
        await tx.memory.save("site", {"a/b": '{"level":"A"}'}, T0)
    async with store.transaction() as tx:
        await tx.memory.save("baseline", {"a/b/c": '{"v":2}'}, T0 + timedelta(seconds=30))
        await tx.memory.delete("baseline", ["a/b/d"])
    async with store.transaction(read_only=True) as tx:
        assert await tx.memory.load("baseline") == {"a/b/c": '{"v":2}'}
        assert await tx.memory.load("site") == {"a/b": '{"level":"A"}'}
        assert await tx.memory.load("nothing") == {}


async def test_the_sample_journal_keeps_each_flush_in_order_exactly_until_forgotten(
    store: Store,
) -> None:
    first = [
        Sample("a/b/c", 1, T0 + timedelta(microseconds=7), 0.125, False),
        Sample("a/b/d", 1, T0 - timedelta(seconds=3), 0.5, True),
    ]
    second = [Sample("a/b/c", 2, T0 + timedelta(seconds=1, microseconds=1), 0.25, False)]
    async with store.transaction() as tx:
        await tx.memory.add_samples(first, T0)
        await tx.memory.add_samples([], T0)  # nothing: no row
    async with store.transaction() as tx:
        await tx.memory.add_samples(second, T0 + timedelta(seconds=2))
    async with store.transaction(read_only=True) as tx:
        assert await tx.memory.samples() == first + second
    async with store.transaction() as tx:
        await tx.memory.forget_samples()
    async with store.transaction(read_only=True) as tx:
        assert await tx.memory.samples() == []
