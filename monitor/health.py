"""Is Vakt doing its job? One pure verdict for `/readyz` and the dead-man's ping.

`judge(snapshot, now, limits)` turns what the daemon knows at one moment (does the store
answer, the due outbox, each task's last progress) into a verdict per component:

- `store: failing`: the store did not answer;
- `scheduler: failing`: the probe scheduler is not running, or its p99 lateness reached
  `limits.lateness` (probes a minute behind: whatever Vakt reports is stale);
- `config: failing`: the last config reload was refused (the old config still runs);
- `delivery: failing`: a due notification has waited longer than `limits.delivery`,
  whatever the cause (a channel that keeps refusing included);
- `dispatcher: stalled`: a notification fell due more than `limits.delivery` ago and the
  dispatcher settled no attempt for that long;
- `engine: stalled`: no engine flush committed for `limits.engine`;
- `planner: late`: no planner tick for `limits.planner`.

A task that has not made progress yet counts from `snapshot.started`. The same function
serves both callers, so `/readyz` and the dead-man never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from monitor.config.records import HealthSettings


class Component(StrEnum):
    """What `/readyz` reports on, in its order."""

    STORE = "store"
    SCHEDULER = "scheduler"
    CONFIG = "config"
    DELIVERY = "delivery"
    DISPATCHER = "dispatcher"
    ENGINE = "engine"
    PLANNER = "planner"


class Status(StrEnum):
    OK = "ok"
    FAILING = "failing"
    STALLED = "stalled"
    LATE = "late"


RED: Mapping[Component, Status] = MappingProxyType(
    {
        Component.STORE: Status.FAILING,
        Component.SCHEDULER: Status.FAILING,
        Component.CONFIG: Status.FAILING,
        Component.DELIVERY: Status.FAILING,
        Component.DISPATCHER: Status.STALLED,
        Component.ENGINE: Status.STALLED,
        Component.PLANNER: Status.LATE,
    }
)
"""The one status each component shows when it is not ok."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How long each component may go without progress before it is red."""

    delivery: timedelta
    engine: timedelta
    planner: timedelta
    lateness: timedelta = timedelta(seconds=60)

    @classmethod
    def of(
        cls,
        health: HealthSettings,
        *,
        poll: timedelta,
        flush_every: timedelta,
        planner_every: timedelta,
    ) -> Limits:
        """From the settings: delivery after max(3 x `poll`, `delivery_after`); the engine
        after `engine_periods` flush periods; the planner after `planner_periods` ticks."""
        return cls(
            delivery=max(3 * poll, health.delivery_after),
            engine=health.engine_periods * flush_every,
            planner=health.planner_periods * planner_every,
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the daemon knows at one moment.

    `due`: pending notifications due now; `waiting`: how long the oldest of them has
    waited for delivery (retries included); `unclaimed`: how long ago the earliest due
    time among them passed (each retry moves it on, so only a dispatcher that stopped
    claiming lets it grow). `settled`, `flushed`, `ticked`: the last progress of the
    dispatcher, the engine and the planner (None: none yet, counted from `started`).
    When the store did not answer (`store` False) the outbox figures are unknown: zero.
    """

    started: datetime
    store: bool
    scheduler: bool
    config: bool
    due: int = 0
    waiting: timedelta = timedelta(0)
    unclaimed: timedelta = timedelta(0)
    settled: datetime | None = None
    flushed: datetime | None = None
    ticked: datetime | None = None
    lateness: timedelta = timedelta(0)  # the probe scheduler's p99 lateness


@dataclass(frozen=True, slots=True)
class Health:
    """A verdict per component; `ok` when every one is."""

    checks: Mapping[Component, Status]

    @property
    def ok(self) -> bool:
        return all(status is Status.OK for status in self.checks.values())

    def red(self) -> list[Component]:
        return [c for c, status in self.checks.items() if status is not Status.OK]

    def as_json(self) -> dict[str, object]:
        """`/readyz`'s body: {"status": "ready" | "not ready", "checks": {...}}."""
        return {
            "status": "ready" if self.ok else "not ready",
            "checks": {c.value: s.value for c, s in self.checks.items()},
        }


def judge(snapshot: Snapshot, now: datetime, limits: Limits) -> Health:
    """The verdict on `snapshot` at `now` (see the module docstring)."""

    def quiet_for(last: datetime | None) -> timedelta:
        return now - (last if last is not None else snapshot.started)

    s = snapshot
    late_rows = s.due > 0 and s.unclaimed > limits.delivery
    good = {
        Component.STORE: s.store,
        Component.SCHEDULER: s.scheduler and s.lateness < limits.lateness,
        Component.CONFIG: s.config,
        Component.DELIVERY: not (s.due > 0 and s.waiting > limits.delivery),
        Component.DISPATCHER: not (late_rows and quiet_for(s.settled) > limits.delivery),
        Component.ENGINE: quiet_for(s.flushed) <= limits.engine,
        Component.PLANNER: quiet_for(s.ticked) <= limits.planner,
    }
    return Health({c: Status.OK if good[c] else RED[c] for c in Component})


def unready(store: bool) -> Health:
    """The verdict when no daemon is wired in (only the store could be asked)."""
    checks = {c: RED[c] for c in Component}
    checks[Component.STORE] = Status.OK if store else Status.FAILING
    return Health(checks)


__all__ = ["RED", "Component", "Health", "Limits", "Snapshot", "Status", "judge", "unready"]
