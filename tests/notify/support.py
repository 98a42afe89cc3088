"""Real local receivers for the channel and dispatcher tests: an aiosmtpd SMTP sink and an
aiohttp server standing in for Slack, PagerDuty, ntfy and webhook receivers (loopback)."""

from __future__ import annotations

import email
import email.policy
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from monitor.config.records import Language, Mailbox
from monitor.model import Level
from monitor.notify.message import EvidenceLine, MessageKind, Payload
from tests.ports import free_port as free_port  # re-exported for the notify tests

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
USER, PASSWORD = "vakt", "s3cret"


class SinkHandler:
    """Keeps every message it is given (no dedupe: repeats must stay visible).

    `reply`: what DATA answers; e.g. "451 try later" or "550 no such user".
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.peers: list[object] = []  # the client's (host, port): one per connection
        self.reply = "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not self.reply.startswith("250"):
            return self.reply
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        self.peers.append(session.peer)
        return self.reply

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 that can be stopped and started on the same port."""

    handler: SinkHandler = field(default_factory=SinkHandler)
    port: int = field(default_factory=free_port)
    options: dict[str, Any] = field(default_factory=dict)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **self.options
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages


def server_tls(cert_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file)
    return context


def client_tls(ca_file: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class Receiver:
    """An aiohttp app on 127.0.0.1 recording every request; `status` sets its answer."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 200
        self.delay = 0.0
        self.answer: Callable[[int], int] | None = None  # request number -> status
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.Response:
        import asyncio

        body = await request.read()
        self.requests.append(Received(request.path, dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.answer(len(self.requests)) if self.answer else self.status
        return web.Response(status=status, text="ok" if status < 300 else "nope")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def page_payload(**changes: Any) -> Payload:
    base = Payload(
        kind=MessageKind.PAGE,
        case="VAKT-2026-000042",
        site="shop.acme.example",
        site_id="acme/shop",
        customer="ACME AS",
        level=Level.A,
        status="open",
        since=T0,
        respond_by=T0.replace(hour=11),
        ack_url="https://status.agency.example/ack/tok123",
        evidence=(EvidenceLine("Home", "timeout", "no answer within 10 s", "oslo"),),
        to=Mailbox("alice@agency.example", "Alice Hansen"),
        timezone="Europe/Oslo",
    )
    return base.with_changes(**changes)


def customer_payload(kind: MessageKind, language: Language, **changes: Any) -> Payload:
    base = Payload(
        kind=kind,
        case="VAKT-2026-000042",
        site="shop.acme.example",
        site_id="acme/shop",
        customer="ACME AS",
        level=Level.A,
        status="open",
        since=T0,
        to=Mailbox("kari@acme.example", "Kari Nordmann"),
        to_name="Kari Nordmann",
        language=language,
        timezone="Europe/Oslo",
        thread="VAKT-2026-000042/customer_opened/0/kari@acme.example/email",
    )
    return base.with_changes(**changes)
