"""`/login` and `/logout`: per-person sign-in with a password, rate limited per address."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote

from aiohttp import web

from monitor.web.security import (
    CSRF_FIELD,
    anonymous_csrf,
    check_anonymous_csrf,
    client_key,
    is_secure,
    set_anonymous_csrf,
)
from monitor.web.state import state
from monitor.web.ui.common import SESSION_COOKIE, form_text, login_required

MAX_NEXT = 512


def _next(raw: str) -> str:
    """Where to go after signing in: a normalised same-origin path, else `/`.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    `/\t/evil.example`, `/%09/evil.example` or `/\\evil.example` would leave the site: any
    control character, backslash or leading `//`, raw or percent-decoded, is refused.
    """
    if len(raw) > MAX_NEXT or not raw.startswith("/"):
        return "/"
    path, mark, rest = _split_query(raw)
    decoded = unquote(raw)
    if _UNSAFE.search(decoded) or decoded.startswith("//"):
        return "/"
    normal = posixpath.normpath(path) + ("/" if path.endswith("/") and path != "/" else "")
    if normal.startswith("//") or unquote(normal).startswith("//"):
        return "/"
    return normal + mark + rest


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\\\]")


def _split_query(raw: str) -> tuple[str, str, str]:
    """`/a?b#c` -> (`/a`, `?`, `b#c`)."""
    cut = min((i for i in (raw.find("?"), raw.find("#")) if i >= 0), default=len(raw))
    return raw[:cut], raw[cut : cut + 1], raw[cut + 1 :]


def _form(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    web_state = state(request)
    csrf = anonymous_csrf(request)
    context = {
        "title": "Sign in",
        "error": error,
        "csrf": csrf,
        "csrf_field": CSRF_FIELD,
        "next": _next(request.query.get("next", "/")),
    }
    response = web_state.renderer.page("login.html", context, status=status)
    secure = is_secure(request)
    set_anonymous_csrf(response, csrf, secure=secure, path="/login")
    return response


async def show(request: web.Request) -> web.StreamResponse:
    return _form(request)


async def submit(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    form = await request.post()
    check_anonymous_csrf(request, form_text(form, CSRF_FIELD))
    proxies = web_state.config().settings.web.trusted_proxies
    if not web_state.login_limit.allow(client_key(request, proxies)):
        return _form(request, "Too many attempts. Wait a minute and try again.", 429)
    person = form_text(form, "person", 64).lower()
    password = form.get("password")
    config = web_state.config()
    # The password is checked (and costs a hash) even for unknown names: same timing.
    good = isinstance(password, str) and await web_state.sessions.check_password(person, password)
    if not good or person not in config.people:
        return _form(request, "Unknown person or wrong password.", 401)
    cookie, _ = await web_state.sessions.start(person, web_state.deps.clock.now())
    response = web.HTTPSeeOther(location=_next(form_text(form, "next", MAX_NEXT)))
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="Lax",
        secure=is_secure(request),
        path="/",
        max_age=int(web_state.deps.session_ttl.total_seconds()),
    )
    raise response


@login_required
async def logout(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    await web_state.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
    response = web.HTTPSeeOther(location="/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def routes() -> list[web.RouteDef]:
    return [web.get("/login", show), web.post("/login", submit), web.post("/logout", logout)]
