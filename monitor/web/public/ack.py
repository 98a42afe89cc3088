"""`/ack/{token}`: acknowledge from a page link.

GET shows what will be acknowledged, as whom, and a button; it never changes anything
(mail scanners and link previews fetch GETs). POST (with the double-submit CSRF token)
marks the token used, atomically, then acknowledges every incident it names as the
token's person. A malformed, forged, expired or already used token gets a page saying
so and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from monitor.engine import commands
from monitor.notify.tokens import TokenClaims, TokenError, TokenProblem, verify_token
from monitor.store import Incident
from monitor.web.security import (
    CSRF_FIELD,
    anonymous_csrf,
    check_anonymous_csrf,
    is_secure,
    set_anonymous_csrf,
)
from monitor.web.state import WebState, state

MAX_TOKEN = 2048

_PROBLEMS = {
    TokenProblem.MALFORMED: "This acknowledge link is incomplete or damaged.",
    TokenProblem.FORGED: "This acknowledge link is not valid.",
    TokenProblem.EXPIRED: "This acknowledge link has expired.",
    TokenProblem.WRONG_PERSON: "This acknowledge link belongs to someone else.",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    case: str
    message: str
    ok: bool


def _refuse(web_state: WebState, title: str, message: str, status: int) -> web.Response:
    context = {"title": title, "message": message}
    return web_state.renderer.page("ack_refused.html", context, status=status)


async def _claims(web_state: WebState, token: str) -> TokenClaims | web.Response:
    secret = web_state.deps.signing_secret()
    if not secret or len(token) > MAX_TOKEN:
        return _refuse(web_state, "Link not valid", _PROBLEMS[TokenProblem.FORGED], 400)
    claims = verify_token(secret, token, web_state.deps.clock.now())
    if isinstance(claims, TokenError):
        status = 410 if claims.problem is TokenProblem.EXPIRED else 400
        return _refuse(web_state, "Link not valid", _PROBLEMS[claims.problem], status)
    async with web_state.deps.store.transaction(read_only=True) as tx:
        used = await tx.web.ack_token_used(claims.nonce)
    if used:
        message = "This acknowledge link was already used. Nothing was changed."
        return _refuse(web_state, "Link already used", message, 410)
    return claims


async def _incidents(web_state: WebState, cases: tuple[str, ...]) -> list[Incident]:
    async with web_state.deps.store.transaction(read_only=True) as tx:
        found = [await tx.incidents.by_case(case) for case in cases]
    return [incident for incident in found if incident is not None]


async def show(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    claims = await _claims(web_state, request.match_info["token"])
    if isinstance(claims, web.Response):
        return claims
    config = web_state.config()
    person = config.people.get(claims.person)
    csrf = anonymous_csrf(request)
    context = {
        "title": "Acknowledge",
        "incidents": await _incidents(web_state, claims.incidents),
        "sites": {s.id: s for s in config.sites()},
        "person": person.name if person else claims.person,
        "csrf": csrf,
        "csrf_field": CSRF_FIELD,
        "tz": config.settings.timezone,
    }
    response = web_state.renderer.page("ack.html", context)
    path = request.path
    set_anonymous_csrf(response, csrf, secure=_secure(request, web_state), path=path)
    return response


def _secure(request: web.Request, web_state: WebState) -> bool:
    return is_secure(request, web_state.config().settings.public_url)


async def confirm(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    form = await request.post()
    field = form.get(CSRF_FIELD)
    check_anonymous_csrf(request, field if isinstance(field, str) else None)
    claims = await _claims(web_state, request.match_info["token"])
    if isinstance(claims, web.Response):
        return claims
    now = web_state.deps.clock.now()
    async with web_state.deps.store.transaction() as tx:
        first_use = await tx.web.use_ack_token(claims.nonce, claims.person, now)
    if not first_use:
        message = "This acknowledge link was already used. Nothing was changed."
        return _refuse(web_state, "Link already used", message, 410)
    outcomes = [await _acknowledge(web_state, case, claims.person) for case in claims.incidents]
    context = {"title": "Acknowledged", "outcomes": outcomes}
    return web_state.renderer.page("ack_done.html", context)


async def _acknowledge(web_state: WebState, case: str, person: str) -> Outcome:
    now = web_state.deps.clock.now()
    try:
        result = await commands.acknowledge(web_state.deps.store, case, person, now)
    except commands.CommandError as exc:
        return Outcome(case, str(exc), ok=False)
    message = "acknowledged" if result.changed else "was already acknowledged"
    return Outcome(case, message, ok=True)


def routes() -> list[web.RouteDef]:
    path = "/ack/{token:[A-Za-z0-9_.-]+}"
    return [web.get(path, show), web.post(path, confirm)]
