"""Descriptions of a site's trouble in plain words, from the evidence.

Checkout (https://shop.acme.example/checkout) fails since 14:02 UTC from oslo:
expected status 200, got 500.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from monitor.config.records import Check, DnsSpec, HeartbeatSpec, HttpSpec, Site, TcpSpec, TlsSpec
from monitor.evaluate.baseline import SlowFinding
from monitor.evaluate.checkstate import CheckVerdict
from monitor.evaluate.level import SiteAssessment


def describe(site: Site, assessment: SiteAssessment, timezone: tzinfo) -> str:
    """One sentence per failing, degraded or slow check, failing first; times in
    `timezone`. A site with nothing wrong is described as recovered."""
    checks = {c.id: c for c in site.checks}
    parts = [_verdict(checks, v, "fails", timezone) for v in assessment.failing]
    parts += [_verdict(checks, v, "is degraded", timezone) for v in assessment.degraded]
    parts += [_slow(checks, s) for s in assessment.slow]
    return " ".join(parts) if parts else f"{site.label} has recovered."


def target(check: Check) -> str:
    """What a check looks at, as a person would write it."""
    spec = check.spec
    if isinstance(spec, HttpSpec):
        return spec.url
    if isinstance(spec, TlsSpec):
        return f"certificate of {spec.server_name or spec.host}:{spec.port}"
    if isinstance(spec, TcpSpec):
        return f"{spec.host}:{spec.port}"
    if isinstance(spec, DnsSpec):
        return f"{spec.record.value} record of {spec.name}"
    if isinstance(spec, HeartbeatSpec):
        return f"heartbeat every {duration(spec.every)}"
    raise TypeError(f"unknown probe spec {type(spec).__name__}")  # pragma: no cover


def duration(span: timedelta) -> str:
    """`10 min`, `2 h`, `1 d`, `45 s`: the largest whole unit."""
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def latency(seconds: float) -> str:
    """`340 ms` below a second, `2.4 s` above."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def clock_time(at: datetime, timezone: tzinfo) -> str:
    local = at.astimezone(timezone)
    return f"{local:%H:%M} {local.tzname()}"


def _name(checks: dict[str, Check], check_id: str) -> str:
    check = checks.get(check_id)
    if check is None:
        return check_id
    return f"{check.label} ({target(check)})"


def _verdict(checks: dict[str, Check], v: CheckVerdict, verb: str, timezone: tzinfo) -> str:
    text = f"{_name(checks, v.check_id)} {verb}"
    if v.since is not None:
        text += f" since {clock_time(v.since, timezone)}"
    if v.locations:
        text += f" from {', '.join(v.locations)}"
    return f"{text}: {_evidence(v)}."


def _evidence(v: CheckVerdict) -> str:
    if v.evidence is None:
        return "no detail recorded"
    detail = v.evidence.detail.strip().rstrip(".")
    if detail:
        return detail
    return v.evidence.error.value.replace("_", " ") if v.evidence.error else "no detail recorded"


def _slow(checks: dict[str, Check], s: SlowFinding) -> str:
    return (
        f"{_name(checks, s.check_id)} is slow: median {latency(s.median)} over the last "
        f"{duration(s.over)}, against a usual {latency(s.baseline)}."
    )
