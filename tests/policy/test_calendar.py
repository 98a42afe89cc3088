"""Business calendars: opening, holidays, extra dates, DST and business-time arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config.records import BusinessDuration, BusinessUnit, Calendar, HolidaySource
from monitor.policy.calendar import BusinessClock, NeverOpenError
from tests.policy.support import (
    LISBON,
    NO_HOURS,
    OSLO,
    UTC_PLUS_2,
    calendar,
    hours,
    local,
    weekdays,
)

OSLO_OFFICE = calendar("oslo", OSLO, "Europe/Oslo", weekdays(hours(9, 16)), HolidaySource("NO"))
SPLIT_DAY = calendar(
    "split",
    LISBON,
    "Europe/Lisbon",
    weekdays((time(8), time(12)), (time(13), time(17))),
    HolidaySource("PT"),
)
NIGHTS = calendar(
    "nights",
    OSLO,
    "Europe/Oslo",
    (((time(0), time(3)), (time(22), time(0))),) * 7,
)
ROUND_THE_CLOCK = calendar("always", OSLO, "Europe/Oslo", (((time(0), time(0)),),) * 7)


def oslo(text: str) -> datetime:
    return local(text, OSLO)


# ------------------------------------------------------------------------- open or not


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ("2026-01-12 08:59", False),
        ("2026-01-12 09:00", True),  # opening minute is open
        ("2026-01-12 15:59", True),
        ("2026-01-12 16:00", False),  # closing minute is closed
        ("2026-01-10 12:00", False),  # Saturday
        ("2027-05-17 12:00", False),  # Constitution Day, a Monday
        ("2026-12-25 12:00", False),  # Christmas Day, a Friday
    ],
)
def test_oslo_office_is_open_inside_its_hours_on_working_days(moment: str, is_open: bool) -> None:
    assert BusinessClock(OSLO_OFFICE).is_open(oslo(moment)) is is_open


def test_a_day_with_two_ranges_is_closed_over_lunch() -> None:
    clock = BusinessClock(SPLIT_DAY)
    assert clock.is_open(local("2026-01-12 11:59", LISBON))
    assert not clock.is_open(local("2026-01-12 12:30", LISBON))
    assert clock.next_opening(local("2026-01-12 12:30", LISBON)) == local(
        "2026-01-12 13:00", LISBON
    )


def test_business_time_skips_the_lunch_break() -> None:
    clock = BusinessClock(SPLIT_DAY)
    due = clock.add(local("2026-01-12 11:00", LISBON), BusinessDuration(2, BusinessUnit.HOURS))
    assert due == local("2026-01-12 14:00", LISBON)
    assert clock.business_day_length == timedelta(hours=8)


def test_extra_closed_date_is_closed_and_extra_open_date_uses_mondays_hours() -> None:
    cal = calendar(
        "x",
        OSLO,
        "Europe/Oslo",
        weekdays(hours(9, 16)),
        closed=frozenset({date(2026, 12, 24)}),
        open_=frozenset({date(2026, 12, 27)}),  # a Sunday
    )
    clock = BusinessClock(cal)
    assert not clock.is_open(oslo("2026-12-24 10:00"))
    assert clock.is_open(oslo("2026-12-27 10:00"))
    assert not clock.is_open(oslo("2026-12-27 16:00"))


def test_extra_open_date_beats_a_public_holiday() -> None:
    cal = calendar(
        "x",
        OSLO,
        "Europe/Oslo",
        weekdays(hours(9, 16)),
        HolidaySource("NO"),
        open_=frozenset({date(2027, 5, 17)}),
    )
    assert BusinessClock(cal).is_open(oslo("2027-05-17 10:00"))


def test_holidays_follow_the_subdivision() -> None:
    # Epiphany (6 January) is a holiday in Bavaria but not in Berlin.
    bavaria = calendar("by", OSLO, "x", weekdays(hours(9, 16)), HolidaySource("DE", "BY"))
    berlin = calendar("be", OSLO, "x", weekdays(hours(9, 16)), HolidaySource("DE", "BE"))
    epiphany = oslo("2026-01-06 10:00")
    assert not BusinessClock(bavaria).is_open(epiphany)
    assert BusinessClock(berlin).is_open(epiphany)


def test_a_range_ending_at_midnight_runs_to_the_end_of_the_day() -> None:
    clock = BusinessClock(NIGHTS)
    assert clock.is_open(oslo("2026-01-12 23:59"))
    assert clock.is_open(oslo("2026-01-13 00:30"))
    assert not clock.is_open(oslo("2026-01-13 03:00"))
    # 22:00-24:00 and 00:00-03:00 are one continuous period.
    assert clock.next_closing(oslo("2026-01-12 23:00")) == oslo("2026-01-13 03:00")
    assert clock.business_day_length == timedelta(hours=5)


# ------------------------------------------------------------------------------ zones


def test_fixed_offset_calendar_does_not_follow_oslo_dst() -> None:
    clock = BusinessClock(calendar("compera", UTC_PLUS_2, "UTC+02:00", weekdays(hours(8, 17))))
    # 08:00 at UTC+02:00 is 07:00 in Oslo in winter and 08:00 in summer.
    assert clock.is_open(oslo("2026-01-12 07:00"))
    assert not clock.is_open(oslo("2026-07-13 07:00"))
    assert clock.is_open(oslo("2026-07-13 08:00"))


def test_opening_hours_stay_on_the_wall_clock_across_dst() -> None:
    clock = BusinessClock(OSLO_OFFICE)
    winter = clock.next_opening(oslo("2026-03-26 17:00"))
    summer = clock.next_opening(oslo("2026-03-29 17:00"))
    assert winter.astimezone(OSLO).time() == time(9)
    assert summer.astimezone(OSLO).time() == time(9)
    assert winter.utcoffset() == timedelta(0)  # results are UTC
    assert summer - winter == timedelta(days=3, hours=-1)  # one hour lost on Sunday


def test_round_the_clock_calendar_counts_real_hours_across_the_spring_gap() -> None:
    clock = BusinessClock(ROUND_THE_CLOCK)
    start = oslo("2026-03-29 01:00")
    assert clock.elapsed(start, oslo("2026-03-29 04:00")) == timedelta(hours=2)
    assert clock.add(start, timedelta(hours=2)) == oslo("2026-03-29 04:00")


def test_round_the_clock_calendar_counts_the_repeated_hour_in_autumn() -> None:
    clock = BusinessClock(ROUND_THE_CLOCK)
    start = oslo("2026-10-25 00:00")
    assert clock.elapsed(start, oslo("2026-10-25 04:00")) == timedelta(hours=5)


# ---------------------------------------------------------------------- arithmetic


def test_deadline_may_fall_exactly_on_closing_time() -> None:
    clock = BusinessClock(OSLO_OFFICE)
    due = clock.add(oslo("2026-01-12 09:00"), BusinessDuration(1, BusinessUnit.DAYS))
    assert due == oslo("2026-01-12 16:00")


def test_adding_zero_returns_the_same_moment_and_negative_is_refused() -> None:
    clock = BusinessClock(OSLO_OFFICE)
    saturday = oslo("2026-01-10 12:00")
    assert clock.add(saturday, timedelta()) == saturday
    with pytest.raises(ValueError, match="negative"):
        clock.add(saturday, timedelta(minutes=-1))


def test_elapsed_backwards_is_negative() -> None:
    clock = BusinessClock(OSLO_OFFICE)
    a, b = oslo("2026-01-09 15:00"), oslo("2026-01-12 10:00")
    assert clock.elapsed(a, b) == timedelta(hours=2)
    assert clock.elapsed(b, a) == timedelta(hours=-2)


def test_roll_forward_keeps_an_open_moment_and_moves_a_closed_one() -> None:
    clock = BusinessClock(OSLO_OFFICE)
    assert clock.roll_forward(oslo("2026-01-12 10:00")) == oslo("2026-01-12 10:00")
    assert clock.roll_forward(oslo("2026-01-12 16:00")) == oslo("2026-01-13 09:00")


def test_next_opening_while_open_is_the_next_day() -> None:
    clock = BusinessClock(OSLO_OFFICE)
    assert clock.next_opening(oslo("2026-01-12 10:00")) == oslo("2026-01-13 09:00")
    assert clock.next_opening(oslo("2026-01-12 09:00")) == oslo("2026-01-12 09:00")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        BusinessClock(OSLO_OFFICE).is_open(datetime(2026, 1, 12, 10, 0))


def test_calendar_without_any_hours_is_refused() -> None:
    with pytest.raises(NeverOpenError, match="no business hours"):
        BusinessClock(calendar("shut", OSLO, "Europe/Oslo", (NO_HOURS,) * 7))


def test_calendar_closed_for_years_cannot_advance() -> None:
    every_day = frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(5 * 366))
    shut = calendar("shut", OSLO, "Europe/Oslo", weekdays(hours(9, 16)), closed=every_day)
    with pytest.raises(NeverOpenError):
        BusinessClock(shut).add(oslo("2026-01-01 00:00"), timedelta(hours=1))


# -------------------------------------------------------------------------- properties

CALENDARS = [OSLO_OFFICE, SPLIT_DAY, NIGHTS, ROUND_THE_CLOCK,
             calendar("compera", UTC_PLUS_2, "UTC+02:00", weekdays(hours(8, 17)))]  # fmt: skip

moments = st.datetimes(
    min_value=datetime(2025, 12, 20), max_value=datetime(2027, 1, 10), timezones=st.just(UTC)
)
spans = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=4)).map(
    lambda d: timedelta(seconds=int(d.total_seconds()))
)
calendars = st.sampled_from(CALENDARS)


@settings(max_examples=150, deadline=None)
@given(cal=calendars, t=moments, d=spans)
def test_elapsed_inverts_add(cal: Calendar, t: datetime, d: timedelta) -> None:
    clock = BusinessClock(cal)
    assert clock.elapsed(t, clock.add(t, d)) == d


@settings(max_examples=150, deadline=None)
@given(cal=calendars, t=moments, d=spans)
def test_business_deadlines_fall_inside_business_hours_or_on_closing_time(
    cal: Calendar, t: datetime, d: timedelta
) -> None:
    clock = BusinessClock(cal)
    due = clock.add(t, d)
    just_before = due - timedelta(microseconds=1)
    assert clock.is_open(due) or clock.is_open(just_before)
    assert due > t


@settings(max_examples=150, deadline=None)
@given(cal=calendars, t1=moments, t2=moments, d1=spans, d2=spans)
def test_adding_business_time_is_monotonic(
    cal: Calendar, t1: datetime, t2: datetime, d1: timedelta, d2: timedelta
) -> None:
    clock = BusinessClock(cal)
    early, late = sorted((t1, t2))
    short, long = sorted((d1, d2))
    assert clock.add(early, short) <= clock.add(late, short)
    assert clock.add(early, short) <= clock.add(early, long)


@settings(max_examples=100, deadline=None)
@given(cal=calendars, t1=moments, t2=moments, t3=moments)
def test_elapsed_business_time_adds_up_over_consecutive_intervals(
    cal: Calendar, t1: datetime, t2: datetime, t3: datetime
) -> None:
    clock = BusinessClock(cal)
    a, b, c = sorted((t1, t2, t3))
    assert clock.elapsed(a, c) == clock.elapsed(a, b) + clock.elapsed(b, c)
    assert timedelta() <= clock.elapsed(a, c) <= c - a
