"""Engine memory: opaque JSON per (scope, key), checkpointed in bulk by the engine."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.queries._sql import upsert_replacing
from monitor.store.tables import engine_memory


@dataclass(frozen=True, slots=True)
class MemoryQueries:
    conn: AsyncConnection

    async def save(self, scope: str, items: Mapping[str, str], at: datetime) -> None:
        """Insert or replace `key -> data` of `scope`, in one statement."""
        if not items:
            return
        rows = [{"scope": scope, "key": k, "data": v, "updated_at": at} for k, v in items.items()]
        await self.conn.execute(upsert_replacing(self.conn, engine_memory, ("scope", "key")), rows)

    async def load(self, scope: str) -> dict[str, str]:
        """Every `key -> data` of `scope`."""
        query = select(engine_memory.c.key, engine_memory.c.data).where(
            engine_memory.c.scope == scope
        )
        return {row.key: row.data for row in await self.conn.execute(query)}

    async def delete(self, scope: str, keys: Collection[str]) -> None:
        """Forget `keys` of `scope` (e.g. checks removed from the config)."""
        if keys:
            stmt = engine_memory.delete().where(
                engine_memory.c.scope == scope, engine_memory.c.key.in_(sorted(keys))
            )
            await self.conn.execute(stmt)
