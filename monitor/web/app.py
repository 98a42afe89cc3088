"""The two aiohttp apps: private (team UI, API, `/metrics`) and public (status pages,
`/heartbeat`, `/ack`). `monitor.app` builds one `WebDeps` and serves each app on its
listener (`settings.listen`, `settings.public_listen`).

    private = create_private_app(deps)
    public = create_public_app(deps)
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from monitor.web.api import api_routes
from monitor.web.auth import Sessions
from monitor.web.deps import HeartbeatRecorder, Readiness, WebDeps
from monitor.web.ops import healthz, ops_routes
from monitor.web.pagerduty import pagerduty_routes
from monitor.web.public import ack, approval, heartbeat, status
from monitor.web.public.heartbeat import StoreHeartbeats
from monitor.web.render import Renderer
from monitor.web.security import RateLimiter, security_headers
from monitor.web.state import WEB, WebState
from monitor.web.ui import (
    cluster,
    history,
    incidents,
    login,
    oncall,
    overview,
    queue,
    reports,
    sites,
    windows,
)

STATIC = Path(__file__).parent / "static"
MAX_BODY = 256 * 1024  # forms and webhooks are small

__all__ = [
    "HeartbeatRecorder",
    "Readiness",
    "WebDeps",
    "create_private_app",
    "create_public_app",
]


def _state(deps: WebDeps) -> WebState:
    return WebState(
        deps=deps,
        renderer=Renderer(),
        sessions=Sessions(deps.store, deps.hasher, deps.session_ttl),
        login_limit=RateLimiter(deps.login_rate, deps.clock),
        heartbeat_limit=RateLimiter(deps.heartbeat_rate, deps.clock),
        heartbeats=deps.heartbeats or StoreHeartbeats(deps.store),
    )


def _app(deps: WebDeps) -> web.Application:
    app = web.Application(
        middlewares=[*deps.middlewares, security_headers], client_max_size=MAX_BODY
    )
    app[WEB] = _state(deps)
    app.router.add_static("/static/", STATIC, append_version=True)
    return app


def create_private_app(deps: WebDeps) -> web.Application:
    """The team's app: UI, `/api/v1`, `/healthz`, `/readyz`, `/metrics`, PagerDuty inbound."""
    app = _app(deps)
    for routes in (login.routes(), overview.routes(), incidents.routes(), sites.routes()):
        app.router.add_routes(routes)
    app.router.add_routes(windows.routes())
    app.router.add_routes(history.routes())
    app.router.add_routes(oncall.routes())
    app.router.add_routes(reports.routes())
    app.router.add_routes(queue.routes())
    app.router.add_routes(cluster.routes())
    app.router.add_routes(ops_routes(deps))
    app.router.add_routes(pagerduty_routes(deps))
    app.router.add_routes(api_routes(deps))
    return app


def create_public_app(deps: WebDeps) -> web.Application:
    """The world's app: `/status/...`, `/ack/...`, `/heartbeat/...`, `/healthz`."""
    app = _app(deps)
    app[heartbeat.TOKENS] = heartbeat.TokenIndex()
    app[status.CACHE] = status.StatusCache()
    for routes in (status.routes(), ack.routes(), approval.routes(), heartbeat.routes()):
        app.router.add_routes(routes)
    # Liveness only: load balancers in front of the public listener need it; readiness
    # and /metrics stay on the private listener.
    app.router.add_get("/healthz", healthz)
    return app
