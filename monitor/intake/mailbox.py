"""The support mailbox, read over IMAP (the standard library's `imaplib`, in a thread).

    poller = MailboxPoller(store, config, clock, desk)
    await poller.poll_once()     # `monitor.app` runs it as a job every `poll`

Each message not yet given the keyword `$VaktDone` is fetched (without setting `\\Seen`),
read (`monitor.intake.messages`) and handled in ONE transaction that also records its
Message-ID and its folder's UIDVALIDITY/UID; a message already recorded is skipped. The
keyword is set only after that commit. So a crash between fetch and commit handles the
message again on the next poll (nothing was written), and a crash between commit and
keyword finds it recorded and only sets the keyword: nothing is lost, nothing doubled.

What a message does:
- an auto-reply or a bounce: nothing (recorded as `ignored`);
- it answers an email Vakt sent about a case (`In-Reply-To`/`References` name that
  email's Message-ID): it joins the case's timeline as a customer message, and whoever
  acknowledged the case (else the on-call of the customer's escalation) is told;
- from a customer's contact whose DKIM or DMARC passed: a case number of that customer in
  the subject joins that case; otherwise it is a report (`Desk.file_in`): it opens a
  customer-reported case with a receipt in the customer's language;
- anything else (a stranger, no or failed authentication, a case matched by the subject
  alone): triage.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.clock import Clock
from monitor.config.records import Config, Customer, ImapSettings, TargetKind
from monitor.incidents.reports import InvalidReport, ReportSource, make_report
from monitor.intake.desk import EMAIL, Desk
from monitor.intake.messages import Incoming, read_message
from monitor.notify.channels.email import message_id, sender_domain
from monitor.notify.message import MessageKind, Payload, key_hash
from monitor.notify.planning.context import TEAM_ONLY
from monitor.policy.escalation import schedule_of_pages
from monitor.store import (
    CaseMessage,
    CustomerRequest,
    EventKind,
    IncidentEvent,
    Notification,
    OutboxKey,
    RequestStatus,
    Store,
    Transaction,
)

log = logging.getLogger(__name__)

DONE = "$VaktDone"
PASSWORD_ENV = "VAKT_IMAP_PASSWORD"


class MailboxError(Exception):
    """The IMAP server refused or failed (the poll is tried again later)."""


class ImapFolder:
    """One IMAP session on the configured folder (blocking: call it in a thread)."""

    def __init__(self, settings: ImapSettings) -> None:
        timeout = settings.timeout.total_seconds()
        conn: imaplib.IMAP4
        if settings.tls:
            conn = imaplib.IMAP4_SSL(settings.host, settings.port, timeout=timeout)
        else:
            conn = imaplib.IMAP4(settings.host, settings.port, timeout=timeout)
            if settings.starttls:
                conn.starttls()
        self._conn = conn
        password = settings.password or os.environ.get(PASSWORD_ENV, "")
        _ok(conn.login(settings.username, password), "LOGIN")
        _ok(conn.select(_quoted(settings.folder)), "SELECT")
        values = _bytes(conn.response("UIDVALIDITY")[1])
        if not values or not values[0].strip().isdigit():
            raise MailboxError("the server named no UIDVALIDITY")
        self.uidvalidity = int(values[0])

    def unhandled(self) -> list[int]:
        data = _ok(self._conn.uid("SEARCH", "UNKEYWORD", DONE), "SEARCH")
        return [int(u) for u in b" ".join(_bytes(data)).split()]

    def fetch(self, uid: int) -> bytes:
        data = _ok(self._conn.uid("FETCH", str(uid), "(BODY.PEEK[])"), "FETCH")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                return bytes(item[1])
        raise MailboxError(f"FETCH {uid} returned no message")

    def mark(self, uid: int) -> None:
        _ok(self._conn.uid("STORE", str(uid), "+FLAGS", f"({DONE} \\Seen)"), "STORE")

    def close(self) -> None:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):  # the session is over anyway
            self._conn.logout()


def _ok(reply: tuple[str, Sequence[object]], what: str) -> Sequence[object]:
    status, data = reply
    if status != "OK":
        raise MailboxError(f"{what} failed: {status}")
    return data


def _bytes(data: Sequence[object]) -> list[bytes]:
    return [d for d in data if isinstance(d, bytes)]


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Handled:
    uid: int
    outcome: str  # ignored, joined, opened, triage, known
    case: str | None


class MailboxPoller:
    """Reads the support mailbox into cases. `open_folder` opens a session (tests may
    give a wrapper of `ImapFolder`)."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        clock: Clock,
        desk: Desk,
        open_folder: Callable[[ImapSettings], ImapFolder] = ImapFolder,
    ) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._desk = desk
        self._open = open_folder

    async def poll_once(self) -> list[Handled]:
        """Handle every message not handled yet; [] when no mailbox is configured.
        Raises MailboxError, OSError or imaplib's errors when the server fails."""
        config = self._config()
        settings = config.settings.email.imap
        if settings is None:
            return []
        folder = await asyncio.to_thread(self._open, settings)
        try:
            out: list[Handled] = []
            for uid in await asyncio.to_thread(folder.unhandled):
                raw = await asyncio.to_thread(folder.fetch, uid)
                out.append(await self._handle(settings.folder, folder.uidvalidity, uid, raw))
                await asyncio.to_thread(folder.mark, uid)
            return out
        finally:
            await asyncio.to_thread(folder.close)

    async def _handle(self, folder: str, uidvalidity: int, uid: int, raw: bytes) -> Handled:
        incoming = read_message(raw)
        ident = incoming.message_id or f"<uid.{uidvalidity}.{uid}@vakt.mailbox>"
        config = self._config()
        now = self._clock.now()
        async with self._store.transaction() as tx:
            if await tx.intake.message_known(ident, folder, uidvalidity, uid):
                return Handled(uid, "known", None)
            outcome, case = await self._decide(tx, incoming, ident, config, now)
            await tx.intake.add_message(ident, folder, uidvalidity, uid, outcome, case, now)
        log.info("intake.mail_handled", extra={"outcome": outcome, "case": case})
        return Handled(uid, outcome, case)

    async def _decide(
        self, tx: Transaction, msg: Incoming, ident: str, config: Config, now: datetime
    ) -> tuple[str, str | None]:
        if msg.automatic:
            return "ignored", None
        case = await _thread_case(tx, msg, config)
        if case is not None:
            await _join(tx, case, msg, ident, config, now)
            return "joined", case
        customer = _customer_of(config, msg.sender)
        if customer is not None and msg.authenticated:
            case = await _subject_case(tx, msg, customer)
            if case is not None:
                await _join(tx, case, msg, ident, config, now)
                return "joined", case
            try:
                report = make_report(
                    customer,
                    site=_only_site(customer),
                    name=msg.sender_name or msg.sender,
                    email=msg.sender,
                    description=_description(msg),
                    urgent=False,
                    submitted_at=now,
                    source=ReportSource.EMAIL,
                    message_id=msg.message_id,  # the customer's own (None: it had none)
                )
            except InvalidReport:
                report = None
            if report is not None:
                receipt = await self._desk.file_in(tx, report, config, now)
                return receipt.filed.value, receipt.case
        await tx.intake.add(_triage(msg, customer, now))
        return "triage", None


