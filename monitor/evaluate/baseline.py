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
import sys
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Final

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
    """One UTC hour of baseline samples: sparse `(bucket, count)` pairs, sorted (a view
    of what `LatencyBaseline` keeps packed)."""

    start: datetime
    counts: tuple[tuple[int, int], ...]

    @property
    def total(self) -> int:
        return sum(c for _, c in self.counts)


@dataclass(frozen=True, slots=True)
class SlowFinding:
    """A check whose short-window median is `factor`+ times its baseline median."""

    check_id: str
    median: float  # seconds, over the short window
    baseline: float  # seconds, the baseline median
    over: timedelta


# Packed forms (one object per check, not one per sample, pair or hour: at 100,000 checks
# the tuples of tuples cost ~700 bytes a check after two probes and ~75 KiB after a week):
# an hour is `bytes` of uint32 [hour since the epoch, bucket, count, bucket, count...];
# the totals are uint32 [bucket, count...]; the short window is int64 microseconds since
# the epoch beside float64 seconds.
_U32: Final = "I"
_I64: Final = "q"
_F64: Final = "d"
_EMPTY = b""
_HEAD = 8  # `rest`'s header: uint32 words of totals, uint32 0 (the window stays 8-aligned)
_PAD = bytes(4)


def _totals_end(rest: bytes) -> int:
    """Where `rest`'s totals end and its window begins."""
    return _HEAD + 4 * int.from_bytes(rest[:4], sys.byteorder) if rest else 0


