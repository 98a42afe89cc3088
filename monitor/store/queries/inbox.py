"""The probe inbox (PostgreSQL cluster mode): every instance writes its probe results
here in batches; the leader's engine reads them and deletes the ones it evaluated in the
flush transaction itself, so a leader crash neither loses nor doubles a result.

Bounded: `add` keeps at most `cap` rows (ids are a sequence, so the newest `cap` are
those above `max(id) - cap`); older rows are deleted and counted as dropped (a period
without a leader must not grow the table without limit; the newest results are the
ones evaluation wants when a leader comes back).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.model import ErrorCode, ProbeResult, Timings, Verdict
from monitor.store.tables import probe_inbox


@dataclass(frozen=True, slots=True)
class InboxRow:
    id: int
    result: ProbeResult


@dataclass(frozen=True, slots=True)
class InboxQueries:
    conn: AsyncConnection

    async def add(self, member: str, results: Sequence[ProbeResult], cap: int) -> int:
        """Write `results` (probed by `member`); keep at most `cap` rows, the newest.
        Returns how many older rows were deleted to stay within `cap`."""
        if not results:
            return 0
        rows = [
            {
                "member": member,
                "check_id": r.check_id,
                "location": r.location,
                "result": encode(r),
            }
            for r in results
        ]
        await self.conn.execute(probe_inbox.insert(), rows)
        low, high = (
            await self.conn.execute(select(func.min(probe_inbox.c.id), func.max(probe_inbox.c.id)))
        ).one()
        if low is None or high - low < cap:
            return 0
        stmt = probe_inbox.delete().where(probe_inbox.c.id <= high - cap)
        return (await self.conn.execute(stmt)).rowcount or 0

    async def take(self, limit: int, *, skip: Collection[int] = ()) -> list[InboxRow]:
        """Up to `limit` rows, oldest first, leaving out the ids in `skip` (read by the
        engine already, their deletion not yet committed). Nothing is deleted."""
        query = select(probe_inbox.c.id, probe_inbox.c.result).order_by(probe_inbox.c.id)
        if skip:
            query = query.where(probe_inbox.c.id.not_in(sorted(skip)))
        rows = await self.conn.execute(query.limit(limit))
        return [InboxRow(int(row.id), decode(row.result)) for row in rows]

    async def consume(self, ids: Collection[int]) -> int:
        """Delete the rows `ids` (evaluated in this transaction); how many were there."""
        if not ids:
            return 0
        stmt = probe_inbox.delete().where(probe_inbox.c.id.in_(sorted(ids)))
        return (await self.conn.execute(stmt)).rowcount or 0

    async def count(self) -> int:
        return int(
            (await self.conn.execute(select(func.count()).select_from(probe_inbox))).scalar_one()
        )


def encode(result: ProbeResult) -> str:
    """`result` as a compact JSON object (what `decode` reads back)."""
    t = result.timings
    value: dict[str, Any] = {
        "c": result.check_id,
        "v": result.verdict.value,
        "s": result.started_at.isoformat(),
        "t": [t.dns, t.connect, t.tls, t.first_byte, t.total],
        "l": result.location,
    }
    if result.error is not None:
        value["e"] = result.error.value
    if result.detail:
        value["d"] = result.detail
    if result.status_code is not None:
        value["h"] = result.status_code
    if result.response_bytes is not None:
        value["b"] = result.response_bytes
    if result.cert_not_after is not None:
        value["n"] = result.cert_not_after.isoformat()
    if result.address is not None:
        value["a"] = result.address
    return json.dumps(value, separators=(",", ":"))


def decode(text: str) -> ProbeResult:
    value = json.loads(text)
    dns, connect, tls, first_byte, total = value["t"]
    cert = value.get("n")
    error = value.get("e")
    return ProbeResult(
        check_id=value["c"],
        verdict=Verdict(value["v"]),
        started_at=datetime.fromisoformat(value["s"]),
        timings=Timings(dns, connect, tls, first_byte, total),
        location=value["l"],
        error=None if error is None else ErrorCode(error),
        detail=value.get("d", ""),
        status_code=value.get("h"),
        response_bytes=value.get("b"),
        cert_not_after=None if cert is None else datetime.fromisoformat(cert),
        address=value.get("a"),
    )


__all__ = ["InboxQueries", "InboxRow", "decode", "encode"]
