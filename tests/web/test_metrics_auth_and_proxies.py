"""Issue 16 item 7: `/metrics` behind an optional bearer token or basic auth
(`settings.web.metrics_auth`), and the client's address taken from `X-Forwarded-For`
only when the peer is a configured trusted proxy (`settings.web.trusted_proxies`)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import replace
from ipaddress import ip_network
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from monitor.clock import FixedClock
from monitor.config.records import Config, MetricsAuth
from monitor.metrics import MetricsHub, metrics_handler
from monitor.store import Store
from monitor.web.api import token_digest
from monitor.web.security import client_key
from tests.ports import free_port
from tests.web.api_support import T0, Deps, config, open_store, serve

SECRET = "metrics-secret-0123456789abcdef"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(f"sqlite:///{tmp_path / 'vakt.db'}") as s:
        yield s


def with_web(**changes: object) -> Config:
    cfg = config()
    web_settings = replace(cfg.settings.web, **changes)
    return replace(cfg, settings=replace(cfg.settings, web=web_settings))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def statuses(cfg: Config, store: Store, headers: list[dict[str, str]]) -> list[int]:
    hub = MetricsHub(version="test", location="oslo", checks=[])
    try:
        deps = Deps(store, lambda: cfg, FixedClock(T0), metrics=metrics_handler(hub))
        out = []
        async with serve(deps) as client:
            for header in headers:
                async with client.get("/metrics", headers=header) as response:
                    out.append(response.status)
        return out
    finally:
        hub.close()


async def test_problem_7_metrics_asks_for_the_configured_token_or_password(store: Store) -> None:
    cfg = with_web(metrics_auth=MetricsAuth(sha256=token_digest(SECRET), username="prom"))
    got = await statuses(
        cfg,
        store,
        [
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {SECRET}"},
            {"Authorization": basic("prom", SECRET)},
            {"Authorization": basic("someone", SECRET)},
            {"Authorization": basic("prom", "wrong")},
        ],
    )
    assert got == [401, 401, 200, 200, 401, 401]


async def test_metrics_stays_open_without_metrics_auth(store: Store) -> None:
    assert await statuses(config(), store, [{}]) == [200]


@pytest.fixture
async def echo() -> AsyncIterator[tuple[str, list[Config]]]:
    """A real listener answering `client_key` for the current config."""
    current = [config()]

    async def whoami(request: web.Request) -> web.Response:
        return web.Response(text=client_key(request, current[0].settings.web.trusted_proxies))

    app = web.Application()
    app.router.add_get("/", whoami)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/", current
    finally:
        await runner.cleanup()


async def keys(url: str, forwarded: list[str | None]) -> list[str]:
    out = []
    async with aiohttp.ClientSession() as http:
        for value in forwarded:
            headers = {} if value is None else {"X-Forwarded-For": value}
            async with http.get(url, headers=headers) as response:
                out.append(await response.text())
    return out


async def test_problem_7_a_trusted_proxy_forwards_the_client_address(
    echo: tuple[str, list[Config]],
) -> None:
    url, current = echo
    current[0] = with_web(trusted_proxies=(ip_network("127.0.0.0/8"), ip_network("10.0.0.0/8")))
    got = await keys(
        url,
        [None, "203.0.113.7", "198.51.100.1, 203.0.113.8", "203.0.113.9, 10.1.2.3", "junk"],
    )
    # the rightmost address that is not a trusted proxy is the client
    assert got == ["127.0.0.1", "203.0.113.7", "203.0.113.8", "203.0.113.9", "127.0.0.1"]


async def test_an_untrusted_peer_cannot_choose_its_address_by_header(
    echo: tuple[str, list[Config]],
) -> None:
    url, current = echo
    current[0] = with_web(trusted_proxies=(ip_network("10.0.0.0/8"),))
    assert await keys(url, ["203.0.113.7", None]) == ["127.0.0.1", "127.0.0.1"]
