"""SLA deadlines: respond-by, resolve-by, the warning, breaches and level changes.

Pure functions of a policy, a business clock and the times passed in. Every datetime
returned is aware UTC. DESIGN.md section 4, "Incidents and contracts":

- respond-by = opened at + `respond` on the level's clock; resolve-by likewise.
- The SLA warning falls when `warn_at` (a share) of the respond time is used, counted on
  the same clock.
- Response = the first acknowledgement; an incident resolved before any acknowledgement
  and before respond-by counts as answered in time.
- Level change at `at`: respond-by = min(current, `at` + the new level's `respond`). An
  upgrade also clears the acknowledgement (the caller does that and re-pages); if the
  old window had been answered already, the upgrade opens a fresh window at `at`.
  A downgrade keeps the earlier deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from monitor.config.records import (
    BusinessDuration,
    ClockKind,
    LevelPolicy,
    PageWhen,
    Policy,
    PriorityTarget,
    Span,
)
from monitor.model import Level, Priority
from monitor.policy.calendar import BusinessClock, require_aware

_SEVERITY: Final = (Level.B, Level.A)  # least to most severe


class SlaStatus(StrEnum):
    PENDING = "pending"  # not answered, the warning time has not come
    WARNING = "warning"  # not answered, the warning time has passed
    MET = "met"
    BREACHED = "breached"


@dataclass(frozen=True, slots=True)
class Terms:
    """What is promised for one level or priority: spans and the clock they count on."""

    respond: Span
    clock: ClockKind
    resolve: Span | None = None
    priority: Priority | None = None


@dataclass(frozen=True, slots=True)
class Sla:
    """The deadlines of one incident. All times aware UTC.

    `respond_from` starts the current response window: the opening, or an upgrade that
    opened a fresh window. `level` is None for an SLA opened by priority alone.
    """

    level: Level | None
    priority: Priority | None
    clock: ClockKind
    opened_at: datetime
    respond_from: datetime
    respond_by: datetime
    warn_at: datetime
    resolve_by: datetime | None = None


# ------------------------------------------------------------------------------- terms


def level_terms(policy: Policy, level: Level) -> Terms:
    """The terms of a level (the compiled LevelPolicy has its priority resolved already)."""
    lp = policy.levels[level]
    return Terms(respond=lp.respond, clock=lp.clock, resolve=lp.resolve, priority=lp.priority)


def priority_terms(policy: Policy, priority: Priority) -> Terms:
    """The terms of a priority; business units count on the business clock, others always."""
    target: PriorityTarget = policy.priorities[priority]
    spans = (target.respond, target.resolve)
    business = any(isinstance(s, BusinessDuration) for s in spans)
    return Terms(
        respond=target.respond,
        clock=ClockKind.BUSINESS if business else ClockKind.ALWAYS,
        resolve=target.resolve,
        priority=priority,
    )


# ---------------------------------------------------------------------------- deadlines


def deadline(start: datetime, span: Span, clock_kind: ClockKind, clock: BusinessClock) -> datetime:
    """`start` + `span` on the given clock (UTC).

    Business units on the `always` clock are a ValueError (the loader rejects them too).
    A plain duration on the business clock counts business time.
    """
    start = require_aware(start, "start")
    if clock_kind is ClockKind.BUSINESS:
        return clock.add(start, span)
    if isinstance(span, BusinessDuration):
        raise ValueError(f"{span} needs clock: business, not clock: always")
    return start + span


def warning_time(
    start: datetime, span: Span, share: float, clock_kind: ClockKind, clock: BusinessClock
) -> datetime:
    """When `share` (0 < share < 1) of `span` from `start` is used, on the same clock."""
    if isinstance(span, BusinessDuration) and clock_kind is ClockKind.ALWAYS:
        raise ValueError(f"{span} needs clock: business, not clock: always")
    part = clock.to_timedelta(span) * share
    return deadline(start, part, clock_kind, clock)


def _sla(
    terms: Terms, level: Level | None, share: float, opened_at: datetime, clock: BusinessClock
) -> Sla:
    opened_at = require_aware(opened_at, "opened_at")
    resolve_by = (
        None if terms.resolve is None else deadline(opened_at, terms.resolve, terms.clock, clock)
    )
    return Sla(
        level=level,
        priority=terms.priority,
        clock=terms.clock,
        opened_at=opened_at,
        respond_from=opened_at,
        respond_by=deadline(opened_at, terms.respond, terms.clock, clock),
        warn_at=warning_time(opened_at, terms.respond, share, terms.clock, clock),
        resolve_by=resolve_by,
    )


def open_sla(policy: Policy, level: Level, opened_at: datetime, clock: BusinessClock) -> Sla:
    """The SLA of an incident of `level` opened at `opened_at` under `policy`.

    `clock` is the business clock of `policy.calendar`.
    """
    return _sla(level_terms(policy, level), level, policy.warn_at, opened_at, clock)


def priority_sla(
    policy: Policy, priority: Priority, opened_at: datetime, clock: BusinessClock
) -> Sla:
    """The SLA of a case opened with a priority of the policy's matrix."""
    return _sla(priority_terms(policy, priority), None, policy.warn_at, opened_at, clock)


