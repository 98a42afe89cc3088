"""No long-running task ends silently: supervised tasks, their progress, and health.

    progress = Progress(clock, observer=hub)
    supervisor = Supervisor(progress)
    task = supervisor.start("dispatcher", lambda: dispatcher.run(stop), done=stop.is_set)
    jobs.add_job(supervisor.job("gauges", watch.update), ...)   # APScheduler jobs
    ...
    stop.set(); supervisor.wake("dispatcher"); await task   # drain: it ends, never raises

- `Supervisor.start(name, run, done=...)` runs `run()` in a task. A `StoreError` (also
  inside an `ExceptionGroup`, as a `TaskGroup` raises it) is logged as a warning; any other
  exception is logged with `log.exception` (Sentry's logging integration reports it);
  a return while `done()` is false is logged as an error. In each case the task is
  counted (`task_restarted`) and started again after an exponential back-off. Only
  cancellation, or a return once `done()` is true, ends it.
- `Supervisor.job(name, func)` wraps a periodic job (APScheduler): the same logging, no
  exception escapes, and a run that finishes reports progress.
- `Progress` keeps each task's last progress (`report(name)`) and tells its observer
  (the metrics hub: `vakt_task_last_progress_timestamp_seconds{task}`).
- `SettleProgress` is a dispatcher observer (the `DispatchObserver` shape: `settled`,
  `cancelled`) that reports the dispatcher's progress after each settle commit.
- `HealthWatch` reads a `Snapshot` (the store answering, the due outbox in one aggregate
  query, the progress) and judges it with `monitor.health.judge`: what `/readyz` answers
  and what the dead-man's ping asks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from monitor.clock import Clock
from monitor.health import Health, Limits, Snapshot, Status, judge
from monitor.store import Store, StoreError

log = logging.getLogger(__name__)

DISPATCHER = "dispatcher"
ENGINE = "engine"
PLANNER = "planner"
"""The tasks whose progress health judges (other names are free)."""


class ProgressObserver(Protocol):
    """Told about progress and restarts (the `MetricsHub` implements it)."""

    def task_progress(self, task: str, at: datetime) -> None: ...

    def task_restarted(self, task: str) -> None: ...


class Progress:
    """The last progress of each task, by name."""

    def __init__(self, clock: Clock, *, observer: ProgressObserver | None = None) -> None:
        self._clock = clock
        self._observer = observer
        self._last: dict[str, datetime] = {}

    def report(self, task: str) -> None:
        """`task` made progress now."""
        at = self._last[task] = self._clock.now()
        if self._observer is not None:
            self._observer.task_progress(task, at)

    def reporter(self, task: str) -> Callable[[], None]:
        """`report(task)` as a callback (e.g. the engine's `on_flushed`)."""
        return lambda: self.report(task)

    def last(self, task: str) -> datetime | None:
        return self._last.get(task)

    def restarted(self, task: str) -> None:
        if self._observer is not None:
            self._observer.task_restarted(task)


@dataclass(frozen=True, slots=True)
class Restart:
    """The wait before restart number n: `base` * 2^(n-1), at most `cap`. A run that
    lasted longer than `cap` starts the count again."""

    base: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(seconds=30)

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.base * (2 ** min(failures - 1, 20))).total_seconds())


def store_error_only(exc: BaseException) -> bool:
    """Whether `exc` is a `StoreError`, or a group of nothing but store errors."""
    if isinstance(exc, BaseExceptionGroup):
        return all(store_error_only(inner) for inner in exc.exceptions)
    return isinstance(exc, StoreError)


async def contained(kind: str, name: str, run: Callable[[], Awaitable[object]]) -> bool:
    """Run `run` once; True when it returned. A failure is logged, never raised: a store
    error as `<kind>.store_error` (a warning: retried), anything else as `<kind>.crashed`
    with its traceback (a bug, for Sentry). Cancellation passes through."""
    try:
        await run()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if store_error_only(exc):
            log.warning(f"{kind}.store_error", extra={"task": name, "error": str(exc)})
        else:
            log.exception(f"{kind}.crashed", extra={"task": name})
        return False
    return True


