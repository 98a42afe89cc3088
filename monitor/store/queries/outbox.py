"""The notification outbox: written with the incident change, claimed and settled by dispatchers.

Protocol for a dispatcher (no transaction is held open while sending):

1. in one short transaction, `claim(owner, now, lease)` takes due rows under a lease;
2. send each one outside any transaction;
3. in another short transaction, `settle(item_id, owner, attempt, retry_at=...)` records the
   attempt and marks the row sent, failed, or due again. It returns False when the lease was
   lost (another dispatcher re-claimed an expired lease): the attempt is still recorded.
   `settle_many(owner, settlements)` does the same for a whole batch in a few statements
   (a mass outage settles thousands of rows) and returns the ids whose lease was lost.

A row whose lease expired (its dispatcher crashed mid-send) is claimed again, with the same
dedupe key, so a receiver can drop the repeat.

Between claim and send the dispatcher may, in the claim's transaction, `cancel` a row
(no longer wanted: its case was acknowledged), `defer` it (its case is silenced) or
`rewrite` its payload (a digest that lost cases). `cancel_pages` cancels the pending
pages of one incident in the acknowledging (or resolving) transaction, leaving rows
under a live lease to the dispatcher that sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from monitor.store.queries._sql import dialect_insert, fenced_term
from monitor.store.records import (
    Attempt,
    AttemptOutcome,
    Notification,
    OutboxItem,
    OutboxKey,
    OutboxStatus,
)
from monitor.store.tables import delivery_attempts, outbox
from monitor.store.types import UTCDateTime

_KEY = ("subject", "kind", "slot", "recipient", "channel")
_PENDING = OutboxStatus.PENDING.value


def _claimable(now: datetime) -> ColumnElement[bool]:
    lease_free = or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now)
    return and_(outbox.c.status == _PENDING, outbox.c.due_at <= now, lease_free)


def _leased_by(item_id: int, owner: str) -> ColumnElement[bool]:
    return and_(outbox.c.id == item_id, outbox.c.lease_owner == owner, outbox.c.status == _PENDING)


@dataclass(frozen=True, slots=True)
class Settlement:
    """One finished delivery attempt to settle; `retry_at` is required for a RETRY."""

    attempt: Attempt
    retry_at: datetime | None = None


# The batch statements of `settle_many`, one row of parameters per outbox row: every
# attempt counts (`_COUNTED`, the lease lost), and a row still leased by the settling
# owner gets its outcome in the same statement. The lease condition stays in the WHERE
# clause even though the rows were checked (and locked) first.
_ID: BindParameter[int] = bindparam("b_id")
_ERROR: BindParameter[str] = bindparam("b_error")
_AT = bindparam("b_at", type_=UTCDateTime())
_COUNTED = {"attempts": outbox.c.attempts + 1, "last_error": _ERROR}
_HELD = and_(
    outbox.c.id == _ID, outbox.c.lease_owner == bindparam("b_owner"), outbox.c.status == _PENDING
)
_SETTLE = {
    AttemptOutcome.SENT: outbox.update()
    .where(_HELD)
    .values(**_COUNTED, status=OutboxStatus.SENT.value, sent_at=_AT, lease_until=None),
    AttemptOutcome.FAILED: outbox.update()
    .where(_HELD)
    .values(**_COUNTED, status=OutboxStatus.FAILED.value),
    AttemptOutcome.RETRY: outbox.update()
    .where(_HELD)
    .values(**_COUNTED, due_at=_AT, lease_owner=None, lease_until=None),
}
_LOST = outbox.update().where(outbox.c.id == _ID).values(**_COUNTED)


@dataclass(frozen=True, slots=True)
class OutboxQueries:
    conn: AsyncConnection

    async def add(self, notifications: Sequence[Notification]) -> int:
        """Insert notifications, silently skipping any whose dedupe key is already stored.

        Returns how many were new.
        """
        if not notifications:
            return 0
        insert = dialect_insert(self.conn, outbox)
        stmt = insert.on_conflict_do_nothing(index_elements=list(_KEY)).returning(outbox.c.id)
        term = fenced_term(self.conn)
        rows = [{**_notification_row(n), "term": term} for n in notifications]
        result = await self.conn.execute(stmt, rows)
        return len(result.all())

    async def claim(
        self, owner: str, now: datetime, lease: timedelta, limit: int = 10
    ) -> list[OutboxItem]:
        """Lease up to `limit` due rows to `owner` until `now + lease`; oldest due first.

        Two dispatchers never get the same row while its lease runs: PostgreSQL skips rows
        another transaction has locked (`FOR UPDATE SKIP LOCKED`); SQLite serialises
        writers (`BEGIN IMMEDIATE`) and the update re-checks the lease (compare-and-set).
        """
        candidates = (
            select(outbox.c.id)
            .where(_claimable(now))
            .order_by(outbox.c.due_at, outbox.c.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        # Two steps on purpose: PostgreSQL may re-run an `IN (SELECT ... LIMIT n SKIP LOCKED)`
        # subquery and so lease more than `limit` rows; ids locked by this transaction do not.
        ids = list((await self.conn.execute(candidates)).scalars())
        if not ids:
            return []
        stmt = (
            outbox.update()
            .where(outbox.c.id.in_(ids), _claimable(now))
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(*outbox.c)
        )
        items = [_item(row) for row in await self.conn.execute(stmt)]
        return sorted(items, key=lambda item: (item.due_at, item.id))

    async def settle_many(self, owner: str, settlements: Sequence[Settlement]) -> list[int]:
        """Record every attempt and mark each row by its outcome (SENT: sent; FAILED:
        failed; RETRY: pending again at `retry_at`, lease released), in at most five
        statements whatever the batch size.

        Returns the ids (in the order given) of rows whose lease `owner` no longer held:
        their attempts are recorded and counted, their status is left to the new owner.
        Raises `ValueError`, before writing anything, for a RETRY without `retry_at` or an
        outbox row given twice.
        """
        if not settlements:
            return []
        _validate(settlements)
        ids = [s.attempt.outbox_id for s in settlements]
        held = await self._held(owner, ids)
        await self.conn.execute(
            delivery_attempts.insert(), [_attempt_row(s.attempt) for s in settlements]
        )
        by_outcome: dict[AttemptOutcome | None, list[dict[str, Any]]] = {}
        for s in settlements:
            a = s.attempt
            outcome = a.outcome if a.outbox_id in held else None
            at = s.retry_at if a.outcome is AttemptOutcome.RETRY else a.at
            params = {"b_id": a.outbox_id, "b_error": a.error, "b_at": at, "b_owner": owner}
            by_outcome.setdefault(outcome, []).append(params)
        for outcome, rows in by_outcome.items():
            await self.conn.execute(_LOST if outcome is None else _SETTLE[outcome], rows)
        return [item_id for item_id in ids if item_id not in held]

    async def _held(self, owner: str, ids: Sequence[int]) -> set[int]:
        """Which of `ids` `owner` still leases; locked until the commit on PostgreSQL (on
        SQLite the transaction holds the write lock), so no claim can take them meanwhile."""
        query = select(outbox.c.id).where(
            outbox.c.id.in_(ids), outbox.c.lease_owner == owner, outbox.c.status == _PENDING
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return set((await self.conn.execute(query)).scalars())

    async def lease_owners(self, now: datetime) -> list[str]:
        """The owners holding an unexpired lease on a pending row."""
        query = (
            select(outbox.c.lease_owner)
            .where(outbox.c.status == _PENDING, outbox.c.lease_until > now)
            .distinct()
        )
        return [owner for owner in (await self.conn.execute(query)).scalars() if owner]

    async def release_leases(self, owner: str) -> int:
        """Free every pending row leased to `owner` (a dispatcher known to be dead), so the
        next claim takes them now instead of when their leases expire."""
        stmt = (
            outbox.update()
            .where(outbox.c.lease_owner == owner, outbox.c.status == _PENDING)
            .values(lease_owner=None, lease_until=None)
        )
        return (await self.conn.execute(stmt)).rowcount or 0

    async def expedite(self, channel: str, now: datetime) -> int:
        """Make every pending, unleased row of `channel` that is waiting for a retry due
        at `now` (the channel delivers again: nothing should wait out its back-off).
        Rows not tried yet keep their due time. Returns how many were moved."""
        stmt = (
            outbox.update()
            .where(
                outbox.c.status == _PENDING,
                outbox.c.channel == channel,
                outbox.c.attempts > 0,
                outbox.c.due_at > now,
                outbox.c.lease_owner.is_(None),
            )
            .values(due_at=now)
        )
        return (await self.conn.execute(stmt)).rowcount or 0

    async def requeue(self, item_id: int, now: datetime) -> bool:
        """Make a failed row due again at `now` (`vakt notifications retry`)."""
        stmt = (
            outbox.update()
            .where(outbox.c.id == item_id, outbox.c.status == OutboxStatus.FAILED.value)
            .values(status=_PENDING, due_at=now, lease_owner=None, lease_until=None)
        )
        return (await self.conn.execute(stmt)).rowcount == 1

    async def cancel_pages(
        self, incident_id: int, reason: str, kinds: Sequence[str], now: datetime
    ) -> int:
        """Cancel the pending rows of `incident_id` whose key kind is one of `kinds`, with
        `reason`; rows under a live lease are being sent and are left to their dispatcher
        (its next claim re-checks them). Returns how many were cancelled."""
        return await self._cancel_pending(outbox.c.incident_id == incident_id, reason, kinds, now)

    async def cancel_subject(
        self, subject: str, reason: str, kinds: Sequence[str], now: datetime
    ) -> int:
        """`cancel_pages` for rows keyed by `subject` (a case without an incident row: a
        customer-reported case). Returns how many were cancelled."""
        return await self._cancel_pending(outbox.c.subject == subject, reason, kinds, now)

    async def _cancel_pending(
        self, which: ColumnElement[bool], reason: str, kinds: Sequence[str], now: datetime
    ) -> int:
        lease_free = or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now)
        stmt = (
            outbox.update()
            .where(which, outbox.c.status == _PENDING, outbox.c.kind.in_(list(kinds)), lease_free)
            .values(
                status=OutboxStatus.CANCELLED.value,
                cancel_reason=reason,
                lease_owner=None,
                lease_until=None,
            )
        )
        return (await self.conn.execute(stmt)).rowcount or 0

    async def cancel(self, item_id: int, owner: str, reason: str) -> bool:
        """Cancel a row `owner` leases, with `reason`; False if the lease was lost."""
        return await self._settle(
            item_id,
            owner,
            status=OutboxStatus.CANCELLED.value,
            cancel_reason=reason,
            lease_owner=None,
            lease_until=None,
        )

    async def defer(self, item_id: int, owner: str, until: datetime) -> bool:
        """Release a row `owner` leases to be due at `until` (no attempt is counted);
        False if the lease was lost."""
        return await self._settle(item_id, owner, due_at=until, lease_owner=None, lease_until=None)

    async def rewrite(self, item_id: int, owner: str, payload: str) -> bool:
        """Replace the payload of a row `owner` leases (a digest narrowed to the cases
        that still want it); the dedupe key stays. False if the lease was lost."""
        return await self._settle(item_id, owner, payload=payload)

    async def get(self, item_id: int) -> OutboxItem | None:
        row = (await self.conn.execute(select(outbox).where(outbox.c.id == item_id))).first()
        return None if row is None else _item(row)

    async def find(
        self,
        *,
        status: OutboxStatus | None = None,
        incident_id: int | None = None,
        limit: int = 100,
    ) -> list[OutboxItem]:
        """Notifications, newest first, optionally of one status or one incident."""
        query = select(outbox).order_by(outbox.c.created_at.desc(), outbox.c.id.desc())
        if status is not None:
            query = query.where(outbox.c.status == status.value)
        if incident_id is not None:
            query = query.where(outbox.c.incident_id == incident_id)
        return [_item(row) for row in await self.conn.execute(query.limit(limit))]

    async def attempts(self, item_id: int) -> list[Attempt]:
        """A notification's delivery attempts, oldest first."""
        query = (
            select(delivery_attempts)
            .where(delivery_attempts.c.outbox_id == item_id)
            .order_by(delivery_attempts.c.at, delivery_attempts.c.id)
        )
        return [_attempt(row) for row in await self.conn.execute(query)]

    async def _settle(self, item_id: int, owner: str, **values: Any) -> bool:
        stmt = outbox.update().where(_leased_by(item_id, owner)).values(**values)
        return (await self.conn.execute(stmt)).rowcount == 1

    async def due_backlog(self, now: datetime) -> DueBacklog:
        """The pending rows due at `now`, in one aggregate query whatever their number (the
        outbox gauges and `/readyz` read it): how many, the earliest `due_at` among them,
        and since when the oldest has waited. A row tried before counts as due while it
        waits for its next attempt, and has waited since its `created_at`: each retry
        moves its `due_at` forward, so a channel that keeps failing shows as a growing
        wait, not as an outbox that empties between attempts. A row never tried has waited
        since its `due_at`."""
        waiting = case((outbox.c.attempts == 0, outbox.c.due_at), else_=outbox.c.created_at)
        query = select(
            func.count(),
            func.min(outbox.c.due_at, type_=UTCDateTime()),
            func.min(waiting, type_=UTCDateTime()),
        ).where(outbox.c.status == _PENDING, or_(outbox.c.due_at <= now, outbox.c.attempts > 0))
        count, due, since = (await self.conn.execute(query)).one()
        return DueBacklog(int(count), due, since) if count else DueBacklog(0, None, None)


