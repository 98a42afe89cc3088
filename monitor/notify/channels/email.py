"""Email via SMTP (aiosmtplib): plain, STARTTLS or implicit TLS, with AUTH; text + HTML.

Threading: every message has a `Message-ID` derived from its dedupe key
(`<sha256(key)[:32]@vakt.{sender domain}>`), so a repeat after a crash is the same
message to the receiver. Messages of a case reply to the case's first message to that
recipient (`Payload.thread`): `In-Reply-To` and `References` name its Message-ID, and
the subject is the same for the whole case, so every mail client keeps one thread.

The message is written as bytes by `Composer` (quoted-printable UTF-8 parts, RFC 2047
headers) and sent with `SMTP.sendmail`, so it is neither built through the `email`
package's header registry nor flattened again by aiosmtplib: in a mass outage that was
most of the CPU time of an email.

Connections are reused: up to `max_connections` SMTP sessions stay open and each sends
many messages one after another (a mass outage is thousands of emails).

Failures: an SMTP 5xx reply is permanent, a 4xx reply, a timeout or a lost connection
is transient.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from binascii import b2a_qp
from collections import deque
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.utils import format_datetime, parseaddr

import aiosmtplib

from monitor.config.records import Channel as ChannelConfig
from monitor.config.records import SmtpSettings
from monitor.notify.channels.base import ChannelContext, DeliveryError
from monitor.notify.message import Outgoing, key_hash

DEFAULT_MAX_CONNECTIONS = 8


def sender_domain(sender: str) -> str:
    """The domain of the `From` address ("Support <support@agency.example>" -> agency...)."""
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def message_id(key: str, domain: str) -> str:
    """The stable Message-ID of the notification with dedupe key `key`."""
    return f"<{key_hash(key)[:32]}@vakt.{domain}>"


class Composer:
    """Writes notifications as RFC 5322 / MIME bytes ready for SMTP `DATA`.

    The message is multipart/alternative (text, then HTML), both parts UTF-8 and
    quoted-printable, so the body is 7-bit clean, no line exceeds 76 characters and no
    relay needs 8BITMIME. Headers: From, To, Subject (RFC 2047 encoded-words when not
    ASCII or when too long for one line), Date, Message-ID, In-Reply-To/References (when
    the message replies to its thread's first message), Auto-Submitted, X-Vakt-Case,
    MIME-Version. Lines end in CRLF. When the sender or recipient address itself is not
    ASCII, headers are written as raw UTF-8 (RFC 6532) and the message must be sent with
    SMTPUTF8 (`needs_smtputf8`).

    Written directly rather than through `email.message.EmailMessage`, whose header
    registry and generator cost several milliseconds per message (a mass outage is tens
    of thousands of emails). The boundary `=_vakt_...` cannot occur in quoted-printable
    text (every `=` there is followed by two hex digits or a line break).
    """

    __slots__ = ("_domain", "_from_7bit", "_from_utf8", "_sender_ascii", "sender_address")

    def __init__(self, sender: str) -> None:
        name, address = parseaddr(_single_line(sender))
        self.sender_address = address
        self._domain = sender_domain(sender)
        self._sender_ascii = address.isascii()
        self._from_7bit = _mailbox(name, address, utf8=False)
        self._from_utf8 = _mailbox(name, address, utf8=True)

    def compose(self, message: Outgoing, to: str, date: datetime) -> bytes:
        """The message from the sender to `to` (a mailbox: `addr` or `Name <addr>`)."""
        name, address = parseaddr(_single_line(to))
        utf8 = not (self._sender_ascii and address.isascii())
        lines = [
            "From: " + (self._from_utf8 if utf8 else self._from_7bit),
            "To: " + _mailbox(name, address, utf8=utf8),
            "Subject: " + _unstructured("Subject", message.rendered.subject, utf8=utf8),
            "Date: " + format_datetime(date),
            *self._threading(message),
            "Auto-Submitted: auto-generated",  # RFC 3834: auto-responders stay quiet
        ]
        if message.payload.case:
            lines.append("X-Vakt-Case: " + _unstructured("X-Vakt-Case", message.payload.case))
        boundary = f"=_vakt_{message.key_hash[:24]}"
        lines += [
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"',
            "",
            f"--{boundary}",
            _part("plain", message.rendered.text),
            f"--{boundary}",
            _part("html", message.rendered.html),
            f"--{boundary}--",
            "",
        ]
        return "\r\n".join(lines).encode()

    def _threading(self, message: Outgoing) -> list[str]:
        ids = [f"Message-ID: {message_id(message.key, self._domain)}"]
        thread = message.payload.thread
        if thread is not None and thread != message.key:
            root = message_id(thread, self._domain)
            ids += [f"In-Reply-To: {root}", f"References: {root}"]
        return ids


def needs_smtputf8(data: bytes) -> bool:
    """Whether a composed message carries raw UTF-8 (only in headers: bodies are QP)."""
    return not data.isascii()


_MAX_PLAIN_HEADER = 78  # RFC 5322 2.1.1: lines SHOULD be at most 78 characters


def _single_line(value: str) -> str:
    # Collapses CR, LF and runs of whitespace: no value can inject a header or a body.
    return " ".join(value.split())


def _unstructured(name: str, value: str, *, utf8: bool = False) -> str:
    """An unstructured header value: as is when it fits on one line (and is ASCII, or the
    message is UTF-8 anyway), else RFC 2047 encoded-words folded into lines that fit."""
    value = _single_line(value)
    if (utf8 or value.isascii()) and len(name) + len(value) + 2 <= _MAX_PLAIN_HEADER:
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep="\r\n")


def _mailbox(name: str, address: str, *, utf8: bool) -> str:
    name = _single_line(name)
    address = _single_line(address)
    if not name:
        return address
    if utf8 or name.isascii():
        if not _ATOMS.fullmatch(name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name} <{address}>"
    return f"{Header(name, 'utf-8').encode()} <{address}>"


# A display name made only of atoms and spaces needs no quotes (RFC 5322 3.2.3, 3.4).
_ATOMS = re.compile(r"[^\x00-\x20()<>\[\]:;@\\,.\"]+(?: [^\x00-\x20()<>\[\]:;@\\,.\"]+)*")


def _part(subtype: str, content: str) -> str:
    # One line ending style before encoding, so QP sees only LF; CRLF is added after.
    text = content.replace("\r\n", "\n").replace("\r", "\n")
    body = b2a_qp(text.encode(), istext=True).decode("ascii").replace("\n", "\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n"
        f"\r\n{body}"
    )


def _classify(exc: Exception) -> DeliveryError:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return DeliveryError(f"recipients refused: {detail}", permanent=permanent)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        permanent = 500 <= exc.code < 600
        return DeliveryError(f"SMTP {exc.code}: {exc.message}", permanent=permanent)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return DeliveryError(f"SMTP server: {exc}", permanent=True)
    return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)


class SmtpPool:
    """Up to `size` open SMTP sessions, each reused for one message at a time."""

    __slots__ = ("_closed", "_idle", "_limit", "_local_hostname", "_settings", "_tls_context")

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        size: int = DEFAULT_MAX_CONNECTIONS,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str = "localhost",
    ) -> None:
        self._settings = settings
        self._tls_context = tls_context
        self._local_hostname = local_hostname
        self._limit = asyncio.Semaphore(size)
        self._idle: deque[aiosmtplib.SMTP] = deque()
        self._closed = False

    async def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Send over an idle session (or a new one); one retry on a fresh session when a
        reused one turns out to be dead (servers close idle sessions). The caller bounds
        the whole call with `asyncio.timeout`."""
        async with self._limit:
            client = self._idle.pop() if self._idle else None
            if client is not None:
                try:
                    await self._send_on(client, sender, recipient, data)
                    return
                except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                    client.close()
            await self._send_on(await self._connect(), sender, recipient, data)

    async def _send_on(
        self, client: aiosmtplib.SMTP, sender: str, recipient: str, data: bytes
    ) -> None:
        # Raw UTF-8 headers (a non-ASCII address) need SMTPUTF8; bodies are always 7-bit.
        options = ["SMTPUTF8"] if needs_smtputf8(data) else []
        try:
            await client.sendmail(sender, [recipient], data, mail_options=options)
        except BaseException:
            client.close()
            raise
        self._release(client)

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.tls,
            start_tls=s.starttls and not s.tls,
            username=s.username,
            password=s.password,
            tls_context=self._tls_context,
            local_hostname=self._local_hostname,
            timeout=s.timeout.total_seconds(),
        )
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        return client

    def _release(self, client: aiosmtplib.SMTP) -> None:
        if self._closed or not client.is_connected:
            client.close()
        else:
            self._idle.append(client)

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            client = self._idle.pop()
            try:
                async with asyncio.timeout(2):
                    await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


