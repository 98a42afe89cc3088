"""Slack, webhook, PagerDuty and ntfy channels against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType

import aiohttp
import jsonschema
import pytest

from monitor.clock import FixedClock
from monitor.config.records import Channel as ChannelConfig
from monitor.config.records import ChannelType
from monitor.model import Level
from monitor.notify.channels import CHANNELS, Channel, ChannelContext, DeliveryError
from monitor.notify.message import MessageKind, Outgoing, key_hash
from monitor.notify.render import Renderer
from tests.notify.support import T0, Receiver, free_port, page_payload

SCHEMA = json.loads((Path(__file__).parents[2] / "monitor/notify/webhook.schema.json").read_text())
KEY = "VAKT-2026-000042/page/0:0/alice/ops"


def build(
    session: aiohttp.ClientSession, kind: ChannelType, url: str, **options: object
) -> Channel:
    config = ChannelConfig("ops", kind, url=url, **options)  # type: ignore[arg-type]
    ctx = ChannelContext(session=session, clock=FixedClock(T0), timeout=timedelta(seconds=2))
    return CHANNELS[kind](config, ctx)


def page(kind: MessageKind = MessageKind.PAGE, **changes: object) -> Outgoing:
    return Renderer().outgoing(KEY, page_payload(kind=kind, **changes))


def test_every_channel_type_is_registered() -> None:
    assert set(CHANNELS) == set(ChannelType)


async def test_slack_gets_blocks_with_an_acknowledge_button(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    await build(session, ChannelType.SLACK, receiver.url()).send(page())
    [request] = receiver.requests
    body = request.json()
    assert body["text"] == "[VAKT-2026-000042] shop.acme.example"
    [button] = next(b for b in body["blocks"] if b["type"] == "actions")["elements"]
    assert button["url"] == "https://status.agency.example/ack/tok123"
    section = next(b for b in body["blocks"] if b["type"] == "section")
    assert "Home: no answer within 10 s (from oslo)" in section["text"]["text"]


async def test_webhook_body_follows_the_schema_and_is_signed(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    channel = build(
        session,
        ChannelType.WEBHOOK,
        receiver.url(),
        secret="hook-secret",
        headers=MappingProxyType({"X-Team": "ops"}),
    )
    await channel.send(page())
    [request] = receiver.requests
    jsonschema.validate(request.json(), SCHEMA)
    expected = hmac.new(b"hook-secret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Vakt-Signature"] == f"sha256={expected}"
    assert request.headers["Idempotency-Key"] == key_hash(KEY)
    assert request.headers["X-Team"] == "ops"
    body = request.json()
    assert body["id"] == key_hash(KEY)
    assert body["level"] == "A"
    assert body["evidence"][0]["check"] == "Home"


async def test_webhook_repeats_carry_the_same_idempotency_key(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    channel = build(session, ChannelType.WEBHOOK, receiver.url())
    await channel.send(page())
    await channel.send(page())
    keys = {r.headers["Idempotency-Key"] for r in receiver.requests}
    assert keys == {key_hash(KEY)}
    assert "X-Vakt-Signature" not in receiver.requests[0].headers  # no secret configured


@pytest.mark.parametrize(
    "kind",
    [MessageKind.DIGEST, MessageKind.TEAM_WARNING, MessageKind.CUSTOMER_RESOLVED],
)
async def test_every_kind_of_webhook_body_follows_the_schema(
    receiver: Receiver, session: aiohttp.ClientSession, kind: MessageKind
) -> None:
    await build(session, ChannelType.WEBHOOK, receiver.url()).send(
        page(kind, title="SLA breach", resolved_at=T0 + timedelta(hours=1))
    )
    jsonschema.validate(receiver.requests[0].json(), SCHEMA)


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        (MessageKind.PAGE, "trigger"),
        (MessageKind.ACKNOWLEDGED, "acknowledge"),
        (MessageKind.RECOVERED, "resolve"),
    ],
)
async def test_pagerduty_events_share_one_dedup_key_per_case(
    receiver: Receiver, session: aiohttp.ClientSession, kind: MessageKind, action: str
) -> None:
    channel = build(session, ChannelType.PAGERDUTY, receiver.url("/v2/enqueue"), routing_key="R1")
    await channel.send(page(kind))
    body = receiver.requests[0].json()
    assert body["routing_key"] == "R1"
    assert body["event_action"] == action
    assert body["dedup_key"] == "VAKT-2026-000042"
    if action == "trigger":
        assert body["payload"]["severity"] == "critical"
        assert body["payload"]["source"] == "acme/shop"
        assert body["links"][0]["href"].endswith("/ack/tok123")
    else:
        assert "payload" not in body


@pytest.mark.parametrize(
    ("level", "priority"), [(Level.A, "urgent"), (Level.B, "high"), (None, "default")]
)
async def test_ntfy_priority_follows_the_level(
    receiver: Receiver, session: aiohttp.ClientSession, level: Level | None, priority: str
) -> None:
    kind = MessageKind.PAGE if level else MessageKind.TEAM_WARNING
    channel = build(session, ChannelType.NTFY, receiver.url("/vakt-pages"), token="tk_1")
    await channel.send(page(kind, level=level, title="Certificate expires soon"))
    [request] = receiver.requests
    assert request.path == "/vakt-pages"
    assert request.headers["Priority"] == priority
    assert request.headers["Authorization"] == "Bearer tk_1"
    assert request.headers["Title"]
    assert "Tags" in request.headers
    assert request.body.decode().strip()


async def test_ntfy_without_token_sends_no_authorization(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    await build(session, ChannelType.NTFY, receiver.url("/t")).send(page())
    assert "Authorization" not in receiver.requests[0].headers
    assert receiver.requests[0].headers["Click"].endswith("/ack/tok123")


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (401, True), (404, True), (408, False), (429, False), (500, False), (503, False)],
)
async def test_http_failures_are_classified(
    receiver: Receiver, session: aiohttp.ClientSession, status: int, permanent: bool
) -> None:
    receiver.status = status
    with pytest.raises(DeliveryError) as failure:
        await build(session, ChannelType.WEBHOOK, receiver.url()).send(page())
    assert failure.value.permanent is permanent
    assert f"HTTP {status}" in failure.value.message


async def test_a_slow_receiver_times_out_transiently(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    receiver.delay = 2.5
    with pytest.raises(DeliveryError) as failure:
        await build(session, ChannelType.SLACK, receiver.url()).send(page())
    assert not failure.value.permanent
    assert "timed out" in failure.value.message


async def test_a_refused_connection_is_transient(session: aiohttp.ClientSession) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    with pytest.raises(DeliveryError) as failure:
        await build(session, ChannelType.PAGERDUTY, url, routing_key="R").send(page())
    assert not failure.value.permanent
