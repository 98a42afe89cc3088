"""The rules of the leader lease and of membership, pure (no I/O): `monitor.cluster.node`
applies them to what it reads from the store in one transaction.

- `decide(current, me, now, lease)`: the lease row to write, or None when another holds
  a live lease. A holder renews its own lease under the same term; a standby takes a
  lease that ran out (or that nobody ever took) under a new, higher term. The term never
  goes down, so a row written under term n is known to predate term n + 1.
- `alive(member, now, lease)`: a member is alive while its heartbeat is younger than the
  lease (a live member writes one every `heartbeat`, at least twice per lease).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.store import LeaseRow, Member


def decide(current: LeaseRow | None, me: str, now: datetime, lease: timedelta) -> LeaseRow | None:
    """What `me` writes to the lease at `now` (see the module docstring)."""
    until = now + lease
    if current is None:
        return LeaseRow(holder=me, term=1, expires=until, acquired=now)
    if current.holder == me and current.expires > now:
        return LeaseRow(me, current.term, until, current.acquired)
    if current.expires <= now:
        return LeaseRow(holder=me, term=current.term + 1, expires=until, acquired=now)
    return None


def alive(member: Member, now: datetime, lease: timedelta) -> bool:
    """Whether `member`'s last heartbeat is younger than `lease` at `now`."""
    return now - member.heartbeat < lease


__all__ = ["alive", "decide"]
