"""What a site's availability is computed from, read out of the config and the store.

One reader for the status pages (`monitor.web.public.statusdata`) and the monthly reports
(`monitor.reports.gather`), so both compute `monitor.policy.uptime.availability` from the
same facts: which checks count, the 5-minute buckets that hold probes (the stored
aggregates plus the recent-results ring for buckets not yet written), the maintenance
windows with when each was announced, and the site's level history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.config.records import Config, Site, covers
from monitor.evaluate.maintenance import occurrences_between
from monitor.model import Impact, Level
from monitor.policy.uptime import Interval, LevelChange
from monitor.store import MaintenanceWindow, SiteStatus, Transaction
from monitor.store.aggregates import BUCKET
from monitor.store.queries.web import SeriesPoint, with_ring

__all__ = [
    "Held",
    "LevelHistory",
    "counted_checks",
    "covered",
    "level_history",
    "maintenance_of",
    "probed_buckets",
]

_MAX_CHANGES = 100_000


@dataclass(frozen=True, slots=True)
class Held:
    """A maintenance window over a site: `announced` is when customers were told (a
    config window: `announce` before it begins, None without; a run-time window: when it
    was added)."""

    start: datetime
    end: datetime
    reason: str
    announced: datetime | None


@dataclass(frozen=True, slots=True)
class LevelHistory:
    """A site's level changes from a time on, and its level before the first of them."""

    changes: tuple[LevelChange, ...]
    before: Level | None


def counted_checks(site: Site) -> list[str]:
    """The checks whose results count for availability and latency (warnings never do)."""
    return [c.id for c in site.checks if c.impact is not Impact.WARNING]


def probed_buckets(points: Sequence[SeriesPoint]) -> list[Interval]:
    """The 5-minute buckets that hold at least one probe."""
    return [(p.start, p.start + BUCKET) for p in points if p.total]


async def covered(
    tx: Transaction, checks: Sequence[str], start: datetime, end: datetime
) -> list[Interval]:
    """The 5-minute buckets in [start, end) that hold at least one probe of `checks`."""
    points = with_ring(await tx.web.series(checks, start, end), await tx.results.recent_of(checks))
    return probed_buckets([p for p in points if start <= p.start < end])


def maintenance_of(
    config: Config,
    stored: Sequence[MaintenanceWindow],
    site_id: str,
    start: datetime,
    end: datetime,
) -> list[Held]:
    """A site's maintenance overlapping [start, end): config and run-time windows."""
    found: list[Held] = []
    for window in config.maintenance:
        if not window.covers(site_id):
            continue
        for occurrence in occurrences_between(window, start, end):
            if occurrence.start < end and occurrence.end > start:
                ahead = None if window.announce is None else occurrence.start - window.announce
                found.append(Held(occurrence.start, occurrence.end, window.reason, ahead))
    for row in stored:
        finish = row.end if row.ended_at is None else min(row.end, row.ended_at)
        if covers(row.sites, site_id) and row.start < end and finish > start:
            found.append(Held(row.start, finish, row.reason, row.created_at))
    return sorted(found, key=lambda w: w.start)


async def level_history(
    tx: Transaction, site_id: str, since: datetime, until: datetime, status: SiteStatus | None
) -> LevelHistory:
    """The site's level changes since `since`. Without a recorded change since, the
    current level (`status`, the site's row) holds from when the row says it began."""
    found = await tx.sites.changes(site_id, since=since, limit=_MAX_CHANGES)
    if found:  # newest first: the last is the oldest
        return LevelHistory(tuple(LevelChange(c.at, c.new) for c in found), found[-1].old)
    if status is not None and status.since < until:
        return LevelHistory((LevelChange(status.since, status.level),), None)
    return LevelHistory((), None)
