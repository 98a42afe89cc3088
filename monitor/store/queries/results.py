"""Probe results: failed/degraded ones with evidence, the recent ring, 5-minute aggregates.

Successful probes are not stored one by one: they only move the ring and the aggregates.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.model import ErrorCode, ProbeResult, Timings, Verdict
from monitor.store.aggregates import Aggregate, merge_all
from monitor.store.queries._bulk import insert_rows
from monitor.store.queries._sql import dialect_insert, enum_or_none, upsert_replacing
from monitor.store.records import Evidence, RecentResult
from monitor.store.tables import HISTOGRAM, aggregates, recent_results, results, ring_heads

RING_DETAIL = 200  # characters of `detail` kept in the ring


@dataclass(frozen=True, slots=True)
class ResultQueries:
    conn: AsyncConnection
    ring_size: int

    async def add_evidence(self, items: Sequence[Evidence]) -> None:
        """Store failed and degraded results with their evidence, in one statement.

        Raises `ValueError` for an ok result: those are kept only as aggregates.
        """
        if not items:
            return
        for item in items:
            if item.result.verdict is Verdict.OK:
                raise ValueError(f"{item.result.check_id}: ok results are not kept as evidence")
        rows = [_evidence_tuple(item) for item in items]
        await insert_rows(self.conn, results.insert(), results, _EVIDENCE_COLUMNS, rows)

    async def evidence(
        self,
        check_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Evidence]:
        """A check's failed and degraded results, newest first, within [since, until)."""
        query = (
            select(results)
            .where(results.c.check_id == check_id)
            .order_by(results.c.started_at.desc(), results.c.id.desc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(results.c.started_at >= since)
        if until is not None:
            query = query.where(results.c.started_at < until)
        return [_evidence(row) for row in await self.conn.execute(query)]

    async def newest_evidence(
        self, check_ids: Sequence[str], *, since: datetime, chunk: int = 500
    ) -> dict[str, Evidence]:
        """Each check's newest failed or degraded result at or after `since` (checks with
        none left out): `evidence(id, since=since, limit=1)` for many checks, in one query
        per `chunk` (the index `ix_results_check_started`)."""
        out: dict[str, Evidence] = {}
        ids = list(dict.fromkeys(check_ids))
        for start in range(0, len(ids), chunk):
            rank = (
                func.row_number()
                .over(
                    partition_by=results.c.check_id,
                    order_by=(results.c.started_at.desc(), results.c.id.desc()),
                )
                .label("rank")
            )
            ranked = (
                select(results, rank)
                .where(results.c.check_id.in_(ids[start : start + chunk]))
                .where(results.c.started_at >= since)
                .subquery()
            )
            query = select(*(ranked.c[c.name] for c in results.columns)).where(ranked.c.rank == 1)
            for row in await self.conn.execute(query):
                out[row.check_id] = _evidence(row)
        return out

    async def push_recent(self, batch: Sequence[ProbeResult]) -> None:
        """Append results (in the order given) to their checks' rings of the newest N.

        Each check's ring has `ring_size` slots; a result overwrites the oldest one.
        """
        if not batch:
            return
        heads = await self._ring_heads({r.check_id for r in batch})
        rows: dict[tuple[str, int], tuple[Any, ...]] = {}
        size = self.ring_size
        for result in batch:
            seq = heads.get(result.check_id, 0)
            heads[result.check_id] = seq + 1
            # Later results in one batch replace earlier ones in the same slot: one row each.
            rows[(result.check_id, seq % size)] = _ring_tuple(result, seq, size)
        await self._upsert_ring(list(rows.values()))
        stmt = upsert_replacing(self.conn, ring_heads, ("check_id",))
        await insert_rows(self.conn, stmt, ring_heads, _HEAD_COLUMNS, list(heads.items()))

    async def recent(self, check_id: str, limit: int | None = None) -> list[RecentResult]:
        """The newest results of a check, newest first (at most the ring size)."""
        head = await self.conn.scalar(
            select(ring_heads.c.next_seq).where(ring_heads.c.check_id == check_id)
        )
        if head is None:
            return []
        count = min(limit or self.ring_size, self.ring_size)
        query = (
            select(recent_results)
            .where(recent_results.c.check_id == check_id)
            .where(recent_results.c.seq >= head - self.ring_size)
            .order_by(recent_results.c.seq.desc())
            .limit(count)
        )
        return [_recent(row) for row in await self.conn.execute(query)]

    async def recent_of(
        self, check_ids: Collection[str], since: datetime | None = None
    ) -> list[RecentResult]:
        """The ring entries of `check_ids` (started at or after `since`, if given), oldest
        first, in one query: what the web reads for the newest result of each check and
        for the 5-minute bucket still open in the engine."""
        if not check_ids:
            return []
        query = select(recent_results).where(recent_results.c.check_id.in_(sorted(check_ids)))
        if since is not None:
            query = query.where(recent_results.c.started_at >= since)
        query = query.order_by(recent_results.c.started_at, recent_results.c.seq)
        return [_recent(row) for row in await self.conn.execute(query)]

    async def newest(self, check_ids: Collection[str] | None = None) -> list[RecentResult]:
        """The newest ring entry of each check (of `check_ids`, else of every check)."""
        r, h = recent_results.c, ring_heads.c
        query = select(recent_results).join(
            ring_heads, and_(h.check_id == r.check_id, r.seq == h.next_seq - 1)
        )
        if check_ids is not None:
            query = query.where(r.check_id.in_(sorted(check_ids)))
        return [_recent(row) for row in await self.conn.execute(query)]

    async def add_aggregates(self, items: Sequence[Aggregate]) -> None:
        """Add counts into the stored 5-minute aggregates (creating them), in one statement."""
        merged = merge_all(items)
        if not merged:
            return
        stmt = dialect_insert(self.conn, aggregates)
        summed = ("ok", "degraded", "failed", "latency_sum", *HISTOGRAM)
        stmt = stmt.on_conflict_do_update(
            index_elements=["check_id", "location", "start"],
            set_={name: aggregates.c[name] + stmt.excluded[name] for name in summed},
        )
        rows = [_aggregate_tuple(a) for a in merged]
        await insert_rows(self.conn, stmt, aggregates, _AGGREGATE_COLUMNS, rows)

    async def aggregates(
        self, check_id: str, start: datetime, end: datetime, *, location: str | None = None
    ) -> list[Aggregate]:
        """The stored 5-minute aggregates of a check with start in [start, end), oldest first."""
        query = (
            select(aggregates)
            .where(aggregates.c.check_id == check_id)
            .where(aggregates.c.start >= start, aggregates.c.start < end)
            .order_by(aggregates.c.start, aggregates.c.location)
        )
        if location is not None:
            query = query.where(aggregates.c.location == location)
        return [_aggregate(row) for row in await self.conn.execute(query)]

    async def rollup(
        self, check_id: str, start: datetime, end: datetime, *, location: str | None = None
    ) -> Aggregate:
        """The sum of a check's aggregates in [start, end), computed by the database.

        `location` of the result is the one asked for, or `"*"` for all locations; `start`
        is the `start` asked for. Empty ranges give an all-zero aggregate.
        """
        summed = ("ok", "degraded", "failed", "latency_sum", *HISTOGRAM)
        query = (
            select(*(func.coalesce(func.sum(aggregates.c[name]), 0) for name in summed))
            .where(aggregates.c.check_id == check_id)
            .where(aggregates.c.start >= start, aggregates.c.start < end)
        )
        if location is not None:
            query = query.where(aggregates.c.location == location)
        row = (await self.conn.execute(query)).one()
        return Aggregate(
            check_id=check_id,
            location=location or "*",
            start=start,
            ok=int(row[0]),
            degraded=int(row[1]),
            failed=int(row[2]),
            latency_sum=float(row[3]),
            buckets=tuple(int(n) for n in row[4:]),
        )

    async def _ring_heads(self, check_ids: set[str]) -> dict[str, int]:
        query = select(ring_heads.c.check_id, ring_heads.c.next_seq).where(
            ring_heads.c.check_id.in_(sorted(check_ids))
        )
        return {row.check_id: row.next_seq for row in await self.conn.execute(query)}

    async def _upsert_ring(self, rows: list[tuple[Any, ...]]) -> None:
        stmt = upsert_replacing(self.conn, recent_results, ("check_id", "slot"))
        await insert_rows(self.conn, stmt, recent_results, _RING_COLUMNS, rows)


_EVIDENCE_COLUMNS = (
    "check_id", "location", "started_at", "verdict", "error", "detail", "status_code",
    "total", "dns", "connect", "tls", "first_byte", "response_bytes", "cert_not_after",
    "address", "evidence",
)  # fmt: skip
_RING_COLUMNS = (
    "check_id", "slot", "seq", "location", "started_at", "verdict", "error", "total",
    "status_code", "detail",
)  # fmt: skip
_HEAD_COLUMNS = ("check_id", "next_seq")
_AGGREGATE_COLUMNS = (
    "check_id", "location", "start", "ok", "degraded", "failed", "latency_sum", *HISTOGRAM,
)  # fmt: skip


def _evidence_tuple(item: Evidence) -> tuple[Any, ...]:
    r = item.result
    t = r.timings
    return (
        r.check_id,
        r.location,
        r.started_at,
        r.verdict.value,
        None if r.error is None else r.error.value,
        r.detail,
        r.status_code,
        t.total,
        t.dns,
        t.connect,
        t.tls,
        t.first_byte,
        r.response_bytes,
        r.cert_not_after,
        r.address,
        item.evidence,
    )


def _evidence(row: Row[Any]) -> Evidence:
    result = ProbeResult(
        check_id=row.check_id,
        verdict=Verdict(row.verdict),
        started_at=row.started_at,
        timings=Timings(
            dns=row.dns,
            connect=row.connect,
            tls=row.tls,
            first_byte=row.first_byte,
            total=row.total,
        ),
        location=row.location,
        error=enum_or_none(ErrorCode, row.error),
        detail=row.detail,
        status_code=row.status_code,
        response_bytes=row.response_bytes,
        cert_not_after=row.cert_not_after,
        address=row.address,
    )
    return Evidence(result=result, evidence=row.evidence, id=row.id)


def _ring_tuple(r: ProbeResult, seq: int, size: int) -> tuple[Any, ...]:
    return (
        r.check_id,
        seq % size,
        seq,
        r.location,
        r.started_at,
        r.verdict.value,
        None if r.error is None else r.error.value,
        r.timings.total,
        r.status_code,
        r.detail[:RING_DETAIL],
    )


def _recent(row: Row[Any]) -> RecentResult:
    return RecentResult(
        check_id=row.check_id,
        seq=row.seq,
        location=row.location,
        started_at=row.started_at,
        verdict=Verdict(row.verdict),
        total=row.total,
        error=enum_or_none(ErrorCode, row.error),
        status_code=row.status_code,
        detail=row.detail,
    )


def _aggregate_tuple(a: Aggregate) -> tuple[Any, ...]:
    if len(a.buckets) != len(HISTOGRAM):
        raise ValueError(
            f"{a.check_id}: {len(a.buckets)} latency buckets, expected {len(HISTOGRAM)}"
        )
    return (a.check_id, a.location, a.start, a.ok, a.degraded, a.failed, a.latency_sum, *a.buckets)


def _aggregate(row: Row[Any]) -> Aggregate:
    return Aggregate(
        check_id=row.check_id,
        location=row.location,
        start=row.start,
        ok=row.ok,
        degraded=row.degraded,
        failed=row.failed,
        latency_sum=row.latency_sum,
        buckets=tuple(getattr(row, name) for name in HISTOGRAM),
    )