def _validate(settlements: Sequence[Settlement]) -> None:
    seen: set[int] = set()
    for s in settlements:
        item_id = s.attempt.outbox_id
        if item_id in seen:
            raise ValueError(f"outbox row {item_id} is settled twice in one batch")
        seen.add(item_id)
        if s.attempt.outcome is AttemptOutcome.RETRY and s.retry_at is None:
            raise ValueError("a retry needs the time to retry at")


def _notification_row(n: Notification) -> dict[str, Any]:
    return {
        "subject": n.key.subject,
        "kind": n.key.kind,
        "slot": n.key.slot,
        "recipient": n.key.recipient,
        "channel": n.key.channel,
        "incident_id": n.incident_id,
        "payload": n.payload,
        "status": _PENDING,
        "created_at": n.created_at,
        "due_at": n.due_at,
        "attempts": 0,
        "lease_owner": None,
        "lease_until": None,
        "sent_at": None,
        "last_error": "",
    }


def _item(row: Row[Any]) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        key=OutboxKey(*(getattr(row, name) for name in _KEY)),
        status=OutboxStatus(row.status),
        created_at=row.created_at,
        due_at=row.due_at,
        payload=row.payload,
        incident_id=row.incident_id,
        attempts=row.attempts,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        sent_at=row.sent_at,
        last_error=row.last_error,
        cancel_reason=row.cancel_reason or "",
    )


