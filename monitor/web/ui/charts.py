"""Inline SVG charts (no script, no external library): a sparkline and a latency chart.

Coordinates only; the look comes from CSS classes, so the CSP needs no inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.store.queries.web import SeriesPoint


@dataclass(frozen=True, slots=True)
class Chart:
    """An SVG polyline `points` string in a `width` x `height` box, with failure marks."""

    width: int
    height: int
    points: str
    failures: tuple[float, ...]  # x positions of buckets with failed probes
    peak: float | None  # seconds at the top of the box

    @property
    def empty(self) -> bool:
        return not self.points


def bucketed(
    points: Sequence[SeriesPoint], start: datetime, step: timedelta, count: int
) -> list[tuple[float | None, int]]:
    """Mean latency (seconds) and failed probes per `step` from `start`, `count` steps."""
    sums = [0.0] * count
    measured = [0] * count
    failed = [0] * count
    for point in points:
        index = int((point.start - start) / step)
        if 0 <= index < count:
            sums[index] += point.latency_sum
            measured[index] += point.ok + point.degraded
            failed[index] += point.failed
    return [(sums[i] / measured[i] if measured[i] else None, failed[i]) for i in range(count)]


def chart(
    values: Sequence[tuple[float | None, int]], *, width: int = 120, height: int = 24
) -> Chart:
    measured = [v for v, _ in values if v is not None]
    peak = max(measured, default=None)
    if not values or peak is None:
        return Chart(width, height, "", (), None)
    scale = peak or 1.0
    dx = width / max(len(values) - 1, 1)
    coords = [
        f"{i * dx:.1f},{height - 1 - (v / scale) * (height - 2):.1f}"
        for i, (v, _) in enumerate(values)
        if v is not None
    ]
    if len(coords) == 1:  # one measured bucket: a short flat stroke, not an invisible dot
        x, y = (float(n) for n in coords[0].split(","))
        coords.append(f"{x - 3 if x >= 3 else x + 3:.1f},{y:.1f}")
    failures = tuple(round(i * dx, 1) for i, (_, f) in enumerate(values) if f)
    return Chart(width, height, " ".join(coords), failures, peak)