async def _thread_case(tx: Transaction, msg: Incoming, config: Config) -> str | None:
    """The case whose email `msg` answers (its In-Reply-To/References)."""
    if not msg.references:
        return None
    domain = sender_domain(config.settings.email.sender)
    recipients = [f"contact:{msg.sender}"] if msg.sender else []
    for key in await tx.intake.sent_keys(recipients, msg.cases):
        if message_id(str(key), domain) in msg.references:
            return key.subject
    return None


async def _subject_case(tx: Transaction, msg: Incoming, customer: Customer) -> str | None:
    for case in msg.cases:
        incident = await tx.incidents.by_case(case)
        if incident is not None and incident.customer_id == customer.id:
            return case
        if any(r.customer_id == customer.id for r in await tx.intake.by_case(case)):
            return case
    return None


async def _join(
    tx: Transaction, case: str, msg: Incoming, ident: str, config: Config, now: datetime
) -> None:
    """The message joins the case's timeline; whoever acknowledged it (else the on-call of
    the customer's escalation) is told."""
    text = msg.text or "(no text)"
    await tx.intake.add_case_message(CaseMessage(case, now, msg.sender, msg.subject, text, ident))
    incident = await tx.incidents.by_case(case)
    if incident is not None:
        summary = f"{msg.sender}: {msg.subject}".strip()
        event = IncidentEvent(
            incident.id, now, "customer", EventKind.CUSTOMER_MESSAGE, summary, False
        )
        await tx.incidents.add_events([event])
        acknowledged_by, customer_id = incident.acknowledged_by, incident.customer_id
    else:
        own = [r for r in await tx.intake.by_case(case) if r.status is not RequestStatus.JOINED]
        acknowledged_by = next((r.acknowledged_by for r in own if r.acknowledged_by), None)
        customer_id = own[0].customer_id if own else ""
    recipients = _whom(config, acknowledged_by, customer_id, now)
    incident_id = None if incident is None else incident.id
    await _tell(tx, case, msg, ident, config, now, recipients, incident_id)


