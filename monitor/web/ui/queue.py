"""`/queue`: every open case the team owes an answer, monitoring and customer-reported, in
the order to answer them (respond-by, then submission), with each contract's clock; and
the triage list of reports from people who are not a customer's contacts."""

from __future__ import annotations

from aiohttp import web

from monitor.engine.queue import read_queue
from monitor.web.state import state
from monitor.web.ui.common import login_required, render


@login_required
async def queue(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    config = web_state.config()
    async with web_state.deps.store.transaction(read_only=True) as tx:
        found = await read_queue(tx, config)
    context = {
        "title": "Queue",
        "entries": found.entries,
        "triage": found.triage,
        "customers": config.customers,
        "tz": config.settings.timezone,
        "now": web_state.deps.clock.now(),
    }
    return render(request, "queue.html", context)


def routes() -> list[web.RouteDef]:
    return [web.get("/queue", queue)]
