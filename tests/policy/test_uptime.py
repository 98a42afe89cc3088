"""`monitor.policy.uptime`: uptime is time not at Level A over time with data,
maintenance left out, Level B reported apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.model import Level
from monitor.policy.uptime import LevelChange, availability

T = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def m(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


def test_six_minutes_at_level_a_in_twenty_minutes_of_data_is_70_percent() -> None:
    figures = availability((m(0), m(20)), [(m(0), m(20))], [], [LevelChange(m(14), Level.A)])
    assert figures.uptime == 0.7
    assert figures.down == timedelta(minutes=6)


def test_time_without_data_is_not_counted_either_way() -> None:
    figures = availability((m(-60), m(20)), [(m(0), m(10)), (m(5), m(20))], [], [])
    assert figures.observed == timedelta(minutes=20)
    assert figures.uptime == 1.0
    assert availability((m(0), m(20)), [], [], []).uptime is None


def test_maintenance_is_left_out_and_level_b_counts_as_up_but_is_reported() -> None:
    levels = [LevelChange(m(0), Level.B), LevelChange(m(10), Level.A), LevelChange(m(15), None)]
    figures = availability((m(0), m(20)), [(m(0), m(20))], [(m(10), m(15))], levels)
    assert figures.maintenance == timedelta(minutes=5)
    assert figures.observed == timedelta(minutes=15)
    assert figures.down == timedelta(0)
    assert figures.degraded == timedelta(minutes=10)
    assert figures.uptime == 1.0
    assert figures.degraded_share == 10 / 15


def test_the_level_before_the_period_carries_in() -> None:
    figures = availability(
        (m(0), m(10)), [(m(0), m(10))], [], [LevelChange(m(4), None)], level_before=Level.A
    )
    assert figures.down == timedelta(minutes=4)
