"""5-minute aggregates: counts by verdict and a fixed latency histogram, mergeable by sums.

Every successful probe is not kept; instead each (check, location, 5-minute bucket) keeps
how many probes were ok, degraded and failed, and how the latencies of the ok and degraded
ones fell into fixed buckets. Because the buckets never change, any set of aggregates
merges by adding them up: twelve buckets into an hour, a month of them into an SLA report.
Failed probes are counted but not put into the histogram: a timeout's "latency" is the
timeout, not the site's speed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from monitor.model import ProbeResult, Verdict

BUCKET = timedelta(minutes=5)

LATENCY_BOUNDS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Upper bounds (seconds, inclusive) of the histogram buckets; one more bucket holds the rest."""

BUCKET_COUNT = len(LATENCY_BOUNDS) + 1

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_start(at: datetime) -> datetime:
    """The start of the 5-minute bucket (UTC) that `at` falls in: the same object for
    every time in a recent bucket (each check's open aggregate keeps it: one datetime,
    not one a check)."""
    return _bucket(int((at.astimezone(UTC) - _EPOCH) // BUCKET))


@lru_cache(maxsize=64)
def _bucket(offset: int) -> datetime:
    return _EPOCH + offset * BUCKET


def latency_bucket(seconds: float) -> int:
    """Index of the histogram bucket for a latency: the first bound it does not exceed."""
    return bisect_left(LATENCY_BOUNDS, seconds)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Probe counts and latency histogram of one check at one location over [start, +5 min).

    A merged aggregate (a month, all locations) keeps the earliest start of its parts.
    """

    check_id: str
    location: str
    start: datetime
    ok: int = 0
    degraded: int = 0
    failed: int = 0
    latency_sum: float = 0.0  # seconds, over the ok and degraded probes
    buckets: tuple[int, ...] = (0,) * BUCKET_COUNT

    def __post_init__(self) -> None:
        if len(self.buckets) != BUCKET_COUNT:
            raise ValueError(f"an aggregate has {BUCKET_COUNT} latency buckets")

    @property
    def total(self) -> int:
        return self.ok + self.degraded + self.failed

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.check_id, self.location, self.start)

    def merge(self, other: Aggregate) -> Aggregate:
        """The sum of two aggregates (same check; any buckets, any locations)."""
        return Aggregate(
            check_id=self.check_id,
            location=self.location if self.location == other.location else "*",
            start=min(self.start, other.start),
            ok=self.ok + other.ok,
            degraded=self.degraded + other.degraded,
            failed=self.failed + other.failed,
            latency_sum=self.latency_sum + other.latency_sum,
            buckets=_shared(tuple(a + b for a, b in zip(self.buckets, other.buckets, strict=True))),
        )

    def quantile(self, q: float) -> float | None:
        """The upper bound of the bucket holding the q-quantile latency; None without data.

        Beyond the last bound the answer is `inf`. Coarse by design: good enough to
        compare against a baseline measured the same way.
        """
        measured = sum(self.buckets)
        if measured == 0:
            return None
        rank = q * measured
        seen = 0
        for index, count in enumerate(self.buckets):
            seen += count
            if seen >= rank and count:
                return LATENCY_BOUNDS[index] if index < len(LATENCY_BOUNDS) else float("inf")
        return float("inf")


def fold(results: Iterable[ProbeResult]) -> list[Aggregate]:
    """Aggregate probe results into one `Aggregate` per (check, location, 5-minute bucket)."""
    folded: dict[tuple[str, str, datetime], list[int | float]] = {}
    for result in results:
        if not result.is_evidence:  # Vakt's own trouble is not the target's downtime
            continue
        key = (result.check_id, result.location, bucket_start(result.started_at))
        row = folded.setdefault(key, [0, 0, 0, 0.0, *([0] * BUCKET_COUNT)])
        if result.verdict is Verdict.FAILED:
            row[2] += 1
            continue
        row[0 if result.verdict is Verdict.OK else 1] += 1
        row[3] += result.timings.total
        row[4 + latency_bucket(result.timings.total)] += 1
    return [
        Aggregate(
            check_id=check_id,
            location=location,
            start=start,
            ok=int(row[0]),
            degraded=int(row[1]),
            failed=int(row[2]),
            latency_sum=float(row[3]),
            buckets=_shared(tuple(int(n) for n in row[4:])),
        )
        for (check_id, location, start), row in folded.items()
    ]


@lru_cache(maxsize=1024)
def _shared(buckets: tuple[int, ...]) -> tuple[int, ...]:
    """The first histogram seen equal to `buckets`: each check's open aggregate holds a
    few probes, nearly all in one bucket, so the engine's 100,000 open aggregates hold a
    handful of distinct histograms (a 9-tuple is 112 bytes). Tuples are immutable."""
    return buckets


def merge_all(aggregates: Iterable[Aggregate]) -> list[Aggregate]:
    """Merge aggregates that share a key (check, location, start); order of first sight."""
    merged: dict[tuple[str, str, datetime], Aggregate] = {}
    for aggregate in aggregates:
        seen = merged.get(aggregate.key)
        merged[aggregate.key] = aggregate if seen is None else seen.merge(aggregate)
    return list(merged.values())
