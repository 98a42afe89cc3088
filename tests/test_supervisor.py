"""`monitor.supervisor`: no task ends silently, jobs never raise, progress is known, and
`HealthWatch` judges a real store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.clock import FixedClock
from monitor.config.records import HealthSettings
from monitor.health import Component, Limits, Status
from monitor.metrics import MetricsHub
from monitor.store import Store, StoreError
from monitor.supervisor import (
    DISPATCHER,
    HealthWatch,
    Progress,
    Restart,
    SettleProgress,
    Supervisor,
    store_error_only,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QUICK = Restart(base=timedelta(milliseconds=10), cap=timedelta(milliseconds=50))
WAIT = 10.0


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def events(self) -> list[str]:
        return [r.getMessage() for r in self.records]


@pytest.fixture
def logged() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("monitor.supervisor")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def hub() -> Iterator[MetricsHub]:
    metrics = MetricsHub(version="test", location="oslo")
    yield metrics
    metrics.close()


def restarts(hub: MetricsHub, task: str) -> float:
    return hub.registry.get_sample_value("vakt_task_restarts_total", {"task": task}) or 0.0


class Flaky:
    """A task body that fails (with `error`) for its first `failures` runs, then runs
    until `stop` is set."""

    def __init__(self, error: BaseException, failures: int) -> None:
        self.error = error
        self.failures = failures
        self.runs = 0
        self.stop = asyncio.Event()
        self.running = asyncio.Event()

    async def __call__(self) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise self.error
        self.running.set()
        await self.stop.wait()


async def test_a_task_that_crashes_is_logged_with_its_traceback_restarted_and_counted(
    logged: Records, hub: MetricsHub
) -> None:
    body = Flaky(ZeroDivisionError("a bug"), failures=2)
    supervisor = Supervisor(Progress(FixedClock(T0), observer=hub), restart=QUICK)
    task = supervisor.start("engine.writer", body, done=body.stop.is_set)
    async with asyncio.timeout(WAIT):
        await body.running.wait()
    body.stop.set()
    async with asyncio.timeout(WAIT):
        await task
    crashes = [r for r in logged.records if r.getMessage() == "task.crashed"]
    assert len(crashes) == 2
    assert all(r.exc_info is not None and r.levelno == logging.ERROR for r in crashes)
    assert restarts(hub, "engine.writer") == 2
    assert body.runs == 3


async def test_a_store_error_inside_a_task_group_is_a_warning_and_the_task_restarts(
    logged: Records, hub: MetricsHub
) -> None:
    async def settle_fails() -> None:
        raise StoreError("database is locked")

    runs = 0
    stop = asyncio.Event()

    async def dispatcher() -> None:  # as the dispatcher's round raises it
        nonlocal runs
        runs += 1
        if runs == 1:
            async with asyncio.TaskGroup() as group:
                group.create_task(settle_fails())
        await stop.wait()

    supervisor = Supervisor(Progress(FixedClock(T0), observer=hub), restart=QUICK)
    task = supervisor.start(DISPATCHER, dispatcher, done=stop.is_set)

    async def restarted() -> None:
        while runs < 2:  # noqa: ASYNC110 - the supervised task changes it
            await asyncio.sleep(0.01)

    async with asyncio.timeout(WAIT):
        await restarted()
    stop.set()
    async with asyncio.timeout(WAIT):
        await task  # ends without raising once done
    assert "task.store_error" in logged.events()
    assert "task.crashed" not in logged.events()
    assert restarts(hub, DISPATCHER) == 1


async def test_a_task_that_returns_before_it_is_done_is_logged_and_started_again(
    logged: Records,
) -> None:
    runs = 0
    done = False

    async def returns_early() -> None:
        nonlocal runs, done
        runs += 1
        done = runs == 3

    supervisor = Supervisor(Progress(FixedClock(T0)), restart=QUICK)
    async with asyncio.timeout(WAIT):
        await supervisor.start("planner", returns_early, done=lambda: done)
    assert runs == 3
    assert logged.events().count("task.ended") == 2


async def test_waking_a_task_that_waits_to_restart_ends_it_at_once_when_it_is_done() -> None:
    body = Flaky(RuntimeError("boom"), failures=1)
    slow = Restart(base=timedelta(hours=1), cap=timedelta(hours=1))
    supervisor = Supervisor(Progress(FixedClock(T0)), restart=slow)
    task = supervisor.start("dispatcher", body, done=body.stop.is_set)

    async def first_run() -> None:
        while body.runs < 1:  # noqa: ASYNC110 - the supervised task changes it
            await asyncio.sleep(0.01)

    async with asyncio.timeout(WAIT):
        await first_run()
    body.stop.set()
    supervisor.wake("dispatcher")
    async with asyncio.timeout(WAIT):
        await task
    assert body.runs == 1


async def test_cancelling_a_supervised_task_ends_it() -> None:
    body = Flaky(RuntimeError("never"), failures=0)
    task = Supervisor(Progress(FixedClock(T0)), restart=QUICK).start("x", body)
    async with asyncio.timeout(WAIT):
        await body.running.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_job_reports_progress_when_it_finishes_and_swallows_what_it_logs(
    logged: Records, hub: MetricsHub
) -> None:
    clock = FixedClock(T0)
    progress = Progress(clock, observer=hub)
    supervisor = Supervisor(progress, restart=QUICK)

    async def fine() -> None:
        return None

    async def bug() -> None:
        raise KeyError("x")

    async def store_down() -> None:
        raise StoreError("connection refused")

    await supervisor.job("planner", fine)()
    clock.advance(5)
    await supervisor.job("planner", bug)()  # never raises
    await supervisor.job("planner", store_down)()
    assert progress.last("planner") == T0  # the failed runs made no progress
    gauge = hub.registry.get_sample_value(
        "vakt_task_last_progress_timestamp_seconds", {"task": "planner"}
    )
    assert gauge == T0.timestamp()
    crashed = [r for r in logged.records if r.getMessage() == "job.crashed"]
    assert len(crashed) == 1
    assert crashed[0].exc_info is not None
    assert "job.store_error" in logged.events()


def test_only_store_errors_all_the_way_down_count_as_store_errors() -> None:
    assert store_error_only(StoreError("x"))
    assert store_error_only(ExceptionGroup("g", [StoreError("a"), StoreError("b")]))
    assert store_error_only(ExceptionGroup("g", [ExceptionGroup("h", [StoreError("a")])]))
    assert not store_error_only(ExceptionGroup("g", [StoreError("a"), ValueError("b")]))
    assert not store_error_only(ValueError("b"))


def test_settling_reports_the_dispatchers_progress() -> None:
    clock = FixedClock(T0)
    progress = Progress(clock)
    observer = SettleProgress(progress)
    observer.settled((), T0)
    assert progress.last(DISPATCHER) == T0
    clock.advance(3)
    observer.cancelled(2, clock.now())
    assert progress.last(DISPATCHER) == T0 + timedelta(seconds=3)


# ---------------------------------------------------------------------- HealthWatch


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store(f"sqlite:///{tmp_path / 'vakt.db'}") as running:
        await running.upgrade()
        yield running


def limits() -> Limits:
    second = timedelta(seconds=1)
    return Limits.of(HealthSettings(), poll=second, flush_every=second, planner_every=second)


async def test_health_watch_reports_a_closed_store_as_failing_and_tells_the_hub(
    store: Store, hub: MetricsHub
) -> None:
    clock = FixedClock(T0)
    watch = HealthWatch(
        store,
        Progress(clock),
        clock,
        limits=limits,
        scheduler_running=lambda: True,
        config_ok=lambda: True,
        observer=hub,
    )
    assert (await watch.health()).ok
    await store.close()
    health = await watch.health()
    assert health.checks[Component.STORE] is Status.FAILING
    assert hub.registry.get_sample_value("vakt_health_ok", {"component": "store"}) == 0
    assert hub.registry.get_sample_value("vakt_health_ok", {"component": "engine"}) == 1
