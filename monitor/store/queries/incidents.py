"""Incidents (compare-and-set on `version`), their timelines, and case numbers.

The planner tick's index (`next_plan_at`, migration 0081_next_plan) has its one home here:
every write of an incident (insert, update, new timeline events, an approval of its first
customer email in `web`) sets it to NULL in the same transaction, which means "plan this
case on the next tick"; only the tick sets a time (`set_next_plan`, compared on `version`)
and reads the cases due (`due`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Row, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.model import IncidentStatus, Level
from monitor.store.queries._sql import dialect_insert, fenced_term
from monitor.store.records import EventKind, Incident, IncidentEvent
from monitor.store.tables import case_sequences, incident_events, incidents
from monitor.store.types import UTCDateTime

CASE_DIGITS = 6

NEVER: Final = datetime(9999, 12, 31, tzinfo=UTC)
"""`next_plan_at` of a case whose plan no time can change (only a write of it can)."""

# Everything but the identity and the version is written by insert and update alike.
_FIELDS = tuple(f.name for f in dataclasses.fields(Incident) if f.name not in ("id", "version"))


def format_case_number(prefix: str, year: int, number: int) -> str:
    """`VAKT-2026-000042`."""
    return f"{prefix}-{year}-{number:0{CASE_DIGITS}d}"


@dataclass(frozen=True, slots=True)
class IncidentQueries:
    conn: AsyncConnection

    async def next_case_number(self, prefix: str, year: int) -> str:
        """Take the next case number of `prefix` in `year`; never the same one twice.

        One atomic upsert on the per-year counter: concurrent transactions (threads,
        processes, daemons) serialise on that row, and a rolled-back transaction gives its
        number back, so numbers stay dense among committed incidents.
        """
        insert = dialect_insert(self.conn, case_sequences).values(prefix=prefix, year=year, last=1)
        stmt = insert.on_conflict_do_update(
            index_elements=["prefix", "year"], set_={"last": case_sequences.c.last + 1}
        ).returning(case_sequences.c.last)
        number = (await self.conn.execute(stmt)).scalar_one()
        return format_case_number(prefix, year, number)

    async def insert(self, incident: Incident) -> Incident:
        """Store a new incident; returns it with its `id` and `version` 1."""
        # `next_plan_at` is left NULL (plan it on the next tick)
        stmt = incidents.insert().values(**_row(incident), version=1).returning(incidents.c.id)
        new_id = (await self.conn.execute(stmt)).scalar_one()
        return dataclasses.replace(incident, id=new_id, version=1)

    async def update(self, incident: Incident) -> Incident | None:
        """Write `incident` if the stored row is still at `incident.version` (compare-and-set).

        Returns the incident at its new version when this write won, None when someone else
        changed the row first (re-read it, re-decide, and try again) or it does not exist.
        """
        stmt = (
            incidents.update()
            .where(incidents.c.id == incident.id, incidents.c.version == incident.version)
            .values(**_row(incident), version=incident.version + 1, next_plan_at=None)
        )
        result = await self.conn.execute(stmt)
        if result.rowcount != 1:
            return None
        return dataclasses.replace(incident, version=incident.version + 1)

    async def get(self, incident_id: int) -> Incident | None:
        row = (
            await self.conn.execute(select(incidents).where(incidents.c.id == incident_id))
        ).first()
        return None if row is None else _incident(row)

    async def by_case(self, case_number: str) -> Incident | None:
        query = select(incidents).where(incidents.c.case_number == case_number)
        row = (await self.conn.execute(query)).first()
        return None if row is None else _incident(row)

    async def unresolved(self) -> list[Incident]:
        """Open and acknowledged incidents, oldest first (what the planner tick re-plans)."""
        query = (
            select(incidents)
            .where(incidents.c.status.in_(_UNRESOLVED))  # the index, not a scan of all
            .order_by(incidents.c.opened_at, incidents.c.id)
        )
        return [_incident(row) for row in await self.conn.execute(query)]

    async def resolved_since(self, since: datetime) -> list[Incident]:
        """Incidents resolved at or after `since`, in order of resolution (the index
        `ix_incidents_resolved_at`): however long a case was open and however many were
        resolved before it, a recent resolution is among them."""
        query = (
            select(incidents)
            .where(
                incidents.c.resolved_at >= since,
                incidents.c.status == IncidentStatus.RESOLVED.value,
            )
            .order_by(incidents.c.resolved_at, incidents.c.id)
        )
        return [_incident(row) for row in await self.conn.execute(query)]

    async def find(
        self,
        *,
        status: IncidentStatus | None = None,
        site_id: str | None = None,
        limit: int = 50,
    ) -> list[Incident]:
        """Incidents, newest first, optionally of one status or one site."""
        query = select(incidents).order_by(incidents.c.opened_at.desc(), incidents.c.id.desc())
        if status is not None:
            query = query.where(incidents.c.status == status.value)
        if site_id is not None:
            query = query.where(incidents.c.site_id == site_id)
        return [_incident(row) for row in await self.conn.execute(query.limit(limit))]

    async def latest_by_site(
        self, site_ids: Sequence[str], *, per_site: int = 2, chunk: int = 500
    ) -> dict[str, list[Incident]]:
        """The newest `per_site` incidents of each site, newest first: what `find(site_id=...,
        limit=per_site)` gives for one site, for many sites in one query per `chunk`."""
        out: dict[str, list[Incident]] = {}
        for start in range(0, len(site_ids), chunk):
            part = list(site_ids[start : start + chunk])
            rank = (
                func.row_number()
                .over(
                    partition_by=incidents.c.site_id,
                    order_by=(incidents.c.opened_at.desc(), incidents.c.id.desc()),
                )
                .label("rank")
            )
            ranked = select(incidents, rank).where(incidents.c.site_id.in_(part)).subquery()
            query = (
                select(*(ranked.c[c.name] for c in incidents.columns))
                .where(ranked.c.rank <= per_site)
                .order_by(ranked.c.site_id, ranked.c.rank)
            )
            for row in await self.conn.execute(query):
                incident = _incident(row)
                out.setdefault(incident.site_id, []).append(incident)
        return out

    async def add_events(self, events: Sequence[IncidentEvent]) -> None:
        """Append events to incidents' timelines."""
        if events:
            term = fenced_term(self.conn)
            rows = [{**_event_row(e), "term": term} for e in events]
            await self.conn.execute(incident_events.insert(), rows)
            await self.replan(sorted({e.incident_id for e in events}))

    async def replan(self, incident_ids: Sequence[int]) -> None:
        """Have the next planner tick plan these incidents (`next_plan_at` NULL): what
        every write of something the planner reads of an incident does."""
        for start in range(0, len(incident_ids), 500):
            part = list(incident_ids[start : start + 500])
            stmt = incidents.update().where(incidents.c.id.in_(part)).values(next_plan_at=None)
            await self.conn.execute(stmt)

    async def due(
        self, now: datetime | None, resolved_since: datetime
    ) -> list[tuple[Incident, datetime | None]]:
        """The cases the planner tick plans at `now`, each with its stored `next_plan_at`:
        those due (NULL, or at or before `now`; the index; `now` None: all) among the
        unresolved and those resolved at or after `resolved_since`. Unresolved first
        (oldest first), then the resolved in order of resolution, as `unresolved` and
        `resolved_since` give them."""
        unresolved = (
            select(incidents)
            .where(incidents.c.status.in_(_UNRESOLVED))
            .order_by(incidents.c.opened_at, incidents.c.id)
        )
        resolved = (
            select(incidents)
            .where(
                incidents.c.resolved_at >= resolved_since,
                incidents.c.status == IncidentStatus.RESOLVED.value,
            )
            .order_by(incidents.c.resolved_at, incidents.c.id)
        )
        if now is not None:
            due = or_(incidents.c.next_plan_at.is_(None), incidents.c.next_plan_at <= now)
            unresolved, resolved = unresolved.where(due), resolved.where(due)
        out: list[tuple[Incident, datetime | None]] = []
        for query in (unresolved, resolved):
            out += [(_incident(row), row.next_plan_at) for row in await self.conn.execute(query)]
        return out

    async def oldest_planned(self, resolved_since: datetime) -> datetime | None:
        """When the oldest case the planner would read opened (unresolved, or resolved at or
        after `resolved_since`); None: no such case."""
        query = select(func.min(incidents.c.opened_at, type_=UTCDateTime())).where(
            or_(
                incidents.c.status.in_(_UNRESOLVED),
                and_(
                    incidents.c.resolved_at >= resolved_since,
                    incidents.c.status == IncidentStatus.RESOLVED.value,
                ),
            )
        )
        value: datetime | None = (await self.conn.execute(query)).scalar_one_or_none()
        return value

    async def set_next_plan(self, plans: Mapping[int, tuple[int, datetime]]) -> int:
        """Store `incident id -> (version, next_plan_at)` where the row is still at that
        version (a row written since was set NULL by that write and stays so); returns how
        many were set."""
        if not plans:
            return 0
        stmt = (
            incidents.update()
            .where(incidents.c.id == bindparam("b_id"), incidents.c.version == bindparam("b_v"))
            .values(next_plan_at=bindparam("b_at", type_=UTCDateTime()))
        )
        rows = [{"b_id": i, "b_v": v, "b_at": at} for i, (v, at) in plans.items()]
        result = await self.conn.execute(stmt, rows)
        return max(result.rowcount, 0)

    async def events_of(
        self, incident_ids: Sequence[int], *, chunk: int = 500
    ) -> tuple[dict[int, list[IncidentEvent]], dict[int, ValueError]]:
        """The timelines of many incidents, oldest first each: what `events(id)` gives
        for one, in one query per `chunk` (an id without events maps to []). An incident
        with an event this release cannot read is left out of the first mapping and
        given in the second with the error `events(id)` would raise."""
        out: dict[int, list[IncidentEvent]] = {i: [] for i in incident_ids}
        errors: dict[int, ValueError] = {}
        ids = list(out)
        for start in range(0, len(ids), chunk):
            query = (
                select(incident_events)
                .where(incident_events.c.incident_id.in_(ids[start : start + chunk]))
                .order_by(incident_events.c.at, incident_events.c.id)
            )
            for row in await self.conn.execute(query):
                try:
                    out[row.incident_id].append(_event(row))
                except ValueError as exc:
                    errors.setdefault(row.incident_id, exc)
        return {i: e for i, e in out.items() if i not in errors}, errors

    async def versions(self, incident_ids: Sequence[int], *, chunk: int = 500) -> dict[int, int]:
        """The current `version` of each incident (missing ones left out): a reader that
        planned from rows it read earlier compares them before it writes."""
        out: dict[int, int] = {}
        ids = list(dict.fromkeys(incident_ids))
        for start in range(0, len(ids), chunk):
            query = select(incidents.c.id, incidents.c.version).where(
                incidents.c.id.in_(ids[start : start + chunk])
            )
            out.update({int(row.id): int(row.version) for row in await self.conn.execute(query)})
        return out

    async def events(self, incident_id: int, *, public_only: bool = False) -> list[IncidentEvent]:
        """An incident's timeline, oldest first."""
        query = (
            select(incident_events)
            .where(incident_events.c.incident_id == incident_id)
            .order_by(incident_events.c.at, incident_events.c.id)
        )
        if public_only:
            query = query.where(incident_events.c.public.is_(True))
        return [_event(row) for row in await self.conn.execute(query)]


