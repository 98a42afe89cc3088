"""What a customer's status page shows, gathered from the config and the store.

Only what a customer may see: site names, states in plain words, public updates,
maintenance reasons and uptime. Never descriptions (they name checks, errors and
addresses), internal notes, actors, or evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from monitor.config.records import Config, Customer, Maintenance, Site
from monitor.engine.history import counted_checks, covered, level_history, maintenance_of
from monitor.evaluate.maintenance import occurrences_between
from monitor.model import CheckState, Impact, IncidentStatus, Level
from monitor.notify.stored import UnreadableCase, from_record
from monitor.policy.uptime import Availability, Interval, LevelChange, availability
from monitor.store import Incident, IncidentEvent, MaintenanceWindow, SiteStatus, Transaction

UPTIME_DAYS = 90
RECENT_RESOLVED = timedelta(days=7)
UPCOMING = timedelta(days=14)


class SiteState(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"  # Level B: slower than normal
    PARTIAL = "partial"  # Level B: a function (checkout, login...) is broken
    OUTAGE = "outage"  # Level A
    MAINTENANCE = "maintenance"


_SEVERITY = {
    SiteState.OPERATIONAL: 0,
    SiteState.MAINTENANCE: 1,
    SiteState.DEGRADED: 2,
    SiteState.PARTIAL: 3,
    SiteState.OUTAGE: 4,
}
PAST_INCIDENTS = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Span:
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class DayUptime:
    day: date
    uptime: float | None  # 0..1; None: no measurements (or all in maintenance)
    degraded: float | None = None  # share of the measured time at Level B

    @property
    def bar(self) -> str:
        """The bar's class: none, up, degraded (Level B only), partial (>= 95 %), down."""
        if self.uptime is None:
            return "none"
        if self.uptime >= 1.0:
            return "degraded" if self.degraded else "up"
        return "partial" if self.uptime >= 0.95 else "down"


@dataclass(frozen=True, slots=True)
class SiteView:
    site: Site
    state: SiteState
    days: tuple[DayUptime, ...]
    uptime: float | None  # over the days with data
    since: date | None = None  # the first day with data, when later than the first bar


@dataclass(frozen=True, slots=True)
class PublicIncident:
    case: str
    site_label: str
    level: Level
    status: IncidentStatus
    opened_at: datetime
    resolved_at: datetime | None
    updates: tuple[IncidentEvent, ...]
    state: SiteState = SiteState.OUTAGE  # how the customer's words name it

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
    past: tuple[PublicIncident, ...] = ()  # resolved within PAST_INCIDENTS, newest first


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
    return [
        Span(w.start, w.end, w.reason) for w in maintenance_of(config, stored, site_id, start, end)
    ]


@dataclass(frozen=True, slots=True)
class SiteHistory:
    """What a site's availability is computed from (`monitor.policy.uptime`)."""

    data: Sequence[Interval]
    maintenance: Sequence[Interval]
    levels: Sequence[LevelChange]
    level_before: Level | None

    def over(self, start: datetime, end: datetime) -> Availability:
        period = (start, end)
        return availability(period, self.data, self.maintenance, self.levels, self.level_before)

    def days(
        self, days: Sequence[date], tz: tzinfo, now: datetime
    ) -> tuple[tuple[DayUptime, ...], float | None, date | None]:
        """Each day's bar (today: so far), the uptime over them, the first day with data."""
        bars = []
        for day in days:
            start = datetime.combine(day, time(), tzinfo=tz)
            end = min(datetime.combine(day + timedelta(days=1), time(), tzinfo=tz), now)
            figures = self.over(start, end)
            bars.append(DayUptime(day, figures.uptime, figures.degraded_share))
        first = datetime.combine(days[0], time(), tzinfo=tz) if days else now
        overall = self.over(first, now).uptime
        since = next((b.day for b in bars if b.uptime is not None), None)
        return tuple(bars), overall, since


def level_state(level: Level | None, broken_function: bool = False) -> SiteState:
    """The customer's words for a level: Level A is an outage; Level B a partial outage
    when a function is broken, else degraded performance (slowness)."""
    if level is Level.A:
        return SiteState.OUTAGE
    if level is Level.B:
        return SiteState.PARTIAL if broken_function else SiteState.DEGRADED
    return SiteState.OPERATIONAL


def worst(states: Iterable[SiteState]) -> SiteState:
    return max(states, key=_SEVERITY.__getitem__, default=SiteState.OPERATIONAL)


