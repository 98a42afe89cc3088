"""`/healthz`, `/readyz` and `/metrics` on a real store and the real metrics hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.clock import FixedClock
from monitor.config.records import HealthSettings
from monitor.health import Limits
from monitor.metrics import MetricsHub, metrics_handler
from monitor.store import Notification, OutboxKey, Store
from monitor.supervisor import DISPATCHER, ENGINE, PLANNER, HealthWatch, Progress
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


ALL_OK = {
    "store": "ok",
    "scheduler": "ok",
    "config": "ok",
    "delivery": "ok",
    "dispatcher": "ok",
    "engine": "ok",
    "planner": "ok",
}


def watch(store: Store, clock: FixedClock, progress: Progress, **changes: Any) -> HealthWatch:
    """The daemon's `HealthWatch` on `store`: scheduler running, config loaded, limits of
    the default settings (delivery 60 s, engine 3 s, planner 6 s)."""
    options: dict[str, Any] = {
        "limits": lambda: Limits.of(
            HealthSettings(),
            poll=timedelta(seconds=1),
            flush_every=timedelta(seconds=1),
            planner_every=timedelta(seconds=2),
        ),
        "scheduler_running": lambda: True,
        "config_ok": lambda: True,
    }
    return HealthWatch(store, progress, clock, **(options | changes))


def progressing(clock: FixedClock) -> Progress:
    progress = Progress(clock)
    for task in (ENGINE, PLANNER, DISPATCHER):
        progress.report(task)
    return progress


async def test_readyz_is_200_with_every_component_ok(store: Store) -> None:
    status, body = await readyz(deps(store))
    assert status == 200
    assert body == {"status": "ready", "checks": ALL_OK}


async def test_readyz_is_503_while_the_scheduler_is_not_running(store: Store) -> None:
    status, body = await readyz(deps(store, readiness=Scheduler(running=False)))
    assert status == 503
    assert body == {"status": "not ready", "checks": ALL_OK | {"scheduler": "failing"}}


async def test_readyz_without_a_daemon_asks_only_the_store_and_is_not_ready(store: Store) -> None:
    status, body = await readyz(deps(store, readiness=None))
    assert status == 503
    assert body["checks"]["store"] == "ok"
    assert {v for k, v in body["checks"].items() if k != "store"} <= {"failing", "stalled", "late"}


async def test_readyz_is_200_on_a_real_store_with_every_task_progressing(store: Store) -> None:
    clock = FixedClock(T0)
    status, body = await readyz(deps(store, readiness=watch(store, clock, progressing(clock))))
    assert (status, body["checks"]) == (200, ALL_OK)


async def test_readyz_reports_delivery_failing_when_a_due_notification_waited_past_the_limit(
    store: Store,
) -> None:
    clock = FixedClock(T0)
    progress = progressing(clock)
    key = OutboxKey("VAKT-2026-000001", "page", "0", "alice", "email")
    async with store.transaction() as tx:
        await tx.outbox.add([Notification(key, T0, T0)])
    clock.advance(61)
    progress.report(ENGINE)
    progress.report(PLANNER)
    progress.report(DISPATCHER)  # the dispatcher settles (attempts fail): not stalled
    status, body = await readyz(deps(store, readiness=watch(store, clock, progress)))
    assert status == 503
    assert body["checks"] == ALL_OK | {"delivery": "failing"}


async def test_readyz_reports_the_dispatcher_stalled_when_nothing_was_settled_while_rows_were_due(
    store: Store,
) -> None:
    clock = FixedClock(T0)
    progress = progressing(clock)
    key = OutboxKey("VAKT-2026-000001", "page", "0", "alice", "email")
    async with store.transaction() as tx:
        await tx.outbox.add([Notification(key, T0, T0)])
    clock.advance(61)
    progress.report(ENGINE)
    progress.report(PLANNER)
    status, body = await readyz(deps(store, readiness=watch(store, clock, progress)))
    assert status == 503
    assert body["checks"] == ALL_OK | {"delivery": "failing", "dispatcher": "stalled"}


async def test_readyz_reports_engine_stalled_and_planner_late_without_progress(
    store: Store,
) -> None:
    clock = FixedClock(T0)
    progress = progressing(clock)
    clock.advance(7)  # past 3 flush periods (3 s) and 3 planner periods (6 s)
    progress.report(DISPATCHER)
    status, body = await readyz(deps(store, readiness=watch(store, clock, progress)))
    assert status == 503
    assert body["checks"] == ALL_OK | {"engine": "stalled", "planner": "late"}


async def test_readyz_is_503_while_the_last_config_reload_was_refused(store: Store) -> None:
    clock = FixedClock(T0)
    refused = watch(store, clock, progressing(clock), config_ok=lambda: False)
    status, body = await readyz(deps(store, readiness=refused))
    assert (status, body["checks"]) == (503, ALL_OK | {"config": "failing"})


@pytest.mark.parametrize("daemon", [False, True], ids=["no daemon", "daemon"])
async def test_readyz_is_503_when_the_store_is_unreachable_and_does_not_say_where_it_is(
    daemon: bool,
) -> None:
    # Nothing listens on port 1 of loopback: the connection is refused.
    unreachable = Store("postgresql://vakt:hunter2@127.0.0.1:1/vakt")
    await unreachable.open()
    clock = FixedClock(T0)
    readiness = watch(unreachable, clock, progressing(clock)) if daemon else None
    try:
        async with serve(deps(unreachable, readiness=readiness)) as client:
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
