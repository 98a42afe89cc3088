"""Facts the planner reads off an incident's timeline: paging eras, stops, quiet times.

- A **paging era** starts at the opening, at each reopening, and at each upgrade to a more
  severe level (B to A: the acknowledgement is cleared and the case re-paged). Each era
  has its own escalation slots, so a re-page never collides with an earlier page's key.
- Pages of an era **stop** at its first acknowledgement or resolution, at the next era,
  and for good once the case is linked to another (mass outage, dependency) or flapping.
- **Quiet** intervals (maintenance pause, silence) send nothing; a customer's first email
  that falls due inside one waits for its end.

Where an event is missing from the timeline the incident's fields stand in for it (its
acknowledgement and resolution times, and the `linked_to`, `flapping`, `paused` and
`silenced` flags, which then count from the start).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from monitor.incidents import Event, EventKind, Incident
from monitor.model import Level
from monitor.policy import is_upgrade

ALWAYS: Final = datetime.min.replace(tzinfo=UTC)
"""The start of a quiet interval whose start is not on the timeline."""

_ANSWERS: Final = (EventKind.ACKNOWLEDGED, EventKind.RESOLVED)
_FOR_GOOD: Final = (EventKind.LINKED, EventKind.FLAPPING)

Interval = tuple[datetime, datetime | None]
"""A half-open interval [start, end); end None: still going."""


@dataclass(frozen=True, slots=True)
class Era:
    """One paging era: `index` 0 is the opening; `end` is the next era's start."""

    index: int
    level: Level
    began: datetime
    end: datetime | None


def events(incident: Incident) -> list[Event]:
    """The timeline in time order (events at the same time keep their order)."""
    return sorted(incident.timeline, key=lambda e: e.at)


def _starts(incident: Incident) -> list[tuple[datetime, Level]]:
    starts: list[tuple[datetime, Level]] = []
    for e in events(incident):
        if e.kind in (EventKind.OPENED, EventKind.REOPENED) or (
            e.kind is EventKind.LEVEL_CHANGED and _upgrade(e)
        ):
            starts.append((e.at, e.level or incident.level))
    if not starts or starts[0][0] > incident.opened_at:
        starts.insert(0, (incident.opened_at, _opening_level(incident)))
    return starts


def _upgrade(e: Event) -> bool:
    return (
        e.level is not None
        and e.previous_level is not None
        and is_upgrade(e.previous_level, e.level)
    )


def _opening_level(incident: Incident) -> Level:
    changes = [e for e in events(incident) if e.kind is EventKind.LEVEL_CHANGED]
    first = changes[0].previous_level if changes else None
    return first or incident.level


def eras(incident: Incident) -> list[Era]:
    """The paging eras of a case, oldest first."""
    starts = _starts(incident)
    out: list[Era] = []
    for i, (began, level) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else None
        out.append(Era(i, level, began, end))
    return out


def _within(at: datetime, era: Era) -> bool:
    return at >= era.began and (era.end is None or at < era.end)


def answered_at(incident: Incident, era: Era) -> datetime | None:
    """The first acknowledgement or resolution within `era`, if any."""
    times = [e.at for e in incident.timeline if e.kind in _ANSWERS and _within(e.at, era)]
    for t in (incident.acknowledged_at, incident.resolved_at):
        if t is not None and _within(t, era):
            times.append(t)
    return min(times) if times else None


def for_good(incident: Incident) -> datetime | None:
    """When the case stopped paging for good (linked or flapping), if it did."""
    times = [e.at for e in incident.timeline if e.kind in _FOR_GOOD]
    kinds = {e.kind for e in incident.timeline}
    if incident.linked_to is not None and EventKind.LINKED not in kinds:
        times.append(incident.opened_at)
    if incident.flapping and EventKind.FLAPPING not in kinds:
        times.append(incident.opened_at)
    return min(times) if times else None


def page_stop(incident: Incident, era: Era) -> datetime | None:
    """No page of `era` is due at or after this time (None: none yet)."""
    times = [t for t in (answered_at(incident, era), for_good(incident), era.end) if t]
    return min(times) if times else None


def _intervals(
    timeline: Iterable[Event], on: EventKind, off: EventKind, flag: bool
) -> list[Interval]:
    out: list[Interval] = []
    start: datetime | None = None
    for e in timeline:
        if e.kind is on and start is None:
            start = e.at
        elif e.kind is off and start is not None:
            out.append((start, e.at))
            start = None
    if start is not None:
        out.append((start, None))
    elif flag:
        # Flagged but no open interval on the timeline: quiet since the last one ended,
        # or since the start.
        out.append((out[-1][1] or ALWAYS if out else ALWAYS, None))
    return out


def quiet_intervals(incident: Incident) -> list[Interval]:
    """When the case is paused (maintenance) or silenced."""
    ordered = events(incident)
    return [
        *_intervals(ordered, EventKind.PAUSED, EventKind.RESUMED, incident.paused),
        *_intervals(ordered, EventKind.SILENCED, EventKind.UNSILENCED, incident.silenced),
    ]


def is_quiet(intervals: list[Interval], at: datetime) -> bool:
    return any(start <= at and (end is None or at < end) for start, end in intervals)


def after_quiet(intervals: list[Interval], at: datetime) -> datetime | None:
    """`at`, or the end of the quiet time covering it; None while that is still going."""
    moved = True
    while moved:
        moved = False
        for start, end in intervals:
            if start <= at and (end is None or at < end):
                if end is None:
                    return None
                at, moved = end, True
    return at
