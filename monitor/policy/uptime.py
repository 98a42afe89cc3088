"""Availability over a period: the one rule the status pages (and the monthly reports)
use, so a page never says "Major outage" over a green bar and "100 % uptime".

    uptime = time not at Level A / time with data

Time with data is the part of the period the probes covered (their 5-minute buckets),
less maintenance. Level B time counts as up but is reported on its own as `degraded`.
Pure: intervals in, durations out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from monitor.model import Level

Interval = tuple[datetime, datetime]  # [start, end)


@dataclass(frozen=True, slots=True)
class LevelChange:
    """From `at` on, the site is at `level` (None: up)."""

    at: datetime
    level: Level | None


@dataclass(frozen=True, slots=True)
class Availability:
    """Durations within a period: `observed` (with data, maintenance left out), of it
    `down` (at Level A) and `degraded` (at Level B); `maintenance` (left out)."""

    observed: timedelta = timedelta(0)
    down: timedelta = timedelta(0)
    degraded: timedelta = timedelta(0)
    maintenance: timedelta = timedelta(0)

    @property
    def uptime(self) -> float | None:
        """Time not at Level A over time with data; None without data."""
        if self.observed <= timedelta(0):
            return None
        return (self.observed - self.down) / self.observed

    @property
    def degraded_share(self) -> float | None:
        if self.observed <= timedelta(0):
            return None
        return self.degraded / self.observed


def availability(
    period: Interval,
    covered: Sequence[Interval],
    maintenance: Sequence[Interval],
    levels: Sequence[LevelChange],
    level_before: Level | None = None,
) -> Availability:
    """Availability within `period`. `covered`: when probes ran (any order, may overlap);
    `maintenance`: left out of the period; `levels`: the level changes (any order),
    `level_before` the level before the first of them."""
    start, end = period
    if end <= start:
        return Availability()
    data, held_out = _merged(covered, period), _merged(maintenance, period)
    changes = sorted(levels, key=lambda c: c.at)
    cuts = {start, end, *(c.at for c in changes if start < c.at < end)}
    for a, b in (*data, *held_out):
        cuts.update((a, b))
    points = sorted(cuts)
    observed = down = degraded = held = timedelta(0)
    in_data, in_held = _Cursor(data), _Cursor(held_out)
    level, upcoming = level_before, iter(changes)
    change = next(upcoming, None)
    for a, b in pairwise(points):
        while change is not None and change.at <= a:
            level, change = change.level, next(upcoming, None)
        if not in_data.covers(a):
            continue
        if in_held.covers(a):
            held += b - a
            continue
        observed += b - a
        down += b - a if level is Level.A else timedelta(0)
        degraded += b - a if level is Level.B else timedelta(0)
    return Availability(observed, down, degraded, held)


def _merged(intervals: Sequence[Interval], period: Interval) -> list[Interval]:
    """The intervals clipped to `period`, sorted, overlapping or touching ones joined."""
    start, end = period
    clipped = sorted((max(a, start), min(b, end)) for a, b in intervals if a < end and b > start)
    joined: list[Interval] = []
    for a, b in clipped:
        if joined and a <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], b))
        else:
            joined.append((a, b))
    return joined


class _Cursor:
    """Membership of increasing moments in sorted, disjoint intervals, in one pass."""

    __slots__ = ("_at", "_intervals")

    def __init__(self, intervals: list[Interval]) -> None:
        self._intervals = intervals
        self._at = 0

    def covers(self, moment: datetime) -> bool:
        while self._at < len(self._intervals) and self._intervals[self._at][1] <= moment:
            self._at += 1
        return self._at < len(self._intervals) and self._intervals[self._at][0] <= moment
