"""Probing hostile targets over and over does not leak memory."""

from __future__ import annotations

import gc
import itertools
from pathlib import Path

import pytest

from monitor.config.records import DnsSpec, HttpSpec, JsonExpectation, ProbeSpec
from monitor.demo.targets import DOMAIN, CertKind, HostileFleet
from monitor.model import Verdict
from monitor.probes import ProbeContext, run_probe
from tests.probes.conftest import make_check


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def hostile_specs(fleet: HostileFleet) -> list[ProbeSpec]:
    bad_json = (JsonExpectation(("status",), "ok"),)
    return [
        HttpSpec(url=fleet.url("/reset")),
        HttpSpec(url=fleet.url("/loop")),
        HttpSpec(url=fleet.url("/huge")),
        HttpSpec(url=fleet.url("/error-page"), body_not_contains="Fatal"),
        HttpSpec(url=fleet.url("/json/error"), json=bad_json),
        HttpSpec(url=fleet.url("/garbage")),
        HttpSpec(url=fleet.url("/hang")),
        HttpSpec(url=fleet.url("/slow-headers")),
        HttpSpec(url=f"http://127.0.0.1:{fleet.closed_port}/"),
        HttpSpec(url=f"http://nope.{DOMAIN}:{fleet.port}/"),
        HttpSpec(url=fleet.tls_url(CertKind.EXPIRED)),
        HttpSpec(url=fleet.tls_url(CertKind.SELF_SIGNED)),
        HttpSpec(url=fleet.tls_url(CertKind.WRONG_HOST)),
        DnsSpec(name=f"wrong.{DOMAIN}", values=("127.0.0.1",)),
    ]


async def _probe_many(fleet: HostileFleet, ctx: ProbeContext, warm: int, total: int) -> int:
    import asyncio

    checks = [make_check(spec, timeout=0.05) for spec in hostile_specs(fleet)]
    # the endless body costs 1 MiB of traffic per probe: include it, but rarely
    endless = make_check(HttpSpec(url=fleet.url("/endless")), timeout=1.0)
    cycle = itertools.cycle(checks)
    baseline = 0
    done = 0
    while done < total:
        batch = [next(cycle) for _ in range(50)] + ([endless] if done % 1000 == 0 else [])
        results = await asyncio.gather(*(run_probe(c, ctx) for c in batch))
        assert all(r.verdict is Verdict.FAILED for r in results), [
            r.detail for r in results if r.verdict is not Verdict.FAILED
        ]
        done += len(batch)
        if baseline == 0 and done >= warm:
            gc.collect()
            baseline = _rss_kib()
    gc.collect()
    return _rss_kib() - baseline


async def test_rss_stays_flat_while_probing_hostile_targets(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    # the first 1,800 probes warm the allocator's arenas (how far depends on the machine's
    # load, which sets how many probes overlap); a leak shows in the 1,800 after them (seen:
    # flat from there, under a load average of 7)
    growth = await _probe_many(fleet, ctx, warm=1800, total=3600)
    assert growth < 5 * 1024, f"RSS grew by {growth} KiB"


@pytest.mark.slow
async def test_rss_grows_under_5_mb_between_probe_2000_and_10000(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    growth = await _probe_many(fleet, ctx, warm=2000, total=10000)
    assert growth < 5 * 1024, f"RSS grew by {growth} KiB"