def _row(incident: Incident) -> dict[str, Any]:
    row = {name: getattr(incident, name) for name in _FIELDS}
    row["level"] = incident.level.value
    row["status"] = incident.status.value
    return row


def _incident(row: Row[Any]) -> Incident:
    values = {name: getattr(row, name) for name in _FIELDS}
    values["level"] = Level(row.level)
    values["status"] = IncidentStatus(row.status)
    return Incident(**values, id=row.id, version=row.version)


def _event_row(e: IncidentEvent) -> dict[str, Any]:
    return {
        "incident_id": e.incident_id,
        "at": e.at,
        "actor": e.actor,
        "kind": e.kind.value,
        "text": e.text,
        "public": e.public,
        "level": None if e.level is None else e.level.value,
        "previous_level": None if e.previous_level is None else e.previous_level.value,
        "ref": e.ref,
        "recipient": e.recipient,
        "channel": e.channel,
    }


def _event(row: Row[Any]) -> IncidentEvent:
    """Raises ValueError on a kind or level this release does not know."""
    return IncidentEvent(
        incident_id=row.incident_id,
        at=row.at,
        actor=row.actor,
        kind=EventKind(row.kind),
        text=row.text,
        public=row.public,
        id=row.id,
        level=None if row.level is None else Level(row.level),
        previous_level=None if row.previous_level is None else Level(row.previous_level),
        ref=row.ref,
        recipient=row.recipient,
        channel=row.channel,
    )


_UNRESOLVED = tuple(s.value for s in IncidentStatus if s is not IncidentStatus.RESOLVED)
