"""Check and site states (current, one row each) and their change history (append-only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.model import CheckState, ErrorCode, Level, Verdict
from monitor.store.queries._bulk import insert_rows
from monitor.store.queries._sql import enum_or_none, upsert_replacing, value_or_none
from monitor.store.records import CheckChange, CheckStatus, SiteChange, SiteStatus
from monitor.store.tables import check_changes, check_states, site_changes, site_states


@dataclass(frozen=True, slots=True)
class CheckQueries:
    conn: AsyncConnection

    async def save(self, statuses: Sequence[CheckStatus]) -> None:
        """Insert or replace the current state of each (check, location), in one statement."""
        if not statuses:
            return
        stmt = upsert_replacing(self.conn, check_states, ("check_id", "location"))
        rows = [_status_tuple(s) for s in statuses]
        await insert_rows(self.conn, stmt, check_states, _STATUS_COLUMNS, rows)

    async def load(self, location: str | None = None) -> list[CheckStatus]:
        """Every stored check state (of one location, if given), ordered by check and location."""
        query = select(check_states).order_by(check_states.c.check_id, check_states.c.location)
        if location is not None:
            query = query.where(check_states.c.location == location)
        return [_status(row) for row in await self.conn.execute(query)]

    async def append_changes(self, changes: Sequence[CheckChange]) -> None:
        rows = [_change_tuple(c) for c in changes]
        await insert_rows(self.conn, check_changes.insert(), check_changes, _CHANGE_COLUMNS, rows)

    async def changes(
        self, check_id: str, *, since: datetime | None = None, limit: int = 100
    ) -> list[CheckChange]:
        """A check's state changes, newest first."""
        query = (
            select(check_changes)
            .where(check_changes.c.check_id == check_id)
            .order_by(check_changes.c.at.desc(), check_changes.c.id.desc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(check_changes.c.at >= since)
        return [_change(row) for row in await self.conn.execute(query)]


@dataclass(frozen=True, slots=True)
class SiteQueries:
    conn: AsyncConnection

    async def save(self, statuses: Sequence[SiteStatus]) -> None:
        """Insert or replace the current level of each site, in one statement."""
        if not statuses:
            return
        stmt = upsert_replacing(self.conn, site_states, ("site_id",))
        await self.conn.execute(stmt, [_site_row(s) for s in statuses])

    async def load(self) -> list[SiteStatus]:
        rows = await self.conn.execute(select(site_states).order_by(site_states.c.site_id))
        return [_site(row) for row in rows]

    async def append_changes(self, changes: Sequence[SiteChange]) -> None:
        if changes:
            rows = [_site_change_row(c) for c in changes]
            await self.conn.execute(site_changes.insert(), rows)

    async def changes(
        self, site_id: str, *, since: datetime | None = None, limit: int = 100
    ) -> list[SiteChange]:
        """A site's level changes, newest first."""
        query = (
            select(site_changes)
            .where(site_changes.c.site_id == site_id)
            .order_by(site_changes.c.at.desc(), site_changes.c.id.desc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(site_changes.c.at >= since)
        return [
            SiteChange(
                site_id=row.site_id,
                at=row.at,
                old=enum_or_none(Level, row.old),
                new=enum_or_none(Level, row.new),
                id=row.id,
            )
            for row in await self.conn.execute(query)
        ]


_STATUS_COLUMNS = (
    "check_id", "location", "state", "since", "updated_at", "failures", "degraded",
    "successes", "last_verdict", "last_error", "last_probe_at", "last_total", "bad",
    "first_bad_at",
)  # fmt: skip


def _status_tuple(s: CheckStatus) -> tuple[Any, ...]:
    return (
        s.check_id,
        s.location,
        s.state.value,
        s.since,
        s.updated_at,
        s.failures,
        s.degraded,
        s.successes,
        None if s.last_verdict is None else s.last_verdict.value,
        None if s.last_error is None else s.last_error.value,
        s.last_probe_at,
        s.last_total,
        s.bad,
        s.first_bad_at,
    )


def _status(row: Row[Any]) -> CheckStatus:
    return CheckStatus(
        check_id=row.check_id,
        location=row.location,
        state=CheckState(row.state),
        since=row.since,
        updated_at=row.updated_at,
        failures=row.failures,
        degraded=row.degraded,
        successes=row.successes,
        last_verdict=enum_or_none(Verdict, row.last_verdict),
        last_error=enum_or_none(ErrorCode, row.last_error),
        last_probe_at=row.last_probe_at,
        last_total=row.last_total,
        bad=row.bad,
        first_bad_at=row.first_bad_at,
    )


_CHANGE_COLUMNS = ("check_id", "location", "at", "old", "new", "error", "detail")


def _change_tuple(c: CheckChange) -> tuple[Any, ...]:
    return (
        c.check_id,
        c.location,
        c.at,
        c.old.value,
        c.new.value,
        None if c.error is None else c.error.value,
        c.detail,
    )


def _change(row: Row[Any]) -> CheckChange:
    return CheckChange(
        check_id=row.check_id,
        location=row.location,
        at=row.at,
        old=CheckState(row.old),
        new=CheckState(row.new),
        error=enum_or_none(ErrorCode, row.error),
        detail=row.detail,
        id=row.id,
    )


def _site_row(s: SiteStatus) -> dict[str, Any]:
    return {
        "site_id": s.site_id,
        "level": value_or_none(s.level),
        "since": s.since,
        "updated_at": s.updated_at,
        "incident_id": s.incident_id,
    }


def _site(row: Row[Any]) -> SiteStatus:
    return SiteStatus(
        site_id=row.site_id,
        level=enum_or_none(Level, row.level),
        since=row.since,
        updated_at=row.updated_at,
        incident_id=row.incident_id,
    )


def _site_change_row(c: SiteChange) -> dict[str, Any]:
    return {
        "site_id": c.site_id,
        "at": c.at,
        "old": value_or_none(c.old),
        "new": value_or_none(c.new),
    }
