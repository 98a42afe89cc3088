"""When a case's plan can next change, and whether it moves the shared paging lanes.

The planner tick keeps, per case, the earliest future instant at which planning the case
could give something new (`next_plan_at`, stored on the incident's row): until then, and
as long as nobody writes the case (a write sets it back to "plan now"), planning it again
gives nothing new, so the tick does not read it. Everything the planner derives from time
is a candidate here, and where in doubt the earlier instant is taken, never a later one:

- pages: the era's paging start (a deferred Level B page at business-hours start), the
  next escalation slot (the exhausted escalation's team warning is one), the end of a
  collapsed downtime and the team warning one wait after it, and every slot's group
  window close (the digest it may open or join);
- SLA: the warning time of each era and respond-by;
- customer emails: the opened email, the next update, the held "resolved" email;
- the timeline: any event stamped after `now` (a pause or silence ending).

Grouping (digests, the first page of a window at once) needs every case that pages to a
recipient, so a tick that plans only some cases leaves the pages out (`Planner.plan`,
`pages=False`) unless one of them moved a paging lane (`moves_pages`): then it plans every
case, as before the index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from monitor.config.records import Config
from monitor.notify.planning.context import Context
from monitor.notify.planning.customers import customer_times
from monitor.notify.planning.pages import slots
from monitor.notify.planning.timeline import eras, page_stop
from monitor.notify.planning.values import CaseView
from monitor.policy import Downtime, next_page_at, pages_due
from monitor.policy.escalation import TEAM_WARNING_AFTER


def next_plan_at(
    ctx: Context, view: CaseView, downtimes: Sequence[Downtime] = ()
) -> datetime | None:
    """The earliest instant after `now` at which planning the unchanged case could give a
    notification, a due time or an SLA mark it does not give at `now`; None: no time can
    (only a write of the case)."""
    incident = view.incident
    if incident.case is None:
        return None
    width = ctx.config.settings.paging.group_window
    escalation = ctx.escalation(incident)
    wait = escalation.repeat_every or TEAM_WARNING_AFTER
    times: list[datetime] = []
    for era in eras(incident):
        started = ctx.paging_starts(incident, era)
        warn = ctx.sla_warning_at(incident, era)
        if warn is not None:
            times.append(warn)
        if started is None:
            continue
        times.append(started)
        schedules = ctx.config.schedules
        nxt = next_page_at(escalation, schedules, started, ctx.now, warn)
        if nxt is not None:
            times.append(nxt)
        stop = page_stop(incident, era)
        due = pages_due(escalation, schedules, started, ctx.now, stop, None, warn)
        times.extend(page.due + width for page in due)
    for gap in downtimes:
        times += [gap.end, gap.end + width, gap.end + wait, gap.end + wait + width]
    if incident.respond_by is not None:
        times.append(incident.respond_by)
    times.extend(customer_times(ctx, view))
    times.extend(e.at for e in incident.timeline)
    later = [t for t in times if t > ctx.now]
    return min(later) if later else None


def moves_pages(
    ctx: Context,
    view: CaseView,
    since: datetime | None,
    downtimes: Sequence[Downtime] = (),
) -> bool:
    """Whether planning the case at `now` may change the pages and digests of the lanes it
    shares with other cases. `since`: its stored `next_plan_at` (None: the case was
    written since it was last planned). A written case whose paging has begun moves them
    (an acknowledgement drops it from a digest not yet due); otherwise a slot or a group
    window close at or after `since` does."""
    incident = view.incident
    if incident.case is None:
        return False
    if since is None:
        return any(
            (started := ctx.paging_starts(incident, era)) is not None and started <= ctx.now
            for era in eras(incident)
        )
    width = ctx.config.settings.paging.group_window
    items, _ = slots(ctx, view, downtimes)
    return any(item.due >= since or since <= item.due + width <= ctx.now for item in items)


def fingerprint(config: Config) -> str:
    """A digest of what case planning reads of `config` apart from its sites and windows
    (settings, calendars, policies, people, schedules, escalations, channels, customers
    without their sites): a tick whose stored fingerprint differs re-plans every case. Where
    a value's text is not stable across processes, a restart re-plans once: earlier, never
    later."""
    customers = sorted((k, replace(c, sites=())) for k, c in config.customers.items())
    parts = (
        config.settings,
        sorted(config.calendars.items()),
        sorted(config.policies.items()),
        sorted(config.people.items()),
        sorted(config.schedules.items()),
        sorted(config.escalations.items()),
        sorted(config.channels.items()),
        customers,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
