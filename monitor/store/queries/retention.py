"""Retention: delete old rows in small batches, so a purge never blocks the writer for long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from monitor.store.records import OutboxStatus, Retained
from monitor.store.tables import aggregates, check_changes, outbox, results, site_changes

_TABLES: dict[Retained, tuple[Table, str]] = {
    Retained.RESULTS: (results, "started_at"),
    Retained.CHECK_CHANGES: (check_changes, "at"),
    Retained.SITE_CHANGES: (site_changes, "at"),
    Retained.AGGREGATES: (aggregates, "start"),
    Retained.OUTBOX: (outbox, "created_at"),
}


def _expired(what: Retained, before: datetime) -> ColumnElement[bool]:
    table, column = _TABLES[what]
    condition = table.c[column] < before
    if what is Retained.OUTBOX:
        # Pending notifications are never purged, however old: they are still owed.
        settled = (
            OutboxStatus.SENT.value,
            OutboxStatus.FAILED.value,
            OutboxStatus.CANCELLED.value,
        )
        condition = condition & table.c.status.in_(settled)
    return condition


@dataclass(frozen=True, slots=True)
class RetentionQueries:
    conn: AsyncConnection

    async def delete_batch(self, what: Retained, before: datetime, batch: int) -> int:
        """Delete up to `batch` rows of `what` older than `before`; returns how many.

        Call again (in a new transaction) until it returns less than `batch`.
        Deleting outbox rows deletes their delivery attempts too.
        """
        if batch < 1:
            raise ValueError("batch must be at least 1")
        table, _ = _TABLES[what]
        doomed = select(table.c.id).where(_expired(what, before)).order_by(table.c.id).limit(batch)
        result = await self.conn.execute(table.delete().where(table.c.id.in_(doomed)))
        return result.rowcount
