"""`/queue`: every open case the team owes an answer, monitoring and customer-reported, in
the order to answer them (respond-by, then submission), with each contract's clock; and
the triage list of reports from people who are not a customer's contacts. A person
acknowledges or resolves a customer-reported case from here, and accepts (as a case) or
dismisses a report in triage (POST, the session's CSRF token); accepting assigns it to
the customer and site chosen (`target`: `acme` or `acme/shop`), which a stranger's mail
needs.

`/queue/{case}`: a customer-reported case's page: the report (contact person, time of
submission, description, deadlines) and its timeline, with what the customer wrote to it
by email (team only)."""

from __future__ import annotations

from aiohttp import web

from monitor.engine.queue import answer_report, read_queue
from monitor.incidents.reports import Assignment, InvalidReport
from monitor.store import CustomerRequest, RequestStatus
from monitor.web.state import state
from monitor.web.ui.common import SESSION, back, login_required, render
from monitor.web.ui.timeline import Entry, Names, message_entry, who


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


def _report_entries(row: CustomerRequest, names: Names) -> list[Entry]:
    entries = [Entry(row.submitted_at, f"Reported by {row.name} <{row.email}> ({row.source})")]
    if row.acknowledged_at is not None:
        entries.append(
            Entry(row.acknowledged_at, f"Acknowledged by {who(row.acknowledged_by, names)}")
        )
    if row.resolved_at is not None:
        entries.append(Entry(row.resolved_at, f"Resolved by {who(row.resolved_by, names)}"))
    return entries


@login_required
async def case(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    config = web_state.config()
    number = request.match_info["case"]
    async with web_state.deps.store.transaction(read_only=True) as tx:
        rows = await tx.intake.by_case(number)
        own = [r for r in rows if r.status is not RequestStatus.JOINED]
        if not own:
            raise web.HTTPNotFound(text="No such customer-reported case")
        messages = await tx.intake.case_messages(number)
    row = own[0]
    entries = _report_entries(row, config.people) + [message_entry(m) for m in messages]
    context = {
        "title": number,
        "case": number,
        "report": row,
        "customer": config.customers.get(row.customer_id),
        "timeline": sorted(entries, key=lambda e: e.at),
        "tz": config.settings.timezone,
    }
    return render(request, "report_case.html", context)


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
            form = await request.post()
            target = form.get("target")
            assign = Assignment.parse(target) if isinstance(target, str) else None
            if assign is not None and not assign.customer_id:
                raise web.HTTPBadRequest(text="Choose the customer whose report this is")
            try:
                receipt = await desk.accept(request_id, person, assign)
            except InvalidReport:
                raise web.HTTPBadRequest(text="That site is not the customer's") from None
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
        web.get("/queue/{case:[A-Za-z0-9-]{1,64}}", case),
        _answer(resolve=False),
        _answer(resolve=True),
        _triage(accept=True),
        _triage(accept=False),
    ]
