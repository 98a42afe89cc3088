"""Maintenance windows and silences: list, add, end early.

Windows defined in `checks.yaml` are listed beside the ones added at run time (ids
`config:...`) but can only be changed in the config. Patterns and targets must name
something the config knows, so a typo cannot silently cover nothing.
"""

from __future__ import annotations

from datetime import datetime

from monitor.config.records import Config
from monitor.policy.periods import period_problem
from monitor.store import MaintenanceWindow, Silence, SilenceScope
from monitor.web.api.deps import ApiDeps
from monitor.web.api.errors import ApiError
from monitor.web.api.operations import Call, Reply
from monitor.web.api.schemas import (
    MaintenanceIn,
    MaintenancePage,
    PageQuery,
    SilenceIn,
    SilencePage,
)
from monitor.web.api.views import config_window_out, silence_out, window_out

_MAX_ID_DIGITS = 18  # ids are 64-bit integers in the store


def _row_id(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_ID_DIGITS:
        raise ApiError(404, f"no {what} {text!r}")
    return int(text)


def _next_offset(offset: int, limit: int, total: int) -> int | None:
    return offset + limit if offset + limit < total else None


def _check_times(start: datetime, end: datetime, now: datetime) -> None:
    problem = period_problem(start, end, now)
    if problem is not None:
        raise ApiError(400, problem)


def _check_pattern(config: Config, pattern: str) -> None:
    customer, _, site = pattern.partition("/")
    if pattern == "*" or (site == "*" and customer in config.customers):
        return
    if config.site(pattern) is None:
        raise ApiError(400, f"sites: {pattern!r} names no site (use customer/site or customer/*)")


def _check_target(config: Config, scope: SilenceScope, target: str) -> None:
    known = {
        SilenceScope.CUSTOMER: lambda: target in config.customers,
        SilenceScope.SITE: lambda: config.site(target) is not None,
        SilenceScope.CHECK: lambda: config.check(target) is not None,
    }[scope]()
    if not known:
        raise ApiError(400, f"target: no {scope.value} {target!r}")


# --------------------------------------------------------------------------- maintenance


async def list_maintenance(deps: ApiDeps, call: Call) -> Reply:
    q = call.query_as(PageQuery)
    async with deps.store.transaction(read_only=True) as tx:
        runtime = await tx.maintenance.upcoming(call.now)
    configured = [
        config_window_out(w)
        for w in call.config.maintenance
        if w.recurrence is not None or (w.end is not None and w.end > call.now)
    ]
    items = configured + [window_out(w) for w in runtime]
    return 200, MaintenancePage(
        items=items[q.offset : q.offset + q.limit],
        total=len(items),
        next_offset=_next_offset(q.offset, q.limit, len(items)),
    )


async def add_maintenance(deps: ApiDeps, call: Call) -> Reply:
    body = call.body_as(MaintenanceIn)
    _check_times(body.start, body.end, call.now)
    for pattern in body.sites:
        _check_pattern(call.config, pattern)
    window = MaintenanceWindow(
        sites=tuple(dict.fromkeys(body.sites)),
        start=body.start,
        end=body.end,
        reason=body.reason,
        created_by=call.actor(None),
        created_at=call.now,
    )
    async with deps.store.transaction() as tx:
        stored = await tx.maintenance.add(window)
    return 201, window_out(stored)


async def end_maintenance(deps: ApiDeps, call: Call) -> Reply:
    text = call.path["id"]
    if text.startswith("config:"):
        raise ApiError(409, "this window is defined in the config; change it there")
    window_id = _row_id(text, "maintenance window")
    async with deps.store.transaction() as tx:
        window = await tx.maintenance.get(window_id)
        if window is None:
            raise ApiError(404, f"no maintenance window {text!r}")
        if window.ended_at is not None or window.end <= call.now:
            raise ApiError(409, "this maintenance window is already over")
        await tx.maintenance.end(window_id, call.now)
        ended = await tx.maintenance.get(window_id)
    assert ended is not None
    return 200, window_out(ended)


# ------------------------------------------------------------------------------ silences


async def list_silences(deps: ApiDeps, call: Call) -> Reply:
    q = call.query_as(PageQuery)
    async with deps.store.transaction(read_only=True) as tx:
        found = await tx.silences.upcoming(call.now)
    return 200, SilencePage(
        items=[silence_out(s) for s in found[q.offset : q.offset + q.limit]],
        total=len(found),
        next_offset=_next_offset(q.offset, q.limit, len(found)),
    )


async def add_silence(deps: ApiDeps, call: Call) -> Reply:
    body = call.body_as(SilenceIn)
    start = body.start or call.now
    _check_times(start, body.end, call.now)
    _check_target(call.config, body.scope, body.target)
    silence = Silence(
        scope=body.scope,
        target=body.target,
        start=start,
        end=body.end,
        reason=body.reason,
        created_by=call.actor(None),
        created_at=call.now,
    )
    async with deps.store.transaction() as tx:
        stored = await tx.silences.add(silence)
    return 201, silence_out(stored)


async def end_silence(deps: ApiDeps, call: Call) -> Reply:
    text = call.path["id"]
    silence_id = _row_id(text, "silence")
    async with deps.store.transaction() as tx:
        silence = await tx.silences.get(silence_id)
        if silence is None:
            raise ApiError(404, f"no silence {text!r}")
        if silence.ended_at is not None or silence.end <= call.now:
            raise ApiError(409, "this silence is already over")
        await tx.silences.end(silence_id, call.now)
        ended = await tx.silences.get(silence_id)
    assert ended is not None
    return 200, silence_out(ended)
