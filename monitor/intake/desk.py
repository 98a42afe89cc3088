"""The intake desk: files a customer's report in one transaction.

    receipt = await Desk(store, config, clock).file(report)

In that one transaction: the rate-limit counters (per client address and per reporter
email, in the store so every instance counts them), then the report's route
(`monitor.incidents.reports.route`): a stranger's report waits in triage; a contact's
report joins the site's open monitoring case (whose response clock then starts at the
submission, when that is earlier) or opens a customer-reported case with the next case
number, a respond-by on the contract's clock (`monitor.policy.sla.report_sla`) and a
receipt in the customer's language queued in the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.clock import Clock
from monitor.config.records import Config, Customer, Mailbox, Site
from monitor.incidents import case_year
from monitor.incidents.reports import (
    Assignment,
    Filed,
    Receipt,
    Report,
    ReportSource,
    Route,
    route,
    site_of,
)
from monitor.intake.asks import KEEP
from monitor.model import IncidentStatus
from monitor.notify.message import MessageKind, Payload
from monitor.notify.recheck import PAGE_KINDS, report_answered
from monitor.policy.contracts import Contracts
from monitor.policy.sla import report_sla
from monitor.store import (
    CustomerRequest,
    EventKind,
    Incident,
    IncidentEvent,
    Notification,
    OutboxKey,
    RequestStatus,
    Store,
    Transaction,
)

log = logging.getLogger(__name__)

EMAIL = "email"
RECEIPT = MessageKind.CUSTOMER_RECEIPT.value


@dataclass(frozen=True, slots=True)
class Limits:
    """At most `per_address` reports per client address and `per_email` per reporter
    email in each `window` (counted in the store)."""

    per_address: int = 10
    per_email: int = 5
    window: timedelta = timedelta(hours=1)


class Desk:
    """Files reports (the web's and the support mailbox's `ReportDesk`)."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        clock: Clock,
        limits: Limits | None = None,
    ) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._limits = limits or Limits()
        # `follow_up` drops old rate-limit counters once a `window`, the first time a
        # window after the start (not in the daemon's busy first seconds)
        self._forgotten_at = clock.now()

    async def file(self, report: Report) -> Receipt:
        """File `report`; raises KeyError for a customer the config does not know."""
        config = self._config()
        customer = config.customers[report.customer_id]
        now = self._clock.now()
        async with self._store.transaction() as tx:
            if await self._limited(tx, report, now):
                log.info("intake.limited", extra={"customer": customer.id})
                return Receipt(Filed.LIMITED)
            receipt = await self.file_in(tx, report, config, now)
        log.info(
            "intake.filed",
            extra={"customer": customer.id, "filed": receipt.filed.value, "case": receipt.case},
        )
        return receipt

    async def file_in(
        self, tx: Transaction, report: Report, config: Config, now: datetime
    ) -> Receipt:
        """File `report` inside `tx` (the support mailbox records its message in the same
        transaction). No rate limit here."""
        customer = config.customers[report.customer_id]
        if route(report, customer, customer.report_domains) is Route.TRIAGE:
            await tx.intake.add(_record(report, customer, RequestStatus.TRIAGE))
            return Receipt(Filed.TRIAGE)
        monitoring = await _open_case(tx, report.site_id)
        if monitoring is not None:
            return await _join(tx, report, customer, config, monitoring, now)
        return await _open(tx, report, customer, config, now)

    async def follow_up(self) -> int:
        """The reports whose site's checks are watched: ask every instance, through the
        store, to probe each report's checks once at once (`monitor.intake.asks`: in a
        cluster the members that own them do); a report whose site now has an open
        monitoring case joins it; a report whose window is over is no longer watched.
        (Their pages are the planner tick's: `monitor.notify.tick.read_reported`.) Then
        rate-limit counters of windows long past and old probe asks are dropped.
        Returns how many reports joined a monitoring case.

        With no report watched and the counters dropped (or the desk built) within the
        last `window`, it writes nothing: it reads first, on a reader connection, so the
        2 s job does not queue for SQLite's one writer behind the engine's flushes (at
        100,000 checks a start-up flush takes seconds: APScheduler skipped its runs)."""
        config = self._config()
        now = self._clock.now()
        async with self._store.transaction(read_only=True) as tx:
            watched = await tx.intake.probing()
        forget = now - self._forgotten_at >= self._limits.window
        if not watched and not forget:
            return 0
        async with self._store.transaction() as tx:
            asked: list[str] = []
            for request in await tx.intake.probing():
                site = None if request.site_id is None else config.site(request.site_id)
                if not request.probed and site is not None:
                    asked += [c.id for c in site.checks]
                    await tx.intake.update(replace(request, probed=True))
            await tx.intake.ask_probes(list(dict.fromkeys(asked)), now)
        async with self._store.transaction() as tx:
            joined = await self._settle(tx, config, now)
            if forget:
                await tx.intake.forget_counters(now - 2 * self._limits.window)
                await tx.intake.forget_asks(now - KEEP)
        if forget:
            self._forgotten_at = now
        return joined

    async def _settle(self, tx: Transaction, config: Config, now: datetime) -> int:
        joined = 0
        for request in await tx.intake.probing():
            customer = config.customers.get(request.customer_id)
            case = await _open_case(tx, request.site_id)
            if customer is not None and case is not None and request.probe_until is not None:
                joined_row = replace(
                    request,
                    status=RequestStatus.JOINED,
                    joined_case=case.case_number,
                    probe_until=None,
                )
                await tx.intake.update(joined_row)
                # the monitoring case pages instead: the report case's pending pages go,
                # on the record (those being sent now meet the send-time re-check)
                reason = report_answered(joined_row) or ""
                cancelled = await tx.outbox.cancel_subject(
                    request.case_number or "", reason, PAGE_KINDS, now
                )
                note = (
                    f" (customer-reported case {request.case_number} joined this case: "
                    f"{cancelled} pending page{'' if cancelled == 1 else 's'} of it cancelled, "
                    "this case pages instead)"
                )
                await _into_case(tx, request, customer, config, case, now, note=note)
                joined += 1
                log.info(
                    "intake.joined", extra={"case": request.case_number, "into": case.case_number}
                )
            elif request.probe_until is None or request.probe_until < now:
                await tx.intake.update(replace(request, probe_until=None))
        return joined

    async def accept(
        self, request_id: int, person: str, assign: Assignment | None = None
    ) -> Receipt | None:
        """The team takes a triage report as if a contact had sent it: it joins the site's
        open monitoring case or becomes a customer-reported case (its clock from the
        submission), with a receipt to the reporter in the customer's language. `assign`:
        whose report it is (a stranger's mail names no customer); without it, the
        customer and site the report named. None when it is not in triage or no customer
        the config knows is named; raises `InvalidReport` (SITE) for a site that is not
        the customer's."""
        config = self._config()
        now = self._clock.now()
        async with self._store.transaction() as tx:
            row = await tx.intake.get(request_id)
            if row is None or row.status is not RequestStatus.TRIAGE:
                return None
            customer_id = row.customer_id if assign is None else assign.customer_id
            customer = config.customers.get(customer_id)
            if customer is None:
                return None
            report = _report_of(row)
            if assign is not None:
                site_id = site_of(customer, assign.site)
                report = replace(report, customer_id=customer.id, site_id=site_id)
            monitoring = await _open_case(tx, report.site_id)
            if monitoring is not None:
                receipt = await _join(tx, report, customer, config, monitoring, now, row)
            else:
                receipt = await _open(tx, report, customer, config, now, row)
        log.info(
            "intake.accepted",
            extra={"case": receipt.case, "by": person, "customer": customer.id},
        )
        return receipt

    async def dismiss(self, request_id: int, person: str) -> bool:
        """The team drops a triage report (spam, a wrong address); False when it is not
        in triage."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            row = await tx.intake.get(request_id)
            if row is None or row.status is not RequestStatus.TRIAGE:
                return False
            dropped = replace(
                row, status=RequestStatus.RESOLVED, resolved_at=now, resolved_by=person
            )
            await tx.intake.update(dropped)
        return True

    async def _limited(self, tx: Transaction, report: Report, now: datetime) -> bool:
        limits = self._limits
        window = _window_start(now, limits.window)
        over = False
        if report.client is not None:
            count = await tx.intake.count(f"address:{report.client}", window)
            over = count > limits.per_address
        count = await tx.intake.count(f"email:{report.email.casefold()}", window)
        return over or count > limits.per_email


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


async def _open_case(tx: Transaction, site_id: str | None) -> Incident | None:
    if site_id is None:
        return None
    rows = (await tx.incidents.latest_by_site([site_id], per_site=1)).get(site_id, [])
    return next((r for r in rows if r.status is not IncidentStatus.RESOLVED), None)


async def _join(
    tx: Transaction,
    report: Report,
    customer: Customer,
    config: Config,
    case: Incident,
    now: datetime,
    existing: CustomerRequest | None = None,
) -> Receipt:
    """The report joins the open monitoring case at once."""
    record = _record(report, customer, RequestStatus.JOINED, case=case.case_number)
    stored = await _keep(tx, replace(record, joined_case=case.case_number), existing)
    case = await _into_case(tx, stored, customer, config, case, now)
    # in the thread of the case's customer emails to this address (their first message)
    thread = OutboxKey(
        case.case_number,
        MessageKind.CUSTOMER_OPENED.value,
        "0",
        f"contact:{stored.email}",
        EMAIL,
    )
    await _queue_receipt(
        tx, stored, customer, config, case.respond_by, now, case.id, thread=str(thread)
    )
    return Receipt(Filed.JOINED, case.case_number, case.respond_by)


async def _into_case(
    tx: Transaction,
    request: CustomerRequest,
    customer: Customer,
    config: Config,
    case: Incident,
    now: datetime,
    *,
    note: str = "",
) -> Incident:
    """The report in the monitoring case's timeline (`note` added to its text); the
    case's response clock starts at the report's submission when that gives an earlier
    respond-by."""
    contracts = Contracts.from_config(config)
    earlier = contracts.respond_by(customer.policy, case.level, request.submitted_at)
    if earlier is not None and (case.respond_by is None or earlier < case.respond_by):
        moved = await tx.incidents.update(replace(case, respond_by=earlier, updated_at=now))
        if moved is None:  # someone changed the case meanwhile: read it again once
            fresh = await tx.incidents.get(case.id)
            if fresh is not None and (fresh.respond_by is None or earlier < fresh.respond_by):
                await tx.incidents.update(replace(fresh, respond_by=earlier, updated_at=now))
        case = replace(case, respond_by=earlier)
    text = f"{request.name} <{request.email}> reported: {request.description}{note}"
    event = IncidentEvent(
        case.id, now, "customer", EventKind.CUSTOMER_REPORT, text, False, ref=str(request.id)
    )
    await tx.incidents.add_events([event])
    return case


def probe_window(site: Site) -> timedelta:
    """How long a report watches its site's checks: the longest time one of them takes
    to confirm a failure (`confirm` probes `retry_interval` apart, each up to `timeout`),
    plus a minute for the engine to open the case."""
    longest = max(
        (c.retry_interval * c.confirm + c.timeout for c in site.checks), default=timedelta(0)
    )
    return longest + timedelta(minutes=1)


async def _open(
    tx: Transaction,
    report: Report,
    customer: Customer,
    config: Config,
    now: datetime,
    existing: CustomerRequest | None = None,
) -> Receipt:
    """A customer-reported case: the next case number, the contract's deadlines.
    `existing`: the triage row the team accepted (it becomes the case)."""
    contracts = Contracts.from_config(config)
    policy = contracts.policy(customer.policy)
    sla = report_sla(policy, report.urgent, report.submitted_at, contracts.clock(customer.policy))
    year = case_year(report.submitted_at, config.settings.timezone)
    number = await tx.incidents.next_case_number(config.settings.case_prefix, year)
    record = _record(report, customer, RequestStatus.OPEN, case=number)
    site = None if report.site_id is None else config.site(report.site_id)
    record = replace(
        record,
        priority=None if sla.priority is None else sla.priority.value,
        respond_by=sla.respond_by,
        resolve_by=sla.resolve_by,
        probe_until=None if site is None else report.submitted_at + probe_window(site),
    )
    stored = await _keep(tx, record, existing)
    await _queue_receipt(tx, stored, customer, config, sla.respond_by, now, None)
    return Receipt(Filed.OPENED, number, sla.respond_by)


async def _keep(
    tx: Transaction, record: CustomerRequest, existing: CustomerRequest | None
) -> CustomerRequest:
    """Insert `record`, or write it over the `existing` row."""
    if existing is None:
        return await tx.intake.add(record)
    stored = replace(record, id=existing.id)
    await tx.intake.update(stored)
    return stored


async def _queue_receipt(
    tx: Transaction,
    request: CustomerRequest,
    customer: Customer,
    config: Config,
    respond_by: datetime | None,
    now: datetime,
    incident_id: int | None,
    *,
    thread: str | None = None,
) -> None:
    """The receipt, due at once, in the customer's language and time zone; `thread`: the
    dedupe key of the case's first email to this address, which it replies to."""
    assert request.case_number is not None  # only filed cases get a receipt
    site = None if request.site_id is None else config.site(request.site_id)
    payload = Payload(
        kind=MessageKind.CUSTOMER_RECEIPT,
        case=request.case_number,
        site="" if site is None else site.label,
        site_id=request.site_id or "",
        customer=customer.name,
        status=IncidentStatus.OPEN.value,
        since=request.submitted_at,
        respond_by=respond_by,
        note=request.description,
        to=Mailbox(request.email, request.name),
        to_name=request.name,
        language=customer.language,
        timezone=customer.timezone_name,
        thread=thread,
        # a case the customer opened by email: the receipt answers their message
        in_reply_to=request.message_id if request.source == ReportSource.EMAIL.value else None,
    )
    key = OutboxKey(
        request.case_number, RECEIPT, str(request.id), f"contact:{request.email}", EMAIL
    )
    notification = Notification(
        key=key, created_at=now, due_at=now, payload=payload.to_json(), incident_id=incident_id
    )
    await tx.outbox.add([notification])


def _report_of(row: CustomerRequest) -> Report:
    return Report(
        customer_id=row.customer_id,
        site_id=row.site_id,
        name=row.name,
        email=row.email,
        description=row.description,
        urgent=row.urgent,
        submitted_at=row.submitted_at,
        source=ReportSource(row.source),
        message_id=row.message_id,
    )


def _record(
    report: Report, customer: Customer, status: RequestStatus, *, case: str | None = None
) -> CustomerRequest:
    return CustomerRequest(
        submitted_at=report.submitted_at,
        source=report.source.value,
        customer_id=customer.id,
        site_id=report.site_id,
        name=report.name,
        email=report.email,
        description=report.description,
        urgent=report.urgent,
        language=customer.language.value,
        status=status,
        case_number=case,
        message_id=report.message_id,
    )
