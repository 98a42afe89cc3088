"""Delivery delay: how long a notification waits from its due time to its delivery, with
the real `vakt run`, under normal load and during an SMTP outage.

    .venv/bin/python bench/delivery_delay.py [--sites 50] [--outage 60] [--duration 90]
    .venv/bin/python bench/delivery_delay.py --store postgresql --pg-dsn postgresql://...
    .venv/bin/python bench/delivery_delay.py --phase outage --outage 300

`vakt run` runs as a process of its own on a generated checks.yaml (its defaults: no
setting is shortened) with a store in a temp directory (SQLite) or a fresh PostgreSQL
database; this process runs the targets (`HostileFleet`, one site per customer, every
site failing from the start, so Level A opens everywhere: pages and digests to the
on-call person, an email to each customer, updates) and an SMTP server (aiosmtpd on
127.0.0.1). Two phases, each on a fresh store:

- `normal`: the server accepts everything;
- `outage`: the server answers 421 to every message for `--outage` seconds from the first
  one it is offered, then accepts.

Each phase runs `--duration` seconds from the first message (at least the outage plus
30 s), heals the sites, waits until every case is resolved and nothing is pending, then
prints, per channel and kind, how many were sent and the p50/p99/max of the delay from the
store; and, when `/metrics` has the histogram `vakt_notification_delivery_delay_seconds`,
its p50/p99 (interpolated in the buckets as Prometheus' `histogram_quantile` does), marked
"from /metrics" beside the store's. A retry moves a row's `due_at` to the retry's time, so
`due -> sent` shows only the last back-off wait; `first due/planned -> sent` counts from
min(due_at, created_at) and shows what an outage costs. Prints the machine's cores and
load average.
Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import math
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiosmtpd.smtp import SMTP
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from monitor.demo.targets import HostileFleet
from monitor.demo.targets.http import SiteState
from monitor.store import Store
from monitor.store.tables import incidents, outbox

METRIC = "vakt_notification_delivery_delay_seconds"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

HEAD = """\
vakt: 1
settings:
  timezone: UTC
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  secret: bench-secret-0123456789abcdef
  location: bench
  email:
    from: "Agency Support <support@agency.example>"
    team: ops@agency.example
    smtp: {{host: 127.0.0.1, port: {smtp}}}
  paging: {{group_window: 5s}}
  defaults: {{interval: 2s, retry_interval: 1s, timeout: 2s, confirm: 2, recover: 2}}
policies:
  fast:
    levels:
      A: {{respond: 2h, clock: always, page: always, customer_email_after: 5s,
          update_every: [20s]}}
people:
  alice: {{name: Alice Hansen, email: alice@agency.example}}
oncall:
  escalation:
    default:
      steps:
        - {{notify: [person:alice], via: [email]}}
      repeat_every: 20s
      max_repeats: 100
customers:
"""
CUSTOMER = """\
  c{n:03d}:
    name: Customer {n}
    policy: fast
    contacts: [{{name: Contact {n}, email: contact{n}@customer{n}.example}}]
    sites:
      site:
        url: {url}
        checks:
          home: {{path: /}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Sink:
    """aiosmtpd handler: answers 421 for `outage` seconds from the first message it is
    offered, then accepts and counts."""

    def __init__(self, outage: float) -> None:
        self.outage = outage
        self.first: float | None = None  # monotonic time of the first message offered
        self.accepted = 0
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        if self.first is None:
            self.first = now
        if now - self.first < self.outage:
            self.refused += 1
            return "421 4.3.2 Service not available, try again later"
        email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        self.accepted += 1
        return "250 OK"


@asynccontextmanager
async def smtp_server(sink: Sink) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="bench"), "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def fresh_store(kind: str, pg_dsn: str, directory: Path) -> AsyncIterator[str]:
    """A migrated, empty store: a SQLite file, or a PostgreSQL database dropped after."""
    if kind == "sqlite":
        url = f"sqlite:///{directory / f'{uuid.uuid4().hex[:8]}.db'}"
        async with Store(url) as store:
            await store.upgrade()
        yield url
        return
    name = f"vakt_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = pg_dsn.rsplit("/", 1)[0] + f"/{name}"
    try:
        async with Store(url) as store:
            await store.upgrade()
        yield url
    finally:
        admin = await asyncpg.connect(pg_dsn)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


