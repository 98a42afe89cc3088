"""Scrape size and render time of /metrics at 10,000 and 100,000 checks.

    .venv/bin/python bench/metrics_scrape.py [--checks 10000 100000] [--rounds 3] [--collector]

Goal: 100k checks render in under 1 s. `--collector` also times the per-check families
written by a prometheus-client custom `Collector` (GaugeMetricFamily per gauge), the
alternative docs/architecture.md explains not taking, interleaved with the hub's writer.
Also reports the hub's per-probe update cost and the worst event-loop stall while a render
runs in the hub's worker thread (the thread still takes the GIL, in switch-interval slices
of 5 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.config.records import Check, HttpSpec, TlsSpec
from monitor.metrics import CHECK_GAUGES, CHECK_LABELS, MetricsHub
from monitor.model import CheckType, Impact, ProbeResult, Timings, Verdict

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def fleet(n: int) -> list[Check]:
    checks = []
    for i in range(n):
        tls = i % 5 == 4
        checks.append(
            Check(
                id=f"customer{i // 50}/site{i // 5}/check{i % 5}",
                customer=f"customer{i // 50}",
                site=f"site{i // 5}",
                name=f"check{i % 5}",
                label="Check",
                type=CheckType.TLS if tls else CheckType.HTTP,
                impact=Impact.OUTAGE,
                interval=timedelta(seconds=60),
                retry_interval=timedelta(seconds=10),
                timeout=timedelta(seconds=10),
                confirm=3,
                recover=2,
                spec=TlsSpec(host="x.example") if tls else HttpSpec(url="https://x.example/"),
            )
        )
    return checks


async def loop_stall_during(hub: MetricsHub) -> tuple[float, float]:
    """(render seconds, worst gap between 1 ms ticks of the loop) for one threaded render."""
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            worst = max(worst, now - last - 0.001)
            last = now

    tick = asyncio.create_task(ticker())
    start = time.perf_counter()
    await hub.render_async()
    elapsed = time.perf_counter() - start
    done = True
    await tick
    return elapsed, worst


class CheckCollector(Collector):
    """The per-check gauges as prometheus-client metric families, read from the hub's table."""

    def __init__(self, hub: MetricsHub, checks: list[Check]) -> None:
        self.hub = hub
        self.keys = [(c.customer, c.site, c.name) for c in checks]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        values = self.hub._table.values
        for spec in CHECK_GAUGES:
            family = GaugeMetricFamily(spec.name, spec.help, labels=CHECK_LABELS)
            for key, value in zip(self.keys, values[spec.name], strict=True):
                if value == value:  # NaN: no series
                    family.add_metric(key, value)
            yield family


def compare_collector(hub: MetricsHub, checks: list[Check], rounds: int) -> None:
    """Median render time of the writer and of a Collector, interleaved round by round."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CheckCollector(hub, checks))
    writer, collector = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        hub.render()
        writer.append(time.perf_counter() - start)
        start = time.perf_counter()
        generate_latest(hub.registry) + generate_latest(registry)
        collector.append(time.perf_counter() - start)
    print(
        f"{len(checks):>7} checks: writer {statistics.median(writer) * 1000:6.0f} ms, "
        f"Collector {statistics.median(collector) * 1000:6.0f} ms (medians of {rounds})"
    )


def measure(n: int, rounds: int, collector: bool = False) -> None:
    checks = fleet(n)
    hub = MetricsHub(version="bench", location="oslo", checks=checks)
    results = [
        ProbeResult(c.id, Verdict.OK, NOW, Timings(0.001, 0.002, 0.003, 0.05, 0.06), "oslo",
                    cert_not_after=NOW if c.type is CheckType.TLS else None)
        for c in checks
    ]  # fmt: skip
    start = time.perf_counter()
    for r in results:
        hub.observe_probe(r, 0.001)
    per_probe = (time.perf_counter() - start) / n * 1e6
    best, size = float("inf"), 0
    for _ in range(rounds):
        start = time.perf_counter()
        body = hub.render()
        best, size = min(best, time.perf_counter() - start), len(body)
    threaded, stall = asyncio.run(loop_stall_during(hub))

    print(
        f"{n:>7} checks: scrape {size / 1e6:6.1f} MB, render {best * 1000:6.0f} ms (best of "
        f"{rounds}), in thread {threaded * 1000:6.0f} ms, worst loop stall "
        f"{stall * 1000:5.1f} ms, observe_probe {per_probe:5.1f} µs"
    )
    if collector:
        compare_collector(hub, checks, rounds)
    hub.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--collector", action="store_true", help="also time a Collector")
    args = parser.parse_args()
    for n in args.checks:
        measure(n, args.rounds, args.collector)


if __name__ == "__main__":
    main()
