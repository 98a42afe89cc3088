"""Maintenance windows at a given time: one-off windows and recurring ones expanded.

A recurring window (`every: "sun 03:00"`, `duration: 30m`) starts at `at` on its weekday
(every day when the weekday is None) in the window's own time zone, so it follows
daylight-saving changes: 03:00 Oslo time is 03:00 in summer and in winter. Windows are
half-open: active from start (inclusive) to end (exclusive).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config.records import Maintenance

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ActiveWindow:
    """One occurrence of a maintenance window, with aware start and end."""

    maintenance: Maintenance
    start: datetime
    end: datetime

    def contains(self, now: datetime) -> bool:
        return self.start <= now < self.end


def occurrences(maintenance: Maintenance, now: datetime) -> Iterator[ActiveWindow]:
    """Occurrences of `maintenance` that could contain `now` (recurring: the candidates)."""
    if maintenance.recurrence is None:
        if maintenance.start is not None and maintenance.end is not None:
            yield ActiveWindow(maintenance, maintenance.start, maintenance.end)
        return
    duration = maintenance.duration or timedelta(0)
    local_today = now.astimezone(maintenance.timezone).date()
    # Every start that could still be running now: back as many days as the duration spans.
    for back in range(duration // _DAY + 2):
        day = local_today - back * _DAY
        weekday = maintenance.recurrence.weekday
        if weekday is not None and day.weekday() != weekday:
            continue
        start = datetime.combine(day, maintenance.recurrence.at, tzinfo=maintenance.timezone)
        yield ActiveWindow(maintenance, start, start + duration)


def active_windows(maintenances: Iterable[Maintenance], now: datetime) -> tuple[ActiveWindow, ...]:
    """Every window occurrence that contains `now` (aware)."""
    return tuple(w for m in maintenances for w in occurrences(m, now) if w.contains(now))


def in_maintenance(maintenances: Iterable[Maintenance], site_id: str, now: datetime) -> bool:
    """True when a window covering `site_id` is active at `now`."""
    return any(w.maintenance.covers(site_id) for w in active_windows(maintenances, now))


def maintenance_ended(
    maintenances: Iterable[Maintenance], site_id: str, previous: datetime, now: datetime
) -> bool:
    """True when `site_id` was in maintenance at `previous` and is not at `now`.

    The engine evaluates such a site at once (DESIGN.md: when a window ends on a site
    still failing, it is evaluated at once).
    """
    windows = tuple(maintenances)
    return in_maintenance(windows, site_id, previous) and not in_maintenance(windows, site_id, now)
