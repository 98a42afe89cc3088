"""Cluster membership and the leader lease (PostgreSQL high availability).

`cluster_members` holds one row per running `vakt run` with its heartbeat;
`cluster_lease` at most one row (id 1): the leader, its fencing term and until when the
lease runs. These queries store and compare; who leads is decided by `monitor.cluster`.
Times are the database's clock (`now()`), so instances on hosts whose clocks disagree
still agree on who is alive and whether a lease ran out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.queries._sql import dialect_insert
from monitor.store.tables import cluster_lease, cluster_members

LEASE_ID = 1


@dataclass(frozen=True, slots=True)
class Member:
    """One running `vakt run`: `id` is `host:pid` (its dispatcher's lease owner)."""

    id: str
    host: str
    pid: int
    version: str
    started: datetime
    heartbeat: datetime
    location: str = "default"  # where it probes from (`vakt run --location`)


@dataclass(frozen=True, slots=True)
class LeaseRow:
    """The leader lease: `holder` (a member id) leads under `term` until `expires`."""

    holder: str
    term: int
    expires: datetime
    acquired: datetime


@dataclass(frozen=True, slots=True)
class ClusterQueries:
    conn: AsyncConnection

    async def now(self) -> datetime:
        """The database's clock (the transaction's start time)."""
        value = (await self.conn.execute(select(func.now()))).scalar_one()
        assert isinstance(value, datetime)
        return value

    async def beat(self, member: Member) -> None:
        """Insert or refresh `member` (its heartbeat)."""
        insert = dialect_insert(self.conn, cluster_members).values(**_member_row(member))
        stmt = insert.on_conflict_do_update(
            index_elements=["id"],
            set_={"heartbeat": insert.excluded.heartbeat, "location": insert.excluded.location},
        )
        await self.conn.execute(stmt)

    async def leave(self, member_id: str) -> None:
        await self.conn.execute(cluster_members.delete().where(cluster_members.c.id == member_id))

    async def forget(self, before: datetime) -> int:
        """Delete members whose last heartbeat is older than `before` (long gone)."""
        stmt = cluster_members.delete().where(cluster_members.c.heartbeat < before)
        return (await self.conn.execute(stmt)).rowcount or 0

    async def members(self) -> list[Member]:
        """Every member row, oldest start first."""
        query = select(cluster_members).order_by(cluster_members.c.started, cluster_members.c.id)
        return [_member(row) for row in await self.conn.execute(query)]

    async def lease(self, *, lock: bool = False) -> LeaseRow | None:
        """The lease row; `lock` takes it FOR UPDATE (an acquire or renew decides next)."""
        query = select(cluster_lease).where(cluster_lease.c.id == LEASE_ID)
        if lock and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return None if row is None else _lease(row)

    async def write_lease(self, lease: LeaseRow) -> None:
        """Insert or overwrite the lease row (under `lease(lock=True)` in one transaction)."""
        insert = dialect_insert(self.conn, cluster_lease).values(
            id=LEASE_ID,
            holder=lease.holder,
            term=lease.term,
            expires=lease.expires,
            acquired=lease.acquired,
        )
        stmt = insert.on_conflict_do_update(
            index_elements=["id"],
            set_={c: insert.excluded[c] for c in ("holder", "term", "expires", "acquired")},
        )
        await self.conn.execute(stmt)

    async def release(self, holder: str, term: int, now: datetime) -> bool:
        """End `holder`'s lease of `term` at `now` (a clean stop: a standby takes over at
        once). False when it no longer held it."""
        stmt = (
            cluster_lease.update()
            .where(
                cluster_lease.c.id == LEASE_ID,
                cluster_lease.c.holder == holder,
                cluster_lease.c.term == term,
            )
            .values(expires=now)
        )
        return bool((await self.conn.execute(stmt)).rowcount)

    async def holds(self, holder: str, term: int) -> bool:
        """The fencing check of a leader transaction: `holder` still holds `term`. On
        PostgreSQL the row is locked FOR SHARE until the transaction ends, so a takeover
        (which updates it) waits for this transaction: nothing it writes can land after
        the term moved on."""
        query = select(cluster_lease.c.id).where(
            cluster_lease.c.id == LEASE_ID,
            cluster_lease.c.holder == holder,
            cluster_lease.c.term == term,
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(read=True)
        return (await self.conn.execute(query)).first() is not None


def _member_row(m: Member) -> dict[str, object]:
    return {
        "id": m.id,
        "host": m.host,
        "pid": m.pid,
        "version": m.version,
        "started": m.started,
        "heartbeat": m.heartbeat,
        "location": m.location,
    }


def _member(row: Row[object]) -> Member:
    m = row._mapping
    return Member(
        m["id"], m["host"], m["pid"], m["version"], m["started"], m["heartbeat"], m["location"]
    )


def _lease(row: Row[object]) -> LeaseRow:
    m = row._mapping
    return LeaseRow(m["holder"], int(m["term"]), m["expires"], m["acquired"])
