"""PagerDuty v3 webhooks: signatures verified, acknowledge/resolve mapped back to cases."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from monitor.clock import FixedClock
from monitor.config.records import Escalation, EscalationStep, Target, TargetKind
from monitor.model import IncidentStatus, Level
from monitor.notify.channels.pagerduty import dedup_key
from monitor.notify.message import DigestEntry, MessageKind, Outgoing, Payload, Rendered
from monitor.policy import pages_due
from monitor.store import Incident, Notification, OutboxKey, Store
from monitor.web.pagerduty import WEBHOOK_PATH, sign, verify_signature
from tests.web.api_support import (
    PD_SECRET,
    T0,
    Deps,
    add_incidents,
    config,
    incident,
    open_store,
    pagerduty_channel,
    schedule,
    serve,
)

CASE = "VAKT-2026-000007"
NOW = T0 + timedelta(minutes=12)


def webhook(event_type: str, key: str | None, agent: str = "Alice Hansen") -> bytes:
    data: dict[str, Any] = {"id": "Q1", "type": "incident", "status": "acknowledged"}
    if key is not None:
        data["incident_key"] = key
    event = {
        "id": "01ABC",
        "event_type": event_type,
        "resource_type": "incident",
        "occurred_at": "2026-03-02T09:12:00.000Z",
        "agent": {"id": "PU1", "type": "user_reference", "summary": agent},
        "data": data,
    }
    return json.dumps({"event": event}).encode()


@dataclass
class Hook:
    client: TestClient[web.Request, web.Application]
    store: Store

    async def send(self, body: bytes, signature: str | None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-PagerDuty-Signature"] = signature
        resp = await self.client.post(WEBHOOK_PATH, data=body, headers=headers)
        return resp.status, await resp.json()

    async def incident(self, case: str = CASE) -> Incident:
        async with self.store.transaction(read_only=True) as tx:
            row = await tx.incidents.by_case(case)
        assert row is not None
        return row


@pytest.fixture
async def hook(tmp_path: Path) -> AsyncIterator[Hook]:
    """The secret comes from the environment (no pagerduty channel carries one)."""
    async with open_store(f"sqlite:///{tmp_path / 'vakt.db'}") as store:
        await add_incidents(store, incident(CASE))
        cfg = config(channels=(pagerduty_channel(),))
        deps = Deps(store, lambda: cfg, FixedClock(NOW), pagerduty_webhook_secret=PD_SECRET)
        async with serve(deps) as client:
            yield Hook(client, store)


async def serve_with(
    tmp_path: Path, channel_secret: str | None, env_secret: str | None, body: bytes, signature: str
) -> tuple[int, Any, IncidentStatus]:
    async with open_store(f"sqlite:///{tmp_path / 'vakt.db'}") as store:
        await add_incidents(store, incident(CASE))
        cfg = config(channels=(pagerduty_channel(channel_secret),))
        deps = Deps(store, lambda: cfg, FixedClock(NOW), pagerduty_webhook_secret=env_secret)
        async with serve(deps) as client:
            h = Hook(client, store)
            status, reply = await h.send(body, signature)
            return status, reply, (await h.incident()).status


# --------------------------------------------------------------------------- signatures


def test_a_signature_is_hmac_sha256_hex_of_the_raw_body() -> None:
    # `printf '{}' | openssl dgst -sha256 -hmac pd-webhook-secret`
    assert sign(PD_SECRET, b"{}") == (
        "v1=f6f2fb51eff96344af3ff59f09c4bd56a1fbd8da6c7fa259c6ddcd9cfaa31b7e"
    )


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (sign(PD_SECRET, b"body"), True),
        (sign(PD_SECRET, b"body").upper().replace("V1=", "v1="), True),
        (f"v1=00, {sign(PD_SECRET, b'body')}", True),  # rotation: any one may match
        (sign("other", b"body"), False),
        (sign(PD_SECRET, b"bodY"), False),
        (sign(PD_SECRET, b"body").replace("v1=", "v0="), False),
        ("v1=", False),
        ("", False),
        (None, False),
    ],
)
def test_verify_signature(header: str | None, ok: bool) -> None:
    assert verify_signature((PD_SECRET,), b"body", header) is ok


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "v1=deadbeef",
        sign("not-the-secret", webhook("incident.acknowledged", CASE)),
        sign(PD_SECRET, webhook("incident.acknowledged", CASE, agent="Someone else")),
    ],
    ids=["missing", "empty", "garbage", "other-secret", "other-body"],
)
async def test_a_wrong_signature_is_401_and_changes_nothing(
    hook: Hook, signature: str | None
) -> None:
    status, reply = await hook.send(webhook("incident.acknowledged", CASE), signature)
    assert (status, reply["status"]) == (401, "invalid signature")
    row = await hook.incident()
    assert (row.status, row.acknowledged_at, row.version) == (IncidentStatus.OPEN, None, 1)


async def test_without_any_secret_the_endpoint_is_absent(tmp_path: Path) -> None:
    body = webhook("incident.acknowledged", CASE)
    status, _, after = await serve_with(tmp_path, None, None, body, sign("", body))
    assert (status, after) == (404, IncidentStatus.OPEN)


async def test_a_channel_secret_takes_precedence_over_the_environment(tmp_path: Path) -> None:
    body = webhook("incident.acknowledged", CASE)
    status, _, after = await serve_with(
        tmp_path, "channel-secret", PD_SECRET, body, sign(PD_SECRET, body)
    )
    assert (status, after) == (401, IncidentStatus.OPEN)


async def test_a_channel_secret_verifies(tmp_path: Path) -> None:
    body = webhook("incident.acknowledged", CASE)
    status, _, after = await serve_with(
        tmp_path, "channel-secret", None, body, sign("channel-secret", body)
    )
    assert (status, after) == (200, IncidentStatus.ACKNOWLEDGED)


# ---------------------------------------------------------------------------- mapping


def page(case: str) -> Outgoing:
    """The page Vakt's pagerduty channel sends for `case`."""
    key = f"{case}/page/0:0:0/alice/pd"
    return Outgoing(key, Payload(MessageKind.PAGE, case=case), Rendered("s", "t", "h"))


