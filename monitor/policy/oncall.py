"""Who is on call: layered rotations with handoffs, hour restrictions and overrides.

Rules (also in docs/contracts.md):

- A layer starts at `Layer.start`, where member 0's first shift begins; before it the
  layer has no one. Shift k goes to `members[k % len(members)]`.
- Daily, weekly and `every N days` rotations hand off at the wall-clock `handoff_time`
  in the schedule's zone, stepping by calendar days from `start`'s local date, so a
  handoff at 09:00 stays at 09:00 across DST. `every N hours` steps by elapsed time.
- A layer with `hours` is active only inside those wall-clock ranges (its rotation
  keeps turning while inactive).
- Later layers win where they are active; an override (the last listed, when several
  cover the moment) wins over every layer. Overrides are half-open [start, end).
- Every datetime passed in must be aware; every datetime returned is aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from monitor.config.records import Layer, Override, Schedule, TimeRange
from monitor.policy.calendar import require_aware

_DAY: Final = timedelta(days=1)
# next_shifts looks this far ahead for handoffs; a one-person schedule has none.
_HORIZON: Final = timedelta(days=400)


@dataclass(frozen=True, slots=True)
class Shift:
    """One stretch of on-call: `person` is None where nobody is on call (the team is paged).

    `start` is the moment asked about for the shift in progress; `end` is None when no
    handoff follows within the look-ahead.
    """

    person: str | None
    start: datetime
    end: datetime | None


# ------------------------------------------------------------------------------ layers


def _calendar_days(layer: Layer) -> int | None:
    """The rotation period in whole days, or None when it steps by elapsed time."""
    period = layer.rotation.period
    if period <= timedelta():
        raise ValueError(f"rotation period must be positive, got {period}")
    if period % _DAY == timedelta():
        return period // _DAY
    return None


def _wall(day: date, at: time, zone: Schedule) -> datetime:
    return datetime.combine(day, at, tzinfo=zone.timezone).astimezone(UTC)


def handoff(schedule: Schedule, layer: Layer, k: int) -> datetime:
    """When shift `k` of `layer` begins (UTC); shift 0 begins at `layer.start`."""
    start = require_aware(layer.start, "layer start")
    if k == 0:
        return start
    days = _calendar_days(layer)
    if days is None:
        return start + k * layer.rotation.period
    first_day = layer.start.astimezone(schedule.timezone).date()
    return _wall(first_day + timedelta(days=k * days), layer.rotation.handoff_time, schedule)


def shift_index(schedule: Schedule, layer: Layer, t: datetime) -> int:
    """The index k of the shift in progress at `t` (negative before the layer's start)."""
    t = require_aware(t)
    start = require_aware(layer.start, "layer start")
    if t < start:
        return -1
    days = _calendar_days(layer)
    if days is None:
        return (t - start) // layer.rotation.period
    first_day = layer.start.astimezone(schedule.timezone).date()
    k = max(0, (t.astimezone(schedule.timezone).date() - first_day).days // days)
    # The estimate is off by at most one shift (handoff time of day, DST).
    while k > 0 and handoff(schedule, layer, k) > t:
        k -= 1
    while handoff(schedule, layer, k + 1) <= t:
        k += 1
    return k


def _in_hours(hours: tuple[tuple[TimeRange, ...], ...], local: datetime) -> bool:
    wall = local.time().replace(tzinfo=None, fold=0)
    for start, end in hours[local.weekday()]:
        if start <= wall and (end == time(0, 0) or wall < end):
            return True
    return False


def layer_person(schedule: Schedule, layer: Layer, t: datetime) -> str | None:
    """Who `layer` puts on call at `t`: None before its start, outside its hours or empty."""
    if not layer.members:
        return None
    if layer.hours is not None and not _in_hours(layer.hours, t.astimezone(schedule.timezone)):
        return None
    k = shift_index(schedule, layer, t)
    return None if k < 0 else layer.members[k % len(layer.members)]


def _override_at(overrides: tuple[Override, ...], t: datetime) -> Override | None:
    for override in reversed(overrides):
        if override.start <= t < override.end:
            return override
    return None


def oncall_at(schedule: Schedule, t: datetime) -> str | None:
    """The person id on call at `t`, or None when nobody is (the caller pages the team)."""
    t = require_aware(t)
    override = _override_at(schedule.overrides, t)
    if override is not None:
        return override.person
    for layer in reversed(schedule.layers):
        person = layer_person(schedule, layer, t)
        if person is not None:
            return person
    return None


# --------------------------------------------------------------------------- timeline


def _hours_edges(schedule: Schedule, layer: Layer, t: datetime) -> Iterator[datetime]:
    if layer.hours is None:
        return
    day = t.astimezone(schedule.timezone).date()
    for offset in range(9):
        current = day + timedelta(days=offset)
        for start, end in layer.hours[current.weekday()]:
            yield _wall(current, start, schedule)
            end_day = current + _DAY if end == time(0, 0) else current
            yield _wall(end_day, end, schedule)


def _layer_edges(schedule: Schedule, layer: Layer, t: datetime) -> Iterator[datetime]:
    yield require_aware(layer.start, "layer start")
    yield handoff(schedule, layer, max(0, shift_index(schedule, layer, t) + 1))
    yield from _hours_edges(schedule, layer, t)


def next_change(schedule: Schedule, t: datetime) -> datetime | None:
    """The first moment after `t` at which the answer of `oncall_at` may change."""
    t = require_aware(t)
    candidates = [e for o in schedule.overrides for e in (o.start, o.end)]
    for layer in schedule.layers:
        candidates.extend(_layer_edges(schedule, layer, t))
    later = [c.astimezone(UTC) for c in candidates if c > t]
    return min(later) if later else None


def _next_handoff(schedule: Schedule, t: datetime, person: str | None) -> datetime | None:
    limit = t + _HORIZON
    at = next_change(schedule, t)
    while at is not None and at <= limit:
        if oncall_at(schedule, at) != person:
            return at
        at = next_change(schedule, at)
    return None


def next_shifts(schedule: Schedule, t: datetime, n: int) -> list[Shift]:
    """The shift in progress at `t` and the following ones: at most `n` shifts in all.

    The first shift starts at `t`. Handoffs are looked for up to about 400 days ahead;
    the last shift's `end` is None when none follows in that time.
    """
    at = require_aware(t)
    shifts: list[Shift] = []
    while len(shifts) < n:
        person = oncall_at(schedule, at)
        end = _next_handoff(schedule, at, person)
        shifts.append(Shift(person=person, start=at, end=end))
        if end is None:
            break
        at = end
    return shifts
