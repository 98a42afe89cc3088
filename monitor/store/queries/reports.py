"""Frozen monthly reports: each (customer, month) keeps every version it was given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.tables import report_snapshots


@dataclass(frozen=True, slots=True)
class ReportSnapshot:
    """A report as frozen: its figures (JSON text), the rendered HTML and PDF, and the
    version of the config it was computed with. `version` counts from 1 per month."""

    customer_id: str
    month: str  # YYYY-MM
    figures: str
    html: str
    pdf: bytes | None
    config_version: str
    created_by: str
    created_at: datetime
    version: int = 0
    sent_at: datetime | None = None
    id: int = 0


def _snapshot(row: Row[tuple[object, ...]]) -> ReportSnapshot:
    m = row._mapping
    return ReportSnapshot(
        customer_id=m["customer_id"],
        month=m["month"],
        figures=m["figures"],
        html=m["html"],
        pdf=None if m["pdf"] is None else bytes(m["pdf"]),
        config_version=m["config_version"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        version=m["version"],
        sent_at=m["sent_at"],
        id=m["id"],
    )


@dataclass(frozen=True, slots=True)
class ReportQueries:
    conn: AsyncConnection

    async def latest(self, customer_id: str, month: str) -> ReportSnapshot | None:
        """The newest version of a customer's month, or None when none is frozen."""
        query = (
            select(report_snapshots)
            .where(report_snapshots.c.customer_id == customer_id)
            .where(report_snapshots.c.month == month)
            .order_by(report_snapshots.c.version.desc())
            .limit(1)
        )
        row = (await self.conn.execute(query)).first()
        return None if row is None else _snapshot(row)

    async def freeze(self, snapshot: ReportSnapshot) -> ReportSnapshot:
        """Store `snapshot` as the next version of its month; returns it with its version
        and id. Two writers racing for one version: the unique key refuses the second."""
        query = select(func.coalesce(func.max(report_snapshots.c.version), 0)).where(
            report_snapshots.c.customer_id == snapshot.customer_id,
            report_snapshots.c.month == snapshot.month,
        )
        version = int((await self.conn.execute(query)).scalar_one()) + 1
        values = {
            "customer_id": snapshot.customer_id,
            "month": snapshot.month,
            "version": version,
            "figures": snapshot.figures,
            "html": snapshot.html,
            "pdf": snapshot.pdf,
            "config_version": snapshot.config_version,
            "created_by": snapshot.created_by,
            "created_at": snapshot.created_at,
            "sent_at": snapshot.sent_at,
        }
        result = await self.conn.execute(report_snapshots.insert().values(**values))
        new_id = int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0
        return ReportSnapshot(**{**values, "id": new_id})  # type: ignore[arg-type]

    async def mark_sent(self, snapshot_id: int, at: datetime) -> bool:
        """Record when a frozen version was sent (once)."""
        stmt = (
            report_snapshots.update()
            .where(report_snapshots.c.id == snapshot_id, report_snapshots.c.sent_at.is_(None))
            .values(sent_at=at)
        )
        return (await self.conn.execute(stmt)).rowcount == 1

    async def months(self, customer_id: str, since: str) -> list[ReportSnapshot]:
        """The newest version of each of a customer's frozen months from `since` (YYYY-MM)."""
        query = (
            select(report_snapshots)
            .where(report_snapshots.c.customer_id == customer_id)
            .where(report_snapshots.c.month >= since)
            .order_by(report_snapshots.c.month, report_snapshots.c.version)
        )
        newest: dict[str, ReportSnapshot] = {}
        for row in await self.conn.execute(query):
            snapshot = _snapshot(row)
            newest[snapshot.month] = snapshot
        return list(newest.values())
