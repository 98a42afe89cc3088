"""Probes: one module per check type, one registry (`base.PROBES`), one seam.

async with open_probe_context(clock) as ctx:
    result = await run_probe(check, ctx)
"""

from monitor.probes.base import PROBES, ProbeFn, run_probe
from monitor.probes.context import (
    Beat,
    HeartbeatLog,
    InMemoryHeartbeatLog,
    ProbeContext,
    open_probe_context,
)
from monitor.probes.heartbeat import check_token, heartbeat_token, heartbeat_url
from monitor.probes.http import probe_url

__all__ = [
    "PROBES",
    "Beat",
    "HeartbeatLog",
    "InMemoryHeartbeatLog",
    "ProbeContext",
    "ProbeFn",
    "check_token",
    "heartbeat_token",
    "heartbeat_url",
    "open_probe_context",
    "probe_url",
    "run_probe",
]