_HIGHEST_FIRST: Final = (Priority.URGENT, Priority.HIGH, Priority.MEDIUM, Priority.LOW)


def report_terms(policy: Policy, urgent: bool, priority: Priority | None = None) -> Terms:
    """The terms of a customer-reported case (the one rule; docs/contracts.md).

    A `priority` the team set wins when the policy's matrix has it. Otherwise an urgent
    report gets the matrix's highest priority (Level A's terms without a matrix) and any
    other report Level B's terms (for a matrix, the priority Level B maps onto).
    """
    if priority is not None and priority in policy.priorities:
        return priority_terms(policy, priority)
    if urgent and policy.priorities:
        highest = next(p for p in _HIGHEST_FIRST if p in policy.priorities)
        return priority_terms(policy, highest)
    level = Level.A if urgent else Level.B
    if level not in policy.levels:
        level = next(iter(policy.levels))
    return level_terms(policy, level)


def report_sla(
    policy: Policy,
    urgent: bool,
    submitted_at: datetime,
    clock: BusinessClock,
    *,
    priority: Priority | None = None,
) -> Sla:
    """The SLA of a customer-reported case, counted from the time of submission."""
    terms = report_terms(policy, urgent, priority)
    return _sla(terms, None, policy.warn_at, submitted_at, clock)


# ------------------------------------------------------------------------ level changes


def is_upgrade(old: Level, new: Level) -> bool:
    """Whether `new` is more severe than `old` (B to A)."""
    return _SEVERITY.index(new) > _SEVERITY.index(old)


def on_level_change(
    sla: Sla,
    new_level: Level,
    at: datetime,
    policy: Policy,
    clock: BusinessClock,
    acknowledged_at: datetime | None = None,
) -> Sla:
    """The SLA after the incident's level changed to `new_level` at `at`.

    respond-by = min(current, `at` + the new level's respond). On an upgrade of a window
    already answered (`acknowledged_at` at or before `at`), the acknowledgement is cleared
    by the caller and a fresh window starts at `at`. resolve-by keeps the earlier of the
    current and the new level's resolve-by. The caller clears the acknowledgement and
    re-pages when `is_upgrade(old, new)`.
    """
    at = require_aware(at, "at")
    if sla.level is new_level:
        return sla
    terms = level_terms(policy, new_level)
    respond_by = deadline(at, terms.respond, terms.clock, clock)
    answered = acknowledged_at is not None and require_aware(acknowledged_at) <= at
    upgrade = sla.level is None or is_upgrade(sla.level, new_level)
    changed = replace(sla, level=new_level, priority=terms.priority)
    if terms.resolve is not None:
        new_resolve = deadline(at, terms.resolve, terms.clock, clock)
        current = changed.resolve_by
        changed = replace(
            changed, resolve_by=new_resolve if current is None else min(current, new_resolve)
        )
    if (upgrade and answered) or respond_by < sla.respond_by:
        warn = warning_time(at, terms.respond, policy.warn_at, terms.clock, clock)
        return replace(
            changed, clock=terms.clock, respond_from=at, respond_by=respond_by, warn_at=warn
        )
    return changed


