"""`/reports`: a 12-month SLA overview of every customer, and `/reports/{customer}/{month}`:
the report as the customer reads it (the version sent when the month is frozen).
`POST /reports/{customer}/{month}/approve|hold`: the team's decision on a month waiting for
approval (`reports: {approve: true}`), shown in the overview ("held by ...")."""

from __future__ import annotations

import re
from typing import Final

from aiohttp import web

from monitor.web.state import state
from monitor.web.ui.common import SESSION, back, login_required, render

MONTHS = 12
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# The report is one self-contained page: its own styles and inline SVG charts, no scripts.
REPORT_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


@login_required
async def overview(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    source = web_state.deps.reports
    config = web_state.config()
    rows = {} if source is None else await source.overview(MONTHS)
    months = next(iter(rows.values()), [])
    context = {
        "title": "Reports",
        "months": [m["month"] for m in months],
        "rows": [(config.customers[c], figures) for c, figures in rows.items()],
    }
    return render(request, "reports.html", context)


@login_required
async def report(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    customer, month = request.match_info["customer"], request.match_info["month"]
    source = web_state.deps.reports
    if source is None or customer not in web_state.config().customers or not _MONTH.match(month):
        raise web.HTTPNotFound(text="no such report")
    page = await source.page(customer, month)
    response = web.Response(text=page, content_type="text/html")
    response.headers["Content-Security-Policy"] = REPORT_CSP
    return response


@login_required
async def decide(request: web.Request) -> web.StreamResponse:
    """Approve (freeze and send, as the monthly email does) or hold a customer's month."""
    web_state = state(request)
    customer, month = request.match_info["customer"], request.match_info["month"]
    decision = request.match_info["decision"]
    source = web_state.deps.reports
    if source is None or customer not in web_state.config().customers or not _MONTH.match(month):
        raise web.HTTPNotFound(text="no such report")
    name = web_state.config().customers[customer].name
    try:
        done = await source.decide(customer, month, decision, request[SESSION].person)
    except ValueError as exc:  # the month is not over
        raise back("/reports", f"{name}: {exc}") from exc
    if decision == "approve":
        said = "approved and sent" if done else "sent before: nothing sent"
    else:
        said = "held" if done else "held or sent before: nothing changed"
    raise back("/reports", f"{name} {month}: {said}")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/reports", overview),
        web.get("/reports/{customer}/{month}", report),
        web.post("/reports/{customer}/{month}/{decision:approve|hold}", decide),
    ]
