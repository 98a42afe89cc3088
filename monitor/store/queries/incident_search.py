"""Incident listings with filters and keyset pagination (the REST API, the UI's lists).

Newest first by (opened_at, id). A page continues strictly after the last incident of
the previous one (`after`), so incidents opened meanwhile never shift a page the way an
offset would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from monitor.model import IncidentStatus, Level
from monitor.store.queries.incidents import _incident
from monitor.store.records import Incident
from monitor.store.tables import incidents, outbox


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """Which incidents to list; every field that is set must match.

    `since`: opened at or after; `until`: opened before. `after`: the (opened_at, id) of
    the last incident of the previous page; this page holds only older ones.
    """

    status: IncidentStatus | None = None
    customer_id: str | None = None
    site_id: str | None = None
    level: Level | None = None
    since: datetime | None = None
    after: tuple[datetime, int] | None = None
    until: datetime | None = None  # opened before


@dataclass(frozen=True, slots=True)
class IncidentSearchQueries:
    conn: AsyncConnection

    async def search(self, where: IncidentFilter, limit: int) -> list[Incident]:
        """At most `limit` incidents matching `where`, newest first."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        query = _filtered(select(incidents), where)
        query = query.order_by(incidents.c.opened_at.desc(), incidents.c.id.desc()).limit(limit)
        return [_incident(row) for row in await self.conn.execute(query)]

    async def payloads_by_subject(self, subject: str, limit: int = 1) -> list[str]:
        """The payloads of up to `limit` notifications whose dedupe key starts with
        `subject` (a case number or a digest id), oldest first: how a receiver's key
        (e.g. PagerDuty's `dedup_key`) leads back to the incidents it was about."""
        query = (
            select(outbox.c.payload)
            .where(outbox.c.subject == subject)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return list((await self.conn.execute(query)).scalars())


def _filtered(
    query: Select[tuple[object, ...]], where: IncidentFilter
) -> Select[tuple[object, ...]]:
    conditions: list[ColumnElement[bool]] = [
        column == value
        for column, value in (
            (incidents.c.status, where.status and where.status.value),
            (incidents.c.customer_id, where.customer_id),
            (incidents.c.site_id, where.site_id),
            (incidents.c.level, where.level and where.level.value),
        )
        if value is not None
    ]
    if where.since is not None:
        conditions.append(incidents.c.opened_at >= where.since)
    if where.until is not None:
        conditions.append(incidents.c.opened_at < where.until)
    if where.after is not None:
        opened_at, last_id = where.after
        conditions.append(
            or_(
                incidents.c.opened_at < opened_at,
                and_(incidents.c.opened_at == opened_at, incidents.c.id < last_id),
            )
        )
    return query.where(*conditions) if conditions else query
