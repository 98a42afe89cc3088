"""The web layer (aiohttp): the private app (team UI, API, `/metrics`) and the public app
(status pages, `/ack`, `/heartbeat`). `monitor.app` builds one `WebDeps` and both apps:

    deps = WebDeps(store=store, config=lambda: current_config, clock=SystemClock(), ...)
    private, public = create_private_app(deps), create_public_app(deps)
"""

from monitor.web.app import create_private_app, create_public_app
from monitor.web.deps import HeartbeatRecorder, Readiness, WebDeps
from monitor.web.public.heartbeat import StoreHeartbeats

__all__ = [
    "HeartbeatRecorder",
    "Readiness",
    "StoreHeartbeats",
    "WebDeps",
    "create_private_app",
    "create_public_app",
]
