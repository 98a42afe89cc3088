"""Email via SMTP (aiosmtplib): plain, STARTTLS or implicit TLS, with AUTH; text + HTML.

Threading: every message has a `Message-ID` derived from its dedupe key
(`<sha256(key)[:32]@vakt.{sender domain}>`), so a repeat after a crash is the same
message to the receiver. Messages of a case reply to the case's first message to that
recipient (`Payload.thread`): `In-Reply-To` and `References` name its Message-ID, and
the subject is the same for the whole case, so every mail client keeps one thread.

The message is written as bytes by `Composer` (quoted-printable UTF-8 parts, RFC 2047
headers) and sent with `SMTP.sendmail`, so it is neither built through the `email`
package's header registry nor flattened again by aiosmtplib: in a mass outage that was
most of the CPU time of an email (the registry's `To` header alone costs 1.5 ms, and its
folding split names so that they did not parse back the same).

Addresses: sender and recipient are `Mailbox` values (name and address apart, from the
config on). The envelope goes to the recipient's configured address and nowhere else;
the name is only ever written into the `To` header, as atoms, a quoted string or an
RFC 2047 encoded-word (`mailbox_header`), so no name can change where a message goes.

Connections are reused: up to `max_connections` SMTP sessions stay open and each sends
many messages one after another (a mass outage is thousands of emails).

Failures: an SMTP 5xx reply is permanent, a 4xx reply, a timeout or a lost connection
is transient.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from base64 import b64encode
from binascii import b2a_qp
from collections import deque
from datetime import datetime
from email.header import Header
from email.utils import format_datetime

import aiosmtplib

from monitor.config.records import Channel as ChannelConfig
from monitor.config.records import Language, Mailbox, SmtpSettings
from monitor.config.values import mailbox
from monitor.notify.channels.base import ChannelContext, DeliveryError
from monitor.notify.message import Attachment, Outgoing, key_hash

DEFAULT_MAX_CONNECTIONS = 8


def sender_domain(sender: Mailbox) -> str:
    """The domain of the `From` address (support@agency.example -> agency.example)."""
    return sender.address.rpartition("@")[2] or "localhost"


def message_id(key: str, domain: str) -> str:
    """The stable Message-ID of the notification with dedupe key `key`."""
    return f"<{key_hash(key)[:32]}@vakt.{domain}>"


class Composer:
    """Writes notifications as RFC 5322 / MIME bytes ready for SMTP `DATA`.

    The message is multipart/alternative (text, then HTML), both parts UTF-8 and
    quoted-printable, so the body is 7-bit clean, no line exceeds 76 characters and no
    relay needs 8BITMIME. Headers: From, To, Subject (RFC 2047 encoded-words when not
    ASCII or when too long for one line), Date, Message-ID, In-Reply-To/References (when
    the message replies to its thread's first message), Auto-Submitted, Content-Language,
    Reply-To (customer emails, when `settings.email.support` is set), X-Vakt-Case,
    MIME-Version. Lines end in CRLF. When the sender or recipient address itself is not
    ASCII, the addresses and the subject are written as raw UTF-8 (RFC 6532) and the
    message must be sent with SMTPUTF8 (`needs_smtputf8`); names are always ASCII
    (`mailbox_header`).

    Written directly rather than through `email.message.EmailMessage`, whose header
    registry and generator cost several milliseconds per message (a mass outage is tens
    of thousands of emails). The boundary `=_vakt_...` cannot occur in quoted-printable
    text (every `=` there is followed by two hex digits or a line break).
    """

    __slots__ = ("_domain", "_from", "_reply_to", "sender")

    def __init__(self, sender: Mailbox, support: Mailbox | None = None) -> None:
        self.sender = sender
        self._domain = sender_domain(sender)
        self._from = mailbox_header(sender)
        self._reply_to = None if support is None else mailbox_header(support)

    def compose(self, message: Outgoing, to: Mailbox, date: datetime) -> bytes:
        """The message from the sender to the mailbox `to`."""
        utf8 = not (self.sender.address.isascii() and to.address.isascii())
        lines = [
            "From: " + self._from,
            "To: " + mailbox_header(to),
            "Subject: " + _unstructured("Subject", message.rendered.subject, utf8=utf8),
            "Date: " + format_datetime(date),
            *self._threading(message),
            "Auto-Submitted: auto-generated",  # RFC 3834: auto-responders stay quiet
            "Content-Language: " + _language(message),
        ]
        if self._reply_to is not None and message.payload.kind.for_customer:
            lines.append("Reply-To: " + self._reply_to)
        if message.payload.case:
            lines.append("X-Vakt-Case: " + _unstructured("X-Vakt-Case", message.payload.case))
        boundary = f"=_vakt_{message.key_hash[:24]}"
        body = [
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"',
            "",
            f"--{boundary}",
            _part("plain", message.rendered.text),
            f"--{boundary}",
            _part("html", message.rendered.html),
            f"--{boundary}--",
            "",
        ]
        attachment = message.payload.attachment
        if attachment is not None:  # the alternative texts, then the file
            mixed = f"=_vakt_mixed_{message.key_hash[:24]}"
            body = [
                f'Content-Type: multipart/mixed;\r\n boundary="{mixed}"',
                "",
                f"--{mixed}",
                *body,
                f"--{mixed}",
                _attachment(attachment),
                f"--{mixed}--",
                "",
            ]
        lines += ["MIME-Version: 1.0", *body]
        return "\r\n".join(lines).encode()

    def _threading(self, message: Outgoing) -> list[str]:
        """Message-ID; In-Reply-To the message this one answers (the customer's own
        email, else the thread's first message) and References to both."""
        ids = [f"Message-ID: {message_id(message.key, self._domain)}"]
        refs: list[str] = []
        thread = message.payload.thread
        if thread is not None and thread != message.key:
            refs.append(message_id(thread, self._domain))
        theirs = message.payload.in_reply_to
        if theirs is not None and _MSG_ID.fullmatch(theirs):
            refs.append(theirs)
        if refs:
            ids += [f"In-Reply-To: {refs[-1]}", "References: " + _folded_ids(refs)]
        return ids


_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]{1,250}>")  # printable ASCII, no < > or space


def _folded_ids(ids: list[str]) -> str:
    """Message-IDs for `References`, one per folded line (each short enough)."""
    return "\r\n ".join(ids)


def _attachment(attachment: Attachment) -> str:
    """A base64 file part (the payload keeps it base64 already), lines of 76 characters."""
    name = attachment.filename.replace('"', "")
    data = "".join(attachment.data.split())
    wrapped = "\r\n".join(data[i : i + 76] for i in range(0, len(data), 76))
    return "\r\n".join(
        [
            f'Content-Type: {attachment.content_type}; name="{name}"',
            "Content-Transfer-Encoding: base64",
            f'Content-Disposition: attachment; filename="{name}"',
            "",
            wrapped,
        ]
    )


def _language(message: Outgoing) -> str:
    """The language the message is written in: the customer's, or English for the team
    (`monitor.notify.render` renders team messages in English)."""
    payload = message.payload
    return payload.language.value if payload.kind.for_customer else Language.EN.value


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


def mailbox_header(mailbox: Mailbox) -> str:
    """A `From`/`To` value for `mailbox`: `addr`, `Name <addr>`, `"Hansen, Kari" <addr>`,
    or an RFC 2047 encoded-word for any other name (not ASCII, or looking like an
    encoded-word itself). Control characters in a name become spaces; the address is
    written as it is (it was checked at load). Parses back (RFC 5322) to the same name
    and address.

    A name is one encoded-word even past RFC 2047's 75 characters (split only when the
    line would pass 998): readers disagree on a name split over several words (RFC 2047
    joins them, Python's `email` package puts a space at each split), while one longer
    word is read whole (checked with Python's parser; not with every mail client)."""
    name = " ".join(part for part in _CONTROLS.sub(" ", mailbox.name).split(" ") if part)
    address = mailbox.address
    if not name:
        return address
    if "=?" in name or len(name) > _MAX_PHRASE:
        phrase = _encoded_words(name)
    elif _ATOMS.fullmatch(name):
        phrase = name
    elif name.isascii():
        phrase = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        phrase = _encoded_words(name)
    if len(phrase) + len(address) + 9 > _MAX_PLAIN_HEADER:  # "From: ", " <", ">"
        return f"{phrase}\r\n <{address}>"
    return f"{phrase} <{address}>"


_MAX_PHRASE = 900  # a header line may have 998 characters (RFC 5322 2.1.1)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A display name made only of ASCII atoms and single spaces needs no quotes (RFC 5322 3.2.3)
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def _encoded_words(text: str) -> str:
    """`text` as base64 UTF-8 encoded-words: one, or (past `_MAX_PHRASE`) several of at
    most 75 characters on folded lines, split between characters."""
    word = _encoded_word(text)
    if len(word) <= _MAX_PHRASE:
        return word
    words: list[str] = []
    chunk = ""
    for char in text:
        if len(_encoded_word(chunk + char)) > 75:
            words.append(_encoded_word(chunk))
            chunk = ""
        chunk += char
    words.append(_encoded_word(chunk))
    return "\r\n ".join(words)


def _encoded_word(text: str) -> str:
    return "=?utf-8?b?" + b64encode(text.encode()).decode("ascii") + "?="


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
        self._composer = Composer(ctx.email.sender, ctx.email.support)
        url = config.url or ""
        self._fixed_to = mailbox(url.removeprefix("mailto:")) if url.startswith("mailto:") else None
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
        """Send to the payload's mailbox: the envelope recipient is its address, exactly."""
        to = self._fixed_to or message.payload.to
        if to is None:
            raise DeliveryError("no email address for this recipient", permanent=True)
        data = self._composer.compose(message, to, self._ctx.clock.now())
        timeout = self._ctx.email.smtp.timeout.total_seconds()
        try:
            async with asyncio.timeout(timeout):
                await self._pool.send(self._composer.sender.address, to.address, data)
        except TimeoutError as exc:
            raise DeliveryError(f"SMTP timed out after {timeout:g} s", permanent=False) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _classify(exc) from exc

    async def close(self) -> None:
        await self._pool.close()
