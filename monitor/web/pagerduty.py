"""PagerDuty inbound: v3 webhooks acknowledge and resolve in Vakt what was done in PagerDuty.

`POST /webhooks/pagerduty`. Each request is verified before anything is read from it:
`X-PagerDuty-Signature` carries one or more `v1=<hex>` signatures (several while a
secret is being rotated), each HMAC-SHA256 over the raw body; one must match a secret,
compared in constant time. A request that fails is answered 401 and changes nothing.

The secret: the `secret` of a pagerduty channel in the config, when one has it, else
`$VAKT_PAGERDUTY_WEBHOOK_SECRET` (read by `monitor.app`, passed in as
`deps.pagerduty_webhook_secret`). Without either the endpoint answers 404.

`incident.acknowledged` and `incident.resolved` map back to Vakt through the incident's
`incident_key`: the `dedup_key` Vakt's pagerduty channel sent, i.e. the case number (or a
digest id, which stands for every case in the digest). They go through
`monitor.engine.commands`, like the CLI and the API, so an acknowledgement stops
re-pages. Other events, and keys Vakt did not send, are answered 202 and ignored, so
PagerDuty does not retry them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from monitor.config.records import ChannelType, Config
from monitor.engine import commands
from monitor.notify.message import Payload, PayloadError
from monitor.store import Store
from monitor.web.api.deps import ApiDeps, Handler

log = logging.getLogger(__name__)

WEBHOOK_PATH: Final = "/webhooks/pagerduty"
SIGNATURE_HEADER: Final = "X-PagerDuty-Signature"
ENV_SECRET: Final = "VAKT_PAGERDUTY_WEBHOOK_SECRET"
ACTOR: Final = "pagerduty"

_ACTIONS: Final = {
    "incident.acknowledged": commands.acknowledge,
    "incident.resolved": commands.resolve,
}


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """What Vakt reads from a v3 webhook: the event type, the incident's key, who did it."""

    event_type: str
    incident_key: str | None
    agent: str | None  # the agent's display name, e.g. "Alice Hansen"


def sign(secret: str, body: bytes) -> str:
    """The `v1=<hex>` signature PagerDuty sends for `body` (used by tests and tools)."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secrets: Sequence[str], body: bytes, header: str | None) -> bool:
    """True when one `v1=` signature in `header` matches `body` under one of `secrets`.

    Every pair is compared, in constant time, whatever matched earlier.
    """
    if not header or not secrets:
        return False
    offered = [
        part.strip()[3:].lower().encode() for part in header.split(",") if part.strip()[:3] == "v1="
    ]
    expected = [sign(s, body)[3:].encode() for s in secrets]
    matched = False
    for signature in offered:
        for wanted in expected:
            matched |= hmac.compare_digest(signature, wanted)
    return matched


def webhook_secrets(config: Config, fallback: str | None) -> tuple[str, ...]:
    """The pagerduty channels' secrets, or the fallback (the environment's) when none has one."""
    found = tuple(
        c.secret for c in config.channels.values() if c.type is ChannelType.PAGERDUTY and c.secret
    )
    return found or ((fallback,) if fallback else ())


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_event(body: bytes) -> WebhookEvent | None:
    """The event of a v3 webhook body; None when the body is not one."""
    try:
        event = json.loads(body)["event"]
        event_type = event["event_type"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(event, dict) or not isinstance(event_type, str):
        return None
    data = event.get("data")
    agent = event.get("agent")
    return WebhookEvent(
        event_type=event_type,
        incident_key=_str(data.get("incident_key")) if isinstance(data, dict) else None,
        agent=_str(agent.get("summary")) if isinstance(agent, dict) else None,
    )


def actor_for(config: Config, agent: str | None) -> str:
    """The Vakt person whose name is the PagerDuty agent's, else `pagerduty`."""
    person = next((p.id for p in config.people.values() if agent and p.name == agent), None)
    return person or ACTOR


async def cases_for_key(store: Store, key: str) -> list[str]:
    """The Vakt cases a PagerDuty `incident_key` stands for (none when Vakt did not send it)."""
    async with store.transaction(read_only=True) as tx:
        if await tx.incidents.by_case(key) is not None:
            return [key]
        payloads = await tx.incident_search.payloads_by_subject(key)
    cases: list[str] = []
    for text in payloads:
        try:
            payload = Payload.from_json(text)
        except PayloadError:
            log.warning("pagerduty.unreadable_payload", extra={"key": key})
            continue
        cases.extend(entry.case for entry in payload.incidents)
    return list(dict.fromkeys(cases))


def _reply(status: int, outcome: str, **extra: Any) -> web.Response:
    return web.json_response({"status": outcome, **extra}, status=status)


async def _apply(deps: ApiDeps, event: WebhookEvent, key: str) -> web.Response:
    action = _ACTIONS[event.event_type]
    config = deps.config()
    actor = actor_for(config, event.agent)
    done: list[str] = []
    for case in await cases_for_key(deps.store, key):
        try:
            await action(deps.store, case, actor, deps.clock.now())
        except commands.AlreadyResolved:
            continue  # e.g. Vakt resolved it and told PagerDuty, which tells us back
        except commands.UnknownCase:
            continue
        done.append(case)
    if not done:
        return _reply(202, "ignored", reason="no open Vakt incident for this key")
    log.info("pagerduty.applied", extra={"event": event.event_type, "cases": done})
    return _reply(200, event.event_type.removeprefix("incident."), cases=done)


def webhook_handler(deps: ApiDeps, secret: str | None) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        secrets = webhook_secrets(deps.config(), secret)
        if not secrets:
            return _reply(404, "not configured")
        body = await request.read()
        if not verify_signature(secrets, body, request.headers.get(SIGNATURE_HEADER)):
            log.warning("pagerduty.bad_signature")
            return _reply(401, "invalid signature")
        event = parse_event(body)
        if event is None:
            return _reply(400, "not a PagerDuty v3 webhook")
        if event.event_type not in _ACTIONS or event.incident_key is None:
            return _reply(202, "ignored", reason=f"nothing to do for {event.event_type}")
        try:
            return await _apply(deps, event, event.incident_key)
        except commands.Conflict:
            return _reply(409, "conflict", reason="the incident kept changing; retry")

    return handle


def pagerduty_routes(deps: ApiDeps, *, secret: str | None = None) -> list[web.AbstractRouteDef]:
    """`POST /webhooks/pagerduty`.

    `secret` is the fallback signing secret (from `$VAKT_PAGERDUTY_WEBHOOK_SECRET`); when
    not given, `deps.pagerduty_webhook_secret` is used if `deps` has one.
    """
    fallback = secret if secret is not None else getattr(deps, "pagerduty_webhook_secret", None)
    return [web.post(WEBHOOK_PATH, webhook_handler(deps, fallback))]
