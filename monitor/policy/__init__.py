"""Contracts: business calendars, SLA clocks, on-call schedules and escalation.

Pure code: every function takes the times it needs (`now`, `opened_at`) as arguments,
reads no clock and does no I/O. Every datetime returned is aware UTC. The rules are
written out for people in docs/contracts.md.
"""

from monitor.policy.calendar import BusinessClock, BusinessClocks, NeverOpenError
from monitor.policy.describe import (
    describe_calendar,
    describe_escalation,
    describe_policy,
    describe_schedule,
)
from monitor.policy.escalation import (
    Downtime,
    PageDue,
    PageKind,
    collapse_missed,
    next_page_at,
    pages_due,
)
from monitor.policy.oncall import Shift, next_shifts, oncall_at
from monitor.policy.sla import (
    Sla,
    SlaStatus,
    Terms,
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
)

__all__ = [
    "BusinessClock",
    "BusinessClocks",
    "Downtime",
    "NeverOpenError",
    "PageDue",
    "PageKind",
    "Shift",
    "Sla",
    "SlaStatus",
    "Terms",
    "answered_in_time",
    "breached",
    "collapse_missed",
    "deadline",
    "describe_calendar",
    "describe_escalation",
    "describe_policy",
    "describe_schedule",
    "is_upgrade",
    "next_page_at",
    "next_shifts",
    "on_level_change",
    "oncall_at",
    "open_sla",
    "page_due_at",
    "pages_due",
    "priority_sla",
    "resolution_status",
    "response_met",
    "response_status",
]
