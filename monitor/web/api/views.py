"""Config records and stored rows -> the API's response models.

Pure functions: no I/O, no clock. The combined state of a check follows its site's
quorum: failing when `quorum` of its locations say failing, degraded when that many say
failing or degraded, ok when any location has a confirmed state, unknown before that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.config.records import Check, Customer, Maintenance, Site
from monitor.model import CheckState
from monitor.store import (
    CheckStatus,
    IncidentEvent,
    MaintenanceWindow,
    RecentResult,
    Silence,
    SiteStatus,
)
from monitor.store import Incident as StoredIncident
from monitor.web.api.schemas import (
    CheckDetail,
    CheckOut,
    EventOut,
    IncidentDetail,
    IncidentOut,
    LocationState,
    MaintenanceOut,
    RecentOut,
    SilenceOut,
    SiteOut,
)

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def combined_state(site: Site, rows: Sequence[CheckStatus]) -> CheckState:
    """A check's state over the site's locations, by the site's quorum."""
    needed = site.quorum.needed(max(len(site.locations), 1))
    failing = sum(r.state is CheckState.FAILING for r in rows)
    degraded = sum(r.state is CheckState.DEGRADED for r in rows)
    if rows and failing >= needed:
        return CheckState.FAILING
    if rows and failing + degraded >= needed:
        return CheckState.DEGRADED
    if any(r.state is not CheckState.UNKNOWN for r in rows):
        return CheckState.OK
    return CheckState.UNKNOWN


def location_state(row: CheckStatus) -> LocationState:
    return LocationState(
        location=row.location,
        state=row.state,
        since=row.since,
        last_probe_at=row.last_probe_at,
        last_verdict=row.last_verdict,
        last_error=row.last_error,
        latency_seconds=row.last_total,
    )


def check_out(site: Site, check: Check, rows: Sequence[CheckStatus]) -> CheckOut:
    return CheckOut(
        id=check.id,
        customer=check.customer,
        site=check.site_id,
        name=check.name,
        label=check.label,
        type=check.type,
        impact=check.impact,
        interval_seconds=check.interval.total_seconds(),
        state=combined_state(site, rows),
        locations=[location_state(r) for r in rows],
    )


def check_detail(
    site: Site, check: Check, rows: Sequence[CheckStatus], recent: Sequence[RecentResult]
) -> CheckDetail:
    base = check_out(site, check, rows)
    return CheckDetail(
        **base.model_dump(),
        recent=[
            RecentOut(
                started_at=r.started_at,
                location=r.location,
                verdict=r.verdict,
                latency_seconds=r.total,
                error=r.error,
                status_code=r.status_code,
                detail=r.detail,
            )
            for r in recent
        ],
    )


def site_out(
    customer: Customer,
    site: Site,
    status: SiteStatus | None,
    checks: Mapping[str, Sequence[CheckStatus]],
    cases: Mapping[int, str],
) -> SiteOut:
    """`checks`: stored states by check id; `cases`: open incidents' case numbers by id."""
    incident = None if status is None else status.incident_id
    return SiteOut(
        id=site.id,
        customer=customer.id,
        customer_name=customer.name,
        name=site.name,
        label=site.label,
        url=site.url,
        level=None if status is None else status.level,
        since=None if status is None else status.since,
        incident=None if incident is None else cases.get(incident),
        checks=[check_out(site, c, checks.get(c.id, ())) for c in site.checks],
    )


def incident_out(row: StoredIncident) -> IncidentOut:
    return IncidentOut(
        case=row.case_number,
        site=row.site_id,
        customer=row.customer_id,
        level=row.level,
        status=row.status,
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        description=row.description,
        respond_by=row.respond_by,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        flapping=row.flapping,
    )


def event_out(event: IncidentEvent) -> EventOut:
    return EventOut(
        at=event.at,
        actor=event.actor,
        kind=event.kind,
        text=event.text,
        public=event.public,
        level=event.level,
        previous_level=event.previous_level,
        ref=event.ref,
        recipient=event.recipient,
        channel=event.channel,
    )


def incident_detail(row: StoredIncident, events: Sequence[IncidentEvent]) -> IncidentDetail:
    return IncidentDetail(**incident_out(row).model_dump(), timeline=[event_out(e) for e in events])


def window_out(window: MaintenanceWindow) -> MaintenanceOut:
    return MaintenanceOut(
        id=str(window.id),
        source="runtime",
        sites=list(window.sites),
        start=window.start,
        end=window.end,
        every=None,
        duration_seconds=(window.end - window.start).total_seconds(),
        reason=window.reason,
        created_by=window.created_by,
        created_at=window.created_at,
        ended_at=window.ended_at,
    )


def config_window_out(window: Maintenance) -> MaintenanceOut:
    every = None
    if window.recurrence is not None:
        day = window.recurrence.weekday
        prefix = "" if day is None else f"{_WEEKDAYS[day]} "
        every = f"{prefix}{window.recurrence.at:%H:%M} {window.timezone_name}"
    return MaintenanceOut(
        id=f"config:{window.id}",
        source="config",
        sites=list(window.sites),
        start=window.start,
        end=window.end,
        every=every,
        duration_seconds=None if window.duration is None else window.duration.total_seconds(),
        reason=window.reason,
        created_by=None,
        created_at=None,
        ended_at=None,
    )


def silence_out(silence: Silence) -> SilenceOut:
    return SilenceOut(
        id=str(silence.id),
        scope=silence.scope,
        target=silence.target,
        start=silence.start,
        end=silence.end,
        reason=silence.reason,
        created_by=silence.created_by,
        created_at=silence.created_at,
        ended_at=silence.ended_at,
    )
