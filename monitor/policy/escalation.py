"""Escalation: which pages are due for an incident at `now`.

Rules (DESIGN.md section 4, "Incidents and contracts"; also in docs/contracts.md):

- Step i starts at `paging_started + steps[i].after` (absolute offsets, not gaps).
- When the SLA warning comes before the next step's start, that next step starts at the
  warning instead (once: the warning fires once). A warning before paging started moves
  step 1 to the paging start.
- While a step is current it is re-paged every `repeat_every`, at most `max_repeats` times;
  a repeat that would fall at or after the next step's start is not sent.
- One `repeat_every` (or `TEAM_WARNING_AFTER` without repeats) after the last page of the
  last step, the team gets a warning: slot `(len(steps), 0)`.
- Nothing is due at or after the acknowledgement or the resolution.
- Recipients are resolved at each slot's due time, so a slot always names the same
  people however late it is planned. A schedule with nobody on call, or unknown, pages
  the team.

The output lists every slot due at or before `now`, already sent or not: the planner
dedupes on the slot, so re-planning on every tick is idempotent.

Downtime (`Downtime`, `collapse_missed`): when the planner did not tick for a while (the
daemon was down), the slots that fell due more than two planner periods before the first
tick after the gap were *missed*. They are not all sent at once: per recipient only the
latest missed slot is paged, at the first tick after the gap and marked with the
downtime; a missed team warning follows one `repeat_every` (or `TEAM_WARNING_AFTER`)
after those pages, so people get a chance to answer first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from monitor.config.records import Escalation, Schedule, Target, TargetKind
from monitor.policy.calendar import require_aware
from monitor.policy.oncall import oncall_at

TEAM: Final = Target(TargetKind.TEAM, "team")
TEAM_WARNING_AFTER: Final = timedelta(minutes=15)
"""Wait after the last step before warning the team, when the escalation has no repeats."""


MISSED_AFTER_PERIODS: Final = 2
"""A slot is missed when it fell due more than this many planner periods before the first
tick after a gap (one that fell due later is merely a little late)."""


@dataclass(frozen=True, slots=True)
class Downtime:
    """A gap in the planner's ticks: from the last tick before it (`start`) to the first
    tick after it (`end`). `grace` is `MISSED_AFTER_PERIODS` planner periods."""

    start: datetime
    end: datetime
    grace: timedelta

    @classmethod
    def between(cls, last_tick: datetime, now: datetime, period: timedelta) -> Downtime | None:
        """The downtime between a tick at `last_tick` and one at `now`, if any slot can
        have been missed in it."""
        grace = MISSED_AFTER_PERIODS * period
        return cls(last_tick, now, grace) if now - last_tick > grace else None

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def missed(self, due: datetime) -> bool:
        """Whether a slot due at `due` was missed in this downtime."""
        return self.start < due < self.end - self.grace


class PageKind(StrEnum):
    PAGE = "page"
    TEAM_WARNING = "team_warning"  # the escalation ran out without an acknowledgement


@dataclass(frozen=True, slots=True)
class PageDue:
    """One notification slot of an escalation. `(step, repeat)` is its stable identity.

    `recipients` are person targets, or `TEAM` when nobody is on call. `channels` are the
    step's channel names (`email` is the person's address). `missed`: the downtime this
    slot stands for (`collapse_missed`; its `due` was moved past it), else None.
    """

    step: int
    repeat: int
    due: datetime  # aware UTC
    kind: PageKind
    recipients: tuple[Target, ...]
    channels: tuple[str, ...]
    missed: Downtime | None = None

    @property
    def slot(self) -> tuple[int, int]:
        return (self.step, self.repeat)


def step_starts(
    escalation: Escalation, paging_started: datetime, sla_warning_at: datetime | None = None
) -> list[datetime]:
    """When each step becomes current (UTC), with the SLA-warning jump applied."""
    begin = require_aware(paging_started, "paging_started")
    starts = [begin + step.after for step in escalation.steps]
    if sla_warning_at is None or len(starts) < 2:
        return starts
    warning = max(require_aware(sla_warning_at, "sla_warning_at"), starts[0])
    current = max(i for i, s in enumerate(starts) if s <= warning)
    if current + 1 < len(starts) and warning < starts[current + 1]:
        starts[current + 1] = warning
    return starts


def _recipients(
    targets: tuple[Target, ...], schedules: Mapping[str, Schedule], at: datetime
) -> tuple[Target, ...]:
    out: list[Target] = []
    for target in targets:
        resolved = target
        if target.kind is TargetKind.SCHEDULE:
            schedule = schedules.get(target.name)
            person = None if schedule is None else oncall_at(schedule, at)
            resolved = TEAM if person is None else Target(TargetKind.PERSON, person)
        if resolved not in out:
            out.append(resolved)
    return tuple(out) if out else (TEAM,)


def _step_times(escalation: Escalation, start: datetime, until: datetime | None) -> list[datetime]:
    """The first page of a step and its repeats, before the next step starts."""
    times = [start]
    every = escalation.repeat_every
    if every is None or every <= timedelta():
        return times
    for r in range(1, escalation.max_repeats + 1):
        at = start + r * every
        if until is not None and at >= until:
            break
        times.append(at)
    return times


def schedule_of_pages(
    escalation: Escalation,
    schedules: Mapping[str, Schedule],
    paging_started: datetime,
    sla_warning_at: datetime | None = None,
) -> list[PageDue]:
    """Every slot the escalation would send if nobody ever answered, in time order."""
    starts = step_starts(escalation, paging_started, sla_warning_at)
    pages: list[PageDue] = []
    for i, step in enumerate(escalation.steps):
        until = starts[i + 1] if i + 1 < len(starts) else None
        for r, due in enumerate(_step_times(escalation, starts[i], until)):
            recipients = _recipients(step.notify, schedules, due)
            pages.append(PageDue(i, r, due, PageKind.PAGE, recipients, step.via))
    if pages:
        wait = escalation.repeat_every or TEAM_WARNING_AFTER
        due = pages[-1].due + wait
        pages.append(PageDue(len(starts), 0, due, PageKind.TEAM_WARNING, (TEAM,), ("email",)))
    return sorted(pages, key=lambda p: (p.due, p.step, p.repeat))


def pages_due(
    escalation: Escalation,
    schedules: Mapping[str, Schedule],
    paging_started: datetime,
    now: datetime,
    acknowledged_at: datetime | None = None,
    resolved_at: datetime | None = None,
    sla_warning_at: datetime | None = None,
) -> list[PageDue]:
    """The slots due at or before `now` and before the acknowledgement or resolution."""
    now = require_aware(now, "now")
    stops = [require_aware(t) for t in (acknowledged_at, resolved_at) if t is not None]
    stop = min(stops) if stops else None
    return [
        page
        for page in schedule_of_pages(escalation, schedules, paging_started, sla_warning_at)
        if page.due <= now and (stop is None or page.due < stop)
    ]


def next_page_at(
    escalation: Escalation,
    schedules: Mapping[str, Schedule],
    paging_started: datetime,
    now: datetime,
    sla_warning_at: datetime | None = None,
) -> datetime | None:
    """When the next slot after `now` falls due (UTC), if any: for the planner's wake-up."""
    now = require_aware(now, "now")
    later = [
        p.due
        for p in schedule_of_pages(escalation, schedules, paging_started, sla_warning_at)
        if p.due > now
    ]
    return min(later).astimezone(UTC) if later else None


