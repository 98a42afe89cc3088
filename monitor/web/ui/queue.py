"""`/queue`: every open case the team owes an answer, monitoring and customer-reported, in
the order to answer them (respond-by, then submission), with each contract's clock; and
the triage list of reports from people who are not a customer's contacts. A person
acknowledges or resolves a customer-reported case from here, and accepts (as a case) or
dismisses a report in triage (POST, the session's CSRF token)."""

from __future__ import annotations

from aiohttp import web

from monitor.engine.queue import answer_report, read_queue
from monitor.web.state import state
from monitor.web.ui.common import SESSION, back, login_required, render


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


def _answer(resolve: bool) -> web.RouteDef:
    @login_required
    async def handle(request: web.Request) -> web.StreamResponse:
        web_state = state(request)
        case = request.match_info["case"]
        person = request[SESSION].person
        now = web_state.deps.clock.now()
        row = await answer_report(web_state.deps.store, case, person, now, resolve=resolve)
        if row is None:
            raise web.HTTPNotFound(text="No such customer-reported case")
        raise back("/queue", f"{row.case_number}: {'resolved' if resolve else 'acknowledged'}")

    verb = "resolve" if resolve else "ack"
    return web.post(f"/queue/{{case:[A-Za-z0-9-]{{1,64}}}}/{verb}", handle)


def _triage(accept: bool) -> web.RouteDef:
    @login_required
    async def handle(request: web.Request) -> web.StreamResponse:
        web_state = state(request)
        desk = web_state.deps.desk
        if desk is None:
            raise web.HTTPNotFound(text="This instance takes no reports")
        request_id = int(request.match_info["id"])
        person = request[SESSION].person
        if accept:
            receipt = await desk.accept(request_id, person)
            if receipt is None:
                raise web.HTTPNotFound(text="No such report in triage, or no known customer")
            raise back("/queue", f"Accepted: {receipt.case}")
        if not await desk.dismiss(request_id, person):
            raise web.HTTPNotFound(text="No such report in triage")
        raise back("/queue", "Dismissed")

    verb = "accept" if accept else "dismiss"
    return web.post(f"/queue/triage/{{id:[0-9]{{1,18}}}}/{verb}", handle)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/queue", queue),
        _answer(resolve=False),
        _answer(resolve=True),
        _triage(accept=True),
        _triage(accept=False),
    ]
