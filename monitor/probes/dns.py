"""DNS probe: one query (A, AAAA, CNAME, MX, TXT, NS) and, optionally, the expected answers."""

from __future__ import annotations

import asyncio
import ipaddress

import aiodns
import pycares

from monitor.config.records import Check, DnsRecord, DnsSpec
from monitor.model import ErrorCode, ProbeResult
from monitor.probes.context import ProbeContext
from monitor.probes.lean.errors import raise_if_local
from monitor.probes.phases import Phases
from monitor.probes.results import failed, ok, timeout_detail

_NO_ANSWER = {
    aiodns.error.ARES_ENOTFOUND: "no such domain (NXDOMAIN)",
    aiodns.error.ARES_ENODATA: "no {record} records",
    aiodns.error.ARES_ESERVFAIL: "the server failed (SERVFAIL)",
    aiodns.error.ARES_EREFUSED: "the server refused the query",
    aiodns.error.ARES_ETIMEOUT: "the server did not answer",
    aiodns.error.ARES_ECONNREFUSED: "the server is not reachable",
}


async def probe(check: Check, ctx: ProbeContext) -> ProbeResult:
    """Probe one `type: dns` check against `spec.server`, else the configured resolver."""
    spec = check.spec
    if not isinstance(spec, DnsSpec):
        raise TypeError(f"{check.id}: dns probe given {type(spec).__name__}")
    started_at = ctx.clock.now()
    phases = Phases(ctx.clock.monotonic)
    limit = check.timeout.total_seconds()
    phases.begin("the DNS answer")
    try:
        async with asyncio.timeout(limit):
            result = await ctx.dns_for(spec.server).query_dns(spec.name, spec.record.value)
    except TimeoutError:
        detail = timeout_detail(limit, phases.waiting_for)
        return failed(check.id, ctx, started_at, phases.timings(), ErrorCode.TIMEOUT, detail)
    except aiodns.error.DNSError as exc:
        raise_if_local()  # c-ares hides a resolver without a socket: Vakt's shortage
        phases.add_dns()
        detail = f"{spec.record} {spec.name}: {_no_answer(exc, spec.record)}"
        return failed(check.id, ctx, started_at, phases.timings(), ErrorCode.DNS, detail)
    phases.add_dns()
    got = answers(result, spec.record)
    problem = _problem(spec, got)
    first = got[0] if got and spec.record in (DnsRecord.A, DnsRecord.AAAA) else None
    if problem is not None:
        timings = phases.timings()
        return failed(check.id, ctx, started_at, timings, ErrorCode.DNS, problem, address=first)
    return ok(check.id, ctx, started_at, phases.timings(), address=first)


def _no_answer(exc: aiodns.error.DNSError, record: DnsRecord) -> str:
    code = exc.args[0] if exc.args else None
    text = _NO_ANSWER.get(code) if isinstance(code, int) else None
    if text is None:
        return str(exc.args[1]) if len(exc.args) > 1 else "query failed"
    return text.format(record=record)


def _problem(spec: DnsSpec, got: list[str]) -> str | None:
    if not got:
        return f"{spec.record} {spec.name}: no {spec.record} records"
    if not spec.values:
        return None
    expected = {normalize(spec.record, v) for v in spec.values}
    if spec.record is DnsRecord.MX and all(" " not in v for v in expected):
        got_set = {v.split(" ", 1)[-1] for v in got}  # expectations name hosts only
    else:
        got_set = set(got)
    if got_set == expected:
        return None
    return (
        f"{spec.record} {spec.name}: expected {', '.join(sorted(expected))}, "
        f"got {', '.join(sorted(got_set))}"
    )


def normalize(record: DnsRecord, value: str) -> str:
    """One spelling per value: compressed IPs, lower-case names without the final dot."""
    value = value.strip()
    if record in (DnsRecord.A, DnsRecord.AAAA):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return value
    if record is DnsRecord.TXT:
        return value
    return " ".join(part.rstrip(".").lower() for part in value.split())


def answers(result: pycares.DNSResult, record: DnsRecord) -> list[str]:
    """The answers of the queried type (a CNAME chain before an A answer is skipped)."""
    wanted = getattr(pycares, f"QUERY_TYPE_{record.value}")
    return [_text(record, r.data) for r in result.answer if r.type == wanted]


def _text(record: DnsRecord, data: object) -> str:
    if isinstance(data, pycares.ARecordData | pycares.AAAARecordData):
        return normalize(record, data.addr)
    if isinstance(data, pycares.CNAMERecordData):
        return normalize(record, data.cname)
    if isinstance(data, pycares.MXRecordData):
        return normalize(record, f"{data.priority} {data.exchange}")
    if isinstance(data, pycares.NSRecordData):
        return normalize(record, data.nsdname)
    if isinstance(data, pycares.TXTRecordData):
        return data.data.decode(errors="replace")
    return str(data)
