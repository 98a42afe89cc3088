"""Evaluate one site inside the flush transaction: assess, decide, write with CAS.

The store is the truth for incidents: the site's newest incidents are read fresh in
the flush transaction, decided on, and written back with compare-and-set, so an
acknowledgement or a manual resolve written by a CLI command is never overwritten.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from monitor.config.records import Customer, Site
from monitor.engine.planner import Change, WarningStart
from monitor.engine.state import SiteMemory
from monitor.evaluate import (
    LatencyBaseline,
    LocationState,
    SiteAssessment,
    assess_site,
    warning_changes,
)
from monitor.incidents import (
    SYSTEM,
    Decision,
    Incident,
    Rules,
    SiteContext,
    case_year,
    decide,
    link_affected,
    with_case,
)
from monitor.model import IncidentStatus
from monitor.notify.stored import UnreadableCase, event_records, from_record, to_record
from monitor.store import Incident as StoredIncident
from monitor.store import SiteChange, SiteStatus, Transaction

log = logging.getLogger(__name__)

LocationStates = Mapping[str, Mapping[str, LocationState]]


@dataclass(frozen=True, slots=True)
class SiteOutcome:
    """What evaluating one site decided. `retry`: a compare-and-set lost; evaluate it again
    next flush (nothing of it was written). `rearm`: check ids whose location states the
    engine resets once the flush committed. `warnings`: warning-impact checks that
    started a new episode (the team is told)."""

    site_id: str
    memory: SiteMemory
    change: Change | None = None
    status: SiteStatus | None = None
    site_change: SiteChange | None = None
    rearm: frozenset[str] = frozenset()
    retry: bool = False
    extra: tuple[Change, ...] = field(default=())
    warnings: tuple[WarningStart, ...] = ()


@dataclass(frozen=True, slots=True)
class Inputs:
    site: Site
    customer: Customer
    context: SiteContext
    memory: SiteMemory
    locations: LocationStates
    baselines: Mapping[str, LatencyBaseline]
    rules: Rules
    case_prefix: str
    incidents: Sequence[StoredIncident] = ()  # the site's newest two, newest first
    lost: Mapping[str, datetime] = field(default_factory=dict)  # locations without a vote


async def evaluate_site(tx: Transaction, inputs: Inputs, now: datetime) -> SiteOutcome:
    """Assess the site, decide against its stored incidents, write what changed."""
    site, memory = inputs.site, inputs.memory
    assessment = assess_site(site, inputs.locations, inputs.baselines, now, lost=inputs.lost)
    rows = inputs.incidents
    open_row = next((r for r in rows[:1] if r.status is not IncidentStatus.RESOLVED), None)
    closed_row = next((r for r in rows if r.status is IncidentStatus.RESOLVED), None)
    try:
        known_open = None if open_row is None else from_record(open_row)
        known_closed = None if closed_row is None else from_record(closed_row)
    except UnreadableCase as exc:
        # The one error policy for stored cases (`notify.stored`): this site is held (its
        # memory unchanged, no second case opened beside the one we cannot read), the
        # error goes to Sentry, the planner tick warns the team; other sites go on.
        log.error("engine.unreadable_case", extra={"case": exc.case, "site": site.id})
        return SiteOutcome(site.id, memory)
    rearm = _rearm(memory, open_row, closed_row, assessment)
    if rearm:
        without = _without(inputs.locations, rearm)
        assessment = assess_site(site, without, inputs.baselines, now, lost=inputs.lost)
    decision = decide(
        memory.track, assessment, inputs.context, known_open, known_closed, now, inputs.rules
    )
    written = await _write_incident(tx, decision, open_row, closed_row, inputs, now)
    if written is _LOST:
        return SiteOutcome(site.id, memory, retry=True)
    row = written if isinstance(written, StoredIncident) else open_row
    extra = await _affect(tx, decision, now)
    case = (
        row.case_number if row is not None and row.status is not IncidentStatus.RESOLVED else None
    )
    warned = warning_changes(memory.warnings, assessment)
    new_memory = dataclasses.replace(
        memory,
        track=decision.track,
        level=assessment.level,
        since=now if assessment.level is not memory.level else memory.since,
        case=case,
        slow=bool(assessment.slow),
        warnings=warned.current,
    )
    change = Change(written, decision) if isinstance(written, StoredIncident) else None
    status, site_change = _site_status(site.id, memory, new_memory, row, now)
    return SiteOutcome(
        site.id,
        new_memory,
        change,
        status,
        site_change,
        rearm | decision.rearm,
        extra=extra,
        warnings=_warning_starts(site, assessment, warned.started, now),
    )


def _warning_starts(
    site: Site, assessment: SiteAssessment, started: frozenset[str], now: datetime
) -> tuple[WarningStart, ...]:
    """The warning checks of `site` that started a new episode, in the site's order."""
    if not started:
        return ()
    checks = {c.id: c for c in site.checks}
    return tuple(
        WarningStart(
            checks[v.check_id],
            v.since or now,
            "" if v.evidence is None else v.evidence.detail,
        )
        for v in assessment.warnings
        if v.check_id in started and v.check_id in checks
    )