@dataclass(frozen=True, slots=True)
class Figures:
    """Seconds to delivery: from the row's `due_at` (after a retry: the retry's time, as
    the dispatcher's histogram sees it) and from when it was first due or planned
    (min(due_at, created_at): the wait a failed first attempt adds counts too)."""

    count: int
    p50: float
    p99: float
    worst: float
    planned_p50: float
    planned_p99: float
    planned_worst: float


def figures_of(due: list[float], planned: list[float]) -> Figures:
    due, planned = sorted(due), sorted(planned)
    return Figures(
        len(due),
        quantile(due, 0.5),
        quantile(due, 0.99),
        due[-1],
        quantile(planned, 0.5),
        quantile(planned, 0.99),
        planned[-1],
    )


def quantile(sorted_values: list[float], q: float) -> float:
    """Nearest rank."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


async def store_delays(url: str) -> tuple[dict[tuple[str, str], Figures], int, int]:
    """Per (channel, kind): figures of sent_at - due_at; and how many rows are pending and
    how many cases are unresolved."""
    async with Store(url) as store, store.transaction(read_only=True) as tx:
        conn = tx.outbox.conn
        columns = ("channel", "kind", "status", "created_at", "due_at", "sent_at")
        rows = (await conn.execute(select(*(outbox.c[c] for c in columns)))).all()
        open_cases = len(
            (
                await conn.execute(select(incidents.c.id).where(incidents.c.status != "resolved"))
            ).all()
        )
    due: dict[tuple[str, str], list[float]] = defaultdict(list)
    planned: dict[tuple[str, str], list[float]] = defaultdict(list)
    pending = 0
    for row in rows:
        pending += row.status == "pending"
        if row.sent_at is not None:
            key = (row.channel, row.kind)
            due[key].append((row.sent_at - row.due_at).total_seconds())
            origin = min(row.due_at, row.created_at)
            planned[key].append((row.sent_at - origin).total_seconds())
    figures = {key: figures_of(due[key], planned[key]) for key in sorted(due)}
    return figures, pending, open_cases


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' `histogram_quantile` over cumulative (upper bound, count) buckets."""
    buckets.sort()
    total = buckets[-1][1] if buckets else 0.0
    if total == 0:
        return math.nan
    rank, lower, below = q * total, 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = upper, count
    return lower


async def metric_delays(base: str) -> dict[tuple[str, str], tuple[float, float]] | None:
    """p50/p99 per (channel, kind) from `/metrics`; None when the histogram is absent."""
    async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as response:
        text = await response.text()
    buckets: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    found = False
    for family in text_string_to_metric_families(text):
        if family.name != METRIC:
            continue
        found = True
        for sample in family.samples:
            if sample.name == f"{METRIC}_bucket":
                key = (sample.labels.get("channel", ""), sample.labels.get("kind", ""))
                buckets[key].append((float(sample.labels["le"]), sample.value))
    if not found:
        return None
    return {
        key: (histogram_quantile(0.5, found), histogram_quantile(0.99, found))
        for key, found in buckets.items()
    }


