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
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.config.records import Config, Customer, Mailbox
from monitor.notify.message import Attachment, MessageKind, Payload, ReportLine
from monitor.notify.reportlinks import Decision, ReportLink, decision_id, issue_link
from monitor.policy.calendar import BusinessClock
from monitor.policy.contracts import Contracts
from monitor.reports.figures import Month, MonthFigures
from monitor.reports.gather import read_month
from monitor.store import Notification, OutboxKey, Store, Transaction

log = logging.getLogger(__name__)

EMAIL = "email"
LINK_VALID = timedelta(days=30)  # how long a preview's approve and hold links work


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
    the customers sent. One transaction for all of them and the team's summary. A customer
    whose policy says `reports: {approve: true}` is not sent: the team gets its preview
    (once) and `approve` sends it."""
    waiting: list[Due] = []
    previews: list[Due] = []
    for item in due(config, now):
        async with store.transaction(read_only=True) as tx:
            frozen = await tx.reports.latest(item.customer.id, str(item.month))
            previewed = await tx.web.ack_token_used(_preview_id(item.customer.id, item.month))
        if frozen is not None and frozen.sent_at is not None:
            continue
        if config.policies[item.customer.policy].reports.approve:
            if not previewed:
                previews.append(item)
        else:
            waiting.append(item)
    for item in previews:
        await _preview(store, config, item, now)
    return await deliver(store, config, waiting, now, "vakt")


async def deliver(
    store: Store, config: Config, items: list[Due], now: datetime, by: str
) -> list[str]:
    """Freeze the reports of `items` (created by `by`) and put their emails and the team's
    summary into the outbox, in one transaction; a month already sent is skipped. Returns
    the ids of the customers sent. The one home of sending a report: the monthly job and
    an approval both call it."""
    from monitor.reports.snapshot import build, to_snapshot

    if not items:
        return []
    built = []
    for item in items:
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
            await tx.reports.freeze(to_snapshot(report, by, now, sent_at=now))
            rows.extend(_emails(config, item, figures, report.pdf or b"", now))
            lines.append(line(item.customer, figures))
            sent.append(item.customer.id)
        team = config.settings.email.team
        if lines and team is not None:
            rows.append(_summary(team, built[0][0].month, sent, lines, now))
        await tx.outbox.add(rows)
    for customer_id in sent:
        log.info("report.sent", extra={"customer": customer_id, "month": str(items[0].month)})
    return sent


class ReportState(StrEnum):
    """Where a customer's month stands in the approval flow."""

    SENT = "sent"
    HELD = "held"
    AWAITING = "awaiting_approval"  # previewed, not decided
    UNSENT = "unsent"  # not previewed nor sent (not due yet, or no approval asked)


@dataclass(frozen=True, slots=True)
class Standing:
    state: ReportState
    by: str | None = None  # who held it (HELD)


async def standing(tx: Transaction, customer_id: str, month: Month) -> Standing:
    frozen = await tx.reports.latest(customer_id, str(month))
    if frozen is not None and frozen.sent_at is not None:
        return Standing(ReportState.SENT, frozen.created_by)
    held = await tx.web.ack_token_user(decision_id(Decision.HOLD, customer_id, str(month)))
    if held is not None:
        return Standing(ReportState.HELD, held)
    if await tx.web.ack_token_used(_preview_id(customer_id, month)):
        return Standing(ReportState.AWAITING)
    return Standing(ReportState.UNSENT)


async def approve(
    store: Store, config: Config, customer_id: str, month: Month, by: str, now: datetime
) -> bool:
    """Approve and send `customer_id`'s `month` as `by`: frozen and sent exactly as the
    monthly job sends an unapproved report (`deliver`). False when it was sent before.
    KeyError: no such customer; ValueError: the month is not over in the customer's zone."""
    customer = config.customers[customer_id]
    if now < month.bounds(customer.timezone)[1]:
        raise ValueError(f"{month} is not over yet: only a whole month is sent")
    sent = await deliver(store, config, [Due(customer, month)], now, by)
    return bool(sent)


async def hold(store: Store, customer_id: str, month: Month, by: str, now: datetime) -> bool:
    """Hold `customer_id`'s `month` as `by`: recorded, nothing sent. False when it was
    held before (the first holder is kept) or was already sent."""
    async with store.transaction() as tx:
        frozen = await tx.reports.latest(customer_id, str(month))
        if frozen is not None and frozen.sent_at is not None:
            return False
        nonce = decision_id(Decision.HOLD, customer_id, str(month))
        held = await tx.web.use_ack_token(nonce, by, now)
    if held:
        log.info("report.held", extra={"customer": customer_id, "month": str(month), "by": by})
    return held


def _preview_id(customer_id: str, month: Month) -> str:
    """The marker (a spent token id) that the preview of the month went to the outbox."""
    digest = decision_id(Decision.APPROVE, customer_id, str(month)).partition(":")[2]
    return f"report-preview:{digest}"


async def _preview(store: Store, config: Config, item: Due, now: datetime) -> None:
    """The team's preview of `item`: the report (PDF attached, not frozen) with its
    approve and hold links, into the outbox once (marked in the same transaction)."""
    from monitor.reports.snapshot import build

    team = config.settings.email.team
    if team is None:
        log.warning(
            "report.preview_nowhere",
            extra={"customer": item.customer.id, "why": "settings.email.team is not set"},
        )
        return
    async with store.transaction(read_only=True) as tx:
        figures = await read_month(tx, config, item.customer, item.month, now)
    report = await asyncio.to_thread(build, figures, item.customer, config, True)
    customer, month = item.customer, str(item.month)
    approve_url = hold_url = None
    secret, public = config.settings.secret, config.settings.public_url
    if secret and public:  # else the UI's button or the CLI approves
        expires = now + LINK_VALID
        approve_url, hold_url = (
            issue_link(secret, public, ReportLink(d, customer.id, month), expires)
            for d in (Decision.APPROVE, Decision.HOLD)
        )
    payload = Payload(
        kind=MessageKind.REPORT_PREVIEW,
        customer=customer.name,
        month=month,
        reports=(line(customer, figures),),
        attachment=Attachment(
            f"{customer.id}-{month}.pdf",
            "application/pdf",
            base64.b64encode(report.pdf or b"").decode(),
        ),
        to=team,  # in the team's language (English), like the summary
        timezone=customer.timezone_name,
        approve_url=approve_url,
        hold_url=hold_url,
    )
    key = OutboxKey(
        f"report:{customer.id}:{month}", MessageKind.REPORT_PREVIEW.value, "0", "team", EMAIL
    )
    async with store.transaction() as tx:
        if await tx.web.use_ack_token(_preview_id(item.customer.id, item.month), "vakt", now):
            await tx.outbox.add([Notification(key, now, now, payload.to_json())])
    log.info("report.previewed", extra={"customer": customer.id, "month": month})


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
