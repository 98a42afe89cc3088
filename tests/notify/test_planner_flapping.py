"""A flapping case does not flood its customer: once it is marked flapping, the customer
gets the update back-off only, and one "resolved" email when the case has stayed
resolved past `flapping.reopen_within` (DESIGN.md section 4, Flapping)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from monitor.incidents import Event, EventKind, Incident
from monitor.model import IncidentStatus
from monitor.notify.message import MessageKind
from monitor.notify.planner import Planned
from tests.notify.test_planner import MIN, T0, config, incident, of, plan

Cycles = tuple[tuple[int, int], ...]
REOPEN_WITHIN = timedelta(minutes=30)  # the default `flapping.reopen_within`
SECOND = timedelta(seconds=1)
# (failed at, resolved at) in minutes after T0; the second reopening marks it flapping
CYCLES = ((0, 10), (12, 14), (16, 18), (20, 22), (24, 26))
FLAPPING_AT = 16
# two hours of flapping: down for 2 minutes every 4 (the first cycles as above)
LONG = (*CYCLES, *((4 * n, 4 * n + 2) for n in range(7, 30)))


def at(minutes: float) -> datetime:
    return T0 + minutes * MIN


def case_at(now: datetime, cycles: Cycles = CYCLES) -> Incident:
    """The case as the store holds it at `now`, after the cycles so far."""
    events: list[Event] = []
    resolved_at: datetime | None = None
    for n, (down, up) in enumerate(cycles):
        if at(down) > now:
            break
        if n:
            events.append(Event(EventKind.REOPENED, at(down)))
            resolved_at = None
        if down == FLAPPING_AT:
            events.append(Event(EventKind.FLAPPING, at(down), text="4 changes within 30m"))
        if at(up) <= now:
            events.append(Event(EventKind.RESOLVED, at(up)))
            resolved_at = at(up)
    flapping = now >= at(FLAPPING_AT)
    if resolved_at is None:
        return incident(events=tuple(events), flapping=flapping)
    return incident(
        events=tuple(events),
        flapping=flapping,
        status=IncidentStatus.RESOLVED,
        resolved_at=resolved_at,
    )


def planned_over(
    until: datetime, cycles: Cycles = CYCLES, step: timedelta = MIN / 2
) -> dict[str, Planned]:
    """Every customer email planned by ticks every `step` from T0 and at `until`, by key
    (the outbox keeps one row per key)."""
    cfg = config(1)
    out: dict[str, Planned] = {}
    ticks = [T0 + n * step for n in range(int((until - T0) / step) + 1)]
    for now in [*ticks, until]:
        for p in plan([case_at(now, cycles)], now, cfg):
            if p.kind.for_customer:
                out.setdefault(str(p.key), p)
    return out


def test_resolutions_after_the_flapping_mark_send_no_email_at_once() -> None:
    emails = planned_over(at(40))
    kinds = sorted((p.due_at, p.kind) for p in emails.values())
    assert kinds == [
        (at(5), MessageKind.CUSTOMER_OPENED),
        (at(10), MessageKind.CUSTOMER_RESOLVED),  # before it was marked flapping
        (at(14), MessageKind.CUSTOMER_RESOLVED),  # before it was marked flapping
    ]


def test_the_final_resolution_is_told_once_after_reopen_within() -> None:
    final = at(26) + REOPEN_WITHIN + SECOND
    assert of(list(planned_over(final - SECOND).values()), MessageKind.CUSTOMER_RESOLVED) == [
        p for p in planned_over(at(40)).values() if p.kind is MessageKind.CUSTOMER_RESOLVED
    ]
    resolved = of(list(planned_over(final).values()), MessageKind.CUSTOMER_RESOLVED)
    assert [p.due_at for p in resolved] == [at(10), at(14), final]
    assert resolved[-1].payload.resolved_at == at(26)
    assert resolved[-1].payload.thread is not None


def test_while_flapping_at_most_one_customer_email_per_update_span() -> None:
    planned = planned_over(at(4 * 29 + 2) + REOPEN_WITHIN + SECOND, LONG).values()
    emails = sorted(p.due_at for p in planned if p.due_at >= at(FLAPPING_AT))
    gaps = [b - a for a, b in itertools.pairwise(emails)]
    assert len(emails) >= 2, "updates still go out, and the final resolution is told"
    assert all(gap >= timedelta(minutes=30) for gap in gaps), emails
