"""What the web layer keeps: logins, sessions, used acknowledge tokens, heartbeat pings,
customer-email approvals, and the aggregate series its charts and uptime bars read."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.model import Verdict
from monitor.store.aggregates import bucket_start
from monitor.store.queries._sql import dialect_insert, upsert_replacing
from monitor.store.queries.incidents import IncidentQueries
from monitor.store.records import RecentResult
from monitor.store.tables import (
    aggregates,
    email_approvals,
    heartbeats,
    instance_secrets,
    used_ack_tokens,
    web_sessions,
    web_users,
)


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in person's session (found by the hash of its cookie value)."""

    id_hash: str
    person: str
    csrf: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class HeartbeatPing:
    """The last pings of one heartbeat check: `at` is the last success or failure ping."""

    check_id: str
    at: datetime | None
    failed: bool
    started_at: datetime | None


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """The summed 5-minute aggregates of some checks in one bucket."""

    start: datetime
    ok: int
    degraded: int
    failed: int
    latency_sum: float

    @property
    def total(self) -> int:
        return self.ok + self.degraded + self.failed


@dataclass(frozen=True, slots=True)
class WebQueries:
    conn: AsyncConnection

    # ---------------------------------------------------------------- logins, sessions

    async def set_password(self, person: str, password_hash: str, at: datetime) -> None:
        """Insert or replace `person`'s password hash."""
        stmt = upsert_replacing(self.conn, web_users, ("person",))
        row = {"person": person, "password_hash": password_hash, "updated_at": at}
        await self.conn.execute(stmt, [row])

    async def password_hash(self, person: str) -> str | None:
        query = select(web_users.c.password_hash).where(web_users.c.person == person)
        value: str | None = await self.conn.scalar(query)
        return value

    async def add_session(self, session: WebSession) -> None:
        await self.conn.execute(
            web_sessions.insert().values(
                id_hash=session.id_hash,
                person=session.person,
                csrf=session.csrf,
                created_at=session.created_at,
                expires_at=session.expires_at,
            )
        )

    async def session(self, id_hash: str, now: datetime) -> WebSession | None:
        """The session with this cookie hash, if it has not expired at `now`."""
        query = select(web_sessions).where(
            web_sessions.c.id_hash == id_hash, web_sessions.c.expires_at > now
        )
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        return WebSession(row.id_hash, row.person, row.csrf, row.created_at, row.expires_at)

    async def end_session(self, id_hash: str) -> None:
        await self.conn.execute(web_sessions.delete().where(web_sessions.c.id_hash == id_hash))

    async def end_sessions_of(self, person: str) -> int:
        """Sign `person` out everywhere (after a password change); how many sessions ended."""
        stmt = web_sessions.delete().where(web_sessions.c.person == person)
        return (await self.conn.execute(stmt)).rowcount

    async def purge_sessions(self, now: datetime) -> int:
        stmt = web_sessions.delete().where(web_sessions.c.expires_at <= now)
        return (await self.conn.execute(stmt)).rowcount

    # ------------------------------------------------------------------ ack tokens

    async def use_ack_token(self, nonce: str, person: str, at: datetime) -> bool:
        """Record the token id as used; False when it had been used before (atomic)."""
        stmt = (
            dialect_insert(self.conn, used_ack_tokens)
            .values(nonce=nonce, person=person, used_at=at)
            .on_conflict_do_nothing(index_elements=["nonce"])
        )
        return (await self.conn.execute(stmt)).rowcount == 1

    async def ack_token_user(self, nonce: str) -> str | None:
        """Who spent the token id `nonce`; None while it is unused."""
        query = select(used_ack_tokens.c.person).where(used_ack_tokens.c.nonce == nonce)
        person: str | None = await self.conn.scalar(query)
        return person

    async def ack_token_used(self, nonce: str) -> bool:
        query = select(used_ack_tokens.c.nonce).where(used_ack_tokens.c.nonce == nonce)
        return (await self.conn.scalar(query)) is not None

    # ------------------------------------------------------------- instance secrets

    async def instance_secret(self, name: str) -> str | None:
        """The shared secret called `name`, None when none is kept yet."""
        query = select(instance_secrets.c.value).where(instance_secrets.c.name == name)
        value: str | None = await self.conn.scalar(query)
        return value

    async def keep_instance_secret(self, name: str, candidate: str, at: datetime) -> str:
        """The shared secret called `name`: `candidate` when none was kept before (it is
        kept now), else the one kept first. Atomic: two processes starting together keep
        one value and both get it."""
        stmt = (
            dialect_insert(self.conn, instance_secrets)
            .values(name=name, value=candidate, created_at=at)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        await self.conn.execute(stmt)
        kept = await self.instance_secret(name)
        assert kept is not None  # inserted just now, or there before
        return kept

    # ------------------------------------------------------------------- heartbeats

    async def record_ping(
        self, check_id: str, at: datetime, *, failed: bool = False, start: bool = False
    ) -> None:
        """A ping: a success or failure (moves `at`), or a `/start` (moves `started_at`)."""
        insert = dialect_insert(self.conn, heartbeats)
        values: dict[str, object]
        if start:
            values = {"started_at": at, "updated_at": at}
            row = {"check_id": check_id, "at": None, "failed": False, **values}
        else:
            values = {"at": at, "failed": failed, "updated_at": at}
            row = {"check_id": check_id, "started_at": None, **values}
        stmt = insert.values(**row).on_conflict_do_update(index_elements=["check_id"], set_=values)
        await self.conn.execute(stmt)

    async def pings(self, check_ids: Collection[str] | None = None) -> list[HeartbeatPing]:
        """The last pings of every heartbeat check (or of `check_ids`)."""
        query = select(heartbeats).order_by(heartbeats.c.check_id)
        if check_ids is not None:
            query = query.where(heartbeats.c.check_id.in_(sorted(check_ids)))
        return [
            HeartbeatPing(row.check_id, row.at, row.failed, row.started_at)
            for row in await self.conn.execute(query)
        ]

    # -------------------------------------------------------------------- approvals

    async def approve(self, incident_id: int, person: str, at: datetime) -> bool:
        """Record the approval of an incident's first customer email; False if approved."""
        stmt = (
            dialect_insert(self.conn, email_approvals)
            .values(incident_id=incident_id, approved_by=person, approved_at=at)
            .on_conflict_do_nothing(index_elements=["incident_id"])
        )
        approved = (await self.conn.execute(stmt)).rowcount == 1
        if approved:  # the planner reads it: plan the case on the next tick
            await IncidentQueries(self.conn).replan([incident_id])
        return approved

    async def approvals(self, incident_ids: Collection[int]) -> dict[int, tuple[str, datetime]]:
        """`incident id -> (approved by, approved at)` for those that were approved."""
        if not incident_ids:
            return {}
        query = select(email_approvals).where(
            email_approvals.c.incident_id.in_(sorted(incident_ids))
        )
        return {
            row.incident_id: (row.approved_by, row.approved_at)
            for row in await self.conn.execute(query)
        }

    # ------------------------------------------------------------------------ series

    async def series(
        self, check_ids: Collection[str], start: datetime, end: datetime
    ) -> list[SeriesPoint]:
        """The aggregates of `check_ids` (all locations) summed per 5-minute bucket in
        [start, end), oldest first; buckets without data are absent."""
        if not check_ids:
            return []
        a = aggregates.c
        query = (
            select(
                a.start,
                func.sum(a.ok),
                func.sum(a.degraded),
                func.sum(a.failed),
                func.sum(a.latency_sum),
            )
            .where(a.check_id.in_(sorted(check_ids)), a.start >= start, a.start < end)
            .group_by(a.start)
            .order_by(a.start)
        )
        return [
            SeriesPoint(row[0], int(row[1]), int(row[2]), int(row[3]), float(row[4]))
            for row in await self.conn.execute(query)
        ]


def with_ring(points: Sequence[SeriesPoint], ring: Sequence[RecentResult]) -> list[SeriesPoint]:
    """`points` (the stored 5-minute aggregates) plus, for each bucket they lack, the
    recent-results ring folded the same way. The engine writes a bucket's aggregate only
    when the bucket closes, so without this the newest five minutes (all of a new
    install's first minutes) would be empty; a stored bucket is never counted twice."""
    stored = {p.start for p in points}
    extra: dict[datetime, list[int | float]] = {}
    for result in ring:
        start = bucket_start(result.started_at)
        if start in stored:
            continue
        row = extra.setdefault(start, [0, 0, 0, 0.0])
        if result.verdict is Verdict.FAILED:
            row[2] += 1
            continue
        row[0 if result.verdict is Verdict.OK else 1] += 1
        row[3] += result.total
    folded = [
        SeriesPoint(start, int(r[0]), int(r[1]), int(r[2]), float(r[3]))
        for start, r in extra.items()
    ]
    return sorted([*points, *folded], key=lambda p: p.start)
