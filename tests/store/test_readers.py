"""SQLite: read-only transactions do not queue behind the writer (issue 14 item 2).

The daemon's flushes and compaction steps write through the store's one writing
connection; the planner tick, the gauges, health and the web read through
`transaction(read_only=True)`. In WAL mode a reader sees the last committed state while a
write is open, so readers get connections of their own and never wait for the writer.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor.store import Store
from tests.engine.support import T0


async def test_a_read_only_transaction_does_not_wait_for_an_open_write(tmp_path: Path) -> None:
    async with Store(
        f"sqlite:///{tmp_path / 'vakt.db'}", busy_timeout=timedelta(seconds=1)
    ) as store:
        await store.upgrade()
        async with store.transaction() as tx:
            await tx.memory.save("probe", {"key": "committed"}, T0)
        async with store.transaction() as writer:
            await writer.memory.save("probe", {"key": "not yet committed"}, T0)
            async with store.transaction(read_only=True) as reader:
                assert await reader.memory.load("probe") == {"key": "committed"}
        async with store.transaction(read_only=True) as reader:
            assert await reader.memory.load("probe") == {"key": "not yet committed"}
