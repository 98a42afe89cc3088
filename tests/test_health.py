"""`monitor.health.judge`: one verdict per component from a snapshot, `now` and limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config.records import HealthSettings
from monitor.health import Component, Limits, Snapshot, Status, judge, unready

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)
LIMITS = Limits(delivery=60 * S, engine=3 * S, planner=6 * S)
FRESH = Snapshot(started=T0, store=True, scheduler=True, config=True, flushed=T0, ticked=T0)


def red(snapshot: Snapshot, now: datetime = T0) -> dict[str, str]:
    health = judge(snapshot, now, LIMITS)
    return {c.value: s.value for c, s in health.checks.items() if s is not Status.OK}


def test_a_fresh_daemon_with_nothing_due_is_all_green() -> None:
    health = judge(FRESH, T0 + S, LIMITS)
    assert health.ok
    assert list(health.checks) == list(Component)  # every component, in /readyz's order
    assert health.as_json()["status"] == "ready"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"store": False}, {"store": "failing"}),
        ({"scheduler": False}, {"scheduler": "failing"}),
        ({"config": False}, {"config": "failing"}),
    ],
)
def test_store_scheduler_and_config_are_red_when_they_say_so(
    change: dict[str, bool], expected: dict[str, str]
) -> None:
    assert red(replace(FRESH, **change)) == expected  # type: ignore[arg-type]


def test_a_scheduler_a_minute_behind_is_failing_so_the_dead_man_stops() -> None:
    """The dead-man's rule (p99 lateness of 60 s or more) is health's, not app.py's."""
    assert red(replace(FRESH, lateness=59 * S)) == {}
    assert red(replace(FRESH, lateness=60 * S)) == {"scheduler": "failing"}


def test_delivery_fails_once_the_oldest_due_row_waited_longer_than_the_limit() -> None:
    waiting = replace(FRESH, due=3, settled=T0)
    assert red(replace(waiting, waiting=60 * S)) == {}  # exactly the limit: still ok
    assert red(replace(waiting, waiting=61 * S)) == {"delivery": "failing"}


def test_a_channel_outage_is_delivery_failing_but_not_a_stalled_dispatcher() -> None:
    # The dispatcher settles attempts (they fail): rows wait, none stays unclaimed.
    outage = replace(FRESH, due=1, waiting=10 * 60 * S, unclaimed=2 * S, settled=T0)
    assert red(outage) == {"delivery": "failing"}


def test_the_dispatcher_is_stalled_when_due_rows_stay_unclaimed_and_nothing_was_settled() -> None:
    stuck = replace(FRESH, due=1, waiting=90 * S, unclaimed=90 * S, settled=T0 - 61 * S)
    assert red(stuck) == {"delivery": "failing", "dispatcher": "stalled"}
    busy = replace(stuck, settled=T0 - S)  # working through a large backlog
    assert red(busy) == {"delivery": "failing"}


def test_an_idle_dispatcher_is_never_stalled() -> None:
    idle = replace(FRESH, due=0, settled=None)
    assert red(idle, T0 + 3 * S) == {}
    assert judge(idle, T0 + 3600 * S, replace(LIMITS, engine=1e6 * S, planner=1e6 * S)).ok


def test_the_engine_stalls_and_the_planner_is_late_after_their_periods() -> None:
    assert red(FRESH, T0 + 3 * S) == {}
    assert red(FRESH, T0 + 4 * S) == {"engine": "stalled"}
    assert red(FRESH, T0 + 7 * S) == {"engine": "stalled", "planner": "late"}


def test_a_task_without_progress_yet_counts_from_the_start() -> None:
    starting = replace(FRESH, flushed=None, ticked=None)
    assert red(starting, T0 + 2 * S) == {}
    assert red(starting, T0 + 7 * S) == {"engine": "stalled", "planner": "late"}


def test_limits_come_from_the_settings_with_three_polls_as_the_floor() -> None:
    health = HealthSettings(delivery_after=2 * S, engine_periods=3, planner_periods=4)
    limits = Limits.of(health, poll=S, flush_every=S, planner_every=2 * S)
    assert limits == Limits(delivery=3 * S, engine=3 * S, planner=8 * S)
    slow_poll = Limits.of(HealthSettings(), poll=S, flush_every=S, planner_every=S)
    assert slow_poll.delivery == 60 * S


def test_without_a_daemon_everything_but_the_store_is_red() -> None:
    health = unready(store=True)
    assert not health.ok
    assert health.checks[Component.STORE] is Status.OK
    assert health.as_json() == {
        "status": "not ready",
        "checks": {
            "store": "ok",
            "scheduler": "failing",
            "config": "failing",
            "delivery": "failing",
            "dispatcher": "stalled",
            "engine": "stalled",
            "planner": "late",
        },
    }
