"""`/`: every customer and site (state, level, latency, 24-hour sparkline) with the open
incidents first, most urgent (earliest respond-by) at the top, with the time left."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from monitor.config.records import Config, Site
from monitor.config.tokens import WeakToken, weak_tokens
from monitor.model import CheckState, Level, Verdict
from monitor.store import CheckStatus, Incident, RecentResult, Transaction
from monitor.store.queries.web import with_ring
from monitor.web.public.statusdata import spans
from monitor.web.state import state
from monitor.web.ui.charts import Chart, bucketed, chart
from monitor.web.ui.common import login_required, render

DAY = timedelta(hours=24)
HOUR = timedelta(hours=1)

_STATE_ORDER = {CheckState.FAILING: 3, CheckState.DEGRADED: 2, CheckState.UNKNOWN: 1}
_BAD = (CheckState.FAILING, CheckState.DEGRADED)


@dataclass(frozen=True, slots=True)
class SiteRow:
    site: Site
    level: Level | None
    state: CheckState
    latency: float | None
    sparkline: Chart
    incident: str | None  # case number of the incident covering it
    reason: str = ""  # why it is not ok: "home: timeout; checkout: http_status"


@dataclass(frozen=True, slots=True)
class IncidentRow:
    incident: Incident
    site_label: str
    time_left: timedelta | None  # negative: overdue; None: no deadline or answered


def site_state(site: Site, statuses: dict[str, list[CheckStatus]]) -> CheckState:
    """The worst confirmed state of the site's checks (unknown when none was probed)."""
    found = [s.state for c in site.checks for s in statuses.get(c.id, [])]
    if not found:
        return CheckState.UNKNOWN
    return max(found, key=lambda s: _STATE_ORDER.get(s, 0))


def site_latency(
    site: Site, statuses: dict[str, list[CheckStatus]], ring: Sequence[RecentResult] = ()
) -> float | None:
    """The newest latency of the site's first check that has one: its newest ring entry
    (written at each checkpoint), else its stored status (rewritten only on a change)."""
    for check in site.checks:
        newest = [r for r in ring if r.check_id == check.id and r.verdict is not Verdict.FAILED]
        if newest:
            return max(newest, key=lambda r: r.started_at).total
        for status in statuses.get(check.id, []):
            if status.last_total is not None:
                return status.last_total
    return None


def failure_reason(site: Site, statuses: dict[str, list[CheckStatus]]) -> str:
    """The failing and degraded checks with their error: what a person reads first."""
    parts = []
    for check in site.checks:
        bad = [s for s in statuses.get(check.id, []) if s.state in _BAD]
        if bad:
            worst = max(bad, key=lambda s: _STATE_ORDER.get(s.state, 0))
            error = worst.last_error.value.replace("_", " ") if worst.last_error else worst.state
            parts.append(f"{check.name}: {error}")
    return "; ".join(parts)


def time_left(incident: Incident, now: datetime) -> timedelta | None:
    if incident.respond_by is None or incident.acknowledged_at is not None:
        return None
    return incident.respond_by - now


def urgency(row: IncidentRow) -> tuple[int, float]:
    """Unanswered before acknowledged; then by respond-by, earliest first."""
    i = row.incident
    answered = 1 if i.acknowledged_at is not None else 0
    deadline = i.respond_by.timestamp() if i.respond_by is not None else float("inf")
    return answered, deadline


async def site_rows(tx: Transaction, config: Config, now: datetime) -> list[SiteRow]:
    statuses: dict[str, list[CheckStatus]] = {}
    for status in await tx.checks.load():
        statuses.setdefault(status.check_id, []).append(status)
    levels = {s.site_id: s for s in await tx.sites.load()}
    cases = {i.id: i.case_number for i in await tx.incidents.unresolved()}
    start = now - DAY
    rows = []
    for site in config.sites():
        ids = [c.id for c in site.checks]
        ring = await tx.results.recent_of(ids, start)
        points = with_ring(await tx.web.series(ids, start, now), ring)
        site_status = levels.get(site.id)
        incident_id = site_status.incident_id if site_status else None
        rows.append(
            SiteRow(
                site=site,
                level=site_status.level if site_status else None,
                state=site_state(site, statuses),
                latency=site_latency(site, statuses, ring),
                sparkline=chart(bucketed(points, start, HOUR, 24)),
                incident=cases.get(incident_id) if incident_id is not None else None,
                reason=failure_reason(site, statuses),
            )
        )
    return rows


async def incident_rows(tx: Transaction, config: Config, now: datetime) -> list[IncidentRow]:
    labels = {s.id: s.label for s in config.sites()}
    rows = [
        IncidentRow(i, labels.get(i.site_id, i.site_id), time_left(i, now))
        for i in await tx.incidents.unresolved()
    ]
    return sorted(rows, key=urgency)


@login_required
async def overview(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    config = web_state.config()
    now = web_state.deps.clock.now()
    async with web_state.deps.store.transaction(read_only=True) as tx:
        sites = await site_rows(tx, config, now)
        incidents = await incident_rows(tx, config, now)
        silences = await tx.silences.active(now)
        windows = await tx.maintenance.active(now)
    windows_now = [(w.sites, w.end, w.reason) for w in windows] + [
        (window.sites, span.end, span.reason)
        for window, span in spans(config.maintenance, now, now + timedelta(seconds=1))
        if span.start <= now
    ]
    customers = {c.id: c.name for c in config.customers.values()}
    context = {
        "title": "Overview",
        "sites": sites,
        "incidents": incidents,
        "customers": customers,
        "weak_tokens": _weak_tokens(config),
        "silences": silences,
        "maintenance": windows_now,
    }
    return render(request, "overview.html", context)


_weak: list[tuple[Config, list[WeakToken]]] = []  # the last config's answer


def _weak_tokens(config: Config) -> list[WeakToken]:
    """`weak_tokens` of `config`, computed once per loaded config (it walks every check)."""
    if not _weak or _weak[0][0] is not config:
        _weak[:] = [(config, weak_tokens(config))]
    return _weak[0][1]


def routes() -> list[web.RouteDef]:
    return [web.get("/", overview)]
