"""What people (and other incidents) do to an incident: acknowledge, note, resolve by
hand, link. Each returns a `Decision` whose events are already in the timeline."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from monitor.evaluate.level import SiteAssessment
from monitor.incidents.values import SYSTEM, Decision, Event, EventKind, Incident
from monitor.model import IncidentStatus


def acknowledge(incident: Incident, actor: str, now: datetime) -> Decision:
    """The first acknowledgement is the response (SLA). Acknowledging a resolved or
    already acknowledged incident changes nothing."""
    if incident.status is not IncidentStatus.OPEN:
        return Decision(incident=incident)
    event = Event(EventKind.ACKNOWLEDGED, now, actor=actor)
    return _with(
        replace(
            incident, status=IncidentStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=actor
        ),
        event,
    )


def note(incident: Incident, actor: str, text: str, now: datetime) -> Decision:
    """A note in the timeline; raises ValueError for an empty one."""
    if not text.strip():
        raise ValueError("a note needs text")
    return _with(incident, Event(EventKind.NOTED, now, actor=actor, text=text.strip()))


def resolve_by_hand(
    incident: Incident, actor: str, now: datetime, assessment: SiteAssessment
) -> Decision:
    """Resolve now, whatever the checks say.

    While the site still fails this re-arms detection: `Decision.rearm` names the
    checks whose location states the engine resets, the case will not be reopened, and
    a new case needs a fresh confirmation. Resolving a resolved incident changes nothing.
    """
    if not incident.is_open:
        return Decision(incident=incident)
    still = assessment.level is not None
    text = "resolved by hand while still failing; detection re-armed" if still else ""
    resolved = replace(
        incident,
        status=IncidentStatus.RESOLVED,
        resolved_at=now,
        resolved_by=actor,
        recovered_at=incident.recovered_at or (None if still else now),
        reopenable=not still,
    )
    decision = _with(resolved, Event(EventKind.RESOLVED, now, actor=actor, text=text))
    rearm = incident.checks | assessment.involved if still else frozenset()
    return replace(decision, rearm=rearm)


def link(incident: Incident, case: str, now: datetime, reason: str = "") -> Decision:
    """Link `incident` to another case it belongs to (a mass outage): it pages no one
    itself. Linking again to the same case changes nothing."""
    if incident.linked_to == case:
        return Decision(incident=incident)
    event = Event(EventKind.LINKED, now, actor=SYSTEM, text=reason, ref=case)
    return _with(replace(incident, linked_to=case), event)


def link_affected(incident: Incident, site_id: str, now: datetime) -> Decision:
    """Record `site_id` as affected by `incident` (a dependency or a mass outage)."""
    if site_id in incident.affected:
        return Decision(incident=incident)
    event = Event(EventKind.AFFECTED, now, actor=SYSTEM, text=f"{site_id} is affected", ref=site_id)
    return _with(replace(incident, affected=(*incident.affected, site_id)), event)


def _with(incident: Incident, event: Event) -> Decision:
    return Decision(
        incident=replace(incident, timeline=(*incident.timeline, event)), events=(event,)
    )
