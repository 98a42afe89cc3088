"""`/incidents`: the incident history (PagerDuty's incident log): filter by customer,
site, level, status and month; `?q=` finds a case by its number (or the end of it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from aiohttp import web

from monitor.config.records import Config
from monitor.model import IncidentStatus, Level
from monitor.store import Incident
from monitor.store.queries.incident_search import IncidentFilter
from monitor.web.state import state
from monitor.web.ui.common import login_required, render

SHOWN = 200
_MONTH = re.compile(r"(\d{4})-(\d{2})\Z")
_STATUSES = {s.value for s in IncidentStatus}
_LEVELS = {level.value for level in Level}
_CASE = re.compile(r"[A-Za-z0-9-]{1,64}\Z")


@dataclass(frozen=True, slots=True)
class Filters:
    """The history page's filters as given (empty: any)."""

    customer: str = ""
    site: str = ""
    level: str = ""
    status: str = ""
    month: str = ""  # YYYY-MM in the team's zone
    q: str = ""


def filters_of(query: Mapping[str, str]) -> Filters:
    return Filters(*(query.get(name, "").strip()[:64] for name in Filters.__slots__))


def month_range(month: str, zone: tzinfo) -> tuple[datetime, datetime] | None:
    """[first instant, first instant of the next month) of `YYYY-MM` in `zone`."""
    match = _MONTH.match(month)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        return None
    year, number = int(match.group(1)), int(match.group(2))
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start, end


def incident_filter(chosen: Filters, zone: tzinfo) -> IncidentFilter:
    months = month_range(chosen.month, zone)
    return IncidentFilter(
        status=IncidentStatus(chosen.status) if chosen.status in _STATUSES else None,
        customer_id=chosen.customer or None,
        site_id=chosen.site or None,
        level=Level(chosen.level) if chosen.level in _LEVELS else None,
        since=None if months is None else months[0],
        until=None if months is None else months[1],
    )


def _matching(rows: list[Incident], q: str) -> list[Incident]:
    folded = q.casefold()
    return [r for r in rows if r.case_number.casefold().endswith(folded)]


@login_required
async def history(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    config = web_state.config()
    chosen = filters_of(request.query)
    where = incident_filter(chosen, config.settings.timezone)
    async with web_state.deps.store.transaction(read_only=True) as tx:
        if chosen.q and _CASE.match(chosen.q):
            exact = await tx.incidents.by_case(chosen.q.upper())
            found = (
                [exact]
                if exact
                else _matching(await tx.incident_search.search(where, 5000), chosen.q)
            )
            if len(found) == 1:
                raise web.HTTPSeeOther(location=f"/incidents/{found[0].case_number}")
            rows = found[:SHOWN]
        else:
            rows = await tx.incident_search.search(where, SHOWN)
    return render(request, "incidents.html", _context(config, chosen, rows))


def _context(config: Config, chosen: Filters, rows: list[Incident]) -> dict[str, object]:
    return {
        "title": "Incidents",
        "rows": rows,
        "chosen": chosen,
        "shown": SHOWN,
        "customers": {c.id: c.name for c in config.customers.values()},
        "sites": {s.id: s.label for s in config.sites()},
        "levels": [level.value for level in Level],
        "statuses": [s.value for s in IncidentStatus],
    }


def routes() -> list[web.RouteDef]:
    return [web.get("/incidents", history)]
