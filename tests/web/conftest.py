"""Web fixtures: a migrated SQLite store in tmp_path, a fixed clock, both apps on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from monitor.clock import FixedClock
from monitor.store import Store
from monitor.web import WebDeps, create_private_app, create_public_app
from tests.web.support import FAST, T0, Env, write_config

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    store = Store(f"sqlite:///{tmp_path / 'vakt.db'}")
    await store.open()
    await store.upgrade()
    try:
        yield Env(store=store, clock=FixedClock(T0), config=write_config(tmp_path))
    finally:
        await store.close()


def deps_of(env: Env, **overrides: object) -> WebDeps:
    values: dict[str, object] = {
        "store": env.store,
        "config": lambda: env.config,
        "clock": env.clock,
        "hasher": FAST,
    }
    values.update(overrides)
    return WebDeps(**values)  # type: ignore[arg-type]


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    clients: list[Client] = []

    async def make(app: web.Application) -> Client:
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def private(env: Env, make_client: MakeClient) -> Client:
    return await make_client(create_private_app(deps_of(env)))


@pytest.fixture
async def public(env: Env, make_client: MakeClient) -> Client:
    return await make_client(create_public_app(deps_of(env)))
