"""What `vakt cluster status` and the team UI's `/cluster` page show: the members (alive
or dead by `alive`), the leader and its term, and which location votes (as the leader's
engine last stored it, `monitor.engine.state.read_votes`), read in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.cluster.lease import alive
from monitor.engine.state import read_votes
from monitor.store import LeaseRow, Member, Store


@dataclass(frozen=True, slots=True)
class MemberView:
    member: Member
    alive: bool
    leader: bool


@dataclass(frozen=True, slots=True)
class LocationVote:
    """A location's vote (issue 20): it has none since `lost_since` (None: it votes)."""

    location: str
    lost_since: datetime | None

    @property
    def voting(self) -> bool:
        return self.lost_since is None


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """`leader` is the lease's holder while the lease runs (None: nobody leads now)."""

    now: datetime
    lease: LeaseRow | None
    members: tuple[MemberView, ...]
    votes: tuple[LocationVote, ...] = ()

    @property
    def leader(self) -> str | None:
        lease = self.lease
        return lease.holder if lease is not None and lease.expires > self.now else None

    @property
    def term(self) -> int:
        return self.lease.term if self.lease is not None else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "leader": self.leader,
            "term": self.term,
            "lease_expires": self.lease.expires.isoformat() if self.lease else None,
            "members": [
                {
                    "id": v.member.id,
                    "host": v.member.host,
                    "pid": v.member.pid,
                    "version": v.member.version,
                    "started": v.member.started.isoformat(),
                    "heartbeat": v.member.heartbeat.isoformat(),
                    "alive": v.alive,
                    "leader": v.leader,
                }
                for v in self.members
            ],
            "votes": [
                {
                    "location": v.location,
                    "voting": v.voting,
                    "lost_since": None if v.lost_since is None else v.lost_since.isoformat(),
                }
                for v in self.votes
            ],
        }


async def read_status(store: Store, lease: timedelta) -> ClusterStatus:
    """The cluster as the store holds it now (`lease`: `settings.cluster.lease`)."""
    async with store.transaction(read_only=True) as tx:
        now = await tx.cluster.now()
        row = await tx.cluster.lease()
        members = await tx.cluster.members()
        votes = await read_votes(tx)
    leader = row.holder if row is not None and row.expires > now else None
    views = tuple(MemberView(m, alive(m, now, lease), m.id == leader) for m in members)
    ballot = tuple(LocationVote(name, since) for name, since in sorted(votes.items()))
    return ClusterStatus(now, row, views, ballot)


async def live_members(store: Store, lease: timedelta) -> frozenset[str]:
    """The ids of the members alive now (the dispatcher's orphan rule)."""
    status = await read_status(store, lease)
    return frozenset(v.member.id for v in status.members if v.alive)


__all__ = ["ClusterStatus", "LocationVote", "MemberView", "live_members", "read_status"]
