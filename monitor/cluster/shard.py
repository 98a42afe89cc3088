"""Which live member probes which check, per location: rendezvous (highest-random-weight)
hashing, pure (no I/O).

Each check is probed, in each location its site lists, by exactly one live member of that
location: the member whose hash of (check id, member id) is highest. A member that leaves
takes only its own checks with it (each goes to the member with the next highest weight);
a member that joins takes only the checks it now wins. Every member computes the same
answer from the same membership, with no coordination. Canaries are probed in every
location that has live members, sharded the same way.

- `owner(check_id, members)`: the one member of `members` that probes the check;
- `shard(wanted, me, location, live)`: what `me` (in `location`) probes of `wanted`
  ((check, its locations) pairs), given the live members of each location;
- `locations_report(needed, live, members)`: per location any check needs, its live
  member count and, when it has none, since when (the last heartbeat of its last member:
  the same on every instance, so one episode gives one warning however leaders change).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from monitor.store import Member

T = TypeVar("T")

NEVER = datetime(1970, 1, 1, tzinfo=UTC)
"""The `since` of a location that never had a member (its one episode)."""


def weight(check_id: str, member_id: str) -> int:
    """The rendezvous weight of `member_id` for `check_id` (stable across processes)."""
    digest = hashlib.blake2b(f"{check_id}\x00{member_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(check_id: str, members: Iterable[str]) -> str | None:
    """The member that probes `check_id` among `members` (None when there is none)."""
    best: tuple[int, str] | None = None
    for member in members:
        key = (weight(check_id, member), member)
        if best is None or key > best:
            best = key
    return None if best is None else best[1]


def by_location(live: Iterable[Member]) -> dict[str, tuple[str, ...]]:
    """The ids of the live members of each location, sorted."""
    out: dict[str, list[str]] = {}
    for member in live:
        out.setdefault(member.location, []).append(member.id)
    return {location: tuple(sorted(ids)) for location, ids in out.items()}


def shard(
    wanted: Iterable[tuple[T, str, Sequence[str] | None]],
    me: str,
    location: str,
    live: Mapping[str, Sequence[str]],
) -> list[T]:
    """The items `me` probes: each `(item, check id, locations)` whose locations include
    `location` (None: every location, the canaries) and whose owner among `location`'s
    live members is `me`. `me` counts as live in its own location even before its first
    heartbeat is read back."""
    mine = live.get(location, ())
    members = mine if me in mine else (*mine, me)
    return [
        item
        for item, check_id, locations in wanted
        if (locations is None or location in locations) and owner(check_id, members) == me
    ]


@dataclass(frozen=True, slots=True)
class LocationCount:
    """A location some check needs: its live members, and (with none) since when."""

    location: str
    live: int
    since: datetime | None  # with no live member: its last member's last heartbeat


def locations_report(
    needed: Iterable[str], live: Iterable[Member], members: Iterable[Member]
) -> list[LocationCount]:
    """Every location in `needed` or with a live member, sorted, with its live members."""
    counts: dict[str, int] = {}
    for member in live:
        counts[member.location] = counts.get(member.location, 0) + 1
    last: dict[str, datetime] = {}
    for member in members:
        seen = last.get(member.location)
        if seen is None or member.heartbeat > seen:
            last[member.location] = member.heartbeat
    names = sorted({*needed, *counts})
    return [
        LocationCount(
            name, counts.get(name, 0), None if counts.get(name) else last.get(name, NEVER)
        )
        for name in names
    ]


__all__ = [
    "NEVER",
    "LocationCount",
    "by_location",
    "locations_report",
    "owner",
    "shard",
    "weight",
]
