"""TCP probe: connect; optionally send a line and expect a banner in the reply."""

from __future__ import annotations

import asyncio

from monitor.config.records import Check, TcpSpec
from monitor.model import ErrorCode, ProbeResult
from monitor.probes.context import ProbeContext
from monitor.probes.lean.source import Source
from monitor.probes.net import (
    Blocked,
    ResolveError,
    connect_problem,
    first_reachable,
    permitted,
    resolve,
)
from monitor.probes.phases import Phases
from monitor.probes.results import clip, failed, ok, timeout_detail

MAX_BANNER = 64 * 1024  # read no more than this looking for the expected banner


async def probe(check: Check, ctx: ProbeContext) -> ProbeResult:
    """Probe one `type: tcp` check."""
    spec = check.spec
    if not isinstance(spec, TcpSpec):
        raise TypeError(f"{check.id}: tcp probe given {type(spec).__name__}")
    started_at = ctx.clock.now()
    phases = Phases(ctx.clock.monotonic)
    limit = check.timeout.total_seconds()
    try:
        async with asyncio.timeout(limit):
            addresses = await resolve(ctx.dns, spec.host, phases)
            addresses = permitted(ctx.policy, addresses, spec.port, spec.host)
            problem, address = await _converse(spec, addresses, phases, ctx.source)
    except TimeoutError:
        detail = timeout_detail(limit, phases.waiting_for)
        return failed(check.id, ctx, started_at, phases.timings(), ErrorCode.TIMEOUT, detail)
    except ResolveError as exc:
        return failed(check.id, ctx, started_at, phases.timings(), ErrorCode.DNS, str(exc))
    except Blocked as exc:
        return failed(check.id, ctx, started_at, phases.timings(), ErrorCode.BLOCKED, str(exc))
    if problem is not None:
        code, detail = problem
        timings = phases.timings()
        return failed(check.id, ctx, started_at, timings, code, detail, address=address)
    return ok(check.id, ctx, started_at, phases.timings(), address=address)


Problem = tuple[ErrorCode, str] | None


async def _converse(
    spec: TcpSpec, addresses: list[str], phases: Phases, source: Source
) -> tuple[Problem, str]:
    phases.begin("a connection")
    try:
        (reader, writer), address = await first_reachable(
            addresses,
            lambda a: asyncio.open_connection(a, spec.port, local_addr=source.local_addr_for(a)),
        )
    except OSError as exc:
        return connect_problem(exc, addresses[-1], spec.port), addresses[-1]
    phases.add_connect()
    return await _talk(spec, reader, writer, phases), address


async def _talk(
    spec: TcpSpec, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, phases: Phases
) -> Problem:
    try:
        if spec.send is not None:
            writer.write(spec.send.encode())
        if spec.banner is None:
            return None
        phases.begin(f"{spec.banner!r} from the server")
        return await _expect(reader, spec.banner.encode())
    except ConnectionError:
        return ErrorCode.RESET, "connection reset by the server"
    finally:
        writer.transport.abort()


async def _expect(reader: asyncio.StreamReader, banner: bytes) -> Problem:
    received = b""
    while banner not in received and len(received) < MAX_BANNER:
        chunk = await reader.read(4096)
        if not chunk:
            break
        received += chunk
    if banner in received:
        return None
    got = clip(received.decode(errors="replace")) or "nothing"
    return ErrorCode.BODY, f"expected {banner.decode()!r} from the server, got {got!r}"