def _attempt_row(a: Attempt) -> dict[str, Any]:
    return {
        "outbox_id": a.outbox_id,
        "at": a.at,
        "duration": a.duration.total_seconds(),
        "outcome": a.outcome.value,
        "worker": a.worker,
        "error": a.error,
    }


def _attempt(row: Row[Any]) -> Attempt:
    return Attempt(
        outbox_id=row.outbox_id,
        at=row.at,
        duration=timedelta(seconds=row.duration),
        outcome=AttemptOutcome(row.outcome),
        worker=row.worker,
        error=row.error,
        id=row.id,
    )


@dataclass(frozen=True, slots=True)
class DueBacklog:
    """The due part of the outbox (`OutboxQueries.due_backlog`): `count` pending rows due
    (or waiting for a retry),
    the earliest due time among them `earliest_due` (how long the oldest unsettled claim
    has waited for the dispatcher), and `waiting_since`, since when the oldest has waited
    for delivery (retries included). Both None when nothing is due."""

    count: int
    earliest_due: datetime | None
    waiting_since: datetime | None

    def oldest_age(self, now: datetime) -> timedelta:
        """How long the oldest due row has waited at `now` (zero when none is due)."""
        if self.waiting_since is None:
            return timedelta(0)
        return max(now - self.waiting_since, timedelta(0))

    def due_age(self, now: datetime) -> timedelta:
        """How long ago the earliest due row fell due at `now` (zero when none is due)."""
        if self.earliest_due is None:
            return timedelta(0)
        return max(now - self.earliest_due, timedelta(0))
