"""Maintenance windows and silences added at run time (CLI, API, UI)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from monitor.store.records import MaintenanceWindow, Silence, SilenceScope
from monitor.store.tables import maintenance, silences


def _in_effect(table: Table, now: datetime) -> ColumnElement[bool]:
    """Started, not yet over, not ended early."""
    return and_(table.c.start <= now, _not_over(table, now))


def _not_over(table: Table, now: datetime) -> ColumnElement[bool]:
    """In effect now or still to come."""
    return and_(table.c.end > now, or_(table.c.ended_at.is_(None), table.c.ended_at > now))


async def _end(conn: AsyncConnection, table: Table, row_id: int, at: datetime) -> bool:
    stmt = (
        table.update().where(table.c.id == row_id, table.c.ended_at.is_(None)).values(ended_at=at)
    )
    return (await conn.execute(stmt)).rowcount == 1


@dataclass(frozen=True, slots=True)
class MaintenanceQueries:
    conn: AsyncConnection

    async def add(self, window: MaintenanceWindow) -> MaintenanceWindow:
        """Store a window; returns it with its id."""
        if window.end <= window.start:
            raise ValueError("a maintenance window must end after it starts")
        stmt = maintenance.insert().values(**_window_row(window)).returning(maintenance.c.id)
        new_id = (await self.conn.execute(stmt)).scalar_one()
        return dataclasses.replace(window, id=new_id)

    async def get(self, window_id: int) -> MaintenanceWindow | None:
        query = select(maintenance).where(maintenance.c.id == window_id)
        row = (await self.conn.execute(query)).first()
        return None if row is None else _window(row)

    async def active(self, now: datetime) -> list[MaintenanceWindow]:
        """Windows in effect at `now`, by start."""
        query = select(maintenance).where(_in_effect(maintenance, now))
        return [_window(r) for r in await self.conn.execute(query.order_by(maintenance.c.start))]

    async def upcoming(self, now: datetime) -> list[MaintenanceWindow]:
        """Windows in effect at `now` or still to come, by start."""
        query = select(maintenance).where(_not_over(maintenance, now))
        return [_window(r) for r in await self.conn.execute(query.order_by(maintenance.c.start))]

    async def end(self, window_id: int, at: datetime) -> bool:
        """End a window early; False if it does not exist or was already ended."""
        return await _end(self.conn, maintenance, window_id, at)


@dataclass(frozen=True, slots=True)
class SilenceQueries:
    conn: AsyncConnection

    async def add(self, silence: Silence) -> Silence:
        """Store a silence; returns it with its id."""
        if silence.end <= silence.start:
            raise ValueError("a silence must end after it starts")
        stmt = silences.insert().values(**_silence_row(silence)).returning(silences.c.id)
        new_id = (await self.conn.execute(stmt)).scalar_one()
        return dataclasses.replace(silence, id=new_id)

    async def get(self, silence_id: int) -> Silence | None:
        row = (await self.conn.execute(select(silences).where(silences.c.id == silence_id))).first()
        return None if row is None else _silence(row)

    async def active(self, now: datetime) -> list[Silence]:
        """Silences in effect at `now`, by start."""
        query = select(silences).where(_in_effect(silences, now))
        return [_silence(r) for r in await self.conn.execute(query.order_by(silences.c.start))]

    async def upcoming(self, now: datetime) -> list[Silence]:
        """Silences in effect at `now` or still to come, by start."""
        query = select(silences).where(_not_over(silences, now))
        return [_silence(r) for r in await self.conn.execute(query.order_by(silences.c.start))]

    async def end(self, silence_id: int, at: datetime) -> bool:
        """End a silence early; False if it does not exist or was already ended."""
        return await _end(self.conn, silences, silence_id, at)


def _window_row(w: MaintenanceWindow) -> dict[str, Any]:
    for pattern in w.sites:
        if not pattern or "\n" in pattern:
            raise ValueError(f"invalid site pattern {pattern!r}")
    return {
        "sites": "\n".join(w.sites),
        "start": w.start,
        "end": w.end,
        "reason": w.reason,
        "created_by": w.created_by,
        "created_at": w.created_at,
        "ended_at": w.ended_at,
    }


def _window(row: Row[Any]) -> MaintenanceWindow:
    return MaintenanceWindow(
        sites=tuple(row.sites.split("\n")) if row.sites else (),
        start=row.start,
        end=row.end,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
        ended_at=row.ended_at,
        id=row.id,
    )


def _silence_row(s: Silence) -> dict[str, Any]:
    return {
        "scope": s.scope.value,
        "target": s.target,
        "start": s.start,
        "end": s.end,
        "reason": s.reason,
        "created_by": s.created_by,
        "created_at": s.created_at,
        "ended_at": s.ended_at,
    }


def _silence(row: Row[Any]) -> Silence:
    return Silence(
        scope=SilenceScope(row.scope),
        target=row.target,
        start=row.start,
        end=row.end,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
        ended_at=row.ended_at,
        id=row.id,
    )
