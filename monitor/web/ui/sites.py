"""`/sites/{customer}/{site}`: each check's state, a 24-hour latency chart and its most
recent results."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from monitor.store.aggregates import BUCKET
from monitor.store.queries.web import with_ring
from monitor.web.state import state
from monitor.web.ui.charts import bucketed, chart
from monitor.web.ui.common import login_required, render

NAME = "[A-Za-z0-9_-]{1,64}"
RECENT = 20
DAY = timedelta(hours=24)


@login_required
async def show(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    config = web_state.config()
    site_id = f"{request.match_info['customer']}/{request.match_info['site']}"
    site = config.site(site_id)
    if site is None:
        raise web.HTTPNotFound(text="No such site")
    now = web_state.deps.clock.now()
    start = now - DAY
    async with web_state.deps.store.transaction(read_only=True) as tx:
        statuses = {s.check_id: s for s in await tx.checks.load()}
        checks = []
        for check in site.checks:
            points = with_ring(
                await tx.web.series([check.id], start, now),
                await tx.results.recent_of([check.id], start),
            )
            series = bucketed(points, start, BUCKET, int(DAY / BUCKET))
            recent = await tx.results.recent(check.id, RECENT)
            checks.append(
                (check, statuses.get(check.id), chart(series, width=600, height=80), recent)
            )
        incidents = await tx.incidents.find(site_id=site.id, limit=10)
    context = {
        "title": site.label,
        "site": site,
        "customer": config.customers[site.customer],
        "checks": checks,
        "incidents": incidents,
    }
    return render(request, "site.html", context)


def routes() -> list[web.RouteDef]:
    return [web.get(f"/sites/{{customer:{NAME}}}/{{site:{NAME}}}", show)]