class Supervisor:
    """Runs named tasks and periodic jobs so that none ends silently (module docstring)."""

    def __init__(self, progress: Progress, *, restart: Restart | None = None) -> None:
        self.progress = progress
        self._restart = restart or Restart()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wakes: dict[str, asyncio.Event] = {}

    def start(
        self,
        name: str,
        run: Callable[[], Awaitable[None]],
        *,
        done: Callable[[], bool] = lambda: False,
    ) -> asyncio.Task[None]:
        """Run `run()` under supervision until it returns with `done()` true (or the task
        is cancelled); await the returned task to wait for that."""
        self._wakes[name] = asyncio.Event()
        task = asyncio.create_task(self._supervise(name, run, done), name=name)
        self._tasks[name] = task
        return task

    def wake(self, name: str) -> None:
        """End the restart wait of task `name` now (the daemon stops: its `done()` has
        just become true, so it ends instead of waiting out the back-off)."""
        wake = self._wakes.get(name)
        if wake is not None:
            wake.set()

    async def _supervise(
        self, name: str, run: Callable[[], Awaitable[None]], done: Callable[[], bool]
    ) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            began = loop.time()
            returned = await contained("task", name, run)
            if done():
                return
            if returned:
                log.error("task.ended", extra={"task": name})
            if loop.time() - began > self._restart.cap.total_seconds():
                failures = 0  # it ran well for a while: start the back-off again
            failures += 1
            self.progress.restarted(name)
            await self._pause(name, self._restart.delay(failures))
            if done():
                return

    async def _pause(self, name: str, seconds: float) -> None:
        wake = self._wakes[name]
        try:
            async with asyncio.timeout(seconds):
                await wake.wait()
        except TimeoutError:
            pass
        wake.clear()

    def job(
        self, name: str, func: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[None]]:
        """`func` as a periodic job: errors are logged (a bug with its traceback, for
        Sentry), never raised; a run that finishes reports progress under `name`."""

        async def supervised() -> None:
            if await contained("job", name, func):
                self.progress.report(name)

        return supervised


class SettleProgress:
    """A dispatcher observer reporting the dispatcher's progress after each settle."""

    __slots__ = ("_progress",)

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def settled(self, attempts: Sequence[object], now: datetime) -> None:
        self._progress.report(DISPATCHER)

    def cancelled(self, count: int, now: datetime) -> None:
        self._progress.report(DISPATCHER)


class HealthObserver(Protocol):
    """Told every verdict (the `MetricsHub` implements it: `vakt_health_ok`)."""

    def health_judged(self, verdicts: dict[str, bool]) -> None: ...


class HealthWatch:
    """Reads a `Snapshot` and judges it: `/readyz`'s answer and the dead-man's question.

    `limits()`, `scheduler_running()` and `config_ok()` are asked on each call (a
    reload may change them); `timeout` bounds the store's answer (seconds).
    """

    def __init__(
        self,
        store: Store,
        progress: Progress,
        clock: Clock,
        *,
        limits: Callable[[], Limits],
        scheduler_running: Callable[[], bool],
        config_ok: Callable[[], bool],
        scheduler_lateness: Callable[[], timedelta] = lambda: timedelta(0),
        observer: HealthObserver | None = None,
        timeout: float = 2.0,
    ) -> None:
        self._store = store
        self._progress = progress
        self._clock = clock
        self._limits = limits
        self._scheduler_running = scheduler_running
        self._config_ok = config_ok
        self._lateness = scheduler_lateness
        self._observer = observer
        self._timeout = timeout
        self._red: list[str] = []
        self.started = clock.now()
        """Progress not reported yet counts from here (`begin()` moves it)."""

    def begin(self) -> None:
        """The daemon is up now: tasks without progress yet count from this moment (not
        from construction, before a long state load)."""
        self.started = self._clock.now()

    async def snapshot(self) -> Snapshot:
        now = self._clock.now()
        last = self._progress.last
        known = Snapshot(
            started=self.started,
            store=False,
            scheduler=self._scheduler_running(),
            config=self._config_ok(),
            lateness=self._lateness(),
            settled=last(DISPATCHER),
            flushed=last(ENGINE),
            ticked=last(PLANNER),
        )
        try:
            async with asyncio.timeout(self._timeout):
                async with self._store.transaction(read_only=True) as tx:
                    backlog = await tx.outbox.due_backlog(now)
        except (StoreError, TimeoutError) as exc:
            log.warning("health.store_unreachable", extra={"error": str(exc)})
            return known
        return Snapshot(
            started=known.started,
            store=True,
            scheduler=known.scheduler,
            config=known.config,
            due=backlog.count,
            waiting=backlog.oldest_age(now),
            unclaimed=backlog.due_age(now),
            settled=known.settled,
            flushed=known.flushed,
            ticked=known.ticked,
            lateness=known.lateness,
        )

    async def health(self) -> Health:
        """The verdict now; red components are logged, every verdict told the observer."""
        snapshot = await self.snapshot()
        health = judge(snapshot, self._clock.now(), self._limits())
        if self._observer is not None:
            self._observer.health_judged(
                {c.value: s is Status.OK for c, s in health.checks.items()}
            )
        red = [c.value for c in health.red()]
        if red != self._red:  # log changes, not every question
            if red:
                log.warning("health.red", extra={"components": red})
            else:
                log.info("health.green")
            self._red = red
        return health


__all__ = [
    "DISPATCHER",
    "ENGINE",
    "PLANNER",
    "HealthWatch",
    "Progress",
    "Restart",
    "SettleProgress",
    "Supervisor",
    "store_error_only",
]
