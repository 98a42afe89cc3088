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


async def test_the_journal_numbers_its_rows_and_forgets_those_before_a_row(store: Store) -> None:
    """Compaction deletes the rows before the first one a baseline still needs."""
    rows = [[Sample("a/b/c", n, T0 + timedelta(seconds=n), 0.1, False)] for n in (1, 2, 3)]
    ids = []
    for n, samples in enumerate(rows):
        async with store.transaction() as tx:
            ids.append(await tx.memory.add_samples(samples, T0 + timedelta(seconds=n)))
        async with store.transaction() as tx:
            assert await tx.memory.add_samples([], T0) is None  # no samples: no row
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(ids)
    async with store.transaction() as tx:
        await tx.memory.forget_samples(before=ids[1])
    async with store.transaction(read_only=True) as tx:
        assert await tx.memory.samples() == rows[1] + rows[2]
