"""Engine memory: opaque JSON per (scope, key), replaced in bulk, loaded per scope."""

from __future__ import annotations

from datetime import timedelta

from monitor.store import Store
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
