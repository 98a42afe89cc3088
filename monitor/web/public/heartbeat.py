"""Heartbeat endpoints (`GET|POST /heartbeat/{token}`, `/start`, `/fail`, as Healthchecks.io)
and `StoreHeartbeats`, which records pings in the store and is the probes' `HeartbeatLog`.

Tokens map to checks through the current config (`monitor.probes.heartbeat.check_token`);
an unknown token gets 404 and is counted. Each token (and each client address sending
unknown tokens) is rate limited: 429 when over.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

from aiohttp import web

from monitor.config.records import Config
from monitor.model import CheckType
from monitor.probes import HeartbeatLog
from monitor.probes.context import Beat
from monitor.probes.heartbeat import check_token
from monitor.store import Store
from monitor.web.security import client_key
from monitor.web.state import WebState, state

KINDS = ("success", "start", "fail")


class StoreHeartbeats:
    """Pings kept in the store with a read-through cache of the last beat per check.

    `record` writes the store and the cache; `last` (the `HeartbeatLog` the heartbeat probe
    reads) answers from the cache; `refresh` reloads it from the store (at startup, and
    periodically when several instances share one database). `unknown` counts pings to
    unknown tokens.
    """

    __slots__ = ("_beats", "_store", "unknown")

    def __init__(self, store: Store) -> None:
        self._store = store
        self._beats: dict[str, Beat] = {}
        self.unknown = 0

    async def record(self, check_id: str, at: datetime, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown ping kind {kind!r}")
        async with self._store.transaction() as tx:
            await tx.web.record_ping(check_id, at, failed=kind == "fail", start=kind == "start")
        if kind != "start":
            self._beats[check_id] = Beat(at, failed=kind == "fail")

    async def refresh(self) -> None:
        async with self._store.transaction(read_only=True) as tx:
            pings = await tx.web.pings()
        self._beats = {p.check_id: Beat(p.at, p.failed) for p in pings if p.at is not None}

    def last(self, check_id: str) -> Beat | None:
        return self._beats.get(check_id)


def _as_log(beats: StoreHeartbeats) -> HeartbeatLog:
    return beats  # mypy proves StoreHeartbeats satisfies the probes' protocol


class TokenIndex:
    """`token -> check id` of the heartbeat checks, rebuilt when the config changes."""

    __slots__ = ("_config", "_index")

    def __init__(self) -> None:
        self._config: Config | None = None
        self._index: MappingProxyType[str, str] = MappingProxyType({})

    def lookup(self, config: Config, token: str) -> str | None:
        if config is not self._config:
            index = {}
            for check in config.checks():
                if check.type is CheckType.HEARTBEAT:
                    found = check_token(check, config.settings)
                    if found:
                        index[found] = check.id
            self._index, self._config = MappingProxyType(index), config
        return self._index.get(token)


TOKENS = web.AppKey("vakt_heartbeat_tokens", TokenIndex)


async def ping(request: web.Request) -> web.Response:
    web_state = state(request)
    token = request.match_info["token"]
    kind = request.match_info.get("kind", "success")
    check_id = request.app[TOKENS].lookup(web_state.config(), token)
    if check_id is None:
        _count_unknown(web_state)
        proxies = web_state.config().settings.web.trusted_proxies
        if not web_state.heartbeat_limit.allow(f"unknown:{client_key(request, proxies)}"):
            raise web.HTTPTooManyRequests(text="Too many requests\n")
        raise web.HTTPNotFound(text="Unknown heartbeat token\n")
    if not web_state.heartbeat_limit.allow(f"token:{token}"):
        raise web.HTTPTooManyRequests(text="Too many requests\n")
    await web_state.heartbeats.record(check_id, web_state.deps.clock.now(), kind)
    return web.Response(text="OK\n")


def _count_unknown(web_state: WebState) -> None:
    if isinstance(web_state.heartbeats, StoreHeartbeats):
        web_state.heartbeats.unknown += 1
    if web_state.deps.on_unknown_heartbeat is not None:
        web_state.deps.on_unknown_heartbeat()


def routes() -> list[web.RouteDef]:
    path = "/heartbeat/{token:[A-Za-z0-9_-]{1,128}}"
    kinds = "/{kind:start|fail}"
    return [
        web.get(path, ping),
        web.post(path, ping),
        web.get(path + kinds, ping),
        web.post(path + kinds, ping),
    ]
