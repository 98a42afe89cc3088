"""SLA deadlines: clocks, warnings, breaches, level changes and deferred pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.config.records import (
    BusinessDuration,
    BusinessUnit,
    ClockKind,
    LevelPolicy,
    PageWhen,
)
from monitor.model import Level, Priority
from monitor.policy.calendar import BusinessClock
from monitor.policy.sla import (
    SlaStatus,
    answered_in_time,
    breached,
    deadline,
    is_upgrade,
    on_level_change,
    open_sla,
    page_due_at,
    priority_sla,
    resolution_status,
    response_met,
    response_status,
    time_left,
)
from tests.policy.support import OSLO, Seed, local


def oslo(text: str) -> datetime:
    return local(text, OSLO)


@pytest.fixture
def dekode(seeds: dict[str, Seed]) -> Seed:
    return seeds["dekode"]


def test_business_units_on_the_always_clock_are_refused(dekode: Seed) -> None:
    with pytest.raises(ValueError, match="needs clock: business"):
        deadline(
            oslo("2026-01-12 10:00"),
            BusinessDuration(4, BusinessUnit.HOURS),
            ClockKind.ALWAYS,
            dekode.clock,
        )


def test_plain_duration_on_the_business_clock_counts_business_time(dekode: Seed) -> None:
    due = deadline(oslo("2026-01-09 15:00"), timedelta(hours=2), ClockKind.BUSINESS, dekode.clock)
    assert due == oslo("2026-01-12 10:00")


def test_deadlines_are_returned_in_utc(dekode: Seed) -> None:
    sla = open_sla(dekode.policy, Level.A, oslo("2026-01-11 03:00"), dekode.clock)
    assert sla.respond_by.tzinfo is UTC
    assert sla.respond_by == datetime(2026, 1, 11, 4, 0, tzinfo=UTC)


def test_level_a_warning_at_75_percent_of_two_hours(dekode: Seed) -> None:
    sla = open_sla(dekode.policy, Level.A, oslo("2026-01-11 03:00"), dekode.clock)
    assert sla.warn_at == oslo("2026-01-11 04:30")


@pytest.mark.parametrize(
    ("now", "ack", "resolved", "status"),
    [
        ("2026-01-11 04:00", None, None, SlaStatus.PENDING),
        ("2026-01-11 04:30", None, None, SlaStatus.WARNING),
        ("2026-01-11 05:00", None, None, SlaStatus.WARNING),  # at the deadline: still in time
        ("2026-01-11 05:01", None, None, SlaStatus.BREACHED),
        ("2026-01-11 06:00", "2026-01-11 05:00", None, SlaStatus.MET),  # ack exactly on time
        ("2026-01-11 06:00", "2026-01-11 05:30", None, SlaStatus.BREACHED),  # ack too late
        ("2026-01-11 06:00", None, "2026-01-11 04:00", SlaStatus.MET),  # resolved, never acked
        ("2026-01-11 06:00", None, "2026-01-11 05:10", SlaStatus.BREACHED),
        ("2026-01-11 04:00", "2026-01-11 04:50", None, SlaStatus.PENDING),  # ack in the future
    ],
)
def test_response_status_of_a_level_a_opened_at_three(
    dekode: Seed, now: str, ack: str | None, resolved: str | None, status: SlaStatus
) -> None:
    sla = open_sla(dekode.policy, Level.A, oslo("2026-01-11 03:00"), dekode.clock)
    ack_at = oslo(ack) if ack else None
    resolved_at = oslo(resolved) if resolved else None
    assert response_status(sla, oslo(now), ack_at, resolved_at) is status
    assert breached(sla, oslo(now), ack_at, resolved_at) is (status is SlaStatus.BREACHED)


def test_response_met_needs_an_answer_by_respond_by(dekode: Seed) -> None:
    sla = open_sla(dekode.policy, Level.A, oslo("2026-01-11 03:00"), dekode.clock)
    assert not response_met(sla, None)
    assert response_met(sla, oslo("2026-01-11 04:59"))
    assert not response_met(sla, oslo("2026-01-11 05:01"))
    assert response_met(sla, oslo("2026-01-11 06:00"), resolved_at=oslo("2026-01-11 04:00"))


def test_resolution_target_of_an_urgent_infraspeak_ticket(seeds: dict[str, Seed]) -> None:
    infra = seeds["infraspeak"]
    opened = local("2026-01-12 10:00", infra.calendar.timezone)
    sla = priority_sla(infra.policy, Priority.URGENT, opened, infra.clock)
    due = local("2026-01-14 10:00", infra.calendar.timezone)
    assert sla.level is None
    assert sla.clock is ClockKind.BUSINESS
    assert resolution_status(sla, due, None) is SlaStatus.PENDING
    assert resolution_status(sla, due + timedelta(minutes=1), None) is SlaStatus.BREACHED
    assert resolution_status(sla, due + timedelta(hours=1), due) is SlaStatus.MET


def test_a_priority_without_resolve_target_has_no_resolution_status(
    seeds: dict[str, Seed],
) -> None:
    infra = seeds["infraspeak"]
    opened = local("2026-01-12 10:00", infra.calendar.timezone)
    sla = priority_sla(infra.policy, Priority.LOW, opened, infra.clock)
    assert resolution_status(sla, opened, None) is None


def test_time_left_on_the_business_clock_ignores_the_weekend(dekode: Seed) -> None:
    sla = open_sla(dekode.policy, Level.B, oslo("2026-01-09 15:30"), dekode.clock)
    assert time_left(sla, oslo("2026-01-10 12:00"), dekode.clock) == timedelta(hours=6, minutes=30)


# ---------------------------------------------------------------------- level changes


def test_upgrade_b_to_a_at_three_in_the_night_takes_the_earlier_deadline(dekode: Seed) -> None:
    sla = open_sla(dekode.policy, Level.B, oslo("2026-01-09 15:30"), dekode.clock)
    upgraded = on_level_change(sla, Level.A, oslo("2026-01-10 03:00"), dekode.policy, dekode.clock)
    assert upgraded.level is Level.A
    assert upgraded.respond_by == oslo("2026-01-10 05:00")
    assert upgraded.respond_from == oslo("2026-01-10 03:00")
    assert upgraded.warn_at == oslo("2026-01-10 04:30")
    assert upgraded.clock is ClockKind.ALWAYS
    assert upgraded.opened_at == sla.opened_at


def test_upgrade_keeps_an_earlier_deadline(dekode: Seed) -> None:
    sla = open_sla(dekode.policy, Level.B, oslo("2026-01-09 15:30"), dekode.clock)
    # Monday 15:00 + 2 h is later than Monday 15:30: the B deadline stands.
    upgraded = on_level_change(sla, Level.A, oslo("2026-01-12 15:00"), dekode.policy, dekode.clock)
    assert upgraded.level is Level.A
    assert upgraded.respond_by == sla.respond_by
    assert upgraded.warn_at == sla.warn_at


def test_upgrade_after_an_acknowledgement_opens_a_fresh_window(dekode: Seed) -> None:
    sla = open_sla(dekode.policy, Level.B, oslo("2026-01-12 09:30"), dekode.clock)
    upgraded = on_level_change(
        sla,
        Level.A,
        oslo("2026-01-13 20:00"),  # after B's deadline, but B was answered on Monday
        dekode.policy,
        dekode.clock,
        acknowledged_at=oslo("2026-01-12 10:00"),
    )
    assert upgraded.respond_by == oslo("2026-01-13 22:00")
    assert response_status(upgraded, oslo("2026-01-13 21:00")) is SlaStatus.PENDING
    assert response_status(upgraded, oslo("2026-01-13 21:30")) is SlaStatus.WARNING


def test_upgrade_of_an_unanswered_breached_window_stays_breached(dekode: Seed) -> None:
    sla = open_sla(dekode.policy, Level.B, oslo("2026-01-12 09:30"), dekode.clock)
    upgraded = on_level_change(sla, Level.A, oslo("2026-01-13 20:00"), dekode.policy, dekode.clock)
    assert upgraded.respond_by == sla.respond_by
    assert breached(upgraded, oslo("2026-01-13 20:00"))


def test_downgrade_keeps_the_earlier_deadline(dekode: Seed) -> None:
    sla = open_sla(dekode.policy, Level.A, oslo("2026-01-10 03:00"), dekode.clock)
    downgraded = on_level_change(
        sla, Level.B, oslo("2026-01-10 03:30"), dekode.policy, dekode.clock
    )
    assert downgraded.level is Level.B
    assert downgraded.respond_by == oslo("2026-01-10 05:00")


def test_same_level_changes_nothing(dekode: Seed) -> None:
    sla = open_sla(dekode.policy, Level.B, oslo("2026-01-09 15:30"), dekode.clock)
    assert (
        on_level_change(sla, Level.B, oslo("2026-01-10 03:00"), dekode.policy, dekode.clock) is sla
    )


def test_upgrade_takes_the_earlier_resolve_by(seeds: dict[str, Seed]) -> None:
    infra = seeds["infraspeak"]
    zone = infra.calendar.timezone
    sla = open_sla(infra.policy, Level.B, local("2026-01-12 10:00", zone), infra.clock)
    assert sla.resolve_by is None
    upgraded = on_level_change(
        sla, Level.A, local("2026-01-12 11:00", zone), infra.policy, infra.clock
    )
    assert upgraded.priority is Priority.URGENT
    assert upgraded.respond_by == local("2026-01-12 15:00", zone)
    assert upgraded.resolve_by == local("2026-01-14 11:00", zone)


def test_is_upgrade_only_from_b_to_a() -> None:
    assert is_upgrade(Level.B, Level.A)
    assert not is_upgrade(Level.A, Level.B)
    assert not is_upgrade(Level.A, Level.A)


# ------------------------------------------------------------------------------ paging


@pytest.mark.parametrize(
    ("page", "opened", "due"),
    [
        (PageWhen.ALWAYS, "2026-01-10 22:00", "2026-01-10 22:00"),
        (PageWhen.BUSINESS_HOURS, "2026-01-10 22:00", "2026-01-12 09:00"),
        (PageWhen.BUSINESS_HOURS, "2026-01-12 10:15", "2026-01-12 10:15"),
        (PageWhen.BUSINESS_HOURS, "2026-01-12 16:00", "2026-01-13 09:00"),
    ],
)
def test_page_due_at(dekode: Seed, page: PageWhen, opened: str, due: str) -> None:
    lp = LevelPolicy(respond=timedelta(hours=2), clock=ClockKind.ALWAYS, page=page)
    assert page_due_at(lp, dekode.clock, oslo(opened)) == oslo(due)


def test_page_never_pages_no_one(dekode: Seed) -> None:
    lp = LevelPolicy(respond=timedelta(hours=2), clock=ClockKind.ALWAYS, page=PageWhen.NEVER)
    assert page_due_at(lp, dekode.clock, oslo("2026-01-12 10:00")) is None


def test_warning_on_a_business_clock_with_a_24_7_calendar_counts_real_time() -> None:
    from tests.policy.support import calendar, hours

    always = BusinessClock(calendar("always", OSLO, "Europe/Oslo", ((hours(0, 24),),) * 7))
    due = deadline(oslo("2026-03-28 12:00"), timedelta(hours=48), ClockKind.BUSINESS, always)
    assert due == oslo("2026-03-30 13:00")


_BY = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
_EARLY, _LATE = _BY - timedelta(minutes=1), _BY + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("respond_by", "acknowledged_at", "resolved_at", "met"),
    [
        (_BY, None, None, None),  # unanswered
        (_BY, _EARLY, None, True),
        (_BY, _BY, None, True),  # exactly at respond-by is in time
        (_BY, _LATE, None, False),
        (_BY, None, _EARLY, True),  # resolved before anyone acknowledged
        (_BY, _LATE, _EARLY, True),  # the first answer counts
        (None, _LATE, None, True),  # no deadline: in time
    ],
)
def test_answered_in_time_is_the_first_answer_against_respond_by(
    respond_by: datetime | None,
    acknowledged_at: datetime | None,
    resolved_at: datetime | None,
    met: bool | None,
) -> None:
    assert answered_in_time(respond_by, acknowledged_at, resolved_at) is met