# ------------------------------------------------------------------------------ status


def _answered_at(acknowledged_at: datetime | None, resolved_at: datetime | None) -> datetime | None:
    times = [require_aware(t) for t in (acknowledged_at, resolved_at) if t is not None]
    return min(times) if times else None


def response_status(
    sla: Sla,
    now: datetime,
    acknowledged_at: datetime | None = None,
    resolved_at: datetime | None = None,
) -> SlaStatus:
    """Where the response stands at `now`.

    The response is the first acknowledgement of the current window, or the resolution
    when that came first. Answering exactly at respond-by is in time.
    """
    now = require_aware(now, "now")
    answered = _answered_at(acknowledged_at, resolved_at)
    if answered is not None and answered <= now:
        return SlaStatus.MET if answered <= sla.respond_by else SlaStatus.BREACHED
    if now > sla.respond_by:
        return SlaStatus.BREACHED
    return SlaStatus.WARNING if now >= sla.warn_at else SlaStatus.PENDING


def response_met(
    sla: Sla, acknowledged_at: datetime | None, resolved_at: datetime | None = None
) -> bool:
    """Whether the response came at or before respond-by (False while unanswered)."""
    return answered_in_time(sla.respond_by, acknowledged_at, resolved_at) is True


def answered_in_time(
    respond_by: datetime | None, acknowledged_at: datetime | None, resolved_at: datetime | None
) -> bool | None:
    """Whether a case's response (its first acknowledgement, or the resolution when that
    came first) came at or before `respond_by`; a case without a deadline is answered in
    time. None while unanswered."""
    answered = _answered_at(acknowledged_at, resolved_at)
    if answered is None:
        return None
    return respond_by is None or answered <= respond_by


def breached(
    sla: Sla,
    now: datetime,
    acknowledged_at: datetime | None = None,
    resolved_at: datetime | None = None,
) -> bool:
    """Whether the respond-by deadline is broken at `now`."""
    return response_status(sla, now, acknowledged_at, resolved_at) is SlaStatus.BREACHED


def resolution_status(sla: Sla, now: datetime, resolved_at: datetime | None) -> SlaStatus | None:
    """Where the resolve-by target stands at `now`; None when the terms have none."""
    if sla.resolve_by is None:
        return None
    now = require_aware(now, "now")
    if resolved_at is not None and require_aware(resolved_at) <= now:
        return SlaStatus.MET if resolved_at <= sla.resolve_by else SlaStatus.BREACHED
    return SlaStatus.BREACHED if now > sla.resolve_by else SlaStatus.PENDING


def time_left(sla: Sla, now: datetime, clock: BusinessClock) -> timedelta:
    """Time left to respond, on the SLA's clock (negative once breached)."""
    now = require_aware(now, "now")
    if sla.clock is ClockKind.BUSINESS:
        return clock.elapsed(now, sla.respond_by)
    return sla.respond_by - now


# ------------------------------------------------------------------------------ paging


def page_due_at(
    level_policy: LevelPolicy, clock: BusinessClock, opened_at: datetime
) -> datetime | None:
    """When paging starts for a new incident (UTC); None for `page: never`.

    `page: business_hours` defers the page to the next opening (or pages at once when the
    calendar is open); escalation steps count from this time.
    """
    opened_at = require_aware(opened_at, "opened_at")
    if level_policy.page is PageWhen.NEVER:
        return None
    if level_policy.page is PageWhen.BUSINESS_HOURS:
        return clock.roll_forward(opened_at)
    return opened_at.astimezone(UTC)