def _whom(
    config: Config, acknowledged_by: str | None, customer_id: str, now: datetime
) -> list[str]:
    """Who hears of a customer's message: the person who acknowledged the case; else
    whoever the customer's escalation pages first now (the on-call), else the team."""
    if acknowledged_by is not None and acknowledged_by in config.people:
        return [f"person:{acknowledged_by}"]
    customer = config.customers.get(customer_id)
    name = None if customer is None else customer.escalation
    escalation = config.escalations.get(name or "", TEAM_ONLY)
    pages = schedule_of_pages(escalation, config.schedules, now)
    first = pages[0].recipients if pages else ()
    people = [str(t) for t in first if t.kind is TargetKind.PERSON and t.name in config.people]
    return people or ["team"]


async def _tell(
    tx: Transaction,
    case: str,
    msg: Incoming,
    ident: str,
    config: Config,
    now: datetime,
    recipients: list[str],
    incident_id: int | None,
) -> None:
    out: list[Notification] = []
    for recipient in recipients:
        person = config.people.get(recipient.partition(":")[2])
        if recipient != "team" and person is not None and person.mailbox is not None:
            to, name = person.mailbox, person.name
        elif config.settings.email.team is not None:
            recipient, to, name = "team", config.settings.email.team, "team"
        else:
            log.warning("intake.nobody_to_tell", extra={"case": case})
            continue
        payload = Payload(
            kind=MessageKind.TEAM_WARNING,
            case=case,
            title=f"The customer wrote about {case}",
            warning="customer_message",
            note=f"From {msg.sender}: {msg.subject}\n\n{msg.text[:2000]}",
            to=to,
            to_name=name,
            timezone=config.settings.timezone_name,
        )
        slot = f"customer_message:{key_hash(ident)[:32]}"
        key = OutboxKey(case, MessageKind.TEAM_WARNING.value, slot, recipient, EMAIL)
        out.append(Notification(key, now, now, payload.to_json(), incident_id=incident_id))
    await tx.outbox.add(out)


def _customer_of(config: Config, address: str) -> Customer | None:
    folded = address.casefold()
    for customer in config.customers.values():
        if any(c.email.casefold() == folded for c in customer.contacts):
            return customer
    return None


def _only_site(customer: Customer) -> str | None:
    return customer.sites[0].name if len(customer.sites) == 1 else None


def _description(msg: Incoming) -> str:
    return "\n\n".join(part for part in (msg.subject.strip(), msg.text.strip()) if part) or "-"


def _triage(msg: Incoming, customer: Customer | None, now: datetime) -> CustomerRequest:
    return CustomerRequest(
        submitted_at=now,
        source=ReportSource.EMAIL.value,
        customer_id="" if customer is None else customer.id,
        site_id=None,
        name=(msg.sender_name or msg.sender)[:200],
        email=msg.sender[:254],
        description=_description(msg)[:10_000],
        urgent=False,
        language="" if customer is None else customer.language.value,
        status=RequestStatus.TRIAGE,
        message_id=msg.message_id,
    )