class _Lost:
    """Marker: another writer changed the incident first."""


_LOST = _Lost()


def _rearm(
    memory: SiteMemory,
    open_row: StoredIncident | None,
    closed_row: StoredIncident | None,
    assessment: SiteAssessment,
) -> frozenset[str]:
    """The case the engine knew as open was resolved by a person while the site still
    fails: re-arm detection, so a new case needs a fresh confirmation."""
    if memory.case is None or open_row is not None or closed_row is None:
        return frozenset()
    if closed_row.case_number != memory.case or closed_row.resolved_by in (None, SYSTEM):
        return frozenset()
    if assessment.level is None:
        return frozenset()
    return from_record(closed_row).checks | assessment.involved


def _without(locations: LocationStates, check_ids: frozenset[str]) -> LocationStates:
    return {cid: states for cid, states in locations.items() if cid not in check_ids}


async def _write_incident(
    tx: Transaction,
    decision: Decision,
    open_row: StoredIncident | None,
    closed_row: StoredIncident | None,
    inputs: Inputs,
    now: datetime,
) -> StoredIncident | _Lost | None:
    """Insert a new case or compare-and-set the one decided on; None: nothing to write."""
    incident = decision.incident
    if incident is None:
        return None
    if decision.needs_case_number:
        year = case_year(now, inputs.rules.timezone)
        case = await tx.incidents.next_case_number(inputs.case_prefix, year)
        row = await tx.incidents.insert(to_record(with_case(incident, case), now))
        await tx.incidents.add_events(event_records(row.id, decision.events))
        log.info("incident.opened", extra={"case": case, "site": row.site_id, "level": row.level})
        return row
    base = next((r for r in (open_row, closed_row) if r and r.case_number == incident.case), None)
    if base is None or not _changed(from_record(base), decision):
        return None
    updated = await tx.incidents.update(to_record(incident, now, base))
    if updated is None:
        return _LOST
    await tx.incidents.add_events(event_records(updated.id, decision.events))
    _log_events(updated, decision)
    return updated


def _changed(before: Incident, decision: Decision) -> bool:
    after = decision.incident
    if decision.events or after is None:
        return bool(decision.events)
    return dataclasses.replace(before, timeline=()) != dataclasses.replace(after, timeline=())


def _log_events(row: StoredIncident, decision: Decision) -> None:
    for event in decision.events:
        log.info(
            f"incident.{event.kind.value}",
            extra={"case": row.case_number, "site": row.site_id, "level": row.level},
        )


async def _affect(tx: Transaction, decision: Decision, now: datetime) -> tuple[Change, ...]:
    """Record this site as affected on its dependency's incident (best effort: a lost
    compare-and-set is retried by the next evaluation of this site)."""
    if decision.affects is None or decision.events == ():
        return ()
    row = await tx.incidents.by_case(decision.affects)
    if row is None:
        return ()
    site_id = next((e.ref for e in decision.events if e.ref), None)
    if site_id is None:
        return ()
    linked = link_affected(from_record(row), site_id, now)
    if linked.incident is None or not linked.events:
        return ()
    written = await tx.incidents.update(to_record(linked.incident, now, row))
    if written is None:
        return ()
    await tx.incidents.add_events(event_records(written.id, linked.events))
    return (Change(written, linked),)


def _site_status(
    site_id: str,
    before: SiteMemory,
    after: SiteMemory,
    row: StoredIncident | None,
    now: datetime,
) -> tuple[SiteStatus | None, SiteChange | None]:
    if (before.level, before.case) == (after.level, after.case):
        return None, None
    incident_id = row.id if row is not None and after.case is not None else None
    status = SiteStatus(site_id, after.level, after.since or now, now, incident_id)
    change = (
        SiteChange(site_id, now, before.level, after.level) if before.level != after.level else None
    )
    return status, change
