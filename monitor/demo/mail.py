"""The demo's SMTP sink: an aiosmtpd server on loopback that keeps every message.

    mailbox = Mailbox(clock, roles={"ola@...": Role.PAGE, "kari@...": Role.CUSTOMER})
    async with SmtpSink(mailbox) as sink:     # listens on 127.0.0.1:sink.port
        mail = await mailbox.wait_for(lambda m: m.case == "VAKT-2026-000001", timeout=30)

Nothing is deduplicated: a repeat stays visible, as it would in a real inbox. Each
message keeps its receive time (from the injected clock), which the demo's summary uses
to measure "outage to page" and "outage to first customer email".

aiosmtpd is a test extra, not a runtime dependency of Vakt; it is imported when the sink
starts, and `SinkUnavailable` says how to install it.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from enum import StrEnum
from typing import Any

from monitor.clock import Clock

CASE_IN_SUBJECT = re.compile(r"\[([A-Z][A-Z0-9]*-\d{4}-\d{6})\]")


class Role(StrEnum):
    """Who a message was for, as the demo's cast defines it."""

    PAGE = "page"  # the on-call engineer
    CUSTOMER = "customer"  # a customer's contact
    TEAM = "team"  # the team address: warnings
    OTHER = "other"


class SinkUnavailable(RuntimeError):
    """aiosmtpd is not installed."""


@dataclass(frozen=True, slots=True)
class Mail:
    """One received message (one per envelope recipient)."""

    id: int
    received_at: datetime
    sender: str
    to: str
    role: Role
    subject: str
    message_id: str
    in_reply_to: str
    case: str  # "" when the message belongs to no case
    text: str
    html: str
    raw: bytes = b""  # the message as received (offered as .eml)


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or not isinstance(part, EmailMessage):
        return ""
    content = part.get_content()
    # SMTP carries CRLF line ends; keep them out of what the mailbox shows
    return content.replace("\r\n", "\n") if isinstance(content, str) else ""


def _case(message: EmailMessage) -> str:
    header = str(message.get("X-Vakt-Case", "")).strip()
    if header:
        return header
    found = CASE_IN_SUBJECT.search(str(message.get("Subject", "")))
    return found.group(1) if found else ""


class Mailbox:
    """Every message the sink received, oldest first; waitable.

    `roles` maps a recipient address (lower case) to its `Role`; others are `OTHER`.
    """

    def __init__(self, clock: Clock, roles: Mapping[str, Role]) -> None:
        self._clock = clock
        self._roles = {address.lower(): role for address, role in roles.items()}
        self._mails: list[Mail] = []
        self._changed = asyncio.Condition()

    @property
    def mails(self) -> list[Mail]:
        return list(self._mails)

    def get(self, mail_id: int) -> Mail | None:
        return self._mails[mail_id - 1] if 0 < mail_id <= len(self._mails) else None

    def thread(self, case: str) -> list[Mail]:
        return [m for m in self._mails if m.case == case]

    def cases(self) -> list[str]:
        """Case numbers in the order their first message arrived."""
        return list(dict.fromkeys(m.case for m in self._mails if m.case))

    async def deliver(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        """Keep one copy of `raw` per recipient."""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)  # guaranteed by policy.default
        now = self._clock.now()
        async with self._changed:
            for to in recipients:
                self._mails.append(replace(self._mail(parsed, sender, to, now), raw=raw))
            self._changed.notify_all()

    def _mail(self, message: EmailMessage, sender: str, to: str, now: datetime) -> Mail:
        return Mail(
            id=len(self._mails) + 1,
            received_at=now,
            sender=str(message.get("From", sender)),
            to=to,
            role=self._roles.get(to.lower(), Role.OTHER),
            subject=str(message.get("Subject", "")),
            message_id=str(message.get("Message-ID", "")),
            in_reply_to=str(message.get("In-Reply-To", "")),
            case=_case(message),
            text=_body(message, "plain"),
            html=_body(message, "html"),
        )

    async def wait_for(self, predicate: Callable[[Mail], bool], within: float) -> Mail | None:
        """The first message matching `predicate` (already here or arriving within
        `within` seconds), or None."""
        try:
            async with asyncio.timeout(within), self._changed:
                while True:
                    found = next((m for m in self._mails if predicate(m)), None)
                    if found is not None:
                        return found
                    await self._changed.wait()
        except TimeoutError:
            return None


class _Handler:
    """aiosmtpd's handler: hands each message to the mailbox."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        await self.mailbox.deliver(data, str(envelope.mail_from), list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on `host` (loopback), port chosen by the OS, in the running loop."""

    def __init__(self, mailbox: Mailbox, host: str = "127.0.0.1") -> None:
        self.mailbox = mailbox
        self.host = host
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> SmtpSink:
        try:
            from aiosmtpd.smtp import SMTP
        except ImportError as exc:
            raise SinkUnavailable(
                "the demo's mail server needs aiosmtpd: pip install aiosmtpd "
                "(make demo installs it)"
            ) from exc
        handler = _Handler(self.mailbox)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(handler, hostname="vakt-demo", ident="Vakt demo mailbox"), self.host, 0
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.close()
            try:  # a client may keep an idle session open; do not wait for it forever
                async with asyncio.timeout(2):
                    await self._server.wait_closed()
            except TimeoutError:
                pass
            self._server = None


def is_page(mail: Mail) -> bool:
    """A page to the on-call engineer (one case, or a digest of several), not the
    "acknowledged" or "resolved" follow-ups. Read from the text, which Vakt's built-in
    (English) team templates keep stable: a page says `Level A: site needs a response.`,
    a digest `N incidents need a response:` (its subject names the cases)."""
    return mail.role is Role.PAGE and any(
        words in mail.text for words in ("needs a response", "need a response")
    )


def mentions(mail: Mail, case: str) -> bool:
    """Whether `mail` is about `case`: its own case, or one listed in a digest."""
    return mail.case == case or case in mail.subject or case in mail.text
