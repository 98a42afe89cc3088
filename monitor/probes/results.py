"""Building `ProbeResult`s and human details shared by the probe modules."""

from __future__ import annotations

from datetime import datetime

from monitor.model import DEGRADED_CODES, ErrorCode, ProbeResult, Timings, Verdict
from monitor.probes.context import ProbeContext


def failed(
    check_id: str,
    ctx: ProbeContext,
    started_at: datetime,
    timings: Timings,
    error: ErrorCode,
    detail: str,
    *,
    status_code: int | None = None,
    response_bytes: int | None = None,
    cert_not_after: datetime | None = None,
    address: str | None = None,
) -> ProbeResult:
    """A failed result (or degraded, when `error` is a degraded code)."""
    verdict = Verdict.DEGRADED if error in DEGRADED_CODES else Verdict.FAILED
    return ProbeResult(
        check_id,
        verdict,
        started_at,
        timings,
        ctx.location,
        error,
        detail,
        status_code,
        response_bytes,
        cert_not_after,
        address,
    )


def ok(
    check_id: str,
    ctx: ProbeContext,
    started_at: datetime,
    timings: Timings,
    *,
    status_code: int | None = None,
    response_bytes: int | None = None,
    cert_not_after: datetime | None = None,
    address: str | None = None,
) -> ProbeResult:
    return ProbeResult(
        check_id,
        Verdict.OK,
        started_at,
        timings,
        ctx.location,
        None,
        "",
        status_code,
        response_bytes,
        cert_not_after,
        address,
    )


def seconds(value: float) -> str:
    """`0.25 s`, `3 s`, `12.5 s`: short and readable."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text} s"


def clip(text: str, limit: int = 60) -> str:
    """A short, single-line excerpt of what a server sent, for details."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def timeout_detail(limit: float, waiting_for: str) -> str:
    return f"no answer within {seconds(limit)} while waiting for {waiting_for}"
