"""`/ack/{token}`: acknowledge from a page link.

GET shows what will be acknowledged, as whom, and a button; it never changes anything
(mail scanners and link previews fetch GETs). POST (with the double-submit CSRF token)
acknowledges every incident the token names as the token's person, one transaction per
incident, and spends the link (its nonce) in the transaction of the last one: a link is
used up only once each of its incidents is acknowledged (now or before) or cannot be
(resolved, unknown). A store error, or other writers winning every compare-and-set
attempt, answers 503 "try again" and leaves the link usable: what was acknowledged stays
so and is not acknowledged twice. A malformed, forged, expired or already used token, or
one whose person is no longer in the config, gets a page saying so and changes nothing.

A case number that is a customer-reported case (no incident row) is acknowledged through
`monitor.engine.queue.answer_report`, which cancels its pending pages, in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from monitor.engine import commands
from monitor.engine.queue import answer_report
from monitor.notify.tokens import TokenClaims, TokenError, TokenProblem, verify_token
from monitor.store import CustomerRequest, Incident, RequestStatus, StoreError, Transaction
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
    TokenProblem.UNKNOWN_PERSON: "This acknowledge link belongs to someone no longer on the team.",
}
_STATUS = {TokenProblem.EXPIRED: 410, TokenProblem.UNKNOWN_PERSON: 403}


USED = "This acknowledge link was already used. Nothing was changed."
RETRY_AFTER = 5  # seconds: what a 503 asks a client to wait


@dataclass(frozen=True, slots=True)
class Outcome:
    case: str
    message: str
    ok: bool


class LinkUsed(Exception):
    """The link was spent by someone else meanwhile (a concurrent POST)."""


@dataclass(slots=True)
class Link:
    """An acknowledge link about to be spent: `spend` records its nonce as used inside the
    acknowledging transaction; `spent` is true once that ran (the commit is the caller's)."""

    claims: TokenClaims
    at: datetime
    spent: bool = field(default=False)

    async def spend(self, tx: Transaction) -> None:
        if not await tx.web.use_ack_token(self.claims.nonce, self.claims.person, self.at):
            raise LinkUsed(self.claims.nonce)
        self.spent = True


def _refuse(web_state: WebState, title: str, message: str, status: int) -> web.Response:
    context = {"title": title, "message": message}
    return web_state.renderer.page("ack_refused.html", context, status=status)


def _refused(web_state: WebState, problem: TokenProblem) -> web.Response:
    status = _STATUS.get(problem, 400)
    return _refuse(web_state, "Link not valid", _PROBLEMS[problem], status)


async def _claims(web_state: WebState, token: str) -> TokenClaims | web.Response:
    secret = web_state.deps.signing_secret()
    if not secret or len(token) > MAX_TOKEN:
        return _refuse(web_state, "Link not valid", _PROBLEMS[TokenProblem.FORGED], 400)
    claims = verify_token(secret, token, web_state.deps.clock.now())
    if isinstance(claims, TokenError):
        return _refused(web_state, claims.problem)
    if claims.person not in web_state.config().people:  # removed since the link was sent
        return _refused(web_state, TokenProblem.UNKNOWN_PERSON)
    async with web_state.deps.store.transaction(read_only=True) as tx:
        used = await tx.web.ack_token_used(claims.nonce)
    if used:
        return _refuse(web_state, "Link already used", USED, 410)
    return claims


async def _cases(
    web_state: WebState, cases: tuple[str, ...]
) -> tuple[list[Incident], list[CustomerRequest]]:
    """The link's monitoring cases, and its customer-reported cases."""
    incidents: list[Incident] = []
    reports: list[CustomerRequest] = []
    async with web_state.deps.store.transaction(read_only=True) as tx:
        for case in cases:
            incident = await tx.incidents.by_case(case)
            if incident is not None:
                incidents.append(incident)
                continue
            own = [r for r in await tx.intake.by_case(case) if r.status is RequestStatus.OPEN]
            reports += own[:1]
    return incidents, reports


async def show(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    claims = await _claims(web_state, request.match_info["token"])
    if isinstance(claims, web.Response):
        return claims
    config = web_state.config()
    person = config.people.get(claims.person)
    csrf = anonymous_csrf(request)
    incidents, reports = await _cases(web_state, claims.incidents)
    context = {
        "title": "Acknowledge",
        "incidents": incidents,
        "reports": reports,
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
    field_ = form.get(CSRF_FIELD)
    check_anonymous_csrf(request, field_ if isinstance(field_, str) else None)
    claims = await _claims(web_state, request.match_info["token"])
    if isinstance(claims, web.Response):
        return claims
    try:
        outcomes = await _acknowledge_all(web_state, claims)
    except LinkUsed:
        return _refuse(web_state, "Link already used", USED, 410)
    except (StoreError, commands.Conflict):
        # Nothing that failed was committed, and the link is spent only with the last
        # acknowledgement: the same link works again.
        response = web_state.renderer.page("ack_retry.html", {"title": "Try again"}, status=503)
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    context = {"title": "Acknowledged", "outcomes": outcomes}
    return web_state.renderer.page("ack_done.html", context)


async def _acknowledge_all(web_state: WebState, claims: TokenClaims) -> list[Outcome]:
    """Acknowledge each incident of the link; the last one's transaction spends the link.

    Raises StoreError or `commands.Conflict` (the link stays usable) or `LinkUsed`."""
    link = Link(claims, web_state.deps.clock.now())
    cases = claims.incidents
    outcomes = [
        await _acknowledge(web_state, case, claims.person, link if i == len(cases) - 1 else None)
        for i, case in enumerate(cases)
    ]
    if not link.spent:  # the last incident could not be acknowledged (resolved, unknown)
        async with web_state.deps.store.transaction() as tx:
            await link.spend(tx)
    return outcomes


async def _acknowledge(web_state: WebState, case: str, person: str, link: Link | None) -> Outcome:
    now = web_state.deps.clock.now()
    within = None if link is None else link.spend
    try:
        result = await commands.acknowledge(web_state.deps.store, case, person, now, within=within)
    except commands.Conflict:
        raise  # retryable: the whole request answers "try again"
    except commands.UnknownCase as exc:  # a customer-reported case, or none at all
        row = await answer_report(
            web_state.deps.store, case, person, now, resolve=False, within=within
        )
        if row is None or row.status is not RequestStatus.OPEN:
            return Outcome(case, str(exc) if row is None else "is already resolved", ok=False)
        changed = row.acknowledged_at == now and row.acknowledged_by == person
        return Outcome(case, "acknowledged" if changed else "was already acknowledged", ok=True)
    except commands.CommandError as exc:  # resolved: nothing to acknowledge
        return Outcome(case, str(exc), ok=False)
    message = "acknowledged" if result.changed else "was already acknowledged"
    return Outcome(case, message, ok=True)


def routes() -> list[web.RouteDef]:
    path = "/ack/{token:[A-Za-z0-9_.-]+}"
    return [web.get(path, show), web.post(path, confirm)]
