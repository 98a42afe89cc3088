"""Cancelling, deferring and rewriting outbox rows (the send-time re-check and the
acknowledge / resolve transaction): both backends."""

from __future__ import annotations

from datetime import timedelta

from monitor.model import IncidentStatus, Level
from monitor.store import (
    Attempt,
    AttemptOutcome,
    Incident,
    Notification,
    OutboxItem,
    OutboxKey,
    OutboxStatus,
    Retained,
    Store,
)
from tests.store.support import T0, settle

LEASE = timedelta(minutes=1)
REASON = "case VAKT-2026-000001 was acknowledged by alice"


async def incident(store: Store, case: str) -> int:
    row = Incident(case, "acme/shop", "acme", Level.A, IncidentStatus.OPEN, T0, T0)
    async with store.transaction() as tx:
        return (await tx.incidents.insert(row)).id


def row(
    case: str, incident_id: int | None, kind: str = "page", slot: str = "0:1:0"
) -> Notification:
    key = OutboxKey(case, kind, slot, "person:alice", "email")
    return Notification(key, T0, T0, "{}", incident_id=incident_id)


async def items(store: Store) -> dict[tuple[str, str, str], OutboxItem]:
    async with store.transaction(read_only=True) as tx:
        found = await tx.outbox.find(limit=100)
    return {(i.key.subject, i.key.kind, i.key.slot): i for i in found}


async def test_cancel_pages_cancels_only_that_incidents_pending_rows_of_those_kinds(
    store: Store,
) -> None:
    first = await incident(store, "VAKT-2026-000001")
    second = await incident(store, "VAKT-2026-000002")
    async with store.transaction() as tx:
        await tx.outbox.add(
            [
                row("VAKT-2026-000001", first, slot="0:1:0"),
                row("VAKT-2026-000001", first, slot="0:2:0"),
                row("VAKT-2026-000001", first, slot="0:3:0"),
                row("VAKT-2026-000001", first, kind="customer_opened", slot="0"),
                row("VAKT-2026-000002", second),
            ]
        )
        [leased] = await tx.outbox.claim("w1", T0, LEASE, limit=1)  # 0:1:0, being sent
    async with store.transaction() as tx:
        sent = [i for i in await tx.outbox.find() if i.key.slot == "0:2:0"]
        assert await tx.outbox.cancel_pages(first, REASON, ["page"], T0) == 2
    assert leased.key.slot == "0:1:0"
    assert sent
    rows = await items(store)
    assert rows[("VAKT-2026-000001", "page", "0:1:0")].status is OutboxStatus.PENDING
    for slot in ("0:2:0", "0:3:0"):
        cancelled = rows[("VAKT-2026-000001", "page", slot)]
        assert cancelled.status is OutboxStatus.CANCELLED
        assert cancelled.cancel_reason == REASON
        assert cancelled.lease_owner is None
    assert rows[("VAKT-2026-000001", "customer_opened", "0")].status is OutboxStatus.PENDING
    assert rows[("VAKT-2026-000002", "page", "0:1:0")].status is OutboxStatus.PENDING
    assert rows[("VAKT-2026-000002", "page", "0:1:0")].cancel_reason == ""
    async with store.transaction() as tx:  # an expired lease is no longer "being sent"
        assert await tx.outbox.cancel_pages(first, REASON, ["page"], T0 + LEASE) == 1


async def test_a_sent_row_is_never_cancelled(store: Store) -> None:
    first = await incident(store, "VAKT-2026-000001")
    async with store.transaction() as tx:
        await tx.outbox.add([row("VAKT-2026-000001", first)])
        [item] = await tx.outbox.claim("w1", T0, LEASE)
        assert await settle(tx, "w1", Attempt(item.id, T0, timedelta(0), AttemptOutcome.SENT, "w1"))
        assert await tx.outbox.cancel_pages(first, REASON, ["page"], T0 + LEASE) == 0
        assert not await tx.outbox.cancel(item.id, "w1", REASON)
    [sent] = (await items(store)).values()
    assert sent.status is OutboxStatus.SENT


async def test_cancel_defer_and_rewrite_need_the_lease(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.outbox.add([row("A", None), row("B", None), row("C", None)])
        claimed = {i.key.subject: i.id for i in await tx.outbox.claim("w1", T0, LEASE)}
    later = T0 + timedelta(hours=1)
    async with store.transaction() as tx:
        assert not await tx.outbox.cancel(claimed["A"], "w2", REASON)
        assert not await tx.outbox.defer(claimed["B"], "w2", later)
        assert not await tx.outbox.rewrite(claimed["C"], "w2", '{"kind": "digest"}')
        assert await tx.outbox.cancel(claimed["A"], "w1", REASON)
        assert await tx.outbox.defer(claimed["B"], "w1", later)
        assert await tx.outbox.rewrite(claimed["C"], "w1", '{"kind": "digest"}')
    rows = await items(store)
    a, b, c = (rows[(s, "page", "0:1:0")] for s in "ABC")
    assert (a.status, a.cancel_reason, a.lease_owner) == (OutboxStatus.CANCELLED, REASON, None)
    assert (b.status, b.due_at, b.lease_owner, b.attempts) == (OutboxStatus.PENDING, later, None, 0)
    assert (c.status, c.payload, c.lease_owner) == (
        OutboxStatus.PENDING,
        '{"kind": "digest"}',
        "w1",
    )
    async with store.transaction() as tx:
        [cancelled] = await tx.outbox.find(status=OutboxStatus.CANCELLED)
        soon = T0 + LEASE / 2
        assert await tx.outbox.claim("w3", soon, LEASE) == []  # C still leased, B not due
    assert cancelled.key.subject == "A"


async def test_retention_purges_cancelled_rows_like_sent_ones(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.outbox.add([row("A", None), row("B", None)])
        [item] = await tx.outbox.claim("w1", T0, LEASE, limit=1)
        assert await tx.outbox.cancel(item.id, "w1", REASON)
    assert await store.purge(Retained.OUTBOX, T0 + timedelta(days=1)) == 1
    assert [i.key.subject for i in (await items(store)).values()] == ["B"]
