"""Customer status pages: `/status/{customer}` (HTML), `.json`, and `/feed.atom`.

Private by default: a page is served when the customer's `status_page.public` is true, or
with its `status_page.token` given as `?token=` (which sets a cookie and redirects to the
clean URL, so the token stays out of history and Referer headers) or in that cookie.
Without access, or for an unknown customer, the answer is the same 404. Pages are built at
most once per `status_cache` per customer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from monitor.config.records import Customer
from monitor.web.public import report
from monitor.web.public.statusdata import PublicIncident, StatusView, build
from monitor.web.security import is_secure, tokens_match
from monitor.web.state import WebState, state

CUSTOMER = "{customer:[A-Za-z0-9_-]{1,64}}"


@dataclass(slots=True)
class StatusCache:
    """The last built view per customer, with the monotonic time it expires."""

    views: dict[str, tuple[float, StatusView]] = field(default_factory=dict)


CACHE = web.AppKey("vakt_status_cache", StatusCache)


def _cookie(customer: Customer) -> str:
    return f"vakt_status_{customer.id}"


PRIVATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Private status page</title>
<link rel="stylesheet" href="/static/vakt.css"></head>
<body><main><h1>This status page is private</h1>
<p>Open it with the link your service provider gave you: it ends in
<code>/status/{id}?token=…</code>. The link is remembered in this browser afterwards.</p>
<p>No link? Ask your service provider for one.</p></main></body></html>
"""


def _customer(request: web.Request, *, html: bool = False) -> tuple[WebState, Customer]:
    """The customer of the URL if this request may see their page; else 404: for the HTML
    page, one that says the page is private and how to open it, the same for an unknown
    customer (so it tells nobody which customers exist)."""
    web_state = state(request)
    customer = web_state.config().customers.get(request.match_info["customer"])
    page = None if customer is None else customer.status_page
    if customer is not None and page is not None and page.public:
        return web_state, customer
    given = None
    if customer is not None:
        given = request.query.get("token") or request.cookies.get(_cookie(customer))
    if (
        customer is None
        or page is None
        or page.token is None
        or not tokens_match(page.token, given)
    ):
        if html:
            raise web.HTTPNotFound(
                text=PRIVATE.replace("{id}", request.match_info["customer"]),
                content_type="text/html",
                headers={"Cache-Control": "no-store"},
            )
        raise web.HTTPNotFound(text="Not found")
    return web_state, customer


def _clean_redirect(request: web.Request, web_state: WebState, customer: Customer) -> None:
    """After `?token=`: remember it in a cookie and drop it from the URL."""
    if "token" not in request.query or customer.status_page.public:
        return
    secure = is_secure(request, web_state.config().settings.public_url)
    response = web.HTTPSeeOther(location=request.path)
    response.set_cookie(
        _cookie(customer),
        request.query["token"],
        httponly=True,
        samesite="Lax",
        secure=secure,
        path="/status/",
        max_age=90 * 86400,
    )
    raise response


async def _view(request: web.Request, web_state: WebState, customer: Customer) -> StatusView:
    cache = request.app[CACHE]
    clock = web_state.deps.clock
    hit = cache.views.get(customer.id)
    if hit is not None and hit[0] > clock.monotonic():
        return hit[1]
    async with web_state.deps.store.transaction(read_only=True) as tx:
        view = await build(tx, web_state.config(), customer, clock.now())
    ttl = web_state.deps.status_cache.total_seconds()
    cache.views[customer.id] = (clock.monotonic() + ttl, view)
    return view


async def page(request: web.Request) -> web.StreamResponse:
    web_state, customer = _customer(request, html=True)
    _clean_redirect(request, web_state, customer)
    view = await _view(request, web_state, customer)
    language = customer.language.value
    translate = web_state.renderer.gettext(language)
    context = {
        "title": translate("Status"),
        "view": view,
        "_": translate,
        "language": language,
        "tz": customer.timezone,
        "feed": f"/status/{customer.id}/feed.atom",
        "sites": customer.sites,
        **report.form_context(request, web_state, customer),
    }
    response = web_state.renderer.page("status.html", context)
    report.remember_csrf(request, response, web_state, context)
    return response


