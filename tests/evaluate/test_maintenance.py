"""Maintenance windows: one-off and recurring, in the window's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config.records import Maintenance, Recurrence
from monitor.evaluate.maintenance import active_windows, in_maintenance, maintenance_ended

OSLO = ZoneInfo("Europe/Oslo")

UPGRADE = Maintenance(
    id="upgrade",
    sites=("acme/shop",),
    timezone=OSLO,
    timezone_name="Europe/Oslo",
    reason="Server upgrade",
    start=datetime(2026, 12, 1, 22, 0, tzinfo=OSLO),
    end=datetime(2026, 12, 1, 23, 0, tzinfo=OSLO),
)
PATCHING = Maintenance(
    id="patching",
    sites=("acme/*",),
    timezone=OSLO,
    timezone_name="Europe/Oslo",
    reason="Weekly patching",
    recurrence=Recurrence(weekday=6, at=time(3, 0)),
    duration=timedelta(minutes=30),
)
NIGHTLY = Maintenance(
    id="nightly",
    sites=("beta/web",),
    timezone=OSLO,
    timezone_name="Europe/Oslo",
    reason="Nightly backup",
    recurrence=Recurrence(weekday=None, at=time(23, 30)),
    duration=timedelta(hours=1),
)
ALL = (UPGRADE, PATCHING, NIGHTLY)


def oslo(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=OSLO)


@pytest.mark.parametrize(
    ("site_id", "now", "expected"),
    [
        pytest.param("acme/shop", oslo(2026, 12, 1, 22, 0), True, id="one_off_starts_inclusive"),
        pytest.param("acme/shop", oslo(2026, 12, 1, 22, 59), True, id="one_off_inside"),
        pytest.param("acme/shop", oslo(2026, 12, 1, 23, 0), False, id="one_off_ends_exclusive"),
        pytest.param("acme/shop", oslo(2026, 12, 1, 21, 59), False, id="one_off_not_before"),
        pytest.param("acme/blog", oslo(2026, 12, 1, 22, 30), False, id="one_off_other_site"),
        pytest.param("acme/blog", oslo(2026, 12, 6, 3, 10), True, id="recurring_sunday_winter"),
        pytest.param("acme/blog", oslo(2026, 7, 5, 3, 10), True, id="recurring_sunday_summer_time"),
        pytest.param(
            "acme/blog",
            datetime(2026, 7, 5, 1, 10, tzinfo=UTC),
            True,
            id="recurring_follows_local_time_not_utc",
        ),
        pytest.param("acme/blog", oslo(2026, 12, 7, 3, 10), False, id="recurring_not_on_monday"),
        pytest.param("acme/blog", oslo(2026, 12, 6, 3, 30), False, id="recurring_ends_exclusive"),
        pytest.param("other/site", oslo(2026, 12, 6, 3, 10), False, id="wildcard_is_per_customer"),
        pytest.param("beta/web", oslo(2026, 12, 2, 23, 45), True, id="daily_window_evening"),
        pytest.param("beta/web", oslo(2026, 12, 3, 0, 15), True, id="daily_window_after_midnight"),
        pytest.param("beta/web", oslo(2026, 12, 3, 0, 30), False, id="daily_window_over"),
    ],
)
def test_in_maintenance(site_id: str, now: datetime, expected: bool) -> None:
    assert in_maintenance(ALL, site_id, now) is expected


def test_active_windows_give_the_occurrence_bounds() -> None:
    (window,) = active_windows(ALL, oslo(2026, 12, 6, 3, 10))
    assert window.maintenance is PATCHING
    assert window.start == oslo(2026, 12, 6, 3, 0)
    assert window.end == oslo(2026, 12, 6, 3, 30)


def test_a_weekly_window_longer_than_a_day_spans_days() -> None:
    long = Maintenance(
        id="migration",
        sites=("acme/shop",),
        timezone=OSLO,
        timezone_name="Europe/Oslo",
        reason="Migration",
        recurrence=Recurrence(weekday=5, at=time(20, 0)),
        duration=timedelta(hours=40),
    )
    assert in_maintenance([long], "acme/shop", oslo(2026, 12, 6, 11, 0))
    assert not in_maintenance([long], "acme/shop", oslo(2026, 12, 7, 12, 0))


def test_window_end_is_reported_once_so_the_site_is_evaluated_at_once() -> None:
    before = oslo(2026, 12, 1, 22, 59, 30)
    after = oslo(2026, 12, 1, 23, 0, 1)
    assert maintenance_ended(ALL, "acme/shop", before, after)
    assert not maintenance_ended(ALL, "acme/shop", after, after + timedelta(seconds=5))
    assert not maintenance_ended(ALL, "acme/shop", before - timedelta(hours=2), before)
