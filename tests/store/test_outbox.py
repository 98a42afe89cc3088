"""The outbox: deduplicated inserts, leased claims, recorded attempts, settled outcomes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from monitor.store import (
    Attempt,
    AttemptOutcome,
    Notification,
    OutboxKey,
    OutboxStatus,
    Store,
)
from tests.store.support import T0, Backend, settle

LEASE = timedelta(minutes=1)


def note(
    recipient: str = "alice", slot: str = "0:0", due: timedelta = timedelta(0)
) -> Notification:
    key = OutboxKey("VAKT-2026-000001", "page", slot, recipient, "email")
    return Notification(key, created_at=T0, due_at=T0 + due, payload='{"subject": "down"}')


async def add(store: Store, notifications: list[Notification]) -> int:
    async with store.transaction() as tx:
        return await tx.outbox.add(notifications)


async def claim(
    store: Store, owner: str, at: timedelta = timedelta(0), limit: int = 10
) -> list[int]:
    async with store.transaction() as tx:
        return [item.id for item in await tx.outbox.claim(owner, T0 + at, LEASE, limit)]


async def test_the_same_notification_planned_twice_is_stored_once(store: Store) -> None:
    assert await add(store, [note("alice"), note("bob")]) == 2
    assert await add(store, [note("alice"), note("carol")]) == 1
    assert await add(store, [note("alice", slot="0:1")]) == 1  # the next repeat is new
    async with store.transaction(read_only=True) as tx:
        stored = await tx.outbox.find()
    assert sorted((i.key.recipient, i.key.slot) for i in stored) == [
        ("alice", "0:0"), ("alice", "0:1"), ("bob", "0:0"), ("carol", "0:0"),
    ]  # fmt: skip
    assert all(i.status is OutboxStatus.PENDING and i.attempts == 0 for i in stored)


async def test_only_due_rows_are_claimed_oldest_first(store: Store) -> None:
    await add(store, [note("later", due=timedelta(seconds=30)), note("bob"), note("alice")])
    async with store.transaction() as tx:
        items = await tx.outbox.claim("worker-1", T0, LEASE)
    assert [i.key.recipient for i in items] == ["bob", "alice"]
    assert all(i.lease_owner == "worker-1" and i.lease_until == T0 + LEASE for i in items)
    assert await claim(store, "worker-2") == []  # leased, not free
    async with store.transaction() as tx:
        (later,) = await tx.outbox.claim("worker-2", T0 + timedelta(seconds=30), LEASE)
    assert later.key.recipient == "later"


async def test_two_concurrent_dispatchers_never_claim_the_same_row(backend: Backend) -> None:
    setup = backend.store()
    await setup.open()
    await setup.upgrade()
    await add(setup, [note(f"person-{i}") for i in range(60)])
    workers = [backend.store() for _ in range(3)]

    async def drain(store: Store, owner: str) -> list[int]:
        await store.open()
        got: list[int] = []
        while batch := await claim(store, owner, limit=4):
            got += batch
            await asyncio.sleep(0)
        return got

    try:
        claimed = await asyncio.gather(*(drain(s, f"w{n}") for n, s in enumerate(workers)))
    finally:
        for s in [setup, *workers]:
            await s.close()
    every = [item for batch in claimed for item in batch]
    assert len(every) == 60
    assert len(set(every)) == 60


async def test_an_expired_lease_is_claimed_again_and_the_old_owner_cannot_settle(
    store: Store,
) -> None:
    await add(store, [note()])
    (item_id,) = await claim(store, "crashed")
    assert await claim(store, "rescuer", at=LEASE / 2) == []
    assert await claim(store, "rescuer", at=LEASE) == [item_id]
    late = Attempt(item_id, T0 + LEASE, timedelta(seconds=2), AttemptOutcome.SENT, "crashed")
    async with store.transaction() as tx:
        assert await settle(tx, "crashed", late) is False
        sent = Attempt(item_id, T0 + LEASE, timedelta(seconds=1), AttemptOutcome.SENT, "rescuer")
        assert await settle(tx, "rescuer", sent) is True
        item = await tx.outbox.get(item_id)
        attempts = await tx.outbox.attempts(item_id)
    assert item is not None
    assert (item.status, item.sent_at, item.attempts) == (OutboxStatus.SENT, T0 + LEASE, 2)
    assert [(a.worker, a.outcome) for a in attempts] == [
        ("crashed", AttemptOutcome.SENT), ("rescuer", AttemptOutcome.SENT),
    ]  # fmt: skip


async def test_every_attempt_is_recorded_with_time_duration_outcome_and_error(
    store: Store,
) -> None:
    await add(store, [note()])
    (item_id,) = await claim(store, "w")
    retry_at = T0 + timedelta(minutes=5)
    refused = Attempt(
        item_id, T0, timedelta(milliseconds=250), AttemptOutcome.RETRY, "w", "421 try later"
    )
    async with store.transaction() as tx:
        assert await settle(tx, "w", refused, retry_at)
    assert await claim(store, "w", at=timedelta(minutes=4)) == []  # not due yet
    assert await claim(store, "w", at=timedelta(minutes=5)) == [item_id]
    bounced = Attempt(item_id, retry_at, timedelta(seconds=1), AttemptOutcome.FAILED, "w", "550")
    async with store.transaction() as tx:
        assert await settle(tx, "w", bounced)
        item = await tx.outbox.get(item_id)
        attempts = await tx.outbox.attempts(item_id)
        failed = await tx.outbox.find(status=OutboxStatus.FAILED)
    assert attempts == [
        Attempt(item_id, T0, timedelta(milliseconds=250), AttemptOutcome.RETRY, "w",
                "421 try later", id=attempts[0].id),
        Attempt(item_id, retry_at, timedelta(seconds=1), AttemptOutcome.FAILED, "w", "550",
                id=attempts[1].id),
    ]  # fmt: skip
    assert item is not None
    assert (item.status, item.attempts, item.last_error) == (OutboxStatus.FAILED, 2, "550")
    assert [i.id for i in failed] == [item_id]


async def test_a_failed_notification_can_be_retried_by_hand(store: Store) -> None:
    await add(store, [note()])
    (item_id,) = await claim(store, "w")
    async with store.transaction() as tx:
        assert await settle(tx, "w", Attempt(item_id, T0, timedelta(0), AttemptOutcome.FAILED, "w"))
    later = T0 + timedelta(hours=1)
    async with store.transaction() as tx:
        assert await tx.outbox.requeue(item_id, later)
        assert not await tx.outbox.requeue(item_id, later)  # only failed rows
    assert await claim(store, "w2", at=timedelta(hours=1)) == [item_id]


async def test_a_claim_never_leases_more_than_its_limit(store: Store) -> None:
    await add(store, [note(f"person-{i}") for i in range(5)])
    assert len(await claim(store, "w", limit=1)) == 1
    assert len(await claim(store, "w", limit=3)) == 3
    assert len(await claim(store, "w", limit=3)) == 1


async def test_due_backlog_counts_due_pending_rows_and_the_oldest_wait_in_one_query(
    store: Store,
) -> None:
    await add(
        store,
        [
            note("early", due=-timedelta(minutes=5)),
            note("now"),
            note("later", due=timedelta(minutes=5)),  # not due yet
            note("sent"),
            note("retried"),
        ],
    )
    async with store.transaction(read_only=True) as tx:
        nothing = await tx.outbox.due_backlog(T0 - timedelta(hours=1))  # nothing due yet
    async with store.transaction() as tx:
        items = {i.key.recipient: i.id for i in await tx.outbox.claim("w", T0, LEASE, 10)}
        sent = Attempt(items["sent"], T0, timedelta(0), AttemptOutcome.SENT, "w")
        retried = Attempt(items["retried"], T0, timedelta(0), AttemptOutcome.RETRY, "w", "421")
        await settle(tx, "w", sent)
        await settle(tx, "w", retried, T0 + timedelta(minutes=1))
        await tx.outbox.release_leases("w")
    at = T0 + timedelta(minutes=2)
    async with store.transaction(read_only=True) as tx:
        backlog = await tx.outbox.due_backlog(at)
    # due: early, now and the retried row (its due time moved on; it waits since created)
    assert backlog.count == 3
    assert backlog.waiting_since == T0 - timedelta(minutes=5)
    assert backlog.oldest_age(at) == timedelta(minutes=7)
    assert backlog.earliest_due == T0 - timedelta(minutes=5)
    assert (nothing.count, nothing.earliest_due, nothing.waiting_since) == (0, None, None)
    assert (nothing.oldest_age(T0), nothing.due_age(T0)) == (timedelta(0), timedelta(0))


async def test_a_retried_row_counts_and_waits_since_it_was_created_not_since_its_due_time(
    store: Store,
) -> None:
    await add(store, [note("alice")])
    async with store.transaction() as tx:
        (item,) = await tx.outbox.claim("w", T0, LEASE)
        failed = Attempt(item.id, T0, timedelta(0), AttemptOutcome.RETRY, "w", "421")
        await settle(tx, "w", failed, T0 + timedelta(seconds=10))
    at, between = T0 + timedelta(seconds=30), T0 + timedelta(seconds=5)
    async with store.transaction(read_only=True) as tx:
        backlog = await tx.outbox.due_backlog(at)
        waiting = await tx.outbox.due_backlog(between)  # before its next attempt
    assert (backlog.count, backlog.oldest_age(at)) == (1, timedelta(seconds=30))
    assert backlog.due_age(at) == timedelta(seconds=20)  # due again at T0 + 10 s
    assert (waiting.count, waiting.oldest_age(between)) == (1, timedelta(seconds=5))
    assert waiting.due_age(between) == timedelta(0)  # not claimable yet


async def test_expedite_makes_only_retrying_unleased_rows_of_the_channel_due(
    store: Store,
) -> None:
    """A channel delivers again: its rows waiting for a retry are due now; rows not tried
    yet, leased rows and other channels' rows keep their times."""
    retrying, untried, leased = note("alice"), note("bob", due=timedelta(hours=1)), note("carol")
    other = Notification(
        OutboxKey("VAKT-2026-000001", "page", "0:0", "alice", "slack"), T0, T0, "{}"
    )
    await add(store, [retrying, untried, leased, other])
    ids = await claim(store, "w1")
    async with store.transaction() as tx:
        items = {i.id: i for i in await tx.outbox.find()}
        later = T0 + timedelta(minutes=10)
        for item_id in ids:
            if items[item_id].key.recipient == "carol":
                continue  # still leased by w1
            failed = Attempt(item_id, T0, timedelta(0), AttemptOutcome.RETRY, "w1", "421")
            assert await settle(tx, "w1", failed, retry_at=later)
        moved = await tx.outbox.expedite("email", T0 + timedelta(seconds=1))
        after = {i.key.recipient + "/" + i.key.channel: i.due_at for i in await tx.outbox.find()}
    assert moved == 1
    assert after["alice/email"] == T0 + timedelta(seconds=1)
    assert after["bob/email"] == T0 + timedelta(hours=1)
    assert after["alice/slack"] == T0 + timedelta(minutes=10)