async def build(tx: Transaction, config: Config, customer: Customer, now: datetime) -> StatusView:
    tz = customer.timezone
    today = now.astimezone(tz).date()
    days = [today - timedelta(days=n) for n in range(UPTIME_DAYS - 1, -1, -1)]
    start = datetime.combine(days[0], time(), tzinfo=tz)
    stored = await tx.maintenance.upcoming(start)
    statuses = {s.site_id: s for s in await tx.sites.load()}
    levels = {site_id: s.level for site_id, s in statuses.items()}
    failing = {s.check_id for s in await tx.checks.load() if s.state is CheckState.FAILING}
    views = []
    for site in customer.sites:
        windows = site_windows(config, stored, site.id, start, now + UPCOMING)
        history = await _history(tx, site, statuses.get(site.id), windows, start, now)
        bars, uptime, since = history.days(days, tz, now)
        state = level_state(levels.get(site.id), _broken_function(site, failing))
        if state is SiteState.OPERATIONAL and any(w.start <= now < w.end for w in windows):
            state = SiteState.MAINTENANCE
        first = since if since is not None and since > days[0] else None
        views.append(SiteView(site, state, bars, uptime, first))
    shown, past = await _incidents(tx, config, customer, now)
    return StatusView(
        customer=customer,
        now=now,
        state=worst(v.state for v in views),
        sites=tuple(views),
        incidents=tuple(shown),
        maintenance=tuple(_upcoming(config, stored, customer, now)),
        past=tuple(past),
    )


async def _history(
    tx: Transaction,
    site: Site,
    status: SiteStatus | None,
    windows: Sequence[Span],
    start: datetime,
    now: datetime,
) -> SiteHistory:
    """The site's data, maintenance and level history since `start` (`monitor.engine.
    history`, the monthly reports' reader too)."""
    data = await covered(tx, counted_checks(site), start, now)
    levels = await level_history(tx, site.id, start, now, status)
    maintenance = [(w.start, w.end) for w in windows]
    return SiteHistory(data, maintenance, levels.changes, levels.before)


def _broken_function(site: Site, failing: set[str]) -> bool:
    return any(c.impact is Impact.FUNCTION and c.id in failing for c in site.checks)


async def _incidents(
    tx: Transaction, config: Config, customer: Customer, now: datetime
) -> tuple[list[PublicIncident], list[PublicIncident]]:
    """The open and recently resolved incidents; and the past ones (resolved within
    PAST_INCIDENTS), each with its public updates."""
    sites = {s.id: s for s in customer.sites}
    rows: list[Incident] = []
    for site in customer.sites:
        rows.extend(await tx.incidents.find(site_id=site.id, limit=200))
    current = [
        r
        for r in rows
        if r.status is not IncidentStatus.RESOLVED
        or (r.resolved_at is not None and now - r.resolved_at <= RECENT_RESOLVED)
    ]
    current.sort(key=lambda r: (r.status is IncidentStatus.RESOLVED, -r.opened_at.timestamp()))
    past = [
        r
        for r in rows
        if r not in current and r.resolved_at is not None and now - r.resolved_at <= PAST_INCIDENTS
    ]
    past.sort(key=lambda r: -r.opened_at.timestamp())
    return (
        [await _public(tx, r, sites) for r in current],
        [await _public(tx, r, sites) for r in past],
    )


async def _public(tx: Transaction, row: Incident, sites: Mapping[str, Site]) -> PublicIncident:
    site = sites.get(row.site_id)
    return PublicIncident(
        case=row.case_number,
        site_label=site.label if site is not None else row.site_id,
        level=row.level,
        status=row.status,
        opened_at=row.opened_at,
        resolved_at=row.resolved_at,
        updates=tuple(await tx.incidents.events(row.id, public_only=True)),
        state=level_state(row.level, _function_case(row, site)),
    )


def _function_case(row: Incident, site: Site | None) -> bool:
    """Whether the case involved a function check (its stored `checks`)."""
    if site is None:
        return False
    try:
        involved = from_record(row).checks
    except UnreadableCase:
        return False
    return any(c.impact is Impact.FUNCTION and c.id in involved for c in site.checks)


def _upcoming(
    config: Config, stored: Sequence[MaintenanceWindow], customer: Customer, now: datetime
) -> list[tuple[Span, tuple[str, ...]]]:
    found: dict[tuple[datetime, datetime, str], list[str]] = {}
    for site in customer.sites:
        for span in site_windows(config, stored, site.id, now, now + UPCOMING):
            found.setdefault((span.start, span.end, span.reason), []).append(site.label)
    return [(Span(*key), tuple(labels)) for key, labels in sorted(found.items())]
