"""The queue read from the store: open monitoring and customer-reported cases in the order
to answer them (`monitor.incidents.queue.in_queue_order`), and the triage list. Read by
the team UI (`/queue`) and `vakt incidents list --queue`. `answer_report` is how a person
acknowledges or resolves a customer-reported case (the UI's queue, `vakt incidents
ack|resolve`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.config.records import ClockKind, Config, Policy
from monitor.incidents.queue import QueueEntry, QueueKind, in_queue_order
from monitor.model import Priority
from monitor.notify.recheck import PAGE_KINDS, report_answered
from monitor.policy.sla import Terms, level_terms, report_terms
from monitor.store import CustomerRequest, Incident, RequestStatus, Store, Transaction


@dataclass(frozen=True, slots=True)
class Queue:
    entries: list[QueueEntry]
    triage: list[CustomerRequest]  # oldest first


async def read_queue(tx: Transaction, config: Config) -> Queue:
    incidents = await tx.incidents.unresolved()
    own = await tx.intake.with_status(RequestStatus.OPEN)
    triage = await tx.intake.with_status(RequestStatus.TRIAGE)
    entries = [_monitoring(i, config) for i in incidents]
    entries += [_customer(r, config) for r in own if r.case_number is not None]
    return Queue(in_queue_order(entries), triage)


def _clock(policy: Policy | None, terms: Terms | None) -> str:
    if policy is None or terms is None:
        return "-"
    if terms.clock is ClockKind.BUSINESS:
        return f"business ({policy.calendar})"
    return "always"


def _monitoring(row: Incident, config: Config) -> QueueEntry:
    customer = config.customers.get(row.customer_id)
    policy = None if customer is None else config.policies.get(customer.policy)
    terms = None
    if policy is not None and row.level in policy.levels:
        terms = level_terms(policy, row.level)
    return QueueEntry(
        case=row.case_number,
        kind=QueueKind.MONITORING,
        customer_id=row.customer_id,
        site_id=row.site_id,
        status=row.status.value,
        submitted_at=row.opened_at,
        respond_by=row.respond_by,
        clock=_clock(policy, terms),
        who="",
        summary=f"Level {row.level.value}: {row.description}",
    )


def _customer(row: CustomerRequest, config: Config) -> QueueEntry:
    customer = config.customers.get(row.customer_id)
    policy = None if customer is None else config.policies.get(customer.policy)
    terms = None
    if policy is not None and policy.levels:
        priority = None if row.priority is None else Priority(row.priority)
        terms = report_terms(policy, row.urgent, priority)
    return QueueEntry(
        case=row.case_number or "",
        kind=QueueKind.CUSTOMER,
        customer_id=row.customer_id,
        site_id=row.site_id,
        status="acknowledged" if row.acknowledged_at else "open",
        submitted_at=row.submitted_at,
        respond_by=row.respond_by,
        clock=_clock(policy, terms),
        who=f"{row.name} <{row.email}>",
        summary=row.description,
    )


async def answer_report(
    store: Store,
    case: str,
    person: str,
    now: datetime,
    *,
    resolve: bool,
    within: Callable[[Transaction], Awaitable[None]] | None = None,
) -> CustomerRequest | None:
    """Acknowledge (the first acknowledgement is the response) or resolve the
    customer-reported case `case` as `person`, cancelling its pending pages; None when
    there is no such open case. Acknowledging again, or resolving a resolved case,
    changes nothing. `within` runs in the same transaction when the case is open (the
    ack page spends its link there)."""
    async with store.transaction() as tx:
        found = [
            r
            for r in await tx.intake.by_case(case.strip().upper())
            if r.status in (RequestStatus.OPEN, RequestStatus.RESOLVED)
        ]
        if not found:
            return None
        row = found[0]
        if row.status is RequestStatus.RESOLVED:
            return row
        if resolve:
            row = replace(
                row,
                status=RequestStatus.RESOLVED,
                resolved_at=now,
                resolved_by=person,
                probe_until=None,
            )
        elif row.acknowledged_at is None:
            row = replace(row, acknowledged_at=now, acknowledged_by=person)
        await tx.intake.update(row)
        reason = report_answered(row)
        if reason is not None:
            await tx.outbox.cancel_subject(row.case_number or "", reason, PAGE_KINDS, now)
        if within is not None:
            await within(tx)
        return row