class EmailChannel:
    """Sends to the payload's `to` address (or a fixed `mailto:` url of a named channel)."""

    __slots__ = ("_composer", "_ctx", "_fixed_to", "_name", "_pool")

    def __init__(
        self,
        config: ChannelConfig,
        ctx: ChannelContext,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self._name = config.name
        self._ctx = ctx
        self._composer = Composer(ctx.email.sender)
        url = config.url or ""
        self._fixed_to = url.removeprefix("mailto:") if url.startswith("mailto:") else None
        self._pool = SmtpPool(
            ctx.email.smtp,
            size=max_connections,
            tls_context=ctx.smtp_tls_context,
            local_hostname=f"vakt.{sender_domain(ctx.email.sender)}",
        )

    @property
    def name(self) -> str:
        return self._name

    async def send(self, message: Outgoing) -> None:
        # One line: a line break inside a quoted name makes `parseaddr` pick another address.
        to = _single_line(self._fixed_to or message.payload.to or "")
        if not to:
            raise DeliveryError("no email address for this recipient", permanent=True)
        address = _address(to)
        data = self._composer.compose(message, to, self._ctx.clock.now())
        timeout = self._ctx.email.smtp.timeout.total_seconds()
        try:
            async with asyncio.timeout(timeout):
                await self._pool.send(self._composer.sender_address, address, data)
        except TimeoutError as exc:
            raise DeliveryError(f"SMTP timed out after {timeout:g} s", permanent=False) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _classify(exc) from exc

    async def close(self) -> None:
        await self._pool.close()


def _address(to: str) -> str:
    address = parseaddr(to)[1]
    if "@" not in address:
        raise DeliveryError(f"not an email address: {to!r}", permanent=True)
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError) as exc:
        raise DeliveryError(f"not an email address: {to!r}", permanent=True) from exc
    return address
