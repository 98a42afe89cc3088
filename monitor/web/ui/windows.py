"""`/maintenance` and `/silences`: list, add and end run-time windows and silences.

Times in the forms are local to `settings.timezone` (`datetime-local` inputs).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from monitor.config.records import Config
from monitor.policy.periods import period_problem
from monitor.store import MaintenanceWindow, Silence, SilenceScope
from monitor.web.public.statusdata import spans
from monitor.web.state import state
from monitor.web.ui.common import SESSION, back, form_text, login_required, render

UPCOMING = timedelta(days=14)
DURATIONS = {"30m": 30, "1h": 60, "2h": 120, "4h": 240, "8h": 480, "24h": 1440}


class FormError(ValueError):
    """A form field is missing or wrong; the message says which, for people."""


def parse_local(value: str, config: Config) -> datetime:
    """`2026-12-01T22:00` in the settings' zone, as an aware datetime."""
    try:
        naive = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FormError(f"not a date and time: {value!r}") from exc
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=config.settings.timezone)


def site_patterns(value: str, config: Config) -> tuple[str, ...]:
    """Comma- or space-separated `customer/site` or `customer/*`, each one known."""
    patterns = tuple(p for p in value.replace(",", " ").split() if p)
    if not patterns:
        raise FormError("name at least one site (customer/site or customer/*)")
    for pattern in patterns:
        customer, _, site = pattern.partition("/")
        known = config.site(pattern) is not None or (site == "*" and customer in config.customers)
        if not known:
            raise FormError(f"unknown site {pattern!r}")
    return patterns


def silence_target(scope: SilenceScope, target: str, config: Config) -> str:
    found = {
        SilenceScope.SITE: config.site(target) is not None,
        SilenceScope.CUSTOMER: target in config.customers,
        SilenceScope.CHECK: config.check(target) is not None,
    }[scope]
    if not found:
        raise FormError(f"unknown {scope.value} {target!r}")
    return target


@login_required
async def maintenance_list(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    config = web_state.config()
    now = web_state.deps.clock.now()
    async with web_state.deps.store.transaction(read_only=True) as tx:
        windows = await tx.maintenance.upcoming(now)
    configured = sorted(spans(config.maintenance, now, now + UPCOMING), key=lambda w: w[1].start)
    context = {
        "title": "Maintenance",
        "windows": windows,
        "configured": configured,
        "error": request.query.get("error", ""),
    }
    return render(request, "maintenance.html", context)


def _window(
    form: Mapping[str, Any], config: Config, person: str, now: datetime
) -> MaintenanceWindow:
    start = parse_local(form_text(form, "start", 32), config)
    end = parse_local(form_text(form, "end", 32), config)
    problem = period_problem(start, end, now)
    if problem is not None:
        raise FormError(problem)
    reason = form_text(form, "reason", 500)
    if not reason:
        raise FormError("give a reason (customers see it)")
    sites = site_patterns(form_text(form, "sites", 1000), config)
    return MaintenanceWindow(sites, start, end, reason, person, now)


@login_required
async def maintenance_add(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    now = web_state.deps.clock.now()
    try:
        window = _window(await request.post(), web_state.config(), request[SESSION].person, now)
    except FormError as exc:
        raise back("/maintenance", f"Not added: {exc}") from exc
    async with web_state.deps.store.transaction() as tx:
        await tx.maintenance.add(window)
    raise back("/maintenance", "Maintenance window added")


@login_required
async def maintenance_end(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    async with web_state.deps.store.transaction() as tx:
        ended = await tx.maintenance.end(int(request.match_info["id"]), web_state.deps.clock.now())
    raise back("/maintenance", "Window ended" if ended else "That window had already ended")


@login_required
async def silence_list(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    async with web_state.deps.store.transaction(read_only=True) as tx:
        silences = await tx.silences.upcoming(web_state.deps.clock.now())
    context = {
        "title": "Silences",
        "silences": silences,
        "scopes": [s.value for s in SilenceScope],
        "durations": list(DURATIONS),
    }
    return render(request, "silences.html", context)


def _silence(form: Mapping[str, Any], config: Config, person: str, now: datetime) -> Silence:
    try:
        scope = SilenceScope(form_text(form, "scope", 16))
    except ValueError as exc:
        raise FormError("choose site, customer or check") from exc
    target = silence_target(scope, form_text(form, "target", 255), config)
    minutes = DURATIONS.get(form_text(form, "duration", 8))
    if minutes is None:
        raise FormError("choose how long")
    reason = form_text(form, "reason", 500) or "silenced from the web UI"
    return Silence(scope, target, now, now + timedelta(minutes=minutes), reason, person, now)


@login_required
async def silence_add(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    now = web_state.deps.clock.now()
    try:
        silence = _silence(await request.post(), web_state.config(), request[SESSION].person, now)
    except FormError as exc:
        raise back("/silences", f"Not added: {exc}") from exc
    async with web_state.deps.store.transaction() as tx:
        await tx.silences.add(silence)
    raise back("/silences", "Silence added")


@login_required
async def silence_end(request: web.Request) -> web.StreamResponse:
    web_state = state(request)
    async with web_state.deps.store.transaction() as tx:
        ended = await tx.silences.end(int(request.match_info["id"]), web_state.deps.clock.now())
    raise back("/silences", "Silence ended" if ended else "That silence had already ended")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/maintenance", maintenance_list),
        web.post("/maintenance", maintenance_add),
        web.post("/maintenance/{id:[0-9]{1,18}}/end", maintenance_end),
        web.get("/silences", silence_list),
        web.post("/silences", silence_add),
        web.post("/silences/{id:[0-9]{1,18}}/end", silence_end),
    ]
