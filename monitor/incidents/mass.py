"""Mass outages: when `paging.mass_outage.sites` sites fail within its window, Vakt
opens one Level A incident (probably infrastructure or Vakt's own network), pages it
through `mass_outage.escalation`, and links the site incidents to it, so they page no
one themselves. Each customer is still told about their own sites (the planner's job).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.config.records import MassOutage
from monitor.incidents.describe import duration
from monitor.incidents.values import SYSTEM, Event, EventKind, Incident, IncidentKind
from monitor.model import IncidentStatus, Level

MASS_SITE = "*"


@dataclass(frozen=True, slots=True)
class MassDecision:
    """The mass-outage incident's new value (None: there is none), its new events, and
    the site incidents (by site id) the engine links to it with `actions.link` once it
    has a case number."""

    incident: Incident | None = None
    events: tuple[Event, ...] = ()
    link: tuple[str, ...] = ()

    @property
    def needs_case_number(self) -> bool:
        return self.incident is not None and self.incident.case is None


def decide_mass_outage(
    site_incidents: Sequence[Incident],
    mass: Incident | None,
    rule: MassOutage | None,
    now: datetime,
) -> MassDecision:
    """One fleet-wide evaluation at `now`.

    `site_incidents` are the site incidents that are open or (re)opened within
    `rule.within` of `now`; `mass` is the open mass-outage incident, if any.
    """
    if mass is not None:
        return _update(site_incidents, mass, now)
    if rule is None:
        return MassDecision()
    recent = sorted(
        {i.site_id for i in site_incidents if now - i.failed_at <= rule.within and _site(i)}
    )
    if len(recent) < rule.sites:
        return MassDecision()
    return _open(site_incidents, recent, rule, now)


def _site(incident: Incident) -> bool:
    return incident.kind is IncidentKind.SITE


def _open(
    site_incidents: Sequence[Incident],
    recent: list[str],
    rule: MassOutage,
    now: datetime,
) -> MassDecision:
    text = f"{len(recent)} sites failed within {duration(rule.within)}: {', '.join(recent)}."
    event = Event(EventKind.OPENED, now, text=text, level=Level.A)
    incident = Incident(
        site_id=MASS_SITE,
        customer_id=None,
        kind=IncidentKind.MASS_OUTAGE,
        case=None,
        level=Level.A,
        status=IncidentStatus.OPEN,
        opened_at=now,
        contact=None,
        description=text,
        policy=None,
        respond_by=None,
        affected=tuple(recent),
        changes=(now,),
        timeline=(event,),
    )
    links = tuple(sorted({i.site_id for i in site_incidents if i.is_open and _site(i)}))
    return MassDecision(incident=incident, events=(event,), link=links)


def _update(site_incidents: Sequence[Incident], mass: Incident, now: datetime) -> MassDecision:
    """Link site incidents that opened since; resolve once none of the linked is open."""
    if mass.case is None:
        return MassDecision(incident=mass)  # the engine assigns its case number first
    open_sites = [i for i in site_incidents if i.is_open and _site(i)]
    fresh = [i for i in open_sites if i.linked_to is None and i.failed_at >= mass.opened_at]
    new = sorted({i.site_id for i in fresh})
    linked_open = [i for i in open_sites if i.linked_to == mass.case]
    if new:
        events = tuple(Event(EventKind.AFFECTED, now, text=f"{s} is affected", ref=s) for s in new)
        affected = (*mass.affected, *(s for s in new if s not in mass.affected))
        updated = replace(mass, affected=affected, timeline=mass.timeline + events)
        return MassDecision(incident=updated, events=events, link=tuple(new))
    if linked_open:
        return MassDecision(incident=mass)
    event = Event(EventKind.RESOLVED, now, actor=SYSTEM, text="every affected site resolved")
    resolved = replace(
        mass,
        status=IncidentStatus.RESOLVED,
        resolved_at=now,
        resolved_by=SYSTEM,
        recovered_at=mass.recovered_at or now,
        timeline=(*mass.timeline, event),
    )
    return MassDecision(incident=resolved, events=(event,))
