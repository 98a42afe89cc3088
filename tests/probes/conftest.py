"""Probe tests run against the real target fleet on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.clock import SystemClock
from monitor.config.records import Check, ProbeSpec
from monitor.demo.targets import HostileFleet
from monitor.model import CheckType, Impact
from monitor.probes import InMemoryHeartbeatLog, ProbeContext, open_probe_context

_TYPES = {
    "HttpSpec": CheckType.HTTP,
    "TlsSpec": CheckType.TLS,
    "TcpSpec": CheckType.TCP,
    "DnsSpec": CheckType.DNS,
    "HeartbeatSpec": CheckType.HEARTBEAT,
}


def make_check(spec: ProbeSpec, *, name: str = "home", timeout: float = 2.0) -> Check:
    return Check(
        id=f"acme/shop/{name}",
        customer="acme",
        site="shop",
        name=name,
        label=name.title(),
        type=_TYPES[type(spec).__name__],
        impact=Impact.OUTAGE,
        interval=timedelta(seconds=60),
        retry_interval=timedelta(seconds=10),
        timeout=timedelta(seconds=timeout),
        confirm=3,
        recover=2,
        spec=spec,
    )


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[HostileFleet]:
    async with HostileFleet(tmp_path) as running:
        yield running


@pytest.fixture
def heartbeats() -> InMemoryHeartbeatLog:
    return InMemoryHeartbeatLog()


@pytest.fixture
async def ctx(fleet: HostileFleet, heartbeats: InMemoryHeartbeatLog) -> AsyncIterator[ProbeContext]:
    async with open_probe_context(
        SystemClock(),
        location="oslo",
        resolver=fleet.resolver,
        heartbeats=heartbeats,
        ca_file=fleet.ca_file,
    ) as context:
        yield context
