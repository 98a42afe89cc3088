"""What `vakt cluster status` and the team UI's `/cluster` page show: the members (alive
or dead by `alive`), the leader and its term, the probe locations (every location a
site lists, with its live members; `without_members` names those with none), and which
location votes (as the leader's engine last stored it, `monitor.engine.state.read_votes`),
read in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.cluster.lease import alive
from monitor.cluster.shard import LocationCount, locations_report
from monitor.config.records import Config
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
    locations: tuple[LocationCount, ...] = ()
    votes: tuple[LocationVote, ...] = ()

    @property
    def without_members(self) -> list[str]:
        """The locations some check needs that have no live member now."""
        return [c.location for c in self.locations if c.live == 0]

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
                    "location": v.member.location,
                }
                for v in self.members
            ],
            "locations": [
                {
                    "name": c.location,
                    "members": c.live,
                    "since": c.since.isoformat() if c.since is not None else None,
                }
                for c in self.locations
            ],
            "without_members": self.without_members,
            "votes": [
                {
                    "location": v.location,
                    "voting": v.voting,
                    "lost_since": None if v.lost_since is None else v.lost_since.isoformat(),
                }
                for v in self.votes
            ],
        }


def needed_locations(config: Config) -> frozenset[str]:
    """Every location some site lists (where its checks must be probed)."""
    return frozenset(location for site in config.sites() for location in site.locations)


async def read_status(
    store: Store, lease: timedelta, needed: frozenset[str] = frozenset()
) -> ClusterStatus:
    """The cluster as the store holds it now (`lease`: `settings.cluster.lease`;
    `needed`: the locations the config's sites list, `needed_locations`)."""
    async with store.transaction(read_only=True) as tx:
        now = await tx.cluster.now()
        row = await tx.cluster.lease()
        members = await tx.cluster.members()
        votes = await read_votes(tx)
    leader = row.holder if row is not None and row.expires > now else None
    views = tuple(MemberView(m, alive(m, now, lease), m.id == leader) for m in members)
    live = [v.member for v in views if v.alive]
    ballot = tuple(LocationVote(name, since) for name, since in sorted(votes.items()))
    places = tuple(locations_report(needed, live, members))
    return ClusterStatus(now, row, views, places, ballot)


async def live_members(store: Store, lease: timedelta) -> frozenset[str]:
    """The ids of the members alive now (the dispatcher's orphan rule)."""
    status = await read_status(store, lease)
    return frozenset(v.member.id for v in status.members if v.alive)


__all__ = [
    "ClusterStatus",
    "LocationVote",
    "MemberView",
    "live_members",
    "needed_locations",
    "read_status",
]
