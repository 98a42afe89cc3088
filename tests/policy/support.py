"""Test support: the five seed agreements (../shared/seeds/) as compiled records.

The records mirror what `examples/*.yaml` compile to; tests build them directly so the
policy layer is tested without the loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from types import MappingProxyType
from zoneinfo import ZoneInfo

from monitor.config.records import (
    BusinessDuration,
    BusinessUnit,
    Calendar,
    ClockKind,
    HolidaySource,
    LevelPolicy,
    PageWhen,
    Policy,
    PriorityTarget,
    TimeRange,
)
from monitor.model import Level, Priority
from monitor.policy.calendar import BusinessClock

OSLO = ZoneInfo("Europe/Oslo")
LISBON = ZoneInfo("Europe/Lisbon")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
UTC_ZONE = ZoneInfo("UTC")
UTC_PLUS_2 = timezone(timedelta(hours=2), "UTC+02:00")

NO_HOURS: tuple[TimeRange, ...] = ()


def weekdays(*ranges: TimeRange) -> tuple[tuple[TimeRange, ...], ...]:
    """The same ranges Monday to Friday, closed at weekends."""
    return (ranges,) * 5 + (NO_HOURS, NO_HOURS)


def hours(start: int, end: int) -> TimeRange:
    return (time(start), time(end % 24))


def business(amount: float, unit: BusinessUnit) -> BusinessDuration:
    return BusinessDuration(amount, unit)


def calendar(
    name: str,
    zone: tzinfo,
    zone_name: str,
    week: tuple[tuple[TimeRange, ...], ...],
    holidays: HolidaySource | None = None,
    closed: frozenset[date] = frozenset(),
    open_: frozenset[date] = frozenset(),
) -> Calendar:
    return Calendar(name, zone, zone_name, week, holidays, closed, open_)


def policy(
    name: str,
    calendar_name: str,
    levels: dict[Level, LevelPolicy],
    priorities: dict[Priority, PriorityTarget] | None = None,
    warn_at: float = 0.75,
) -> Policy:
    return Policy(
        name=name,
        calendar=calendar_name,
        warn_at=warn_at,
        levels=MappingProxyType(levels),
        priorities=MappingProxyType(priorities or {}),
    )


@dataclass(frozen=True, slots=True)
class Seed:
    """One seed agreement: its policy, calendar and business clock."""

    title: str
    policy: Policy
    calendar: Calendar
    clock: BusinessClock


# ------------------------------------------------------------------------------- seeds

HOURS = BusinessUnit.HOURS
DAYS = BusinessUnit.DAYS


def dekode() -> Seed:
    """Level A within 2 h around the clock; Level B within 1 business day, 09-16 Oslo."""
    cal = calendar("oslo-office", OSLO, "Europe/Oslo", weekdays(hours(9, 16)), HolidaySource("NO"))
    levels = {
        Level.A: LevelPolicy(respond=timedelta(hours=2), clock=ClockKind.ALWAYS),
        Level.B: LevelPolicy(
            respond=business(1, DAYS), clock=ClockKind.BUSINESS, page=PageWhen.BUSINESS_HOURS
        ),
    }
    return Seed("Dekode", policy("standard", cal.name, levels), cal, BusinessClock(cal))


def compera() -> Seed:
    """Acknowledge within 1 business day, answer in 2-3; Mon-Fri 08-17 at UTC+02:00."""
    cal = calendar("compera", UTC_PLUS_2, "UTC+02:00", weekdays(hours(8, 17)))
    terms = LevelPolicy(
        respond=business(1, DAYS),
        resolve=business(3, DAYS),
        clock=ClockKind.BUSINESS,
        page=PageWhen.BUSINESS_HOURS,
    )
    pol = policy("compera", cal.name, {Level.A: terms, Level.B: terms})
    return Seed("Compera", pol, cal, BusinessClock(cal))


def infraspeak() -> Seed:
    """Priority matrix on 09-21 Lisbon business hours with Portuguese holidays."""
    cal = calendar(
        "lisbon-9-21", LISBON, "Europe/Lisbon", weekdays(hours(9, 21)), HolidaySource("PT")
    )
    priorities = {
        Priority.URGENT: PriorityTarget(business(4, HOURS), business(24, HOURS)),
        Priority.HIGH: PriorityTarget(business(12, HOURS)),
        Priority.MEDIUM: PriorityTarget(business(1, DAYS)),
        Priority.LOW: PriorityTarget(business(2, DAYS)),
    }
    levels = {
        Level.A: LevelPolicy(
            respond=business(4, HOURS),
            resolve=business(24, HOURS),
            clock=ClockKind.BUSINESS,
            priority=Priority.URGENT,
        ),
        Level.B: LevelPolicy(
            respond=business(12, HOURS),
            clock=ClockKind.BUSINESS,
            priority=Priority.HIGH,
            page=PageWhen.BUSINESS_HOURS,
        ),
    }
    pol = policy("infraspeak", cal.name, levels, priorities)
    return Seed("Infraspeak", pol, cal, BusinessClock(cal))


def brightplugins() -> Seed:
    """An answer within 24-48 hours, any day: the deadline at 48 h, the warning at 24 h."""
    cal = calendar(
        "amsterdam-office",
        AMSTERDAM,
        "Europe/Amsterdam",
        weekdays(hours(9, 17)),
        HolidaySource("NL"),
    )
    terms = LevelPolicy(respond=timedelta(hours=48), clock=ClockKind.ALWAYS)
    pol = policy("brightplugins", cal.name, {Level.A: terms, Level.B: terms}, warn_at=0.5)
    return Seed("Bright Plugins", pol, cal, BusinessClock(cal))


def generic() -> Seed:
    """Urgent (Level A) within a few hours, non-urgent (Level B) within 24 hours."""
    cal = calendar("generic", UTC_ZONE, "UTC", weekdays(hours(9, 17)))
    levels = {
        Level.A: LevelPolicy(respond=timedelta(hours=4), clock=ClockKind.ALWAYS),
        Level.B: LevelPolicy(respond=timedelta(hours=24), clock=ClockKind.ALWAYS),
    }
    return Seed("Generic", policy("generic", cal.name, levels), cal, BusinessClock(cal))


def local(text: str, zone: tzinfo) -> datetime:
    """An aware datetime from a wall-clock `YYYY-MM-DD HH:MM` in `zone`."""
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def all_seeds() -> dict[str, Seed]:
    return {
        "dekode": dekode(),
        "compera": compera(),
        "infraspeak": infraspeak(),
        "brightplugins": brightplugins(),
        "generic": generic(),
    }