def collapse_missed(
    escalation: Escalation,
    pages: Sequence[PageDue],
    downtimes: Sequence[Downtime],
    now: datetime,
    stop: datetime | None = None,
) -> list[PageDue]:
    """`pages` (slots due by `now`, as `pages_due` gives them) with those missed in
    `downtimes` collapsed: per downtime and recipient only the latest missed page, due at
    the downtime's end; a missed team warning one wait (`repeat_every`, else
    `TEAM_WARNING_AFTER`) after that end when pages were collapsed with it, else at the
    end. Collapsed slots due after `now` (not yet) or at or after `stop` (answered) are
    left out. Each keeps its `(step, repeat)`, so planning again gives the same slots."""
    now = require_aware(now, "now")
    kept: list[PageDue] = []
    latest: dict[tuple[Downtime, Target], PageDue] = {}
    warnings: list[tuple[Downtime, PageDue]] = []
    for page in sorted(pages, key=lambda p: (p.due, p.step, p.repeat)):
        gap = next((d for d in downtimes if d.missed(page.due)), None)
        if gap is None:
            kept.append(page)
        elif page.kind is PageKind.TEAM_WARNING:
            warnings.append((gap, page))
        else:
            latest.update({(gap, target): page for target in page.recipients})
    collapsed: dict[tuple[Downtime, tuple[int, int]], PageDue] = {}
    for (gap, target), page in latest.items():
        key = (gap, page.slot)
        before = collapsed.get(key, replace(page, due=gap.end, recipients=(), missed=gap))
        collapsed[key] = replace(before, recipients=(*before.recipients, target))
    wait = escalation.repeat_every or TEAM_WARNING_AFTER
    paged = {gap for gap, _ in collapsed}
    moved = [
        replace(page, due=gap.end + (wait if gap in paged else timedelta()), missed=gap)
        for gap, page in warnings
    ]
    kept += [
        page
        for page in (*collapsed.values(), *moved)
        if page.due <= now and (stop is None or page.due < stop)
    ]
    return sorted(kept, key=lambda p: (p.due, p.step, p.repeat))
