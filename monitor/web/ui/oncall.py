"""`/oncall`: who is on call now and next on each schedule, its overrides, and the
escalation policies that page it (PagerDuty's on-call view)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from monitor.config.records import Config, Override, Schedule
from monitor.policy.describe import describe_escalation
from monitor.policy.oncall import Shift, next_shifts
from monitor.web.state import state
from monitor.web.ui.common import login_required, render

NEXT = 4


@dataclass(frozen=True, slots=True)
class ScheduleView:
    schedule: Schedule
    now: Shift
    next: tuple[Shift, ...]
    overrides: tuple[Override, ...]  # current and upcoming
    escalations: tuple[str, ...]  # the escalation policies that notify it


def views_at(config: Config, at: datetime) -> list[ScheduleView]:
    """Each schedule at `at`: who is on call, the next NEXT handoffs, the overrides not
    yet over, and which escalation policies notify it."""
    out = []
    for schedule in config.schedules.values():
        found = next_shifts(schedule, at, NEXT + 1)
        using = tuple(
            e.name
            for e in config.escalations.values()
            if any(t.name == schedule.name for step in e.steps for t in step.notify)
        )
        overrides = tuple(o for o in schedule.overrides if o.end > at)
        out.append(ScheduleView(schedule, found[0], tuple(found[1:]), overrides, using))
    return out


@login_required
async def oncall(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    config = web_state.config()
    now = web_state.deps.clock.now()
    escalations = {
        name: describe_escalation(e, config.people) for name, e in config.escalations.items()
    }
    context = {
        "title": "On call",
        "views": views_at(config, now),
        "people": config.people,
        "escalations": escalations,
        "team": config.settings.email.team,
    }
    return render(request, "oncall.html", context)


def routes() -> list[web.RouteDef]:
    return [web.get("/oncall", oncall)]