async def wait_for(what: str, probe: Any, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await probe():
            return True
        await asyncio.sleep(1.0)
    print(f"  (gave up waiting for {what} after {limit:g} s)")
    return False


async def phase(args: argparse.Namespace, name: str, outage: float, directory: Path) -> None:
    sink = Sink(outage)
    async with (
        HostileFleet(directory) as fleet,
        smtp_server(sink) as smtp_port,
        fresh_store(args.store, args.pg_dsn, directory) as url,
    ):
        for n in range(args.sites):
            fleet.http.site(f"s{n}").state = SiteState.ERROR
        private = free_port()
        config = directory / f"{name}.yaml"
        body = HEAD.format(store=url, private=private, public=free_port(), smtp=smtp_port)
        body += "".join(
            CUSTOMER.format(n=n, url=fleet.url(f"/sites/s{n}/")) for n in range(args.sites)
        )
        config.write_text(body)
        log = (directory / f"{name}.log").open("wb")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "run", "-c", str(config), stdout=log, stderr=log
        )
        try:

            async def offered() -> bool:
                return sink.first is not None

            await wait_for("the first message", offered, 120.0)
            await asyncio.sleep(args.duration)  # from the first message (the outage's start)
            for n in range(args.sites):
                fleet.http.site(f"s{n}").state = SiteState.HEALTHY

            async def drained() -> bool:
                _, pending, open_cases = await store_delays(url)
                return pending == 0 and open_cases == 0

            await wait_for("every case resolved and the outbox drained", drained, args.drain)
            from_metrics = await metric_delays(f"http://127.0.0.1:{private}")
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await proc.wait()
            log.close()
        figures, pending, _ = await store_delays(url)
    report(name, outage, sink, figures, from_metrics, pending)


def report(
    name: str,
    outage: float,
    sink: Sink,
    figures: dict[tuple[str, str], Figures],
    from_metrics: dict[tuple[str, str], tuple[float, float]] | None,
    pending: int,
) -> None:
    what = f"SMTP 421 for {outage:g} s" if outage else "SMTP accepting"
    counts = f"{sink.accepted} accepted, {sink.refused} refused, {pending} still pending"
    print(f"\n{name}: {what}; {counts}")
    print(f"  {'':37} {'due -> sent (s)':^26} {'first due/planned -> sent':^26}")
    print(
        f"  {'channel':8} {'kind':22} {'sent':>5} {'p50':>8} {'p99':>8} {'max':>8} "
        f"{'p50':>8} {'p99':>8} {'max':>8}"
    )
    for (channel, kind), f in figures.items():
        line = (
            f"  {channel:8} {kind:22} {f.count:5d} {f.p50:8.2f} {f.p99:8.2f} {f.worst:8.2f} "
            f"{f.planned_p50:8.2f} {f.planned_p99:8.2f} {f.planned_worst:8.2f}"
        )
        if from_metrics is None:
            print(f"{line}  from the store")
            continue
        m50, m99 = from_metrics.get((channel, kind), (math.nan, math.nan))
        print(f"{line}  from the store; from /metrics: p50 {m50:.2f} p99 {m99:.2f}")


def load_average() -> str:
    return Path("/proc/loadavg").read_text().strip()


async def run(args: argparse.Namespace) -> int:
    print(f"cores           {os.cpu_count()}")
    print(f"load average    {load_average()}")
    print(f"sites down      {args.sites}  store: {args.store}  duration: {args.duration:g} s")
    phases = [("normal", 0.0), ("outage", args.outage)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, outage in phases:
            if args.phase in (name, "both"):
                await phase(args, name, outage, Path(tmp))
    print(f"\nload average    {load_average()}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=50, help="sites down (one per customer)")
    parser.add_argument("--outage", type=float, default=60.0, help="seconds of SMTP 421")
    parser.add_argument(
        "--duration", type=float, default=90.0, help="seconds per phase from the first message"
    )
    parser.add_argument("--drain", type=float, default=600.0, help="longest wait to drain")
    parser.add_argument("--phase", choices=("normal", "outage", "both"), default="both")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-dsn", default=os.environ.get("VAKT_TEST_PG_DSN", DEFAULT_PG))
    args = parser.parse_args()
    args.duration = max(args.duration, args.outage + 30.0)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
