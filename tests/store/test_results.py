"""Results: evidence of failures, the bounded ring of recent results, 5-minute aggregates."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from monitor.model import ErrorCode, ProbeResult, Timings, Verdict
from monitor.store import Aggregate, Evidence, Store, fold
from monitor.store.aggregates import merge_all
from tests.store.support import T0


def probe(
    check_id: str = "acme/shop/home",
    at: datetime = T0,
    verdict: Verdict = Verdict.OK,
    total: float = 0.2,
    location: str = "oslo",
) -> ProbeResult:
    error = {Verdict.OK: None, Verdict.DEGRADED: ErrorCode.SLOW, Verdict.FAILED: ErrorCode.TIMEOUT}
    return ProbeResult(
        check_id=check_id,
        verdict=verdict,
        started_at=at,
        timings=Timings(dns=0.01, connect=0.02, total=total),
        location=location,
        error=error[verdict],
        detail=f"{verdict} after {total}s",
        status_code=200 if verdict is not Verdict.FAILED else None,
    )


async def test_failed_and_degraded_results_keep_their_evidence(store: Store) -> None:
    failed = probe(verdict=Verdict.FAILED, total=10.0)
    slow = probe(at=T0 + timedelta(minutes=1), verdict=Verdict.DEGRADED, total=4.0)
    async with store.transaction() as tx:
        await tx.results.add_evidence([Evidence(failed, "no bytes in 10 s"), Evidence(slow)])
    async with store.transaction(read_only=True) as tx:
        kept = await tx.results.evidence("acme/shop/home")
        older = await tx.results.evidence("acme/shop/home", until=T0 + timedelta(seconds=30))
    assert [(e.result, e.evidence) for e in kept] == [(slow, ""), (failed, "no bytes in 10 s")]
    assert [e.result for e in older] == [failed]


async def test_ok_results_are_not_evidence(store: Store) -> None:
    with pytest.raises(ValueError, match="ok results are not kept"):
        async with store.transaction() as tx:
            await tx.results.add_evidence([Evidence(probe())])


async def test_recent_ring_keeps_the_newest_n_per_check(backend_store_ring: Store) -> None:
    store = backend_store_ring  # ring size 5
    first = [probe(at=T0 + timedelta(seconds=i), total=i / 10) for i in range(3)]
    more = [probe(at=T0 + timedelta(seconds=i), total=i / 10) for i in range(3, 12)]
    other = [probe("acme/shop/api", at=T0)]
    async with store.transaction() as tx:
        await tx.results.push_recent(first + other)
    async with store.transaction() as tx:
        assert [r.seq for r in await tx.results.recent("acme/shop/home")] == [2, 1, 0]
        await tx.results.push_recent(more)  # more than the ring holds in one batch
    async with store.transaction(read_only=True) as tx:
        ring = await tx.results.recent("acme/shop/home")
        two = await tx.results.recent("acme/shop/home", limit=2)
        api = await tx.results.recent("acme/shop/api")
        unknown = await tx.results.recent("nobody/none/none")
    assert [r.started_at for r in ring] == [T0 + timedelta(seconds=i) for i in range(11, 6, -1)]
    assert [r.seq for r in two] == [11, 10]
    assert [(r.seq, r.verdict) for r in api] == [(0, Verdict.OK)]
    assert unknown == []


async def test_the_newest_entry_of_each_ring_and_the_entries_since_a_moment(
    backend_store_ring: Store,
) -> None:
    store = backend_store_ring  # ring size 5: 12 results wrap it twice
    home = [probe(at=T0 + timedelta(seconds=i), total=i / 10) for i in range(12)]
    api = [probe("acme/shop/api", at=T0 + timedelta(seconds=3))]
    async with store.transaction() as tx:
        await tx.results.push_recent(home + api)
    async with store.transaction(read_only=True) as tx:
        newest = {r.check_id: r.started_at for r in await tx.results.newest()}
        only_api = await tx.results.newest(["acme/shop/api"])
        since = await tx.results.recent_of(["acme/shop/home"], T0 + timedelta(seconds=9))
        none = await tx.results.recent_of([])
    assert newest == {
        "acme/shop/home": T0 + timedelta(seconds=11),
        "acme/shop/api": api[0].started_at,
    }
    assert [r.check_id for r in only_api] == ["acme/shop/api"]
    assert [r.started_at for r in since] == [T0 + timedelta(seconds=i) for i in (9, 10, 11)]
    assert none == []


@pytest.fixture
async def backend_store_ring(backend):  # type: ignore[no-untyped-def]
    s = backend.store(ring_size=5)
    await s.open()
    await s.upgrade()
    yield s
    await s.close()


async def test_aggregates_add_up_across_batches(store: Store) -> None:
    batch1 = [probe(total=0.05), probe(verdict=Verdict.FAILED, total=10.0)]
    batch2 = [probe(at=T0 + timedelta(minutes=1), verdict=Verdict.DEGRADED, total=3.0)]
    next_bucket = [probe(at=T0 + timedelta(minutes=5), total=0.3)]
    async with store.transaction() as tx:
        await tx.results.add_aggregates(fold(batch1))
    async with store.transaction() as tx:
        await tx.results.add_aggregates(fold(batch2 + next_bucket))
    async with store.transaction(read_only=True) as tx:
        stored = await tx.results.aggregates("acme/shop/home", T0, T0 + timedelta(hours=1))
    assert stored == fold(batch1 + batch2 + next_bucket)
    first = stored[0]
    assert (first.start, first.ok, first.degraded, first.failed) == (T0, 1, 1, 1)
    assert first.latency_sum == pytest.approx(3.05)
    assert sum(first.buckets) == 2  # the failure is counted but not timed


async def test_a_month_rolls_up_to_the_merge_of_its_buckets(store: Store) -> None:
    results = [
        probe(at=T0 + timedelta(minutes=7 * i), verdict=v, total=t, location=loc)
        for i, (v, t, loc) in enumerate(
            [(Verdict.OK, 0.2, "oslo"), (Verdict.OK, 1.2, "frankfurt"),
             (Verdict.FAILED, 10.0, "oslo"), (Verdict.DEGRADED, 6.0, "oslo")] * 20
        )
    ]  # fmt: skip
    async with store.transaction() as tx:
        for start in range(0, len(results), 7):
            await tx.results.add_aggregates(fold(results[start : start + 7]))
    month = (T0.replace(day=1), T0.replace(month=4, day=1))
    async with store.transaction(read_only=True) as tx:
        rollup = await tx.results.rollup("acme/shop/home", *month)
        oslo = await tx.results.rollup("acme/shop/home", *month, location="oslo")
        stored = await tx.results.aggregates("acme/shop/home", *month)
    merged = stored[0]
    for aggregate in stored[1:]:
        merged = merged.merge(aggregate)
    assert (rollup.ok, rollup.degraded, rollup.failed) == (40, 20, 20)
    assert rollup.buckets == merged.buckets
    assert rollup.latency_sum == pytest.approx(merged.latency_sum)
    assert (oslo.ok, oslo.failed, oslo.location) == (20, 20, "oslo")
    assert rollup.location == "*"


async def test_rollup_of_an_empty_range_is_zero(store: Store) -> None:
    async with store.transaction(read_only=True) as tx:
        empty = await tx.results.rollup("acme/shop/home", T0, T0 + timedelta(days=1))
    assert empty == Aggregate("acme/shop/home", "*", T0)
    assert empty.quantile(0.5) is None


def test_merging_duplicate_keys_before_upsert_keeps_every_count() -> None:
    a = fold([probe()])[0]
    assert merge_all([a, a, a]) == [a.merge(a).merge(a)]


async def test_newest_evidence_of_many_checks_is_each_checks_newest_since(store: Store) -> None:
    rows = [
        probe("a/s/one", T0, Verdict.FAILED),
        probe("a/s/one", T0 + timedelta(minutes=2), Verdict.DEGRADED),
        probe("a/s/two", T0 - timedelta(minutes=5), Verdict.FAILED),  # before `since`
        probe("a/s/three", T0 + timedelta(minutes=1), Verdict.FAILED),
    ]
    async with store.transaction() as tx:
        await tx.results.add_evidence([Evidence(r) for r in rows])
    async with store.transaction(read_only=True) as tx:
        many = await tx.results.newest_evidence(["a/s/one", "a/s/two", "a/s/three"], since=T0)
        one = {
            cid: found[0]
            for cid in ("a/s/one", "a/s/two", "a/s/three")
            if (found := await tx.results.evidence(cid, since=T0, limit=1))
        }
    assert many == one
    assert sorted(many) == ["a/s/one", "a/s/three"]
    assert many["a/s/one"].result == rows[1]
