"""Contracts in words: plain-English lines a support manager can read.

Used by `vakt check-config` and `vakt oncall`. Each function returns a list of lines
without trailing newlines; indentation is left to the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta, timezone
from typing import Final

from monitor.config.records import (
    BusinessUnit,
    Calendar,
    ClockKind,
    Escalation,
    Layer,
    PageWhen,
    Person,
    Policy,
    RotationKind,
    Schedule,
    Span,
    Target,
    TargetKind,
    TimeRange,
)
from monitor.model import Level, Priority
from monitor.policy.calendar import BusinessClock
from monitor.policy.sla import Terms, level_terms, priority_terms

DAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FULL_DAY_NAMES: Final = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
_PAGE_WORDS: Final = {
    PageWhen.ALWAYS: "page at once",
    PageWhen.BUSINESS_HOURS: "page at the next opening (at once while open)",
    PageWhen.NEVER: "no page",
}


# ----------------------------------------------------------------------------- pieces


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def format_timedelta(span: timedelta) -> str:
    """`2 hours`, `90 minutes` as `1 hour 30 minutes`, `3 days`; up to 48 h in hours."""
    seconds = int(span.total_seconds())
    if seconds % 60:
        return _plural(seconds, "second")
    minutes = seconds // 60
    hours, rest = divmod(minutes, 60)
    if rest == 0 and hours % 24 == 0 and hours > 48:
        return _plural(hours // 24, "day")
    if hours == 0:
        return _plural(rest, "minute")
    return _plural(hours, "hour") + (f" {_plural(rest, 'minute')}" if rest else "")


def format_span(span: Span, clock: BusinessClock | None = None) -> str:
    """A span in words; business days also say how much business time they are."""
    if isinstance(span, timedelta):
        return format_timedelta(span)
    text = str(span)
    if clock is not None and span.unit is BusinessUnit.DAYS:
        text += f" ({format_timedelta(clock.to_timedelta(span))} of business time)"
    return text


def format_time(at: time, *, end: bool = False) -> str:
    """`09:00`; a range end of 00:00 is midnight, written `24:00`."""
    if end and at == time(0, 0):
        return "24:00"
    return at.strftime("%H:%M") if at.second == 0 else at.strftime("%H:%M:%S")


def _ranges(ranges: tuple[TimeRange, ...]) -> str:
    return ", ".join(f"{format_time(s)}-{format_time(e, end=True)}" for s, e in ranges)


def format_week(hours: tuple[tuple[TimeRange, ...], ...]) -> str:
    """`Mon-Fri 09:00-16:00`; runs of weekdays with the same hours are joined."""
    parts: list[str] = []
    day = 0
    while day < 7:
        last = day
        while last + 1 < 7 and hours[last + 1] == hours[day]:
            last += 1
        if hours[day]:
            days = DAY_NAMES[day] if last == day else f"{DAY_NAMES[day]}-{DAY_NAMES[last]}"
            parts.append(f"{days} {_ranges(hours[day])}")
        day = last + 1
    return "; ".join(parts) if parts else "never open"


def _zone(name: str, tz: object) -> str:
    return f"{name} (a fixed offset, no daylight saving)" if isinstance(tz, timezone) else name


def describe_calendar(calendar: Calendar) -> str:
    """One line: hours, zone, holidays and extra dates."""
    clock = BusinessClock(calendar)
    parts = [f"{format_week(calendar.hours)}, {_zone(calendar.timezone_name, calendar.timezone)}"]
    if calendar.holidays is not None:
        where = calendar.holidays.country
        if calendar.holidays.subdivision:
            where += f"-{calendar.holidays.subdivision}"
        parts.append(f"closed on public holidays in {where}")
    if calendar.closed:
        parts.append("also closed " + ", ".join(d.isoformat() for d in sorted(calendar.closed)))
    if calendar.open:
        parts.append("also open " + ", ".join(d.isoformat() for d in sorted(calendar.open)))
    parts.append(f"1 business day = {format_timedelta(clock.business_day_length)}")
    return "; ".join(parts)


# ----------------------------------------------------------------------------- policy


def _clock_words(clock_kind: ClockKind) -> str:
    return "around the clock" if clock_kind is ClockKind.ALWAYS else "counted in business hours"


def describe_terms(terms: Terms, clock: BusinessClock) -> str:
    """`respond within 2 hours, around the clock` (and the resolve target, if any)."""
    text = f"respond within {format_span(terms.respond, clock)}"
    if terms.resolve is not None:
        text += f", resolve within {format_span(terms.resolve, clock)}"
    return f"{text}, {_clock_words(terms.clock)}"


def describe_policy(policy: Policy, calendars: Mapping[str, Calendar]) -> list[str]:
    """The policy in words: its calendar, each level, the warning and the priority matrix.

    e.g. "Level A: respond within 2 hours, around the clock; page at once".
    """
    calendar = calendars[policy.calendar]
    clock = BusinessClock(calendar)
    lines = [f"Policy {policy.name}: business hours {describe_calendar(calendar)}"]
    for level in Level:
        lp = policy.levels.get(level)
        if lp is None:
            continue
        priority = f" (priority {lp.priority.value})" if lp.priority is not None else ""
        terms = describe_terms(level_terms(policy, level), clock)
        lines.append(f"Level {level.value}{priority}: {terms}; {_PAGE_WORDS[lp.page]}")
    lines.append(f"SLA warning when {round(policy.warn_at * 100)}% of the time to respond is used")
    for priority in Priority:
        if priority in policy.priorities:
            terms = describe_terms(priority_terms(policy, priority), clock)
            lines.append(f"Priority {priority.value.capitalize()}: {terms}")
    return lines


# ---------------------------------------------------------------------------- on-call


def person_name(person_id: str | None, people: Mapping[str, Person] | None = None) -> str:
    """`Alice Hansen (alice)`, or the id when unknown; `nobody (the team)` for None."""
    if person_id is None:
        return "nobody (the team is paged)"
    person = (people or {}).get(person_id)
    return f"{person.name} ({person_id})" if person is not None else person_id


def _rotation_words(layer: Layer) -> str:
    rotation = layer.rotation
    at = format_time(rotation.handoff_time)
    if rotation.kind is RotationKind.DAILY:
        return f"daily rotation, handoff every day at {at}"
    if rotation.kind is RotationKind.WEEKLY:
        weekday = rotation.handoff_weekday
        if weekday is None:
            weekday = layer.start.weekday()
        return f"weekly rotation, handoff {FULL_DAY_NAMES[weekday]} {at}"
    period = format_timedelta(rotation.period)
    if rotation.period % timedelta(days=1) == timedelta():
        return f"rotation every {period}, handoff at {at}"
    return f"rotation every {period}"


def _local(t: datetime, schedule: Schedule) -> str:
    return t.astimezone(schedule.timezone).strftime("%a %Y-%m-%d %H:%M")


def describe_schedule(schedule: Schedule, people: Mapping[str, Person] | None = None) -> list[str]:
    """The schedule in words: each layer's rotation and members, then the overrides."""
    lines = [f"Schedule {schedule.name} ({_zone(schedule.timezone_name, schedule.timezone)})"]
    for n, layer in enumerate(schedule.layers, start=1):
        members = ", then ".join(person_name(m, people) for m in layer.members) or "no one"
        text = f"layer {n}: {_rotation_words(layer)}: {members}"
        text += f"; from {_local(layer.start, schedule)}"
        if layer.hours is not None:
            text += f"; only {format_week(layer.hours)}"
        lines.append(text)
    if len(schedule.layers) > 1:
        lines.append("later layers win where they are active")
    for override in schedule.overrides:
        who = person_name(override.person, people)
        lines.append(
            f"override: {who} from {_local(override.start, schedule)} "
            f"to {_local(override.end, schedule)}"
        )
    return lines


def _target_words(target: Target, people: Mapping[str, Person] | None) -> str:
    if target.kind is TargetKind.SCHEDULE:
        return f"whoever is on call in {target.name}"
    if target.kind is TargetKind.TEAM:
        return "the team"
    return person_name(target.name, people)


def describe_escalation(
    escalation: Escalation, people: Mapping[str, Person] | None = None
) -> list[str]:
    """The escalation in words: each step, the repeats and the team warning."""
    lines = [f"Escalation {escalation.name}"]
    for step in escalation.steps:
        when = "at once" if step.after == timedelta() else f"after {format_timedelta(step.after)}"
        who = " and ".join(_target_words(t, people) for t in step.notify)
        lines.append(f"{when}: page {who} via {', '.join(step.via)}")
    every = escalation.repeat_every
    if every is not None and escalation.max_repeats > 0:
        times = _plural(escalation.max_repeats, "time")
        lines.append(f"repeat the current step every {format_timedelta(every)}, up to {times}")
    lines.append("stop as soon as someone acknowledges or the incident is resolved")
    lines.append("an SLA warning moves on to the next step at once")
    lines.append("when every step has gone unanswered, warn the team by email")
    return lines