def _rest(totals: bytes, times: array[int], values: array[float]) -> bytes:
    """`LatencyBaseline.rest` of packed totals and the short window."""
    if not totals and not times:
        return _EMPTY
    head = (len(totals) // 4).to_bytes(4, sys.byteorder) + _PAD
    return b"".join((head, totals, times, values))


def _unpack_rest(rest: bytes) -> tuple[bytes, array[int], array[float]]:
    """`rest`'s packed totals, and its short window's times and values (copies)."""
    times, values = array(_I64), array(_F64)
    if not rest:
        return _EMPTY, times, values
    end = _totals_end(rest)
    middle = end + (len(rest) - end) // 2
    view = memoryview(rest)
    times.frombytes(view[end:middle])
    values.frombytes(view[middle:])
    return rest[_HEAD:end], times, values


@dataclass(frozen=True, slots=True)
class LatencyBaseline:
    """A check's latency history: hourly baseline histograms and the short window.

    `hours` are the packed hourly histograms, oldest first; `rest` packs the rest in one
    `bytes` (one object, not three: ~90 bytes a check less): `packed_totals`, the hours'
    sum, kept in step so the median costs O(BUCKETS), not O(hours x BUCKETS), per probe;
    `times`/`values` the short window's samples. Immutable: `observe` returns a new one.
    `slots`, `recent` and `totals` give them unpacked.
    """

    hours: tuple[bytes, ...] = ()
    rest: bytes = _EMPTY  # uint32 [words of totals, 0], the totals, int64 times, float64 values

    @property
    def packed_totals(self) -> bytes:
        return self.rest[_HEAD : _totals_end(self.rest)]

    @property
    def times(self) -> bytes:
        rest = self.rest
        end = _totals_end(rest)
        return rest[end : end + (len(rest) - end) // 2]

    @property
    def values(self) -> bytes:
        rest = self.rest
        end = _totals_end(rest)
        return rest[end + (len(rest) - end) // 2 :]

    @property
    def slots(self) -> tuple[BaselineSlot, ...]:
        return tuple(_unpack_hour(hour) for hour in self.hours)

    @property
    def recent(self) -> tuple[tuple[datetime, float], ...]:
        times, values = array(_I64, self.times), array(_F64, self.values)
        return tuple((_from_micros(t), v) for t, v in zip(times, values, strict=True))

    @property
    def totals(self) -> tuple[tuple[int, int], ...]:
        return _pairs_of(array(_U32, self.packed_totals))

    def observe(
        self, at: datetime, seconds: float, rule: SlowRule, *, in_incident: bool = False
    ) -> LatencyBaseline:
        """Record one successful probe's latency taken at `at`.

        The sample always enters the short window. It enters the baseline only outside
        incidents and while the short window is not above the threshold (the freeze).
        """
        packed_totals, times, values = _unpack_rest(self.rest)
        first = max(bisect_right(times, _micros(at - rule.over)), len(times) + 1 - MAX_RECENT)
        del times[:first], values[:first]
        times.append(_micros(at))
        values.append(seconds)
        # Hours are in time order, so expired ones are a prefix: look at the oldest only.
        oldest_kept = _hour_of(at - rule.baseline)
        hours = self.hours
        expired = 0
        while expired < len(hours) and _start_of(hours[expired]) < oldest_kept:
            expired += 1
        totals = _counts(packed_totals)
        for hour in hours[:expired]:
            _merge(totals, _counts(hour, 1).items(), -1)
        kept = hours[expired:]
        packed_totals = _pack_pairs(totals) if expired else packed_totals
        # the freeze: the window (what is kept now ends at `at`) above the threshold
        short = median(values) if len(values) >= MIN_RECENT else None
        base = _histogram_median(totals)
        frozen = short is not None and base is not None and short > rule.factor * base
        if in_incident or frozen:
            return LatencyBaseline(kept, _rest(packed_totals, times, values))
        index = bucket_of(seconds)
        totals[index] = totals.get(index, 0) + 1
        return LatencyBaseline(
            _add_to_hours(kept, _hour_of(at), index), _rest(_pack_pairs(totals), times, values)
        )

    def baseline_median(self) -> float | None:
        """The baseline median in seconds, or None before `MIN_BASELINE` samples."""
        return _histogram_median(_counts(self.packed_totals))

    def short_median(self, now: datetime, rule: SlowRule) -> float | None:
        """The exact median over the last `rule.over`, or None with under `MIN_RECENT`."""
        times = memoryview(self.times).cast(_I64)
        start = bisect_right(times, _micros(now - rule.over))
        if len(times) - start < MIN_RECENT:
            return None
        return median(memoryview(self.values).cast(_F64)[start:])

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
        return cls(
            tuple(_pack_hour(_hour_of(s.start), dict(s.counts)) for s in slots),
            _rest(
                _pack_pairs(totals),
                array(_I64, [_micros(t) for t, _ in recent]),
                array(_F64, [v for _, v in recent]),
            ),
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _MICRO


def _from_micros(value: int) -> datetime:
    return _EPOCH + value * _MICRO


def _hour_of(at: datetime) -> int:
    """The UTC hour `at` falls in, counted from the epoch."""
    return (at - _EPOCH) // SLOT


def _start_of(hour: bytes) -> int:
    return array(_U32, hour[:4])[0]


def _pairs_of(flat: array[int]) -> tuple[tuple[int, int], ...]:
    return tuple(zip(flat[::2], flat[1::2], strict=True))


def _counts(packed: bytes, skip: int = 0) -> dict[int, int]:
    """Packed `(bucket, count)` pairs (after `skip` leading numbers) as a dict."""
    flat = array(_U32, packed)
    return dict(zip(flat[skip::2], flat[skip + 1 :: 2], strict=True))


def _pack_pairs(counts: Mapping[int, int]) -> bytes:
    return array(_U32, [n for pair in sorted(counts.items()) for n in pair]).tobytes()


def _pack_hour(hour: int, counts: Mapping[int, int]) -> bytes:
    return array(_U32, [hour]).tobytes() + _pack_pairs(counts)


def _unpack_hour(hour: bytes) -> BaselineSlot:
    flat = array(_U32, hour)
    return BaselineSlot(_EPOCH + flat[0] * SLOT, _pairs_of(flat[1:]))


def _add_to_hours(hours: tuple[bytes, ...], hour: int, index: int) -> tuple[bytes, ...]:
    """`hours` with one more sample in bucket `index` of `hour` (the last, or a new one)."""
    if hours and _start_of(hours[-1]) == hour:
        counts = _counts(hours[-1], 1)
        counts[index] = counts.get(index, 0) + 1
        return (*hours[:-1], _pack_hour(hour, counts))
    return (*hours, _pack_hour(hour, {index: 1}))


def _merge(totals: dict[int, int], counts: Iterable[tuple[int, int]], sign: int) -> None:
    """Add (sign 1) or remove (sign -1) a slot's counts; empty buckets are dropped."""
    for index, count in counts:
        left = totals.get(index, 0) + sign * count
        if left:
            totals[index] = left
        else:
            totals.pop(index, None)


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
