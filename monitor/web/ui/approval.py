"""Approving an incident's first customer email (`customer_emails: approve`).

`monitor.engine.commands` has no approve action, so it lives here: one short transaction
that records the approval (`email_approvals`, at most one per incident) and an internal
timeline note, and bumps the incident's version with compare-and-set so a daemon that
read the row before sees that something changed. The engine reads
`tx.web.approvals(ids)` to fill the planner's `CaseView.approved_at`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from monitor.engine.commands import AlreadyResolved, CommandError, Conflict, UnknownCase
from monitor.model import IncidentStatus
from monitor.store import EventKind, IncidentEvent, Store

APPROVAL_NOTE = "approved the first customer email"


async def approve_customer_email(
    store: Store, case: str, actor: str, now: datetime, *, attempts: int = 5
) -> bool:
    """Approve the first customer email of `case` as `actor`; False if it already was.

    Raises `UnknownCase`, `AlreadyResolved`, or `Conflict` when other writers kept
    changing the incident.
    """
    for _ in range(attempts):
        async with store.transaction() as tx:
            row = await tx.incidents.by_case(case)
            if row is None:
                raise UnknownCase(case)
            if row.status is IncidentStatus.RESOLVED:
                raise AlreadyResolved(case)
            if (await tx.web.approvals([row.id])).get(row.id) is not None:
                return False
            written = await tx.incidents.update(dataclasses.replace(row, updated_at=now))
            if written is None:
                continue
            await tx.web.approve(row.id, actor, now)
            event = IncidentEvent(row.id, now, actor, EventKind.NOTE, APPROVAL_NOTE)
            await tx.incidents.add_events([event])
            return True
    raise Conflict(f"{case} kept changing; try again")


__all__ = ["APPROVAL_NOTE", "CommandError", "approve_customer_email"]
