"""The probe seam and its one registry.

Every probe is `async def probe(check, ctx) -> ProbeResult` and returns a result for
every target failure; only bugs raise. `run_probe` adds the backstop timeout that the
scheduler relies on, so a probe that forgets to bound an await still ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType

from monitor.config.records import Check
from monitor.model import CheckType, ErrorCode, ProbeResult, Timings
from monitor.probes import dns, heartbeat, http, tcp, tls
from monitor.probes.context import ProbeContext
from monitor.probes.lean.errors import is_local, local_detail
from monitor.probes.results import failed, timeout_detail

log = logging.getLogger(__name__)

ProbeFn = Callable[[Check, ProbeContext], Awaitable[ProbeResult]]

PROBES: Mapping[CheckType, ProbeFn] = MappingProxyType(
    {
        CheckType.HTTP: http.probe,
        CheckType.TLS: tls.probe,
        CheckType.TCP: tcp.probe,
        CheckType.DNS: dns.probe,
        CheckType.HEARTBEAT: heartbeat.probe,
    }
)

BACKSTOP = 1.0  # seconds beyond `check.timeout` before `run_probe` gives up on a probe

# Probes that put every await of theirs under one `asyncio.timeout(check.timeout)` and
# turn it into a result: a second timeout around them would only cost (a timer handle,
# a clock read and a context manager per probe, ~4 % of a plain HTTP probe).
SELF_BOUNDED: frozenset[CheckType] = frozenset({CheckType.HTTP})


async def run_probe(check: Check, ctx: ProbeContext) -> ProbeResult:
    """Run `check`'s probe, never for longer than its timeout plus `BACKSTOP` seconds.

    A probe that raises is a bug in Vakt: logged as `probe.crashed` with its traceback
    (Sentry) and returned as an `internal` result; out of descriptors or memory where no
    probe expected it is `local_resource`. Neither is evidence about the target
    (`ProbeResult.is_evidence`): the check keeps its state. (A `try` costs nothing
    until something raises: the clock is read only then.)
    """
    try:
        return await _bounded(check, ctx)
    except Exception as exc:
        now, timings = ctx.clock.now(), Timings()
        if is_local(exc):
            detail = local_detail(exc)
            return failed(check.id, ctx, now, timings, ErrorCode.LOCAL_RESOURCE, detail)
        log.exception("probe.crashed", extra={"check": check.id, "type": check.type.value})
        detail = f"Vakt's {check.type.value} probe failed ({type(exc).__name__}): a bug in Vakt"
        return failed(check.id, ctx, now, timings, ErrorCode.INTERNAL, detail)


async def _bounded(check: Check, ctx: ProbeContext) -> ProbeResult:
    probe = PROBES[check.type]
    if check.type in SELF_BOUNDED:
        return await probe(check, ctx)
    limit = check.timeout.total_seconds()
    started_at = ctx.clock.now()
    start = ctx.clock.monotonic()
    try:
        async with asyncio.timeout(limit + BACKSTOP):
            return await probe(check, ctx)
    except TimeoutError:
        timings = Timings(total=ctx.clock.monotonic() - start)
        detail = timeout_detail(limit, "the probe to finish")
        return failed(check.id, ctx, started_at, timings, ErrorCode.TIMEOUT, detail)
