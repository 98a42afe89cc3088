"""Helpers shared by the observability tests: checks, results, promtool."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config.records import Check, HeartbeatSpec, HttpSpec, ProbeSpec, TlsSpec
from monitor.model import CheckType, ErrorCode, Impact, ProbeResult, Timings, Verdict

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "alerts"
DASHBOARDS = ROOT / "dashboards"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

_TYPES = {HttpSpec: CheckType.HTTP, TlsSpec: CheckType.TLS, HeartbeatSpec: CheckType.HEARTBEAT}


def make_check(check_id: str, spec: ProbeSpec | None = None) -> Check:
    customer, site, name = check_id.split("/")
    spec = spec if spec is not None else HttpSpec(url=f"https://{site}.example/")
    return Check(
        id=check_id,
        customer=customer,
        site=site,
        name=name,
        label=name.title(),
        type=_TYPES[type(spec)],
        impact=Impact.OUTAGE,
        interval=timedelta(seconds=60),
        retry_interval=timedelta(seconds=10),
        timeout=timedelta(seconds=10),
        confirm=3,
        recover=2,
        spec=spec,
    )


def result(
    check_id: str,
    verdict: Verdict = Verdict.OK,
    *,
    total: float = 0.2,
    error: ErrorCode | None = None,
    cert_not_after: datetime | None = None,
    location: str = "oslo",
) -> ProbeResult:
    timings = Timings(dns=0.01, connect=0.02, tls=0.03, first_byte=0.1, total=total)
    return ProbeResult(
        check_id, verdict, NOW, timings, location, error, cert_not_after=cert_not_after
    )


def promtool() -> str:
    """The promtool binary; skipped when absent, except on CI where it must exist."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is required on CI (Debian package `prometheus`)")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    return found


def run_promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
