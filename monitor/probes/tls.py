"""TLS probe: a full handshake, chain and host name verified, remaining validity."""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial

from monitor.config.records import Check, TlsSpec
from monitor.model import ErrorCode, ProbeResult
from monitor.probes.certs import explain
from monitor.probes.context import ProbeContext
from monitor.probes.lean.errors import is_local, local_detail, os_reason
from monitor.probes.lean.peek import connect, peer_certificate, shake
from monitor.probes.lean.tls import TlsError
from monitor.probes.net import (
    Blocked,
    ResolveError,
    connect_problem,
    first_reachable,
    permitted,
    resolve,
)
from monitor.probes.phases import Phases
from monitor.probes.results import failed, ok, timeout_detail


class _Refused(Exception):
    """The handshake did not complete; args: (code, detail)."""


async def probe(check: Check, ctx: ProbeContext) -> ProbeResult:
    """Probe one `type: tls` check: degraded when less than `valid_for` remains."""
    spec = check.spec
    if not isinstance(spec, TlsSpec):
        raise TypeError(f"{check.id}: tls probe given {type(spec).__name__}")
    started_at = ctx.clock.now()
    phases = Phases(ctx.clock.monotonic)
    limit = check.timeout.total_seconds()
    try:
        async with asyncio.timeout(limit):
            not_after, address = await _handshake(spec, ctx, phases)
    except TimeoutError:
        detail = timeout_detail(limit, phases.waiting_for)
        return failed(check.id, ctx, started_at, phases.timings(), ErrorCode.TIMEOUT, detail)
    except ResolveError as exc:
        return failed(check.id, ctx, started_at, phases.timings(), ErrorCode.DNS, str(exc))
    except _Refused as exc:
        code, detail = exc.args
        return failed(check.id, ctx, started_at, phases.timings(), code, detail)
    return _judge(check.id, spec, ctx, started_at, phases, not_after, address)


async def _handshake(
    spec: TlsSpec, ctx: ProbeContext, phases: Phases
) -> tuple[datetime | None, str]:
    name = spec.server_name or spec.host
    addresses = await resolve(ctx.dns, spec.host, phases)
    try:
        addresses = permitted(ctx.policy, addresses, spec.port, spec.host)
    except Blocked as exc:
        raise _Refused(ErrorCode.BLOCKED, str(exc)) from None
    loop = asyncio.get_running_loop()
    phases.begin("a connection")
    try:
        sock, address = await first_reachable(
            addresses, partial(connect, loop, port=spec.port, source=ctx.source)
        )
    except OSError as exc:
        raise _Refused(*connect_problem(exc, addresses[-1], spec.port)) from None
    with sock:
        phases.add_connect()
        phases.begin("the TLS handshake")
        try:
            tls = ctx.tls.connect(name)
            await shake(loop, sock, tls)
        except TlsError as exc:
            if not exc.verify_code:
                raise _Refused(ErrorCode.TLS, f"TLS handshake failed: {exc.reason}") from None
            cert = await peer_certificate(ctx.unverified, address, spec.port, name)
            raise _Refused(ErrorCode.TLS, explain(exc, cert, name)) from None
        except OSError as exc:
            if is_local(exc):
                raise _Refused(ErrorCode.LOCAL_RESOURCE, local_detail(exc)) from None
            raise _Refused(ErrorCode.TLS, f"TLS handshake failed: {os_reason(exc)}") from None
    phases.add_tls()
    return tls.not_after(), address


def _judge(
    check_id: str,
    spec: TlsSpec,
    ctx: ProbeContext,
    started_at: datetime,
    phases: Phases,
    not_after: datetime | None,
    address: str,
) -> ProbeResult:
    timings = phases.timings()
    if not_after is not None and not_after - started_at < spec.valid_for:
        days = max((not_after - started_at).days, 0)
        detail = f"certificate expires on {not_after.date().isoformat()} (in {days} days)"
        return failed(
            check_id,
            ctx,
            started_at,
            timings,
            ErrorCode.CERT_EXPIRING,
            detail,
            cert_not_after=not_after,
            address=address,
        )
    return ok(check_id, ctx, started_at, timings, cert_not_after=not_after, address=address)
