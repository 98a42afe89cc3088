"""The probe inbox (cluster mode): results written by every instance, read and deleted
by the leader's engine; bounded, keeping the newest rows."""

from __future__ import annotations

from datetime import timedelta

from monitor.model import ErrorCode, ProbeResult, Timings, Verdict
from monitor.store import Store
from monitor.store.queries.inbox import decode, encode
from tests.store.support import T0


def probe(n: int, location: str = "oslo") -> ProbeResult:
    return ProbeResult(
        check_id=f"acme/shop/c{n}",
        verdict=Verdict.FAILED if n % 2 else Verdict.OK,
        started_at=T0 + timedelta(seconds=n),
        timings=Timings(dns=0.01, connect=0.02, tls=None, first_byte=0.1, total=0.2),
        location=location,
        error=ErrorCode.HTTP_STATUS if n % 2 else None,
        detail="HTTP 500" if n % 2 else "",
        status_code=500 if n % 2 else 200,
        response_bytes=12,
        cert_not_after=T0 + timedelta(days=30),
        address="127.0.0.1",
    )


def test_a_result_survives_the_round_trip() -> None:
    for n in (1, 2):
        assert decode(encode(probe(n))) == probe(n)
    bare = ProbeResult("a/b/c", Verdict.OK, T0, Timings(total=0.1), "frankfurt")
    assert decode(encode(bare)) == bare


async def test_rows_are_taken_oldest_first_and_consumed_by_id(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.inbox.add("m:1", [probe(n) for n in range(5)], cap=100) == 0
        assert await tx.inbox.add("m:2", [probe(9, "frankfurt")], cap=100) == 0
    async with store.transaction(read_only=True) as tx:
        rows = await tx.inbox.take(3)
        assert [r.result for r in rows] == [probe(0), probe(1), probe(2)]
        rest = await tx.inbox.take(10, skip={r.id for r in rows})
        assert [r.result for r in rest] == [probe(3), probe(4), probe(9, "frankfurt")]
    async with store.transaction() as tx:
        assert await tx.inbox.consume([r.id for r in rows]) == 3
    async with store.transaction(read_only=True) as tx:
        assert await tx.inbox.count() == 3


async def test_the_inbox_keeps_the_newest_rows_within_its_cap(store: Store) -> None:
    dropped = 0
    for start in range(0, 30, 10):
        async with store.transaction() as tx:
            dropped += await tx.inbox.add("m:1", [probe(n) for n in range(start, start + 10)], 12)
    async with store.transaction(read_only=True) as tx:
        rows = await tx.inbox.take(100)
    assert dropped == 18
    assert [r.result.check_id for r in rows] == [f"acme/shop/c{n}" for n in range(18, 30)]
