"""Heartbeat checks (push): a site's job calls a per-check URL; silence means trouble.

The token in the URL is derived from `settings.heartbeat_key` and the check's stable id,
so it survives restarts and reloads and needs no storage. The HTTP endpoint that records
beats belongs to the web layer; here is the token, the URL and the evaluation of lateness.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from monitor.config.records import Check, HeartbeatSpec, Settings
from monitor.model import ErrorCode, ProbeResult, Timings
from monitor.probes.context import ProbeContext
from monitor.probes.results import failed, ok

TOKEN_BYTES = 18  # 144 bits: unguessable, and a 24-character URL segment


def heartbeat_token(key: str, check_id: str) -> str:
    """A stable, URL-safe token for `check_id`: HMAC-SHA256 under `key`, truncated."""
    digest = hmac.new(key.encode(), check_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode().rstrip("=")


def heartbeat_url(public_url: str, token: str) -> str:
    """Where a job pings: `<public_url>/heartbeat/<token>` (append `/fail` to report failure)."""
    return f"{public_url.rstrip('/')}/heartbeat/{token}"


def check_token(check: Check, settings: Settings) -> str | None:
    """The check's token: its explicit `token`, else derived; None without a key."""
    spec = check.spec
    if not isinstance(spec, HeartbeatSpec):
        return None
    if spec.token:
        return spec.token
    if settings.heartbeat_key is None:
        return None
    return heartbeat_token(settings.heartbeat_key, check.id)


async def probe(check: Check, ctx: ProbeContext) -> ProbeResult:
    """Evaluate lateness from the last beat (no network): late after `every` + `grace`.

    Without any beat yet, the clock starts when this process began watching.
    """
    spec = check.spec
    if not isinstance(spec, HeartbeatSpec):
        raise TypeError(f"{check.id}: heartbeat probe given {type(spec).__name__}")
    now = ctx.clock.now()
    return evaluate(check.id, spec, ctx, now)


def evaluate(check_id: str, spec: HeartbeatSpec, ctx: ProbeContext, now: datetime) -> ProbeResult:
    beat = ctx.heartbeats.last(check_id)
    timings = Timings()
    allowed = spec.every + spec.grace
    if beat is not None and beat.failed:
        detail = f"the job reported a failure at {_stamp(beat.at)}"
        return failed(check_id, ctx, now, timings, ErrorCode.REPORTED, detail)
    since = beat.at if beat is not None else ctx.started_at
    if now - since <= allowed:
        return ok(check_id, ctx, now, timings)
    if beat is None:
        detail = f"no ping received in {_span(now - since)} (expected every {_span(spec.every)})"
    else:
        detail = (
            f"last ping {_span(now - beat.at)} ago at {_stamp(beat.at)} "
            f"(expected every {_span(spec.every)} + {_span(spec.grace)} grace)"
        )
    return failed(check_id, ctx, now, timings, ErrorCode.LATE, detail)


def _stamp(moment: datetime) -> str:
    return (
        moment.strftime("%Y-%m-%d %H:%M UTC")
        if moment.utcoffset() == timedelta(0)
        else (moment.isoformat(timespec="minutes"))
    )


def _span(delta: timedelta) -> str:
    """`1d 2h`, `5m`, `45s`: the two largest units."""
    total = int(delta.total_seconds())
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size or (unit == "s" and not parts):
            parts.append(f"{total // size}{unit}")
            total %= size
        if len(parts) == 2:
            break
    return " ".join(parts)
