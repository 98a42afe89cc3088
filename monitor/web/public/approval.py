"""`/report-approval/{token}`: approve or hold a monthly report from the team's preview.

Like `/ack`: GET shows what the link decides and a button and never changes anything (mail
scanners fetch GETs); POST (double-submit CSRF) decides. Approving sends the report exactly
as the monthly job sends an unapproved one (`ReportSource.decide`, `monitor.reports`), then
spends the link; holding records who held it (the link's holder: the team) and sends
nothing. A spent, expired, forged or damaged link changes nothing. A store error answers
503 and leaves the link usable: approving again never sends twice.
"""

from __future__ import annotations

from aiohttp import web

from monitor.notify.reportlinks import TEAM, Decision, ReportLink, decision_id, read_link
from monitor.notify.tokens import TokenError, TokenProblem
from monitor.store import StoreError
from monitor.web.public.ack import MAX_TOKEN, RETRY_AFTER
from monitor.web.security import (
    CSRF_FIELD,
    anonymous_csrf,
    check_anonymous_csrf,
    is_secure,
    set_anonymous_csrf,
)
from monitor.web.state import WebState, state

USED = "This report link was already used. Nothing was changed."
BY = f"{TEAM} (email link)"  # who a link's decision is recorded as


def _refuse(web_state: WebState, title: str, message: str, status: int) -> web.Response:
    context = {"title": title, "message": message, "ok": status == 200}
    return web_state.renderer.page("report_decided.html", context, status=status)


async def _link(web_state: WebState, token: str) -> ReportLink | web.Response:
    secret = web_state.deps.signing_secret()
    if not secret or len(token) > MAX_TOKEN or web_state.deps.reports is None:
        return _refuse(web_state, "Link not valid", "This report link is not valid.", 400)
    link = read_link(secret, token, web_state.deps.clock.now())
    if isinstance(link, TokenError):
        status = 410 if link.problem is TokenProblem.EXPIRED else 400
        return _refuse(web_state, "Link not valid", "This report link is not valid.", status)
    if link.customer not in web_state.config().customers:
        return _refuse(web_state, "Link not valid", "This customer is no longer configured.", 404)
    async with web_state.deps.store.transaction(read_only=True) as tx:
        used = await tx.web.ack_token_used(decision_id(link.decision, link.customer, link.month))
    if used:
        return _refuse(web_state, "Link already used", USED, 410)
    return link


async def show(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    link = await _link(web_state, request.match_info["token"])
    if isinstance(link, web.Response):
        return link
    csrf = anonymous_csrf(request)
    context = {
        "title": "Monthly report",
        "decision": link.decision.value,
        "customer": web_state.config().customers[link.customer].name,
        "month": link.month,
        "csrf": csrf,
        "csrf_field": CSRF_FIELD,
    }
    response = web_state.renderer.page("report_approval.html", context)
    secure = is_secure(request, web_state.config().settings.public_url)
    set_anonymous_csrf(response, csrf, secure=secure, path=request.path)
    return response


async def confirm(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    form = await request.post()
    field = form.get(CSRF_FIELD)
    check_anonymous_csrf(request, field if isinstance(field, str) else None)
    link = await _link(web_state, request.match_info["token"])
    if isinstance(link, web.Response):
        return link
    reports = web_state.deps.reports
    assert reports is not None  # `_link` refused otherwise
    try:
        done = await reports.decide(link.customer, link.month, link.decision.value, BY)
        if link.decision is Decision.APPROVE:  # a hold spends its link itself
            nonce = decision_id(link.decision, link.customer, link.month)
            async with web_state.deps.store.transaction() as tx:
                await tx.web.use_ack_token(nonce, BY, web_state.deps.clock.now())
    except ValueError as exc:  # the month is not over (a link is issued only after it)
        return _refuse(web_state, "Monthly report", str(exc), 400)
    except StoreError:
        response = web_state.renderer.page("ack_retry.html", {"title": "Try again"}, status=503)
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    verb = "approved and sent" if link.decision is Decision.APPROVE else "held"
    message = f"The report was {verb}." if done else "Nothing changed: it was decided before."
    return _refuse(web_state, "Monthly report", message, 200)


def routes() -> list[web.RouteDef]:
    path = "/report-approval/{token:[A-Za-z0-9_.-]+}"
    return [web.get(path, show), web.post(path, confirm)]
