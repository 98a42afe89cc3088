"""Engine memory: opaque JSON per (scope, key), and the journal of latency samples.

Per-site memory is written in the flush that changed it; latency baselines are written
by the engine's compaction steps, a slice of the checks whose baseline changed at a time,
and every sample in between is in `baseline_samples`, written in the flush that observed
it, one row per flush (a row per sample would cost the flush several microseconds per
successful result; DESIGN.md 8, rule 1); a row is deleted once every sample of it is in
a written baseline.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.queries._bulk import insert_rows
from monitor.store.queries._sql import upsert_replacing
from monitor.store.records import Sample
from monitor.store.tables import baseline_samples, engine_memory

_SAMPLE_FIELDS = 5
_MEMORY_COLUMNS = ("scope", "key", "data", "updated_at")
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class MemoryQueries:
    conn: AsyncConnection

    async def save(self, scope: str, items: Mapping[str, str], at: datetime) -> None:
        """Insert or replace `key -> data` of `scope`, in one statement."""
        if not items:
            return
        rows = [(scope, key, data, at) for key, data in items.items()]
        stmt = upsert_replacing(self.conn, engine_memory, ("scope", "key"))
        # thousands of baselines per compaction step: tuples, not Core's per-row dicts
        await insert_rows(self.conn, stmt, engine_memory, _MEMORY_COLUMNS, rows)

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

    async def add_samples(self, samples: Sequence[Sample], at: datetime) -> int | None:
        """Append one flush's latency samples to the journal, as one row (each sample's
        time as whole microseconds from the row's `at`: exact, and cheap to write).
        Returns the row's id (rows are numbered in the order written); None: no samples."""
        if not samples:
            return None
        data = json.dumps(
            [(c, q, (t - at) // _MICROSECOND, s, i) for c, q, t, s, i in samples],
            separators=(",", ":"),
        )
        inserted = await self.conn.execute(baseline_samples.insert().values(at=at, data=data))
        key = inserted.inserted_primary_key
        return None if key is None else int(key[0])

    async def samples(self) -> list[Sample]:
        """The whole journal, in the order it was written. Raises ValueError on a row
        this module did not write."""
        query = select(baseline_samples.c.at, baseline_samples.c.data).order_by(
            baseline_samples.c.id
        )
        return [
            _sample(row.at, item)
            for row in await self.conn.execute(query)
            for item in json.loads(row.data)
        ]

    async def forget_samples(self, *, before: int | None = None) -> None:
        """Delete the journal rows before row id `before` (every one of their samples is
        in a baseline just written); all of them when `before` is None."""
        stmt = baseline_samples.delete()
        if before is not None:
            stmt = stmt.where(baseline_samples.c.id < before)
        await self.conn.execute(stmt)


def _sample(at: datetime, item: object) -> Sample:
    if not isinstance(item, list) or len(item) != _SAMPLE_FIELDS:
        raise ValueError(f"bad journal entry {item!r}")
    check_id, seq, offset, seconds, in_incident = item
    return Sample(
        str(check_id),
        int(seq),
        at + int(offset) * _MICROSECOND,
        float(seconds),
        bool(in_incident),
    )
