"""Sentry against a local stand-in for its ingest: events arrive, secrets do not, and
probes never carry trace headers."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import sentry_sdk
from aiohttp import web

from monitor.clock import SystemClock
from monitor.config.records import (
    Channel,
    ChannelType,
    Config,
    EmailSettings,
    HttpSpec,
    SentrySettings,
    Settings,
    SmtpSettings,
)
from monitor.observability import (
    RELEASE,
    config_secrets,
    init_sentry,
    sentry_middleware,
    sentry_options,
)
from monitor.probes import open_probe_context, run_probe
from tests.observability.support import make_check

SMTP_PASSWORD = "hunter2-smtp-Zq81"
WEBHOOK_SECRET = "whsec-4f1b9a77"
VAKT_SECRET = "vakt-signing-key-0c2e"


def config_with_secrets() -> Config:
    settings = Settings(
        timezone=ZoneInfo("Europe/Oslo"),
        timezone_name="Europe/Oslo",
        secret=VAKT_SECRET,
        location="oslo",
        email=EmailSettings(smtp=SmtpSettings(username="vakt", password=SMTP_PASSWORD)),
    )
    empty: MappingProxyType[str, Any] = MappingProxyType({})
    hook = Channel(
        "ops-hook", ChannelType.WEBHOOK, url="https://ops.example/h", secret=WEBHOOK_SECRET
    )
    return Config(
        path="checks.yaml",
        settings=settings,
        calendars=empty,
        policies=empty,
        people=empty,
        schedules=empty,
        escalations=empty,
        channels=MappingProxyType({"ops-hook": hook}),
        customers=empty,
        maintenance=(),
    )


@dataclass
class Ingest:
    """A local HTTP server standing in for Sentry: it keeps every envelope it receives."""

    port: int = 0
    envelopes: list[bytes] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.port}/1"

    def events(self) -> list[dict[str, Any]]:
        found = []
        for body in self.envelopes:
            lines = body.split(b"\n")
            # envelope header, then (item header, item payload) pairs
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if header and json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


async def _receive(ingest: Ingest, request: web.Request) -> web.Response:
    body = await request.read()  # aiohttp already undoes a gzip Content-Encoding
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    assert body.startswith(b"{"), "an envelope starts with its JSON header"
    ingest.envelopes.append(body)
    return web.json_response({"id": "0" * 32})


@pytest.fixture
async def ingest() -> AsyncIterator[Ingest]:
    received = Ingest()
    app = web.Application()

    async def receive(request: web.Request) -> web.Response:
        return await _receive(received, request)

    app.router.add_post("/api/1/envelope/", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    received.port = runner.addresses[0][1]
    yield received
    # Deliver what is queued while the stand-in still listens (else the SDK retries).
    await asyncio.to_thread(sentry_sdk.get_client().close, 2)
    await runner.cleanup()


@pytest.fixture(autouse=True)
def sentry_off_afterwards() -> Iterator[None]:
    yield
    sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.get_global_scope().set_client(None)
    sentry_sdk.get_global_scope().remove_tag("location")


def start(ingest: Ingest, *, traces: float = 0.0) -> None:
    config = config_with_secrets()
    settings = SentrySettings(dsn=ingest.dsn, environment="staging", traces_sample_rate=traces)
    assert init_sentry(settings, location="oslo", secrets=config_secrets(config), environ={})


async def flush() -> None:
    await asyncio.to_thread(sentry_sdk.flush, 5)


def broken_delivery(password: str) -> None:
    smtp_password = password  # a local variable Sentry would otherwise capture
    raise RuntimeError(f"login failed for vakt:{smtp_password}")


def test_without_a_dsn_sentry_stays_off() -> None:
    assert sentry_options(SentrySettings(), location="oslo", secrets=(), environ={}) is None
    assert not init_sentry(SentrySettings(), location="oslo", secrets=(), environ={})
    assert not sentry_sdk.get_client().is_active()


def test_sentry_dsn_from_the_environment_turns_it_on() -> None:
    env = {"SENTRY_DSN": "http://public@127.0.0.1:9/1"}
    options = sentry_options(SentrySettings(), location="oslo", secrets=(), environ=env)
    assert options is not None
    assert options["dsn"] == env["SENTRY_DSN"]
    assert options["release"] == RELEASE
    assert "send_default_pii" not in options  # unset: False, without a deprecation warning
    assert options["auto_enabling_integrations"] is False


def test_config_secrets_lists_every_secret_value() -> None:
    secrets = config_secrets(config_with_secrets())
    assert {SMTP_PASSWORD, WEBHOOK_SECRET, VAKT_SECRET} <= secrets


async def test_an_injected_bug_arrives_with_release_environment_and_location(
    ingest: Ingest,
) -> None:
    start(ingest)
    try:
        broken_delivery(SMTP_PASSWORD)
    except RuntimeError as exc:
        sentry_sdk.capture_exception(exc)
    await flush()
    [event] = ingest.events()
    assert event["release"] == RELEASE == "vakt-monitor@" + __import__("monitor").__version__
    assert event["environment"] == "staging"
    assert event["tags"]["location"] == "oslo"
    assert event["exception"]["values"][0]["type"] == "RuntimeError"
    assert sentry_sdk.get_client().should_send_default_pii() is False


async def test_no_secret_from_the_config_reaches_sentry(ingest: Ingest) -> None:
    start(ingest)
    sentry_sdk.add_breadcrumb(message=f"connecting with {WEBHOOK_SECRET}")
    try:
        broken_delivery(SMTP_PASSWORD)
    except RuntimeError as exc:
        sentry_sdk.capture_exception(exc)
    await flush()
    assert len(ingest.envelopes) == 1
    payload = b"".join(ingest.envelopes)
    assert b"vakt:[scrubbed]" in payload  # the message survives, the secret does not
    for secret in (SMTP_PASSWORD, WEBHOOK_SECRET, VAKT_SECRET):
        assert secret.encode() not in payload


async def test_a_web_handler_error_is_captured_by_the_middleware(ingest: Ingest) -> None:
    start(ingest)

    async def handler(request: web.Request) -> web.Response:
        raise ZeroDivisionError("bug in a handler")

    async def missing(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    app = web.Application(middlewares=[sentry_middleware()])
    app.router.add_get("/incidents/{case}", handler)
    app.router.add_get("/gone", missing)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/incidents/VAKT-1?token=x") as r:
                assert r.status == 500
            async with session.get(f"http://127.0.0.1:{port}/gone") as r:
                assert r.status == 404
    finally:
        await runner.cleanup()
    await flush()
    [event] = ingest.events()  # the 404 is an answer, not a bug
    assert event["tags"]["route"] == "/incidents/{case}"
    assert event["tags"]["method"] == "GET"
    assert event["exception"]["values"][0]["type"] == "ZeroDivisionError"
    assert b"token=x" not in b"".join(ingest.envelopes)


async def test_probes_carry_no_sentry_trace_or_baggage_header(ingest: Ingest) -> None:
    start(ingest, traces=1.0)  # tracing on: the strongest case for header propagation
    seen: list[dict[str, str]] = []

    async def target(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", target)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    check = make_check(
        "acme/shop/home", HttpSpec(url=f"http://127.0.0.1:{runner.addresses[0][1]}/")
    )
    try:
        async with open_probe_context(SystemClock(), location="oslo") as ctx:
            with sentry_sdk.start_transaction(name="probe-round"):
                results = [await run_probe(check, ctx) for _ in range(3)]
    finally:
        await runner.cleanup()
    assert all(r.ok for r in results), results
    assert len(seen) == 3
    for headers in seen:
        assert headers["User-Agent"].startswith("Vakt/")  # the recording works
        lowered = {name.lower() for name in headers}
        assert "sentry-trace" not in lowered
        assert "baggage" not in lowered
        assert "traceparent" not in lowered
