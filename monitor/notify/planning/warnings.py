"""Team warnings, sent by email to `settings.email.team` (none when it is not set).

Keys: `(case, team_warning, "<what>:<n>", team, email)`; a warning check's is
`(check:<check id>, team_warning, <since>, team, email)`.

- `escalation_exhausted`: one `repeat_every` after the last page of the last step;
- `sla_warning` / `sla_breach`: at the warning time and at respond-by of the current
  paging era when nobody answered by then;
- `flapping`: once per FLAPPING event; `mass_outage`: when a mass-outage case opens;
- `check_warning`: an `impact: warning` check started failing (the engine asks), key
  `(check:<check id>, team_warning, <since>, team, email)`;
- `location:<name>`: a probe location some check lists has no live instance (the
  cluster leader asks), key `(location:<name>, team_warning, <since>, team, email)`;
- `connectivity`: the canaries and many customer checks fail together: Vakt itself lost
  its network (the engine asks), key `(connectivity, team_warning, <since>, team, email)`;
  with several locations, one location lost it (and its vote): subject
  `connectivity:<location>`.
Warnings that fall inside a pause or silence are not sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.config.records import Check
from monitor.incidents import EventKind, Incident, IncidentKind
from monitor.notify.message import MessageKind, Payload
from monitor.notify.planning.context import Context
from monitor.notify.planning.pages import Exhausted
from monitor.notify.planning.timeline import answered_at, eras, is_quiet, quiet_intervals
from monitor.notify.planning.values import EMAIL, TEAM, CaseView, Key, Planned


def _warning(ctx: Context, view: CaseView, what: str, n: int, due: datetime, note: str) -> Planned:
    incident = view.incident
    key = Key(incident.case or "", MessageKind.TEAM_WARNING.value, f"{what}:{n}", TEAM, EMAIL)
    to, name = ctx.address(TEAM)
    payload = Payload(
        kind=MessageKind.TEAM_WARNING,
        case=incident.case,
        site=ctx.site_label(incident),
        site_id=incident.site_id,
        level=incident.level,
        status=incident.status.value,
        since=incident.failed_at,
        respond_by=incident.respond_by,
        evidence=view.evidence,
        title=f"{what.replace('_', ' ')}: {ctx.site_label(incident)}",
        warning=what,
        note=note,
        to=to,
        to_name=name,
        timezone=ctx.config.settings.timezone_name,
    )
    return Planned(key, due, payload, view.incident_id)


@dataclass(frozen=True, slots=True)
class SlaMark:
    """An SLA threshold a case passed unanswered: `what` is `sla_warning` (the policy's
    `warn_at` share of the response time used) or `sla_breach` (respond-by passed), in
    paging era `era` (an upgrade starts a new one)."""

    case: str
    what: str
    era: int
    at: datetime


def sla_marks(ctx: Context, view: CaseView) -> list[SlaMark]:
    """The SLA thresholds of the case's current era passed at or before `now` with no
    acknowledgement (or resolution) by then."""
    incident = view.incident
    if incident.case is None:
        return []
    era = eras(incident)[-1]
    answered = answered_at(incident, era)
    times = (
        ("sla_warning", ctx.sla_warning_at(incident, era)),
        ("sla_breach", incident.respond_by),
    )
    return [
        SlaMark(incident.case, what, era.index, at)
        for what, at in times
        if at is not None and at <= ctx.now and (answered is None or answered > at)
    ]


def _sla(ctx: Context, view: CaseView) -> list[Planned]:
    note = f"respond by {view.incident.respond_by}"
    return [_warning(ctx, view, m.what, m.era, m.at, note) for m in sla_marks(ctx, view)]


def _flapping(ctx: Context, view: CaseView) -> list[Planned]:
    flaps = [e for e in view.incident.timeline if e.kind is EventKind.FLAPPING]
    return [
        _warning(ctx, view, "flapping", n, e.at, e.text)
        for n, e in enumerate(flaps)
        if e.at <= ctx.now
    ]


def _mass(ctx: Context, view: CaseView) -> list[Planned]:
    incident: Incident = view.incident
    if incident.kind is not IncidentKind.MASS_OUTAGE:
        return []
    return [_warning(ctx, view, "mass_outage", 0, incident.opened_at, incident.description)]


def team_warnings(ctx: Context, view: CaseView, exhausted: Sequence[Exhausted]) -> list[Planned]:
    """The team warnings of one case due at or before `now`."""
    if not ctx.has_team or view.incident.case is None:
        return []
    out = [*_sla(ctx, view), *_flapping(ctx, view), *_mass(ctx, view)]
    out += [
        _warning(ctx, view, "escalation_exhausted", x.era.index, x.due, "nobody acknowledged")
        for x in exhausted
    ]
    quiet = quiet_intervals(view.incident)
    return [p for p in out if not is_quiet(quiet, p.due_at)]


def check_warning(ctx: Context, check: Check, since: datetime, detail: str) -> Planned | None:
    """The team warning for an `impact: warning` check failing since `since`."""
    if not ctx.has_team:
        return None
    subject = f"check:{check.id}"
    key = Key(subject, MessageKind.TEAM_WARNING.value, since.isoformat(), TEAM, EMAIL)
    to, name = ctx.address(TEAM)
    site = ctx.config.site(check.site_id)
    label = check.site_id if site is None else site.label
    payload = Payload(
        kind=MessageKind.TEAM_WARNING,
        site=label,
        site_id=check.site_id,
        since=since,
        title=f"warning: {label} {check.label}",
        warning="check_warning",
        note=detail,
        to=to,
        to_name=name,
        timezone=ctx.config.settings.timezone_name,
    )
    return Planned(key, since, payload)


UNREADABLE_CASE = "unreadable_case"
"""The `warning` of "Vakt cannot read this case" (it is not planned until it is fixed)."""


def unreadable_case_warning(
    ctx: Context, case: str, site_id: str, opened_at: datetime, reason: str
) -> Planned | None:
    """The one team warning that stored case `case` cannot be read, so nothing is planned
    for it (no pages, no customer emails) until someone repairs it."""
    if not ctx.has_team:
        return None
    key = Key(case, MessageKind.TEAM_WARNING.value, f"{UNREADABLE_CASE}:0", TEAM, EMAIL)
    to, name = ctx.address(TEAM)
    site = ctx.config.site(site_id)
    payload = Payload(
        kind=MessageKind.TEAM_WARNING,
        case=case,
        site=site_id if site is None else site.label,
        site_id=site_id,
        since=opened_at,
        title=f"Vakt cannot read case {case}: nobody is paged for it",
        warning=UNREADABLE_CASE,
        note=reason,
        to=to,
        to_name=name,
        timezone=ctx.config.settings.timezone_name,
    )
    return Planned(key, ctx.now, payload)


CONNECTIVITY = "connectivity"
"""The subject of "Vakt lost connectivity" warnings."""


def connectivity_warning(
    ctx: Context, since: datetime, detail: str, location: str | None = None
) -> Planned | None:
    """The one team warning of a connectivity loss that began at `since` (`location`: of
    that location only, which has no vote while it lasts)."""
    if location is None:
        return _episode_warning(ctx, CONNECTIVITY, since, "Vakt lost connectivity", detail)
    title = f"Vakt lost connectivity in {location}: {location} has no vote"
    return _episode_warning(ctx, f"{CONNECTIVITY}:{location}", since, title, detail)


def _episode_warning(
    ctx: Context, subject: str, since: datetime, title: str, note: str
) -> Planned | None:
    """One team warning of a Vakt episode (not a case's) that began at `since`: keyed by
    `subject` and `since`, so it is planned once however often it is asked."""
    if not ctx.has_team:
        return None
    key = Key(subject, MessageKind.TEAM_WARNING.value, since.isoformat(), TEAM, EMAIL)
    to, name = ctx.address(TEAM)
    payload = Payload(
        kind=MessageKind.TEAM_WARNING,
        since=since,
        title=title,
        warning=subject,
        note=note,
        to=to,
        to_name=name,
        timezone=ctx.config.settings.timezone_name,
    )
    return Planned(key, since, payload)


LOCATION = "location"
"""The subject prefix of "a probe location has no live instance" warnings."""


def location_warning(
    ctx: Context, location: str, since: datetime, now: datetime, checks: int
) -> Planned | None:
    """The one team warning that probe location `location`, which `checks` checks need,
    has had no live instance since `since` (its last member's last heartbeat): keyed by
    the location and `since`, so one episode is one warning whoever leads; due `now`."""
    note = (
        f"No running Vakt instance is in location '{location}', which {checks} check(s) "
        "list: they are not probed from there until an instance with "
        f"`vakt run --location {location}` joins. Their quorum counts the other locations."
    )
    title = f"Probe location {location} has no running instance"
    planned = _episode_warning(ctx, f"{LOCATION}:{location}", since, title, note)
    return None if planned is None else replace(planned, due_at=now)


SHED = "engine_shed"
"""The subject of "results were dropped while the store was down" warnings."""


def shed_warning(ctx: Context, since: datetime, dropped: int) -> Planned | None:
    """The one team warning that the engine dropped `dropped` pending rows (the oldest
    evidence and 5-minute aggregates, never states, incidents or notifications) while the
    store was unreachable from `since`; sent once the store answers again."""
    note = (
        f"{dropped} pending rows (the oldest failure evidence and 5-minute aggregates) were "
        "dropped to keep memory bounded; check states, incidents and notifications were "
        "kept. Uptime figures for that time may have gaps."
    )
    title = "Vakt dropped probe evidence while its database was unreachable"
    return _episode_warning(ctx, SHED, since, title, note)
