""" "Report a problem" on a customer's status page: `POST /status/{customer}/report`.

A plain HTML form (no JavaScript): name, email, site, what is wrong, urgent. The same
access as the page (public, or its token cookie); a double-submit CSRF token; a honeypot
field (`website`, hidden from people) that a bot fills: such a post files nothing and is
answered like any other; fields capped in size; the rate limits are the desk's (per client
address and per reporter email, counted in the store). The desk (`ReportDesk`, injected
by `monitor.app`) decides triage, joining a monitoring case or opening a case of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from monitor.config.records import Customer
from monitor.incidents.reports import (
    MAX_DESCRIPTION,
    Filed,
    InvalidReport,
    ReportDesk,
    ReportSource,
    make_report,
)
from monitor.store import StoreError
from monitor.web.security import (
    CSRF_FIELD,
    anonymous_csrf,
    check_anonymous_csrf,
    client_key,
    is_secure,
    set_anonymous_csrf,
)
from monitor.web.state import WebState, state

HONEYPOT = "website"


def form_context(request: web.Request, web_state: WebState, customer: Customer) -> dict[str, Any]:
    """What status.html needs to show the form (empty without a desk)."""
    if web_state.deps.desk is None:
        return {"report": None}
    return {
        "report": {
            "action": f"/status/{customer.id}/report",
            "csrf": anonymous_csrf(request),
            "csrf_field": CSRF_FIELD,
            "honeypot": HONEYPOT,
            "max_description": MAX_DESCRIPTION,
        }
    }


def remember_csrf(
    request: web.Request,
    response: web.StreamResponse,
    web_state: WebState,
    context: Mapping[str, Any],
) -> None:
    """Sets the double-submit cookie the form's token is checked against."""
    form = context.get("report")
    if not form:
        return
    secure = is_secure(request, web_state.config().settings.public_url)
    path = form["action"].rsplit("/", 1)[0]
    set_anonymous_csrf(response, form["csrf"], secure=secure, path=path)


def _field(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def submit(request: web.Request, customer: Customer) -> web.StreamResponse:
    """Files the form's report (the caller checked access to the customer's page)."""
    web_state = state(request)
    desk: ReportDesk | None = web_state.deps.desk
    if desk is None:
        raise web.HTTPNotFound(text="Not found")
    form = await request.post()
    check_anonymous_csrf(request, _field(form, CSRF_FIELD) or None)
    translate = web_state.renderer.gettext(customer.language.value)
    context: dict[str, Any] = {
        "_": translate,
        "language": customer.language.value,
        "customer": customer,
        "back": f"/status/{customer.id}",
        "title": translate("Report a problem"),
        "problem": None,
        "receipt": None,
        "tz": customer.timezone,
    }
    if _field(form, HONEYPOT):
        return web_state.renderer.page("report_done.html", context)  # a bot learns nothing
    config = web_state.config()
    try:
        report = make_report(
            customer,
            site=_field(form, "site") or None,
            name=_field(form, "name"),
            email=_field(form, "email"),
            description=_field(form, "description"),
            urgent=bool(_field(form, "urgent")),
            submitted_at=web_state.deps.clock.now(),
            source=ReportSource.FORM,
            client=client_key(request, config.settings.web.trusted_proxies),
        )
    except InvalidReport as exc:
        context["problem"] = exc.problem.value
        return web_state.renderer.page("report_done.html", context, status=400)
    try:
        receipt = await desk.file(report)
    except StoreError:
        context["problem"] = "unavailable"
        response = web_state.renderer.page("report_done.html", context, status=503)
        response.headers["Retry-After"] = "30"
        return response
    context["receipt"] = receipt
    status = 429 if receipt.filed is Filed.LIMITED else 200
    return web_state.renderer.page("report_done.html", context, status=status)
