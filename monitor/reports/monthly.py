"""The monthly report emails (issue 21, part 4).

On the first business day of a month in the customer's calendar (its first opening on or
after the 1st, holidays and weekends skipped), every customer whose policy says
`reports: {monthly: true}` gets last month's report: frozen (`report_snapshots`, marked
sent) and emailed through the outbox to `reports.to` in the customer's language, the PDF
attached; the team gets one summary of the customers sent in that run.

Idempotent: a month is frozen and its emails inserted in one transaction, so a run after
a restart (or a second run) finds it sent and does nothing; the outbox keys (customer,
month, recipient) are deterministic, so a row is never inserted twice. The daemon runs
this as a periodic job (`monitor.app`), on the one node that runs the planner.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass
from datetime import datetime

from monitor.config.records import Config, Customer, Mailbox
from monitor.notify.message import Attachment, MessageKind, Payload, ReportLine
from monitor.policy.calendar import BusinessClock
from monitor.policy.contracts import Contracts
from monitor.reports.figures import Month, MonthFigures
from monitor.reports.gather import read_month
from monitor.store import Notification, OutboxKey, Store

log = logging.getLogger(__name__)

EMAIL = "email"


def due_at(month: Month, customer: Customer, clock: BusinessClock) -> datetime:
    """When the report of the month before `month` is due: the calendar's first opening at
    or after midnight of `month`'s 1st in the customer's zone (UTC)."""
    start, _ = month.bounds(customer.timezone)
    return clock.roll_forward(start)


def recipients(customer: Customer, to: tuple[str, ...]) -> list[tuple[Mailbox, str]]:
    """The mailboxes `reports.to` names, each with the name to greet; no address twice."""
    found: dict[str, tuple[Mailbox, str]] = {}
    for entry in to:
        if entry == "primary":
            chosen = [c for c in customer.contacts[:1]]
        elif entry == "all":
            chosen = list(customer.contacts)
        else:
            found.setdefault(entry.lower(), (Mailbox(entry), ""))
            continue
        for contact in chosen:
            found.setdefault(contact.email.lower(), (contact.mailbox, contact.name))
    return list(found.values())


def line(customer: Customer, figures: MonthFigures) -> ReportLine:
    return ReportLine(
        customer=customer.name,
        availability=figures.availability.uptime,
        cases=len(figures.cases),
        met=figures.met,
        missed=figures.missed,
        missed_cases=tuple(c.case_number for c in figures.cases if c.met is False),
    )


@dataclass(frozen=True, slots=True)
class Due:
    customer: Customer
    month: Month


def due(config: Config, now: datetime) -> list[Due]:
    """The customers whose last month's report is due at `now` (sent or not)."""
    contracts = Contracts.from_config(config)
    found = []
    for customer in config.customers.values():
        policy = config.policies.get(customer.policy)
        if policy is None or not policy.reports.monthly:
            continue
        current = Month.of(now, customer.timezone)
        if now >= due_at(current, customer, contracts.clock(customer.policy)):
            found.append(Due(customer, current.previous()))
    return found


async def send_monthly(store: Store, config: Config, now: datetime) -> list[str]:
    """Freeze and send every report due at `now` that was not sent yet; returns the ids of
    the customers sent. One transaction for all of them and the team's summary."""
    from monitor.reports.snapshot import build, to_snapshot

    waiting: list[Due] = []
    for item in due(config, now):
        async with store.transaction(read_only=True) as tx:
            frozen = await tx.reports.latest(item.customer.id, str(item.month))
        if frozen is None or frozen.sent_at is None:
            waiting.append(item)
    if not waiting:
        return []
    built = []
    for item in waiting:
        async with store.transaction(read_only=True) as tx:
            figures = await read_month(tx, config, item.customer, item.month, now)
        report = await asyncio.to_thread(build, figures, item.customer, config, True)
        built.append((item, figures, report))
    sent: list[str] = []
    async with store.transaction() as tx:
        rows: list[Notification] = []
        lines: list[ReportLine] = []
        for item, figures, report in built:
            frozen = await tx.reports.latest(item.customer.id, str(item.month))
            if frozen is not None and frozen.sent_at is not None:
                continue  # another run got there first
            await tx.reports.freeze(to_snapshot(report, "vakt", now, sent_at=now))
            rows.extend(_emails(config, item, figures, report.pdf or b"", now))
            lines.append(line(item.customer, figures))
            sent.append(item.customer.id)
        team = config.settings.email.team
        if lines and team is not None:
            rows.append(_summary(team, built[0][0].month, sent, lines, now))
        await tx.outbox.add(rows)
    for customer_id in sent:
        log.info("report.sent", extra={"customer": customer_id, "month": str(waiting[0].month)})
    return sent


def _emails(
    config: Config, item: Due, figures: MonthFigures, pdf: bytes, now: datetime
) -> list[Notification]:
    customer, month = item.customer, str(item.month)
    policy = config.policies[customer.policy]
    attachment = Attachment(
        f"{customer.id}-{month}.pdf", "application/pdf", base64.b64encode(pdf).decode()
    )
    out = []
    for mailbox, name in recipients(customer, policy.reports.to):
        payload = Payload(
            kind=MessageKind.MONTHLY_REPORT,
            customer=customer.name,
            month=month,
            reports=(line(customer, figures),),
            attachment=attachment,
            to=mailbox,
            to_name=name,
            language=customer.language,
            timezone=customer.timezone_name,
        )
        key = OutboxKey(
            f"report:{customer.id}:{month}",
            MessageKind.MONTHLY_REPORT.value,
            "0",
            f"contact:{mailbox.address}",
            EMAIL,
        )
        out.append(Notification(key, now, now, payload.to_json()))
    return out


def _summary(
    team: Mailbox, month: Month, sent: list[str], lines: list[ReportLine], now: datetime
) -> Notification:
    payload = Payload(
        kind=MessageKind.REPORT_SUMMARY, month=str(month), reports=tuple(lines), to=team
    )
    key = OutboxKey(
        f"reports:{month}", MessageKind.REPORT_SUMMARY.value, ",".join(sorted(sent)), "team", EMAIL
    )
    return Notification(key, now, now, payload.to_json())
