"""Settling a batch of delivery attempts at once (`settle_many`): the same outcome as
settling each row on its own, in a few statements, and never over a lost lease."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from monitor.store import Attempt, AttemptOutcome, Notification, OutboxKey, OutboxStatus, Store
from monitor.store.queries.outbox import Settlement
from tests.store.support import T0

LEASE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def note(recipient: str) -> Notification:
    key = OutboxKey("VAKT-2026-000001", "customer_opened", "0", recipient, "email")
    return Notification(key, created_at=T0, due_at=T0, payload="{}")


async def claimed(store: Store, owner: str, count: int, at: timedelta = timedelta(0)) -> list[int]:
    async with store.transaction() as tx:
        await tx.outbox.add([note(f"person-{i}") for i in range(count)])
    async with store.transaction() as tx:
        return [i.id for i in await tx.outbox.claim(owner, T0 + at, LEASE, limit=count)]


def attempt(item_id: int, outcome: AttemptOutcome, worker: str = "w", error: str = "") -> Attempt:
    return Attempt(item_id, T0 + SECOND, timedelta(milliseconds=20), outcome, worker, error)


async def test_a_batch_marks_each_row_by_its_outcome_and_records_every_attempt(
    store: Store,
) -> None:
    sent, bounced, deferred = await claimed(store, "w", 3)
    retry_at = T0 + timedelta(minutes=5)
    batch = [
        Settlement(attempt(sent, AttemptOutcome.SENT)),
        Settlement(attempt(bounced, AttemptOutcome.FAILED, error="550 no such user")),
        Settlement(attempt(deferred, AttemptOutcome.RETRY, error="421 later"), retry_at),
    ]
    async with store.transaction() as tx:
        assert await tx.outbox.settle_many("w", batch) == []
    async with store.transaction(read_only=True) as tx:
        rows = {i: await tx.outbox.get(i) for i in (sent, bounced, deferred)}
        attempts = {i: await tx.outbox.attempts(i) for i in (sent, bounced, deferred)}
    summary = {
        i: (r.status, r.attempts, r.last_error, r.sent_at, r.due_at, r.lease_owner, r.lease_until)
        for i, r in rows.items()
        if r is not None
    }
    assert summary == {
        sent: (OutboxStatus.SENT, 1, "", T0 + SECOND, T0, "w", None),
        bounced: (OutboxStatus.FAILED, 1, "550 no such user", None, T0, "w", T0 + LEASE),
        deferred: (OutboxStatus.PENDING, 1, "421 later", None, retry_at, None, None),
    }
    assert {i: [a.outcome for a in got] for i, got in attempts.items()} == {
        sent: [AttemptOutcome.SENT],
        bounced: [AttemptOutcome.FAILED],
        deferred: [AttemptOutcome.RETRY],
    }


async def test_rows_whose_lease_was_lost_are_reported_counted_and_left_to_the_new_owner(
    store: Store,
) -> None:
    first, second = await claimed(store, "crashed", 2)
    async with store.transaction() as tx:  # the lease ran out; a rescuer took one row
        (rescued,) = await tx.outbox.claim("rescuer", T0 + LEASE, LEASE, limit=1)
    kept = second if rescued.id == first else first
    late = [
        Settlement(attempt(first, AttemptOutcome.SENT, "crashed")),
        Settlement(attempt(second, AttemptOutcome.SENT, "crashed")),
    ]
    async with store.transaction() as tx:
        assert await tx.outbox.settle_many("crashed", late) == [rescued.id]
    async with store.transaction(read_only=True) as tx:
        taken = await tx.outbox.get(rescued.id)
        settled = await tx.outbox.get(kept)
    assert taken is not None
    assert settled is not None
    assert (taken.status, taken.lease_owner, taken.attempts) == (
        OutboxStatus.PENDING, "rescuer", 1,
    )  # fmt: skip
    assert (settled.status, settled.attempts) == (OutboxStatus.SENT, 1)


async def test_a_large_batch_settles_in_one_transaction(store: Store) -> None:
    ids = await claimed(store, "w", 600)
    batch = [Settlement(attempt(i, AttemptOutcome.SENT)) for i in ids]
    async with store.transaction() as tx:
        assert await tx.outbox.settle_many("w", batch) == []
    async with store.transaction(read_only=True) as tx:
        sent = await tx.outbox.find(status=OutboxStatus.SENT, limit=1000)
    assert sorted(i.id for i in sent) == sorted(ids)
    assert all(i.attempts == 1 and i.sent_at == T0 + SECOND for i in sent)


async def test_a_settled_row_cannot_be_settled_again(store: Store) -> None:
    (item,) = await claimed(store, "w", 1)
    once = [Settlement(attempt(item, AttemptOutcome.SENT))]
    async with store.transaction() as tx:
        assert await tx.outbox.settle_many("w", once) == []
    async with store.transaction() as tx:
        assert await tx.outbox.settle_many("w", once) == [item]


def retry_without_time(item: int) -> list[Settlement]:
    return [Settlement(attempt(item, AttemptOutcome.RETRY))]


def the_same_row_twice(item: int) -> list[Settlement]:
    return [Settlement(attempt(item, AttemptOutcome.SENT))] * 2


@pytest.mark.parametrize("batch", [retry_without_time, the_same_row_twice])
async def test_an_invalid_batch_writes_nothing(
    store: Store, batch: Callable[[int], list[Settlement]]
) -> None:
    (item,) = await claimed(store, "w", 1)
    async with store.transaction() as tx:
        with pytest.raises(ValueError, match=r"retry at|twice"):
            await tx.outbox.settle_many("w", batch(item))
        assert await tx.outbox.attempts(item) == []
        row = await tx.outbox.get(item)
    assert row is not None
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)


async def test_an_empty_batch_is_a_no_op(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.outbox.settle_many("w", []) == []
