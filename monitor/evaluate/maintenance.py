"""Maintenance windows at a given time: one-off windows and recurring ones expanded.

A recurring window (`every: "sun 03:00"`, `duration: 30m`) starts at `at` on its weekday
(every day when the weekday is None) in the window's own time zone, so it follows
daylight-saving changes: 03:00 Oslo time is 03:00 in summer and in winter. It lasts its
`duration` in elapsed time: a 2h window that starts at 01:30 on the night the clocks fall
back ends at 02:30 winter time. A start that does not exist locally (02:30 on the night the
clocks spring forward) is read with the offset before the change. Windows are half-open:
active from start (inclusive) to end (exclusive).

`occurrences_between` is the one expansion of recurring windows: the engine, the
notification planner, the status pages and `vakt maintenance` all call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

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


def occurrences_between(
    maintenance: Maintenance, start: datetime, end: datetime
) -> Iterator[ActiveWindow]:
    """Every occurrence of `maintenance` that overlaps [`start`, `end`], oldest first, with
    start and end in UTC. An occurrence that contains `start` counts, and so does one that
    begins exactly at `end` (so `start == end` asks what is in effect at that instant)."""
    if maintenance.recurrence is None:
        if maintenance.start is not None and maintenance.end is not None:
            window = ActiveWindow(
                maintenance, maintenance.start.astimezone(UTC), maintenance.end.astimezone(UTC)
            )
            if window.start <= end and window.end > start:
                yield window
        return
    duration = maintenance.duration or timedelta(0)
    zone = maintenance.timezone
    # From the first local day whose occurrence could still run at `start`; a day either
    # side covers zone offsets and the hour a DST change moves.
    day = (start - duration).astimezone(zone).date() - _DAY
    last = end.astimezone(zone).date() + _DAY
    while day <= last:
        if maintenance.recurrence.weekday in (None, day.weekday()):
            begins = _local_start(day, maintenance)
            if begins <= end and begins + duration > start:
                yield ActiveWindow(maintenance, begins, begins + duration)
        day += _DAY


def _local_start(day: date, maintenance: Maintenance) -> datetime:
    """The occurrence's start on local `day`, as an instant in UTC."""
    assert maintenance.recurrence is not None
    return datetime.combine(day, maintenance.recurrence.at, tzinfo=maintenance.timezone).astimezone(
        UTC
    )


def occurrences(maintenance: Maintenance, now: datetime) -> Iterator[ActiveWindow]:
    """Occurrences of `maintenance` in effect at `now`."""
    return occurrences_between(maintenance, now, now)


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
