"""The team's queue: every open case, monitoring and customer-reported, in the order to
answer them (pure).

First by respond-by (the earliest deadline first; a case without one after every case
with one), then by time of submission (first come, first served within one deadline:
Compera's "in the order they are received", Bright Plugins' "nobody left behind"), then
by case number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class QueueKind(StrEnum):
    MONITORING = "monitoring"  # opened by the probes
    CUSTOMER = "customer_reported"  # opened by a customer's report


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One open case. `clock` names the contract clock its respond-by counts on
    (`business (office)`, `always`); `submitted_at` is the opening or the report's
    submission."""

    case: str
    kind: QueueKind
    customer_id: str
    site_id: str | None
    status: str
    submitted_at: datetime
    respond_by: datetime | None
    clock: str
    who: str  # the contact person (customer-reported) or "" (monitoring)
    summary: str


def in_queue_order(entries: Iterable[QueueEntry]) -> list[QueueEntry]:
    """`entries` by respond-by, then submission, then case number."""
    return sorted(
        entries,
        key=lambda e: (
            e.respond_by is None,
            e.respond_by or e.submitted_at,
            e.submitted_at,
            e.case,
        ),
    )
