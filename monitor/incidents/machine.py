"""The incident state machine (DESIGN.md section 4, Levels and Incidents).

    decide(track, assessment, context, open_incident, last_closed, now, rules) -> Decision

is pure: it never reads the clock, never does I/O and never invents a case number (a
new incident comes back with `case=None`; the engine fills it from the store's
sequence with `with_case`). People's actions are the functions `acknowledge`, `note`
and `resolve_by_hand`; links are `link` and `link_affected`.

States of one case: open (or acknowledged) with a level A or B -> recovered (still
open, nothing fails) -> resolved, once every check involved in the case had its
`recover` consecutive successes. Failing again while recovered relapses; failing again
within `flapping.reopen_within` after resolving reopens the same case.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from monitor.evaluate.level import SiteAssessment
from monitor.incidents.describe import describe
from monitor.incidents.values import (
    SYSTEM,
    Decision,
    Event,
    EventKind,
    Incident,
    IncidentKind,
    Rules,
    SiteContext,
    SiteTrack,
)
from monitor.model import IncidentStatus, Level


def decide(
    track: SiteTrack,
    assessment: SiteAssessment,
    context: SiteContext,
    open_incident: Incident | None,
    last_closed: Incident | None,
    now: datetime,
    rules: Rules,
) -> Decision:
    """One evaluation of one site at `now`.

    `open_incident` is the site's open incident, if any (at most one: this function
    never opens a second); `last_closed` is its most recently resolved one (for reopen).
    """
    track = _track(track, assessment, context, now)
    if open_incident is not None:
        return _update_open(track, assessment, context, open_incident, now, rules)
    if assessment.level is None:
        return Decision(track=track)
    if context.in_maintenance or context.connectivity_lost:
        return Decision(track=track)
    dependency = next((d for d in context.dependencies if d.case is not None), None)
    if dependency is not None:
        return _affected(track, dependency.case or "", context, now)
    if _holding(track, now):
        return Decision(track=track)
    if _may_reopen(last_closed, now, rules):
        assert last_closed is not None  # for mypy: _may_reopen checked it
        return _reopen(track, assessment, context, last_closed, now, rules)
    return _open(track, assessment, context, now, rules)


def with_case(incident: Incident, case: str) -> Incident:
    """The incident with its case number assigned (by the engine, from the store)."""
    return replace(incident, case=case)


# ------------------------------------------------------------------------ site memory


def _track(
    track: SiteTrack, assessment: SiteAssessment, ctx: SiteContext, now: datetime
) -> SiteTrack:
    if assessment.level is None:
        return SiteTrack()
    hold = max((d.interval for d in ctx.dependencies), default=None)
    down = next((d.case for d in ctx.dependencies if d.case is not None), None)
    hold_until = track.hold_until
    if track.failing_since is None and hold is not None:
        # Held one dependency interval: the dependency may be confirmed down meanwhile.
        hold_until = now + hold
    if track.affected_by is not None and down is None and hold is not None:
        # The dependency recovered: give this site one interval to recover with it.
        hold_until = now + hold
    return SiteTrack(
        failing_since=track.failing_since or now,
        hold_until=hold_until,
        affected_by=track.affected_by if down is not None else None,
    )


def _holding(track: SiteTrack, now: datetime) -> bool:
    return track.hold_until is not None and now < track.hold_until


def _affected(track: SiteTrack, case: str, ctx: SiteContext, now: datetime) -> Decision:
    if track.affected_by == case:
        return Decision(track=track)
    event = Event(EventKind.AFFECTED, now, text=f"{ctx.site.label} is affected", ref=ctx.site.id)
    return Decision(events=(event,), track=replace(track, affected_by=case), affects=case)


# -------------------------------------------------------------------- open and reopen


def _open(
    track: SiteTrack, assessment: SiteAssessment, ctx: SiteContext, now: datetime, rules: Rules
) -> Decision:
    level = _level(assessment)
    description = describe(ctx.site, assessment, rules.timezone)
    contact = ctx.customer.primary_contact
    event = Event(EventKind.OPENED, now, text=description, level=level)
    incident = Incident(
        site_id=ctx.site.id,
        customer_id=ctx.customer.id,
        kind=IncidentKind.SITE,
        case=None,
        level=level,
        status=IncidentStatus.OPEN,
        opened_at=now,
        contact=str(contact.mailbox) if contact else None,
        description=description,
        policy=ctx.customer.policy,
        respond_by=rules.respond_by(ctx.customer.policy, level, now),
        checks=assessment.involved,
        changes=(now,),
        silenced=ctx.silenced,
        timeline=(event,),
    )
    return Decision(incident=incident, events=(event,), track=track)


def _may_reopen(last_closed: Incident | None, now: datetime, rules: Rules) -> bool:
    if last_closed is None or last_closed.kind is not IncidentKind.SITE:
        return False
    if not last_closed.reopenable or last_closed.resolved_at is None:
        return False
    return now - last_closed.resolved_at <= rules.flapping.reopen_within


def _reopen(
    track: SiteTrack,
    assessment: SiteAssessment,
    ctx: SiteContext,
    closed: Incident,
    now: datetime,
    rules: Rules,
) -> Decision:
    level = _level(assessment)
    event = Event(
        EventKind.REOPENED,
        now,
        text=describe(ctx.site, assessment, rules.timezone),
        level=level,
        previous_level=closed.level,
    )
    incident = replace(
        closed,
        status=IncidentStatus.OPEN,
        checks=closed.checks | assessment.involved,
        acknowledged_at=None,
        acknowledged_by=None,
        recovered_at=None,
        resolved_at=None,
        resolved_by=None,
        paused=False,
        silenced=ctx.silenced,
    )
    # Reopening at A after a B case is an upgrade: the same deadline rule applies.
    incident = _relevel(incident, level, now, rules) if level is not closed.level else incident
    incident, events = _changed(incident, (event,), now, rules)
    incident = replace(incident, timeline=incident.timeline + events)
    return Decision(incident=incident, events=events, track=track)


# ----------------------------------------------------------------- an open incident


def _update_open(
    track: SiteTrack,
    assessment: SiteAssessment,
    ctx: SiteContext,
    incident: Incident,
    now: datetime,
    rules: Rules,
) -> Decision:
    incident, events = _sync_flags(incident, ctx, now)
    if assessment.level is None and ctx.connectivity_lost:
        # none of the site's locations votes (`evaluate.vote`): nothing says it recovered
        more: tuple[Event, ...] = ()
    elif assessment.level is None:
        incident, more = _recover(incident, assessment, now, rules)
    else:
        incident, more = _still_failing(incident, assessment, now, rules)
    events += more
    if not events:
        return Decision(incident=incident, track=track)
    return Decision(
        incident=replace(incident, timeline=incident.timeline + events),
        events=events,
        track=track,
    )


def _sync_flags(
    incident: Incident, ctx: SiteContext, now: datetime
) -> tuple[Incident, tuple[Event, ...]]:
    events: list[Event] = []
    if ctx.in_maintenance != incident.paused:
        kind = EventKind.PAUSED if ctx.in_maintenance else EventKind.RESUMED
        events.append(Event(kind, now, text="maintenance window"))
    if ctx.silenced != incident.silenced:
        events.append(Event(EventKind.SILENCED if ctx.silenced else EventKind.UNSILENCED, now))
    down = next((d for d in ctx.dependencies if d.case is not None), None)
    linked_to = incident.linked_to
    if down is not None and linked_to is None:
        linked_to = down.case
        events.append(
            Event(EventKind.LINKED, now, text=f"depends on {down.site_id}", ref=down.case)
        )
    flags = replace(incident, paused=ctx.in_maintenance, silenced=ctx.silenced, linked_to=linked_to)
    return flags, tuple(events)


def _recover(
    incident: Incident, assessment: SiteAssessment, now: datetime, rules: Rules
) -> tuple[Incident, tuple[Event, ...]]:
    events: tuple[Event, ...] = ()
    if incident.recovered_at is None:
        # A recovery is not a flapping change (`_changed`): the next failure is.
        events = (Event(EventKind.RECOVERED, now, previous_level=incident.level),)
        incident = replace(incident, recovered_at=now)
    # Only checks the site still has count: a check removed from the config cannot recover.
    involved = [c for c in incident.checks if c in assessment.states]
    if assessment.all_ok(involved):
        incident = replace(
            incident, status=IncidentStatus.RESOLVED, resolved_at=now, resolved_by=SYSTEM
        )
        events += (Event(EventKind.RESOLVED, now, text="every check recovered"),)
    return incident, events


def _still_failing(
    incident: Incident, assessment: SiteAssessment, now: datetime, rules: Rules
) -> tuple[Incident, tuple[Event, ...]]:
    level = _level(assessment)
    incident = replace(incident, checks=incident.checks | assessment.involved)
    events: list[Event] = []
    if incident.recovered_at is not None:
        events.append(Event(EventKind.RELAPSED, now, level=level, previous_level=incident.level))
        incident = replace(incident, recovered_at=None)
    if level is not incident.level:
        events.append(
            Event(EventKind.LEVEL_CHANGED, now, level=level, previous_level=incident.level)
        )
        incident = _relevel(incident, level, now, rules)
    if not events:
        return incident, ()
    return _changed(incident, tuple(events), now, rules)


def _relevel(incident: Incident, level: Level, now: datetime, rules: Rules) -> Incident:
    """DESIGN.md: upgrade B->A: respond-by = min(current, now + A's respond), the
    acknowledgement cleared (re-paged). A downgrade keeps the earlier deadline.

    When the B was already acknowledged its response was met, so the A's response gets
    a fresh window from the upgrade (as `policy.on_level_change` computes); the min with
    the B's deadline would be an instant breach.
    """
    if level is not Level.A or incident.policy is None:
        return replace(incident, level=level)
    deadline = rules.respond_by(incident.policy, Level.A, now)
    current = None if incident.acknowledged_at is not None else incident.respond_by
    candidates = [d for d in (current, deadline) if d is not None]
    return replace(
        incident,
        level=level,
        respond_by=min(candidates) if candidates else None,
        status=IncidentStatus.OPEN,
        acknowledged_at=None,
        acknowledged_by=None,
    )


def _changed(
    incident: Incident, events: tuple[Event, ...], now: datetime, rules: Rules
) -> tuple[Incident, tuple[Event, ...]]:
    """Count a change for flapping and mark flapping once the count is reached.

    A change is entering a failing level (opening, reopening, relapsing) or a level change
    while failing; a recovery is not one. So two outages 11 minutes apart are 2 changes,
    and the default (4 within 30 minutes) marks the fourth outage within half an hour."""
    window = rules.flapping.within
    changes = (*(t for t in incident.changes if now - t < window), now)
    incident = replace(incident, changes=changes)
    if incident.flapping or len(changes) < rules.flapping.changes:
        return incident, events
    text = f"{len(changes)} changes within {window}"
    return replace(incident, flapping=True), (*events, Event(EventKind.FLAPPING, now, text=text))


def _level(assessment: SiteAssessment) -> Level:
    if assessment.level is None:
        raise ValueError("an assessment without a level opens no incident")
    return assessment.level
