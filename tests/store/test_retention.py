"""Retention deletes old rows in small batches and never touches what is still owed."""

from __future__ import annotations

from datetime import timedelta

from monitor.model import CheckState, ProbeResult, Timings, Verdict
from monitor.store import (
    Attempt,
    AttemptOutcome,
    CheckChange,
    Evidence,
    Notification,
    OutboxKey,
    Retained,
    Store,
    fold,
)
from tests.store.support import T0, settle

DAY = timedelta(days=1)


def failure(i: int) -> Evidence:
    at = T0 + timedelta(minutes=i)
    return Evidence(ProbeResult("acme/shop/home", Verdict.FAILED, at, Timings(total=1), "oslo"))


async def test_old_results_are_deleted_in_batches(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.results.add_evidence([failure(i) for i in range(25)])
    cutoff = T0 + timedelta(minutes=20)
    async with store.transaction() as tx:
        assert await tx.retention.delete_batch(Retained.RESULTS, cutoff, batch=8) == 8
    assert await store.purge(Retained.RESULTS, cutoff, batch=8) == 12
    async with store.transaction(read_only=True) as tx:
        left = await tx.results.evidence("acme/shop/home")
    assert [e.result.started_at for e in left] == [
        T0 + timedelta(minutes=i) for i in range(24, 19, -1)
    ]


async def test_purging_changes_and_aggregates(store: Store) -> None:
    old, new = T0 - 40 * DAY, T0
    change = CheckChange("acme/shop/home", "oslo", old, CheckState.OK, CheckState.FAILING)
    probes = [ProbeResult("acme/shop/home", Verdict.OK, at, Timings(total=1), "oslo")
              for at in (old, new)]  # fmt: skip
    async with store.transaction() as tx:
        await tx.checks.append_changes([change, CheckChange(**{**_fields(change), "at": new})])
        await tx.results.add_aggregates(fold(probes))
    assert await store.purge(Retained.CHECK_CHANGES, T0 - DAY, batch=1) == 1
    assert await store.purge(Retained.AGGREGATES, T0 - DAY) == 1
    async with store.transaction(read_only=True) as tx:
        assert [c.at for c in await tx.checks.changes("acme/shop/home")] == [new]
        assert [a.start for a in await tx.results.aggregates("acme/shop/home", old, T0 + DAY)] == [
            new
        ]


def _fields(change: CheckChange) -> dict[str, object]:
    return {name: getattr(change, name) for name in CheckChange.__slots__}


async def test_settled_notifications_go_with_their_attempts_but_pending_ones_stay(
    store: Store,
) -> None:
    def n(recipient: str) -> Notification:
        return Notification(OutboxKey("VAKT-2026-000001", "page", "0:0", recipient, "email"),
                            created_at=T0 - 40 * DAY, due_at=T0 - 40 * DAY)  # fmt: skip

    async with store.transaction() as tx:
        await tx.outbox.add([n("alice"), n("bob")])
        (first,) = await tx.outbox.claim("w", T0 - 40 * DAY, timedelta(minutes=1), limit=1)
        sent = Attempt(first.id, T0 - 40 * DAY, timedelta(seconds=1), AttemptOutcome.SENT, "w")
        assert await settle(tx, "w", sent)
    assert await store.purge(Retained.OUTBOX, T0 - DAY) == 1
    async with store.transaction(read_only=True) as tx:
        left = await tx.outbox.find()
        assert await tx.outbox.attempts(first.id) == []
    assert [i.key.recipient for i in left] == ["bob"]  # alice's was due first and sent