async def report_problem(request: web.Request) -> web.StreamResponse:
    """`POST /status/{customer}/report`: the same access as the page."""
    _, customer = _customer(request, html=True)
    return await report.submit(request, customer)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def as_json(view: StatusView) -> dict[str, Any]:
    """The JSON document of a status page (public fields only)."""
    return {
        "customer": view.customer.name,
        "status": view.state.value,
        "updated_at": _iso(view.now),
        "sites": [
            {
                "name": v.site.label,
                "status": v.state.value,
                "uptime_90d": _percent(v.uptime),
                "uptime_since": None if v.since is None else v.since.isoformat(),
                "days": [
                    {
                        "date": d.day.isoformat(),
                        "uptime": _percent(d.uptime),
                        "degraded": _percent(d.degraded),
                    }
                    for d in v.days
                ],
            }
            for v in view.sites
        ],
        "incidents": [_incident(i) for i in view.incidents],
        "past_incidents": [_incident(i) for i in view.past],
        "maintenance": [
            {"start": _iso(s.start), "end": _iso(s.end), "reason": s.reason, "sites": list(n)}
            for s, n in view.maintenance
        ],
    }


def _incident(i: PublicIncident) -> dict[str, Any]:
    return {
        "case": i.case,
        "site": i.site_label,
        "level": i.level.value,
        "state": i.state.value,
        "status": i.status.value,
        "opened_at": _iso(i.opened_at),
        "resolved_at": _iso(i.resolved_at),
        "updates": [{"at": _iso(u.at), "text": u.text} for u in i.updates],
    }


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 3)


async def document(request: web.Request) -> web.StreamResponse:
    web_state, customer = _customer(request)
    view = await _view(request, web_state, customer)
    return web.json_response(as_json(view), dumps=lambda o: json.dumps(o, ensure_ascii=False))


def atom(view: StatusView, base_url: str) -> str:
    """An Atom feed of the customer's incidents and their public updates."""
    customer = view.customer
    link = f"{base_url.rstrip('/')}/status/{customer.id}"
    updated = max((i.updated_at for i in view.incidents), default=view.now)
    entries = "".join(_entry(i, link) for i in view.incidents)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(customer.name)}</title>"
        f"<id>{escape(link)}</id>"
        f'<link rel="alternate" href="{escape(link)}"/>'
        f"<updated>{_iso(updated)}</updated>{entries}</feed>\n"
    )


def _entry(incident: Any, link: str) -> str:
    lines = [f"{_iso(u.at)}: {u.text}" for u in incident.updates]
    summary = "\n".join([f"{incident.site_label}: {incident.status.value}", *lines])
    return (
        f"<entry><id>urn:vakt:{escape(incident.case)}</id>"
        f"<title>{escape(incident.case)} {escape(incident.site_label)}</title>"
        f'<link rel="alternate" href="{escape(link)}"/>'
        f"<updated>{_iso(incident.updated_at)}</updated>"
        f"<published>{_iso(incident.opened_at)}</published>"
        f"<author><name>{escape(incident.site_label)}</name></author>"
        f'<content type="text">{escape(summary)}</content></entry>'
    )


async def feed(request: web.Request) -> web.StreamResponse:
    web_state, customer = _customer(request)
    view = await _view(request, web_state, customer)
    text = atom(view, web_state.config().settings.public_url)
    return web.Response(text=text, content_type="application/atom+xml")


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"/status/{CUSTOMER}.json", document),
        web.get(f"/status/{CUSTOMER}/feed.atom", feed),
        web.get(f"/status/{CUSTOMER}", page),
        web.post(f"/status/{CUSTOMER}/report", report_problem),
    ]
