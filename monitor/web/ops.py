"""Operations endpoints: `/healthz`, `/readyz`, `/metrics`.

- `/healthz`: the process is alive and its event loop answers. Nothing else is asked,
  so a slow database never gets a healthy process restarted.
- `/readyz`: Vakt is doing its job: the daemon's health verdict (asked through the
  `Readiness` protocol that `monitor.app` injects; `monitor.health.judge` decides, the
  same verdict that holds back the dead-man's ping), one status per component:
  `{"status": "ready" | "not ready", "checks": {"store": "ok" | "failing", "scheduler":
  ..., "config": ..., "delivery": "ok" | "failing", "dispatcher": "ok" | "stalled",
  "engine": "ok" | "stalled", "planner": "ok" | "late"}}`, 200 when all are ok, else 503.
  Without a daemon wired in only the store is asked (within `STORE_TIMEOUT`) and the rest
  is not ready. The body names what is not ready, never why in detail (no URLs, no error
  text: those go to the log).
- `/metrics`: the observability layer's handler, mounted only when one is given; with
  `settings.web.metrics_auth` it asks for `Bearer SECRET` or basic auth (401 otherwise).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final, Protocol

from aiohttp import web

from monitor.config.records import Config
from monitor.health import unready
from monitor.store import Store, StoreError
from monitor.web.api.deps import Handler, Readiness
from monitor.web.security import metrics_authorized

log = logging.getLogger(__name__)

STORE_TIMEOUT: Final = 2.0  # seconds
_NO_CACHE: Final = {"Cache-Control": "no-store"}


class OpsDeps(Protocol):
    """What the operations routes need (the web layer's `WebDeps` has all of it).

    `readiness` None means no scheduler was wired in: `/readyz` says not ready.
    """

    @property
    def store(self) -> Store: ...

    @property
    def config(self) -> Callable[[], Config | None]: ...

    @property
    def readiness(self) -> Readiness | None: ...

    @property
    def metrics(self) -> Handler | None: ...


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "alive"}, headers=_NO_CACHE)


async def _store_ok(store: Store) -> bool:
    try:
        async with asyncio.timeout(STORE_TIMEOUT):
            await store.revision()
    except (StoreError, TimeoutError) as exc:
        log.warning("readyz.store_unreachable", extra={"error": str(exc)})
        return False
    return True


def readyz_handler(deps: OpsDeps) -> Handler:
    async def readyz(request: web.Request) -> web.StreamResponse:
        readiness = deps.readiness
        if readiness is None:
            health = unready(store=await _store_ok(deps.store))
        else:
            health = await readiness.health()
        status = 200 if health.ok else 503
        return web.json_response(health.as_json(), status=status, headers=_NO_CACHE)

    return readyz


def ops_routes(deps: OpsDeps) -> list[web.AbstractRouteDef]:
    """`/healthz`, `/readyz`, and `/metrics` when `deps.metrics` is set."""
    routes: list[web.AbstractRouteDef] = [
        web.get("/healthz", healthz),
        web.get("/readyz", readyz_handler(deps)),
    ]
    if deps.metrics is not None:
        routes.append(web.get("/metrics", _guarded(deps.config, deps.metrics)))
    return routes


def _guarded(config: Callable[[], Config | None], handler: Handler) -> Handler:
    """`/metrics` behind `settings.web.metrics_auth` (read per request: a reload applies)."""

    async def metrics(request: web.Request) -> web.StreamResponse:
        current = config()
        auth = current.settings.web.metrics_auth if current is not None else None
        if not metrics_authorized(auth, request.headers.get("Authorization")):
            raise web.HTTPUnauthorized(
                text="Unauthorized\n",
                headers={"WWW-Authenticate": 'Basic realm="vakt metrics"', **_NO_CACHE},
            )
        return await handler(request)

    return metrics
