"""What every team page shares: the signed-in session, CSRF checks, the page frame."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import wraps
from typing import Any
from urllib.parse import quote

from aiohttp import web

from monitor.store.queries.web import WebSession
from monitor.web.security import CSRF_FIELD, check_session_csrf
from monitor.web.state import WebState, state

SESSION_COOKIE = "vakt_session"
SESSION = web.RequestKey("vakt_session", WebSession)

Page = Callable[[web.Request], Awaitable[web.StreamResponse]]


def login_required(handler: Page) -> Page:
    """Runs `handler` for a signed-in person (`request[SESSION]`); others go to /login.

    A POST must also carry the session's CSRF token, checked before the handler runs.
    """

    @wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        web_state = state(request)
        cookie = request.cookies.get(SESSION_COOKIE, "")
        session = await web_state.sessions.find(cookie, web_state.deps.clock.now())
        if session is None:
            if request.method != "GET":
                raise web.HTTPForbidden(text="Sign in first.")
            raise web.HTTPSeeOther(location=f"/login?next={quote(request.path_qs, safe='')}")
        if request.method == "POST":
            form = await request.post()
            field = form.get(CSRF_FIELD)
            check_session_csrf(session.csrf, field if isinstance(field, str) else None)
        request[SESSION] = session
        return await handler(request)

    return guarded


def render(
    request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    """A team page: adds the person, their CSRF token, the zone and the flash message."""
    web_state = state(request)
    config = web_state.config()
    session = request[SESSION]
    person = config.people.get(session.person)
    full = {
        "me": person.name if person else session.person,
        "csrf": session.csrf,
        "csrf_field": CSRF_FIELD,
        "tz": config.settings.timezone,
        "now": web_state.deps.clock.now(),
        "flash": request.query.get("done", ""),
        **context,
    }
    return web_state.renderer.page(template, full, status=status)


def form_text(form: Mapping[str, Any], name: str, limit: int = 2000) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value.strip()[:limit]


def back(location: str, message: str) -> web.HTTPSeeOther:
    """Redirect after a POST (so a reload does not post again), with a short message."""
    sep = "&" if "?" in location else "?"
    return web.HTTPSeeOther(location=f"{location}{sep}done={quote(message)}")


def web_state_of(request: web.Request) -> WebState:
    return state(request)
