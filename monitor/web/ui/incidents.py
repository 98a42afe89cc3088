"""`/incidents/{case}`: evidence, timeline, SLA clock; forms to acknowledge, resolve,
approve the customer email and add a note (public or internal). The timeline
(`timeline.py`) says in words what happened, who was paged or emailed by which channel
(from the typed events the dispatcher writes when a send is settled),
and which notifications were cancelled and why (acknowledged, resolved)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from monitor.config.records import Config, CustomerEmails
from monitor.engine import commands
from monitor.notify.stored import from_record
from monitor.store import Evidence, Incident, OutboxStatus, Transaction
from monitor.web.state import state
from monitor.web.ui.approval import approve_customer_email
from monitor.web.ui.common import SESSION, back, form_text, login_required, render
from monitor.web.ui.timeline import timeline

CASE = "{case:[A-Za-z0-9_-]{1,64}}"
EVIDENCE_BEFORE = timedelta(hours=1)
EVIDENCE_PER_CHECK = 5
NOTIFICATIONS_SHOWN = 200


def needs_approval(config: Config, incident: Incident) -> bool:
    """Whether the incident's level holds the first customer email for an approval."""
    customer = config.customers.get(incident.customer_id)
    policy = config.policies.get(customer.policy) if customer else None
    terms = policy.levels.get(incident.level) if policy else None
    return terms is not None and terms.customer_emails is CustomerEmails.APPROVE


async def _evidence(tx: Transaction, incident: Incident, config: Config) -> list[Evidence]:
    try:
        checks = sorted(from_record(incident).checks)
    except ValueError:
        checks = []
    if not checks:
        site = config.site(incident.site_id)
        checks = [c.id for c in site.checks] if site else []
    since = incident.opened_at - EVIDENCE_BEFORE
    found: list[Evidence] = []
    for check_id in checks:
        found.extend(await tx.results.evidence(check_id, since=since, limit=EVIDENCE_PER_CHECK))
    return sorted(found, key=lambda e: e.result.started_at, reverse=True)


@login_required
async def show(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    config = web_state.config()
    async with web_state.deps.store.transaction(read_only=True) as tx:
        incident = await tx.incidents.by_case(request.match_info["case"])
        if incident is None:
            raise web.HTTPNotFound(text="No such incident")
        events = await tx.incidents.events(incident.id)
        messages = await tx.intake.case_messages(incident.case_number)
        evidence = await _evidence(tx, incident, config)
        approval = (await tx.web.approvals([incident.id])).get(incident.id)
        cancelled = await tx.outbox.find(
            incident_id=incident.id, status=OutboxStatus.CANCELLED, limit=NOTIFICATIONS_SHOWN
        )
    site = config.site(incident.site_id)
    customer = config.customers.get(incident.customer_id)
    context = {
        "title": incident.case_number,
        "incident": incident,
        "site": site,
        "customer": customer,
        "timeline": timeline(events, cancelled, config.people, messages),
        "evidence": evidence,
        "checks": {c.id: c for c in site.checks} if site else {},
        "people": config.people,
        "approval": approval,
        "needs_approval": needs_approval(config, incident),
    }
    return render(request, "incident.html", context)


Act = Callable[[web.Request, str, str], Awaitable[str]]


def _action(act: Act) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @login_required
    async def handle(request: web.Request) -> web.StreamResponse:
        case = request.match_info["case"]
        person = request[SESSION].person
        try:
            message = await act(request, case, person)
        except commands.UnknownCase as exc:
            raise web.HTTPNotFound(text="No such incident") from exc
        except commands.CommandError as exc:
            message = str(exc)
        raise back(f"/incidents/{case}", message)

    return handle


async def _ack(request: web.Request, case: str, person: str) -> str:
    web_state = state(request)
    now = web_state.deps.clock.now()
    result = await commands.acknowledge(web_state.deps.store, case, person, now)
    return "Acknowledged" if result.changed else "Already acknowledged"


async def _resolve(request: web.Request, case: str, person: str) -> str:
    web_state = state(request)
    await commands.resolve(web_state.deps.store, case, person, web_state.deps.clock.now())
    return "Resolved"


async def _approve(request: web.Request, case: str, person: str) -> str:
    web_state = state(request)
    now = web_state.deps.clock.now()
    done = await approve_customer_email(web_state.deps.store, case, person, now)
    return "Customer email approved" if done else "Already approved"


async def _note(request: web.Request, case: str, person: str) -> str:
    web_state = state(request)
    form = await request.post()
    text = form_text(form, "text", 4000)
    public = form.get("visibility") == "public"
    now = web_state.deps.clock.now()
    await commands.add_note(web_state.deps.store, case, person, text, public, now)
    return "Public note added" if public else "Internal note added"


def routes() -> list[web.RouteDef]:
    base = f"/incidents/{CASE}"
    return [
        web.get(base, show),
        web.post(f"{base}/ack", _action(_ack)),
        web.post(f"{base}/resolve", _action(_resolve)),
        web.post(f"{base}/approve", _action(_approve)),
        web.post(f"{base}/note", _action(_note)),
    ]
