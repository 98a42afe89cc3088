"""The bounds of a period a person gives (maintenance windows, silences)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.policy.periods import MAX_AHEAD, MAX_LENGTH, period_end, period_problem

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        (NOW, NOW + HOUR, None),
        (NOW - HOUR, NOW + HOUR, None),  # began before now, still running
        (NOW + MAX_AHEAD, NOW + MAX_AHEAD + HOUR, None),
        (NOW, NOW + MAX_LENGTH, None),
        (NOW + HOUR, NOW + HOUR, "the end must be after the start"),
        (NOW - 2 * HOUR, NOW - HOUR, "the end is in the past"),
        (NOW - HOUR, NOW, "the end is in the past"),
        (
            NOW + MAX_AHEAD + HOUR,
            NOW + MAX_AHEAD + 2 * HOUR,
            "the start is more than 366 days ahead",
        ),
        (NOW, NOW + MAX_LENGTH + HOUR, "it lasts more than 366 days"),
        (NOW, datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "it lasts more than 366 days"),
    ],
)
def test_a_period_is_refused_with_its_reason(
    start: datetime, end: datetime, problem: str | None
) -> None:
    assert period_problem(start, end, NOW) == problem


def test_an_end_past_the_calendar_is_none() -> None:
    assert period_end(NOW, timedelta(days=999_999_999)) is None
    assert period_end(NOW, HOUR) == NOW + HOUR
