"""`/healthz`, `/readyz` and `/metrics` on a real store and the real metrics hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from monitor.clock import FixedClock
from monitor.config.records import Config
from monitor.metrics import MetricsHub, metrics_handler
from monitor.store import Store
from tests.web.api_support import T0, Deps, Scheduler, config, open_store, serve


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(f"sqlite:///{tmp_path / 'vakt.db'}") as s:
        yield s


def deps(store: Store, **changes: Any) -> Deps:
    cfg = config()
    return Deps(store, lambda: cfg, FixedClock(T0), **changes)


async def get(d: Deps, path: str) -> tuple[int, Any, str]:
    async with serve(d) as client:
        resp = await client.get(path)
        return resp.status, resp.headers.get("Cache-Control"), await resp.text()


async def readyz(d: Deps) -> tuple[int, Any]:
    async with serve(d) as client:
        resp = await client.get("/readyz")
        return resp.status, await resp.json()


async def test_healthz_says_alive(store: Store) -> None:
    status, cache, text = await get(deps(store), "/healthz")
    assert (status, cache, text) == (200, "no-store", '{"status": "alive"}')


async def test_readyz_is_200_when_store_scheduler_and_config_are_all_fine(store: Store) -> None:
    status, body = await readyz(deps(store))
    assert status == 200
    assert body == {
        "status": "ready",
        "checks": {"store": "ok", "scheduler": "ok", "config": "ok"},
    }


async def test_readyz_is_503_while_the_scheduler_is_not_running(store: Store) -> None:
    status, body = await readyz(deps(store, readiness=Scheduler(running=False)))
    assert status == 503
    assert body["checks"] == {"store": "ok", "scheduler": "failing", "config": "ok"}


async def test_readyz_is_503_when_no_scheduler_was_wired_in(store: Store) -> None:
    status, body = await readyz(deps(store, readiness=None))
    assert (status, body["checks"]["scheduler"]) == (503, "failing")


async def test_readyz_is_503_before_a_config_is_loaded(store: Store) -> None:
    def nothing() -> Config | None:
        return None

    d = deps(store)
    d.config = nothing  # type: ignore[assignment]
    status, body = await readyz(d)
    assert (status, body["checks"]["config"]) == (503, "failing")


async def test_readyz_is_503_when_the_store_is_unreachable_and_does_not_say_where_it_is() -> None:
    # Nothing listens on port 1 of loopback: the connection is refused.
    unreachable = Store("postgresql://vakt:hunter2@127.0.0.1:1/vakt")
    await unreachable.open()
    try:
        async with serve(deps(unreachable)) as client:
            resp = await client.get("/readyz")
            text = await resp.text()
    finally:
        await unreachable.close()
    assert resp.status == 503
    assert '"store": "failing"' in text
    assert "127.0.0.1" not in text
    assert "hunter2" not in text


async def test_metrics_serves_the_hub_when_one_is_given(store: Store) -> None:
    hub = MetricsHub(version="test", location="oslo")
    try:
        status, _, text = await get(deps(store, metrics=metrics_handler(hub)), "/metrics")
    finally:
        hub.close()
    assert status == 200
    assert 'vakt_build_info{version="test"} 1.0' in text


async def test_metrics_is_absent_without_a_hub(store: Store) -> None:
    status, _, _ = await get(deps(store), "/metrics")
    assert status == 404
