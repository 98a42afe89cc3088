"""The aggregate algebra: buckets are fixed, so any split of the results merges to the same sums."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.model import ProbeResult, Timings, Verdict
from monitor.store import LATENCY_BOUNDS, bucket_start, fold
from monitor.store.aggregates import latency_bucket, merge_all
from tests.store.support import T0

results = st.lists(
    st.builds(
        lambda minute, verdict, total, location: ProbeResult(
            check_id="acme/shop/home",
            verdict=verdict,
            started_at=T0 + timedelta(seconds=minute),
            timings=Timings(total=total),
            location=location,
        ),
        st.integers(0, 3600),
        st.sampled_from(list(Verdict)),
        st.floats(0, 60, allow_nan=False),
        st.sampled_from(["oslo", "frankfurt"]),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(results, st.integers(0, 40))
def test_aggregating_in_any_two_batches_equals_aggregating_at_once(
    probes: list[ProbeResult], split: int
) -> None:
    def key(aggregates: list) -> list:  # type: ignore[type-arg]
        return sorted(
            (a.key, a.ok, a.degraded, a.failed, a.buckets, round(a.latency_sum, 6))
             for a in aggregates
        )  # fmt: skip

    together = fold(probes)
    apart = merge_all(fold(probes[:split]) + fold(probes[split:]))
    assert key(apart) == key(together)
    assert sum(a.total for a in together) == len(probes)


@pytest.mark.parametrize(
    ("seconds", "bucket"),
    [(0.0, 0), (0.1, 0), (0.1001, 1), (1.0, 3), (30.0, 7), (30.01, 8), (999.0, 8)],
)
def test_latency_bucket_bounds_are_inclusive(seconds: float, bucket: int) -> None:
    assert latency_bucket(seconds) == bucket
    assert len(LATENCY_BOUNDS) == 8


def test_buckets_are_five_minutes_aligned_in_utc() -> None:
    assert bucket_start(T0 + timedelta(minutes=4, seconds=59)) == T0
    assert bucket_start(T0 + timedelta(minutes=5)) == T0 + timedelta(minutes=5)


def test_quantile_reports_the_bucket_bound() -> None:
    probes = [
        ProbeResult("c", Verdict.OK, T0, Timings(total=t), "oslo") for t in (0.05, 0.2, 0.2, 3.0)
    ]
    (aggregate,) = fold(probes)
    assert aggregate.quantile(0.5) == 0.25
    assert aggregate.quantile(1.0) == 5.0
    assert aggregate.quantile(0.0) == 0.1


def test_checks_with_equal_histograms_share_one_tuple_and_one_bucket_start() -> None:
    """100,000 open aggregates hold a handful of distinct histograms: one object each."""
    probes = [
        ProbeResult(
            check_id=f"acme/site-{n}/home",
            verdict=Verdict.OK,
            started_at=T0 + timedelta(seconds=n),
            timings=Timings(total=0.05),
            location="oslo",
        )
        for n in range(3)
    ]
    first, second, third = fold(probes[:2]) + fold(probes[2:])
    assert first.buckets == second.buckets == third.buckets
    assert first.buckets is second.buckets is third.buckets
    assert first.start is second.start is third.start
    merged = first.merge(second)
    assert merged.buckets == (2, 0, 0, 0, 0, 0, 0, 0, 0)
    assert merged.buckets is first.merge(third).buckets
