"""What a customer's status page shows, gathered from the config and the store.

Only what a customer may see: site names, states in plain words, public updates,
maintenance reasons and uptime. Never descriptions (they name checks, errors and
addresses), internal notes, actors, or evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from monitor.config.records import Config, Customer, Maintenance, Site, covers
from monitor.evaluate.maintenance import occurrences_between
from monitor.model import Impact, IncidentStatus, Level
from monitor.store import Incident, IncidentEvent, MaintenanceWindow, Transaction
from monitor.store.aggregates import BUCKET
from monitor.store.queries.web import SeriesPoint

UPTIME_DAYS = 90
RECENT_RESOLVED = timedelta(days=7)
UPCOMING = timedelta(days=14)


class SiteState(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"  # Level B
    OUTAGE = "outage"  # Level A
    MAINTENANCE = "maintenance"


_SEVERITY = {
    SiteState.OPERATIONAL: 0,
    SiteState.MAINTENANCE: 1,
    SiteState.DEGRADED: 2,
    SiteState.OUTAGE: 3,
}


@dataclass(frozen=True, slots=True)
class Span:
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class DayUptime:
    day: date
    uptime: float | None  # 0..1; None: no measurements (or all in maintenance)


@dataclass(frozen=True, slots=True)
class SiteView:
    site: Site
    state: SiteState
    days: tuple[DayUptime, ...]
    uptime: float | None  # over the whole period


@dataclass(frozen=True, slots=True)
class PublicIncident:
    case: str
    site_label: str
    level: Level
    status: IncidentStatus
    opened_at: datetime
    resolved_at: datetime | None
    updates: tuple[IncidentEvent, ...]

    @property
    def updated_at(self) -> datetime:
        times = [self.opened_at, *(u.at for u in self.updates)]
        if self.resolved_at is not None:
            times.append(self.resolved_at)
        return max(times)


@dataclass(frozen=True, slots=True)
class StatusView:
    customer: Customer
    now: datetime
    state: SiteState
    sites: tuple[SiteView, ...]
    incidents: tuple[PublicIncident, ...]  # open first, then recently resolved
    maintenance: tuple[tuple[Span, tuple[str, ...]], ...]  # (span, site labels)


def spans(
    maintenance: Iterable[Maintenance], start: datetime, end: datetime
) -> Iterator[tuple[Maintenance, Span]]:
    """Every occurrence of the config windows that overlaps [start, end)."""
    for window in maintenance:
        for occurrence in occurrences_between(window, start, end):
            if occurrence.start < end and occurrence.end > start:
                yield window, Span(occurrence.start, occurrence.end, window.reason)


def site_windows(
    config: Config,
    stored: Sequence[MaintenanceWindow],
    site_id: str,
    start: datetime,
    end: datetime,
) -> list[Span]:
    """Maintenance of one site overlapping [start, end): config and run-time windows."""
    found = [
        span for window, span in spans(config.maintenance, start, end) if window.covers(site_id)
    ]
    for window in stored:
        finish = window.end if window.ended_at is None else min(window.end, window.ended_at)
        if covers(window.sites, site_id) and window.start < end and finish > start:
            found.append(Span(window.start, finish, window.reason))
    return sorted(found, key=lambda s: s.start)


def uptime_days(
    points: Sequence[SeriesPoint], windows: Sequence[Span], days: Sequence[date], tz: tzinfo
) -> tuple[tuple[DayUptime, ...], float | None]:
    """Per-day uptime (ok or degraded probes over all probes), leaving out every 5-minute
    bucket that overlaps maintenance; and the uptime over all the days."""
    good: dict[date, int] = {}
    total: dict[date, int] = {}
    for point in points:
        end = point.start + BUCKET
        if any(w.start < end and w.end > point.start for w in windows):
            continue
        day = point.start.astimezone(tz).date()
        good[day] = good.get(day, 0) + point.ok + point.degraded
        total[day] = total.get(day, 0) + point.total
    result = tuple(
        DayUptime(day, good.get(day, 0) / total[day] if total.get(day) else None) for day in days
    )
    all_total = sum(total.values())
    return result, (sum(good.values()) / all_total if all_total else None)


def level_state(level: Level | None) -> SiteState:
    if level is Level.A:
        return SiteState.OUTAGE
    if level is Level.B:
        return SiteState.DEGRADED
    return SiteState.OPERATIONAL


def worst(states: Iterable[SiteState]) -> SiteState:
    return max(states, key=_SEVERITY.__getitem__, default=SiteState.OPERATIONAL)


def counted_checks(site: Site) -> list[str]:
    """The checks whose results count for uptime (warnings never do)."""
    return [c.id for c in site.checks if c.impact is not Impact.WARNING]


async def build(tx: Transaction, config: Config, customer: Customer, now: datetime) -> StatusView:
    tz = customer.timezone
    today = now.astimezone(tz).date()
    days = [today - timedelta(days=n) for n in range(UPTIME_DAYS - 1, -1, -1)]
    start = datetime.combine(days[0], datetime.min.time(), tzinfo=tz)
    stored = await tx.maintenance.upcoming(start)
    levels = {s.site_id: s.level for s in await tx.sites.load()}
    views = []
    for site in customer.sites:
        windows = site_windows(config, stored, site.id, start, now + UPCOMING)
        points = await tx.web.series(counted_checks(site), start, now)
        bars, uptime = uptime_days(points, windows, days, tz)
        state = level_state(levels.get(site.id))
        if state is SiteState.OPERATIONAL and any(w.start <= now < w.end for w in windows):
            state = SiteState.MAINTENANCE
        views.append(SiteView(site, state, bars, uptime))
    return StatusView(
        customer=customer,
        now=now,
        state=worst(v.state for v in views),
        sites=tuple(views),
        incidents=tuple(await _incidents(tx, customer, now)),
        maintenance=tuple(_upcoming(config, stored, customer, now)),
    )


async def _incidents(tx: Transaction, customer: Customer, now: datetime) -> list[PublicIncident]:
    labels = {s.id: s.label for s in customer.sites}
    rows: list[Incident] = []
    for site in customer.sites:
        rows.extend(await tx.incidents.find(site_id=site.id, limit=20))
    shown = [
        r
        for r in rows
        if r.status is not IncidentStatus.RESOLVED
        or (r.resolved_at is not None and now - r.resolved_at <= RECENT_RESOLVED)
    ]
    shown.sort(key=lambda r: (r.status is IncidentStatus.RESOLVED, -r.opened_at.timestamp()))
    return [
        PublicIncident(
            case=r.case_number,
            site_label=labels.get(r.site_id, r.site_id),
            level=r.level,
            status=r.status,
            opened_at=r.opened_at,
            resolved_at=r.resolved_at,
            updates=tuple(await tx.incidents.events(r.id, public_only=True)),
        )
        for r in shown
    ]


def _upcoming(
    config: Config, stored: Sequence[MaintenanceWindow], customer: Customer, now: datetime
) -> list[tuple[Span, tuple[str, ...]]]:
    found: dict[tuple[datetime, datetime, str], list[str]] = {}
    for site in customer.sites:
        for span in site_windows(config, stored, site.id, now, now + UPCOMING):
            found.setdefault((span.start, span.end, span.reason), []).append(site.label)
    return [(Span(*key), tuple(labels)) for key, labels in sorted(found.items())]
