"""Pages for customer-reported cases: the same escalation as a monitoring case of the
report's level (an urgent report from a contact pages like Level A, any other like Level
B), starting at the submission (`page: business_hours` waits for the opening, `page:
never` pages nobody), stopping at the acknowledgement or resolution.

Planned on every follow-up tick with the outbox's deterministic keys `(case, page,
step:repeat, recipient, channel)`, so planning again adds nothing; a person's answer
cancels the pending ones (`monitor.engine.queue.answer_report`). The ack links of pages
acknowledge monitoring cases only, so these pages carry none: the team answers from the
queue page or `vakt incidents ack`.
"""

from __future__ import annotations

from datetime import datetime

from monitor.config.records import Config, Customer, Target, TargetKind
from monitor.model import Level
from monitor.notify.message import MessageKind, Payload
from monitor.notify.planning.context import TEAM_ONLY
from monitor.policy.contracts import Contracts
from monitor.policy.escalation import PageKind, pages_due
from monitor.store import CustomerRequest, Notification, OutboxKey, RequestStatus, Transaction


def report_level(request: CustomerRequest) -> Level:
    """The level whose paging rules a customer-reported case follows."""
    return Level.A if request.urgent else Level.B


async def plan_report_pages(tx: Transaction, config: Config, now: datetime) -> int:
    """Queue the pages due for open customer-reported cases; returns how many rows were
    new."""
    contracts = Contracts.from_config(config)
    out: list[Notification] = []
    for request in await tx.intake.with_status(RequestStatus.OPEN):
        customer = config.customers.get(request.customer_id)
        if customer is None or request.case_number is None:
            continue
        out += _pages(request, customer, config, contracts, now)
    return await tx.outbox.add(out) if out else 0


def _pages(
    request: CustomerRequest,
    customer: Customer,
    config: Config,
    contracts: Contracts,
    now: datetime,
) -> list[Notification]:
    level = report_level(request)
    start = contracts.paging_starts(customer.policy, level, request.submitted_at)
    if start is None:
        return []
    escalation = config.escalations.get(customer.escalation or "", TEAM_ONLY)
    due = pages_due(
        escalation, config.schedules, start, now, request.acknowledged_at, request.resolved_at
    )
    out = []
    for page in due:
        if page.kind is not PageKind.PAGE:
            continue
        for target in page.recipients:
            for channel in page.channels:
                payload = _payload(request, customer, config, level, target)
                key = OutboxKey(
                    request.case_number or "",
                    MessageKind.PAGE.value,
                    f"{page.step}:{page.repeat}",
                    str(target) if target.kind is TargetKind.PERSON else "team",
                    channel,
                )
                out.append(Notification(key, now, page.due, payload.to_json()))
    return out


def _payload(
    request: CustomerRequest, customer: Customer, config: Config, level: Level, target: Target
) -> Payload:
    person = config.people.get(target.name) if target.kind is TargetKind.PERSON else None
    to = config.settings.email.team if person is None else person.mailbox
    site = None if request.site_id is None else config.site(request.site_id)
    return Payload(
        kind=MessageKind.PAGE,
        case=request.case_number,
        site="" if site is None else site.label,
        site_id=request.site_id or "",
        customer=customer.name,
        level=level,
        status="open",
        since=request.submitted_at,
        respond_by=request.respond_by,
        note=f"Customer-reported by {request.name} <{request.email}>: {request.description}",
        to=to,
        to_name="team" if person is None else person.name,
        timezone=config.settings.timezone_name,
    )