async def test_an_acknowledgement_in_pagerduty_acknowledges_the_case_and_stops_re_pages(
    hook: Hook,
) -> None:
    body = webhook("incident.acknowledged", dedup_key(page(CASE)))
    status, reply = await hook.send(body, sign(PD_SECRET, body))
    assert (status, reply) == (200, {"status": "acknowledged", "cases": [CASE]})
    row = await hook.incident()
    assert (row.status, row.acknowledged_by, row.acknowledged_at) == (
        IncidentStatus.ACKNOWLEDGED,
        "alice",  # the agent's name is a person's in the config
        NOW,
    )
    # Paging every 5 minutes from T0: the slots after the acknowledgement are gone.
    escalation = Escalation(
        "default",
        (EscalationStep(timedelta(0), (Target(TargetKind.PERSON, "alice"),), ("pd",)),),
        repeat_every=timedelta(minutes=5),
        max_repeats=5,
    )
    later = NOW + timedelta(hours=1)
    schedules = {"primary": schedule()}
    unacknowledged = pages_due(escalation, schedules, T0, later)
    after_ack = pages_due(escalation, schedules, T0, later, acknowledged_at=row.acknowledged_at)
    assert [p.due for p in unacknowledged if p.due > NOW]  # re-pages would have followed
    assert [p.due for p in after_ack] == [T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)]


async def test_an_agent_vakt_does_not_know_acts_as_pagerduty(hook: Hook) -> None:
    body = webhook("incident.acknowledged", CASE, agent="Pat from PagerDuty")
    status, _ = await hook.send(body, sign(PD_SECRET, body))
    assert status == 200
    assert (await hook.incident()).acknowledged_by == "pagerduty"


async def test_a_resolve_in_pagerduty_resolves_the_case(hook: Hook) -> None:
    body = webhook("incident.resolved", CASE)
    status, reply = await hook.send(body, sign(PD_SECRET, body))
    assert (status, reply) == (200, {"status": "resolved", "cases": [CASE]})
    row = await hook.incident()
    assert (row.status, row.resolved_by) == (IncidentStatus.RESOLVED, "alice")


async def test_a_resolve_echoed_back_for_a_resolved_case_is_ignored(hook: Hook) -> None:
    body = webhook("incident.resolved", CASE)
    await hook.send(body, sign(PD_SECRET, body))
    version = (await hook.incident()).version
    status, reply = await hook.send(body, sign(PD_SECRET, body))
    assert (status, reply["status"]) == (202, "ignored")
    assert (await hook.incident()).version == version


async def test_a_digest_key_acknowledges_every_case_in_the_digest(hook: Hook) -> None:
    other = "VAKT-2026-000008"
    await add_incidents(hook.store, incident(other, "beta/web"))
    entries = tuple(DigestEntry(c, "site", Level.A, T0) for c in (CASE, other))
    payload = Payload(MessageKind.DIGEST, incidents=entries)
    async with hook.store.transaction() as tx:
        await tx.outbox.add(
            [
                Notification(
                    OutboxKey("digest-0123456789abcdef", "digest", "0", "alice", "pd"),
                    created_at=T0,
                    due_at=T0,
                    payload=payload.to_json(),
                )
            ]
        )
    body = webhook("incident.acknowledged", "digest-0123456789abcdef")
    status, reply = await hook.send(body, sign(PD_SECRET, body))
    assert (status, reply["cases"]) == (200, [CASE, other])
    assert (await hook.incident(other)).status is IncidentStatus.ACKNOWLEDGED


@pytest.mark.parametrize(
    "body",
    [
        webhook("incident.acknowledged", "someone-elses-key"),
        webhook("incident.acknowledged", None),
        webhook("incident.triggered", CASE),
        webhook("incident.annotated", CASE),
        json.dumps({"event": {"event_type": "pagey.ping", "data": {}}}).encode(),
    ],
    ids=["foreign-key", "no-key", "triggered", "annotated", "ping"],
)
async def test_other_events_are_accepted_and_ignored(hook: Hook, body: bytes) -> None:
    status, reply = await hook.send(body, sign(PD_SECRET, body))
    assert (status, reply["status"]) == (202, "ignored")
    assert (await hook.incident()).status is IncidentStatus.OPEN


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"event": 3}', b'{"event": {}}'])
async def test_a_signed_body_that_is_not_a_webhook_is_400(hook: Hook, body: bytes) -> None:
    status, _ = await hook.send(body, sign(PD_SECRET, body))
    assert status == 400
    assert (await hook.incident()).status is IncidentStatus.OPEN
