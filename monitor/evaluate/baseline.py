"""Per-check latency baseline and the "much slower than normal" rule (Level B).

DESIGN.md: a site is slow when the median latency over `slow.over` is above
`slow.factor` x the check's baseline median and above `slow.min`. The baseline is the
check's median over `slow.baseline` of non-incident time, frozen while the short
window is above the threshold, so a slow ramp still fires.

Bounded memory, and the approximation it costs:
- the baseline is a sparse histogram per UTC hour, with fixed geometric buckets
  (ratio 1.1 from 1 ms up to ~3 min); at most `baseline / 1 h + 1` hours are kept, each
  with at most `BUCKETS` counters. The median is the geometric middle of the bucket that
  holds it, so it is within 5 % of the exact median of the same samples. Hours slide
  out whole, so the window is `baseline` plus at most one hour.
- the short window keeps raw samples (at most `MAX_RECENT`, newest kept), so its
  median is exact.
The value is immutable; `observe` returns a new one. `to_json`/`from_json` persist it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import median

from monitor.config.records import SlowRule

RATIO = 1.1
FLOOR = 0.001  # seconds: bucket 0 holds everything up to 1 ms
BUCKETS = 128  # bucket 127 holds everything above ~3 minutes
SLOT = timedelta(hours=1)
MAX_RECENT = 512
MIN_RECENT = 2  # samples in the short window before it is judged (an `over` of 2+ intervals)
MIN_BASELINE = 30  # samples in the baseline before it is trusted
FORMAT = 1


def bucket_of(seconds: float) -> int:
    """The fixed bucket for a latency: bucket i >= 1 holds (FLOOR·R^(i-1), FLOOR·R^i]."""
    if seconds <= FLOOR:
        return 0
    index = math.ceil(math.log(seconds / FLOOR) / math.log(RATIO) - 1e-9)
    return max(1, min(BUCKETS - 1, index))


def bucket_value(index: int) -> float:
    """The representative latency of a bucket: the geometric middle of its bounds."""
    if index <= 0:
        return FLOOR
    return float(FLOOR * RATIO ** (index - 0.5))


@dataclass(frozen=True, slots=True)
class BaselineSlot:
    """One UTC hour of baseline samples: sparse `(bucket, count)` pairs, sorted."""

    start: datetime
    counts: tuple[tuple[int, int], ...]

    @property
    def total(self) -> int:
        return sum(c for _, c in self.counts)

    def add(self, seconds: float) -> BaselineSlot:
        merged = dict(self.counts)
        index = bucket_of(seconds)
        merged[index] = merged.get(index, 0) + 1
        return BaselineSlot(self.start, tuple(sorted(merged.items())))


@dataclass(frozen=True, slots=True)
class SlowFinding:
    """A check whose short-window median is `factor`+ times its baseline median."""

    check_id: str
    median: float  # seconds, over the short window
    baseline: float  # seconds, the baseline median
    over: timedelta


@dataclass(frozen=True, slots=True)
class LatencyBaseline:
    """A check's latency history: hourly baseline histograms and the short window.

    `totals` is the sum of the slots' histograms, kept in step so the median costs
    O(BUCKETS), not O(hours x BUCKETS), per probe.
    """

    slots: tuple[BaselineSlot, ...] = ()
    recent: tuple[tuple[datetime, float], ...] = ()
    totals: tuple[tuple[int, int], ...] = ()

    def observe(
        self, at: datetime, seconds: float, rule: SlowRule, *, in_incident: bool = False
    ) -> LatencyBaseline:
        """Record one successful probe's latency taken at `at`.

        The sample always enters the short window. It enters the baseline only outside
        incidents and while the short window is not above the threshold (the freeze).
        """
        recent = (*self.recent[_window_start(self.recent, at - rule.over) :], (at, seconds))
        recent = recent[-MAX_RECENT:]
        # Slots are in time order, so expired hours are a prefix: look at the oldest only.
        oldest_kept = _slot_start(at - rule.baseline)
        expired = 0
        while expired < len(self.slots) and self.slots[expired].start < oldest_kept:
            expired += 1
        kept = self.slots[expired:]
        totals = dict(self.totals)
        for slot in self.slots[:expired]:
            _merge(totals, slot.counts, -1)
        moved = LatencyBaseline(kept, recent, tuple(sorted(totals.items())))
        if in_incident or moved.above_threshold(at, rule):
            return moved
        _merge(totals, ((bucket_of(seconds), 1),), 1)
        slots = _add_to_slots(kept, at, seconds)
        return LatencyBaseline(slots, recent, tuple(sorted(totals.items())))

    def baseline_median(self) -> float | None:
        """The baseline median in seconds, or None before `MIN_BASELINE` samples."""
        return _histogram_median(dict(self.totals))

    def short_median(self, now: datetime, rule: SlowRule) -> float | None:
        """The exact median over the last `rule.over`, or None with under `MIN_RECENT`."""
        recent = self.recent
        start = _window_start(recent, now - rule.over)
        if len(recent) - start < MIN_RECENT:
            return None
        return median([s for _, s in recent[start:]])

    def above_threshold(self, now: datetime, rule: SlowRule) -> bool:
        """Short-window median above `factor` x baseline median (the freeze condition)."""
        short, base = self.short_median(now, rule), self.baseline_median()
        return short is not None and base is not None and short > rule.factor * base

    def assess(self, check_id: str, now: datetime, rule: SlowRule) -> SlowFinding | None:
        """A finding when the check is slow at `now`: above the threshold and `rule.min`."""
        short, base = self.short_median(now, rule), self.baseline_median()
        if short is None or base is None:
            return None
        if short > rule.factor * base and short > rule.min.total_seconds():
            return SlowFinding(check_id, short, base, rule.over)
        return None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form for the store."""
        return {
            "v": FORMAT,
            "slots": [[s.start.isoformat(), [list(p) for p in s.counts]] for s in self.slots],
            "recent": [[t.isoformat(), v] for t, v in self.recent],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> LatencyBaseline:
        """Rebuild from `to_json` output; raises ValueError on anything else."""
        if data.get("v") != FORMAT:
            raise ValueError(f"unknown baseline format {data.get('v')!r}")
        slots = tuple(_slot_from_json(item) for item in _list(data.get("slots")))
        recent = tuple(_sample_from_json(item) for item in _list(data.get("recent")))
        totals: dict[int, int] = {}
        for slot in slots:
            _merge(totals, slot.counts, 1)
        return cls(slots, recent, tuple(sorted(totals.items())))


def _sample_time(sample: tuple[datetime, float]) -> datetime:
    return sample[0]


def _window_start(samples: tuple[tuple[datetime, float], ...], after: datetime) -> int:
    """The index of the first sample taken after `after`.

    Samples are in the order they were taken (a check's probes never overlap), so the
    window is a suffix: a binary search costs ~9 comparisons of aware datetimes where a
    scan of the 512 kept samples cost 512, per probe and per flush.
    """
    return bisect_right(samples, after, key=_sample_time)


def _merge(totals: dict[int, int], counts: tuple[tuple[int, int], ...], sign: int) -> None:
    """Add (sign 1) or remove (sign -1) a slot's counts; empty buckets are dropped."""
    for index, count in counts:
        left = totals.get(index, 0) + sign * count
        if left:
            totals[index] = left
        else:
            totals.pop(index, None)


def _slot_start(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _add_to_slots(
    slots: tuple[BaselineSlot, ...], at: datetime, seconds: float
) -> tuple[BaselineSlot, ...]:
    start = _slot_start(at)
    if slots and slots[-1].start == start:
        return (*slots[:-1], slots[-1].add(seconds))
    return (*slots, BaselineSlot(start, ()).add(seconds))


def _histogram_median(counts: Mapping[int, int]) -> float | None:
    total = sum(counts.values())
    if total < MIN_BASELINE:
        return None
    middle = (total + 1) / 2
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= middle:
            return bucket_value(index)
    return None  # unreachable: the loop reaches `total`


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {type(value).__name__}")
    return value


def _pairs(value: object) -> Iterable[tuple[int, int]]:
    for pair in _list(value):
        index, count = _list(pair)
        if not isinstance(index, int) or not isinstance(count, int):
            raise ValueError(f"bad bucket pair {pair!r}")
        yield index, count


def _slot_from_json(item: object) -> BaselineSlot:
    start, pairs = _list(item)
    if not isinstance(start, str):
        raise ValueError(f"bad slot start {start!r}")
    return BaselineSlot(datetime.fromisoformat(start), tuple(_pairs(pairs)))


def _sample_from_json(item: object) -> tuple[datetime, float]:
    at, seconds = _list(item)
    if not isinstance(at, str) or not isinstance(seconds, int | float):
        raise ValueError(f"bad sample {item!r}")
    return datetime.fromisoformat(at), float(seconds)
