"""Per-app runtime state (one per aiohttp app, built by the factories in `app.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from monitor.config.records import Config
from monitor.web.auth import Sessions
from monitor.web.deps import HeartbeatRecorder, WebDeps
from monitor.web.render import Renderer
from monitor.web.security import RateLimiter


@dataclass(frozen=True, slots=True)
class WebState:
    deps: WebDeps
    renderer: Renderer
    sessions: Sessions
    login_limit: RateLimiter
    heartbeat_limit: RateLimiter
    heartbeats: HeartbeatRecorder

    def config(self) -> Config:
        return self.deps.config()


WEB = web.AppKey("vakt_web", WebState)


def state(request: web.Request) -> WebState:
    return request.app[WEB]
