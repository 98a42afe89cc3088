"""Probe capacity: scheduler + probe + hand-off, on one core, against a loopback fleet.

    .venv/bin/python bench/probe_capacity.py --vakt-run --checks 100000 --interval 60 --duration 60
    .venv/bin/python bench/probe_capacity.py --vakt-run --checks 5000 --interval 1 --duration 20
    .venv/bin/python bench/probe_capacity.py --checks 3000 --interval 1 --duration 10
    .venv/bin/python bench/probe_capacity.py --checks 100000 --interval 60 --duration 60
    .venv/bin/python bench/probe_capacity.py --tls --checks 3000 --interval 1
    .venv/bin/python bench/probe_capacity.py --tls --fleet nginx --checks 3000 --interval 1
    .venv/bin/python bench/probe_capacity.py --tls --fleet nginx --verify-every-probe
    .venv/bin/python bench/probe_capacity.py --blackbox --concurrency 64
    .venv/bin/python bench/probe_capacity.py --end-to-end --checks 3000 --interval 1
    .venv/bin/python bench/probe_capacity.py --end-to-end --failing 0.05 --checks 3000

Vakt runs on CPU 0 (uvloop, the heap scheduler, the real probes). The targets run in
`--target-procs` processes pinned to CPU 1, sharing one port per service with
SO_REUSEPORT on 127.0.0.1 and ::1. A DNS server for `vakt.test` runs in its own process
on CPU 1 and answers with `--ttl` (0 by default: Vakt's resolver keeps a TTL-0 answer for
its 1 s floor): an A record (127.0.0.1), and with `--dual-stack` an AAAA record (::1) too.
Checks use the host name `shop.vakt.test` (127.0.0.1 with `--by-ip`) with a new
connection per probe. `--fleet nginx` serves HTTP and HTTPS from Debian's nginx (package
`nginx-light`) with `--target-procs` workers on CPU 1 instead, offering TLS 1.2 and 1.3
(the default of nginx 1.23.4 and later; Debian 12's 1.22 offers 1.2 only unless told): a
full TLS handshake costs the Python targets more CPU than it costs Vakt, so they cap TLS
runs below Vakt's capacity. Every TLS probe makes a full handshake (no resumption); the
chain's path validation is kept per certificate for 300 s as `vakt run` does, or done at
every probe with `--verify-every-probe`. Prints probes/s, CPU ms per probe, scheduling
lateness p50/p99, RSS per check and the error count. `--blackbox` instead drives Debian's
`prometheus-blackbox-exporter`, pinned to CPU 0, from a load generator on CPU 1 with
`--concurrency` requests in flight.
`--vakt-run` measures the product: it writes the `--end-to-end` checks.yaml (with a
listener and the fleet's DNS), launches `python -m monitor run` on CPU 0 and reads it
from outside only (/metrics, /proc/PID, its log; nginx is the default fleet when
installed), then stops it with SIGTERM and reports the exit. `--end-to-end` adds what
`vakt run` does with each
result: the real `Engine` (notification planner, metrics hub, respond-by deadlines, as
app.py builds it) on a SQLite store in a temp directory, its writer loop flushing about
every second, checks loaded from a generated checks.yaml by `load_config`; `--failing`
makes that share of the sites answer 500 (state changes, evidence, incidents, outbox
rows). It prints the engine's flushes and checkpoints beside the probe figures.
Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from monitor.app import tune_gc
from monitor.clock import SystemClock
from monitor.config import Config, load_config
from monitor.config.records import Check, HostPort, HttpSpec
from monitor.demo.targets import DOMAIN, CertFactory, CertKind, DnsServer, HttpTarget, Zone
from monitor.engine.context import policy_respond_by
from monitor.engine.engine import Engine, FlushReport
from monitor.engine.notify import NotifyPlanner
from monitor.metrics import MetricsHub
from monitor.model import CheckType, Impact, ProbeResult
from monitor.notify.planner import Planner as CasePlanner
from monitor.probes import open_probe_context, run_probe
from monitor.probes.lean.tls import VerifiedCertificates
from monitor.scheduler import Scheduler, run
from monitor.store import Store

HOSTS = ("127.0.0.1", "::1")
NAME = f"shop.{DOMAIN}"
VAKT_CPU, TARGET_CPU = 0, 1
BLACKBOX = "/usr/bin/prometheus-blackbox-exporter"


def _pin(cpu: int) -> None:
    count = os.cpu_count() or 1
    if hasattr(os, "sched_setaffinity") and count > 1:
        os.sched_setaffinity(0, {cpu})


def _free_port() -> int:
    """A TCP and UDP port free on both loopback addresses (checked, then released)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        try:
            for family, kind, host in (
                (socket.AF_INET6, socket.SOCK_STREAM, "::1"),
                (socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1"),
            ):
                with socket.socket(family, kind) as other:
                    other.bind((host, port))
        except OSError:
            continue
        return port


@dataclass(frozen=True, slots=True)
class Ports:
    http: int
    https: int
    dns: int
    ca_file: str


def _serve_http(ports: Ports, cert_file: str, ready: Connection) -> None:
    """One target process: plain HTTP and HTTPS on both loopback addresses (SO_REUSEPORT)."""
    _pin(TARGET_CPU)

    async def serve() -> None:
        target = HttpTarget()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file)
        loop = asyncio.get_running_loop()
        for port, tls in ((ports.http, None), (ports.https, context)):
            await loop.create_server(
                target.protocol, list(HOSTS), port, reuse_port=True, backlog=4096, ssl=tls
            )
        ready.send(True)
        await asyncio.Event().wait()  # until the parent terminates the process

    run(serve)


def _serve_dns(port: int, ttl: int, dual_stack: bool, ready: Connection) -> None:
    _pin(TARGET_CPU)

    async def serve() -> None:
        zone = Zone(ttl=ttl)
        zone.add(NAME, "A", HOSTS[0])
        if dual_stack:  # two addresses: every probe races them (happy eyeballs)
            zone.add(NAME, "AAAA", HOSTS[1])
        async with DnsServer(zone, host="127.0.0.1", port=port):
            ready.send(True)
            await asyncio.Event().wait()

    run(serve)


NGINX = "/usr/sbin/nginx"
NGINX_CONF = """\
daemon off;
worker_processes {procs};
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log error;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    keepalive_timeout 0;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{http} reuseport backlog=4096;
        listen [::1]:{http} reuseport backlog=4096;
        listen 127.0.0.1:{https} ssl reuseport backlog=4096;
        listen [::1]:{https} ssl reuseport backlog=4096;
        ssl_certificate {cert};
        ssl_certificate_key {cert};
        ssl_protocols TLSv1.2 TLSv1.3;
        default_type text/plain;
        location = /status/500 {{ return 500 "down\\n"; }}
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""


@contextmanager
def nginx_fleet(directory: Path, procs: int, ports: Ports, cert_file: str) -> Iterator[None]:
    """`--fleet nginx`: Debian's nginx (`nginx-light`) as the HTTP/HTTPS targets, its
    `procs` workers on CPU 1. A C server with OpenSSL answers a full TLS handshake for
    less than a third of the CPU the Python targets need, so it keeps up with more probes
    than they can."""
    if not Path(NGINX).exists():
        raise SystemExit(f"--fleet nginx needs {NGINX}: apt-get install nginx-light")
    conf = directory / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            procs=procs, dir=directory, http=ports.http, https=ports.https, cert=cert_file
        )
    )
    nginx = subprocess.Popen(
        ["taskset", "-c", str(TARGET_CPU), NGINX, "-c", str(conf), "-p", str(directory)]
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", ports.https), timeout=1).close()
                break
            except OSError:
                if nginx.poll() is not None:
                    raise RuntimeError("nginx did not start") from None
                time.sleep(0.05)
        yield
    finally:
        nginx.terminate()
        nginx.wait(10)


@contextmanager
def target_fleet(
    directory: Path, procs: int, ttl: int, *, dual_stack: bool = False, fleet: str = "python"
) -> Iterator[Ports]:
    """Start the DNS and HTTP target processes on CPU 1; stop them on exit."""
    certs = CertFactory(directory)
    cert_file = certs.issue(CertKind.VALID)
    ports = Ports(_free_port(), _free_port(), _free_port(), certs.ca_file)
    children: list[multiprocessing.Process] = []
    try:
        dns = (_serve_dns, (ports.dns, ttl, dual_stack))
        jobs = [dns] + ([(_serve_http, (ports, cert_file))] * procs if fleet == "python" else [])
        for target, args in jobs:
            parent, child = multiprocessing.Pipe()
            process = multiprocessing.Process(target=target, args=(*args, child), daemon=True)
            process.start()
            children.append(process)
            if not parent.poll(30):
                raise RuntimeError("a target process did not start")
            parent.recv()
        if fleet == "nginx":
            with nginx_fleet(directory, procs, ports, cert_file):
                yield ports
        else:
            yield ports
    finally:
        for process in children:
            process.terminate()
        for process in children:
            process.join(10)


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Counter:
    """The result sink: counts results and failures (the engine's place in the real app)."""

    __slots__ = ("count", "errors", "first_error")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.first_error = ""

    def submit(self, result: ProbeResult, lateness: float) -> None:
        self.count += 1
        if not result.ok:
            self.errors += 1
            self.first_error = self.first_error or f"{result.error}: {result.detail}"


def _checks(n: int, url: str, interval: float) -> list[Check]:
    spec = HttpSpec(url=url)
    return [
        Check(
            id=f"bench/site{i}/home",
            customer="bench",
            site=f"site{i}",
            name="home",
            label="Home",
            type=CheckType.HTTP,
            impact=Impact.OUTAGE,
            interval=timedelta(seconds=interval),
            retry_interval=timedelta(seconds=interval),
            timeout=timedelta(seconds=10),
            confirm=3,
            recover=2,
            spec=spec,
        )
        for i in range(n)
    ]


def _url(args: argparse.Namespace, ports: Ports) -> str:
    host = HOSTS[0] if args.by_ip else NAME
    if args.tls:
        return f"https://{host}:{ports.https}/"
    return f"http://{host}:{ports.http}/"


async def _measure(args: argparse.Namespace, ports: Ports) -> None:
    url = _url(args, ports)
    rss0 = _rss_kib()
    checks = _checks(args.checks, url, args.interval)
    sink = Counter()
    clock = SystemClock()
    async with open_probe_context(
        clock, resolver=HostPort("127.0.0.1", ports.dns), ca_file=ports.ca_file
    ) as ctx:
        if args.verify_every_probe:  # no answers kept: path validation at every probe
            ctx.tls.verified = VerifiedCertificates(ttl=0)
        scheduler = Scheduler(
            lambda c: run_probe(c, ctx), sink, clock, concurrency=args.concurrency
        )
        tune_gc()  # what the app does after loading the config
        scheduler.start(checks)
        await asyncio.sleep(args.warmup)
        scheduler.stats.reset_lateness()
        count0, cpu0, t0 = sink.count, _cpu_seconds(), time.monotonic()
        await asyncio.sleep(args.duration)
        count1, cpu1, t1 = sink.count, _cpu_seconds(), time.monotonic()
        p50 = scheduler.stats.lateness_quantile(0.5)
        p99 = scheduler.stats.lateness_quantile(0.99)
        rss = _rss_kib()
        await scheduler.stop(5)
    probes, cpu, elapsed = count1 - count0, cpu1 - cpu0, t1 - t0
    print(f"kind            {_kind(args)} via {url}")
    print(
        f"checks          {args.checks} every {args.interval:g} s "
        f"(offered {args.checks / args.interval:.0f}/s)"
    )
    print(f"probes/s        {probes / elapsed:.0f}")
    print(f"CPU per probe   {cpu * 1000 / max(probes, 1):.3f} ms  (CPU busy {cpu / elapsed:.0%})")
    print(f"lateness        p50 {p50 * 1000:.1f} ms   p99 {p99 * 1000:.1f} ms")
    print(f"RSS per check   {(rss - rss0) / args.checks:.2f} KiB  (RSS {rss / 1024:.0f} MiB)")
    print(f"errors          {sink.errors} of {sink.count}  (skipped {scheduler.stats.skipped})")
    if sink.first_error:
        print(f"first error     {sink.first_error}")


# --- end to end: scheduler + probe + engine + SQLite -------------------------------------

E2E_CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: {store}
  location: bench
  email: {{from: "Bench <bench@bench.example>", team: team@bench.example}}
  defaults:
    {{interval: {interval}, retry_interval: {interval}, timeout: 10s, confirm: 3, recover: 2}}
people:
  ops: {{name: Ops, email: ops@bench.example}}
oncall:
  escalation:
    default:
      steps:
        - {{notify: [person:ops], via: [email]}}
customers:
"""
SITES_PER_CUSTOMER = 100


def _e2e_yaml(args: argparse.Namespace, url: str, store: str) -> str:
    """checks.yaml: `--checks` sites of one check each, 100 sites per customer; every
    1/`--failing`-th site answers 500 (spread evenly over the customers)."""
    every = round(1 / args.failing) if args.failing > 0 else 0
    lines = [E2E_CONFIG.format(store=store, interval=f"{args.interval:g}s")]
    for i in range(args.checks):
        if i % SITES_PER_CUSTOMER == 0:
            lines.append(
                f"  c{i // SITES_PER_CUSTOMER}:\n    name: Customer {i // SITES_PER_CUSTOMER}\n"
                f"    escalation: default\n"
                f"    contacts: [{{name: Kari, email: kari@c{i}.example}}]\n    sites:\n"
            )
        path = "/status/500" if every and i % every == every // 2 else "/"
        lines.append(
            f"      s{i}: {{url: '{url.rstrip('/')}', checks: {{home: {{path: {path}}}}}}}\n"
        )
    return "".join(lines)


class MeteredEngine(Engine):
    """The real engine, timing its flushes and checkpoints (wall time, commit included)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flushes: list[tuple[float, FlushReport]] = []
        self.checkpoints: list[float] = []

    async def flush(self) -> FlushReport:
        started = time.perf_counter()
        report = await super().flush()
        self.flushes.append((time.perf_counter() - started, report))
        return report

    async def checkpoint(self) -> None:
        started = time.perf_counter()
        await super().checkpoint()
        self.checkpoints.append(time.perf_counter() - started)


def _build_engine(config: Config, store: Store, clock: SystemClock) -> MeteredEngine:
    """As app.py builds it: the notification planner, deadlines and the metrics hub."""
    hub = MetricsHub(version="bench", location=config.settings.location, checks=config.checks())
    return MeteredEngine(
        store,
        config,
        clock,
        planner=NotifyPlanner(CasePlanner(config)),
        deadlines=policy_respond_by,
        observer=hub,
    )


async def _measure_end_to_end(args: argparse.Namespace, ports: Ports, directory: Path) -> None:
    config_file = directory / "checks.yaml"
    store_url = f"sqlite:///{directory / 'vakt.db'}"
    config_file.write_text(_e2e_yaml(args, _url(args, ports), store_url))
    config = load_config(str(config_file))
    clock = SystemClock()
    rss0 = _rss_kib()
    async with Store(store_url) as store:
        await store.ensure_schema()
        engine = _build_engine(config, store, clock)
        await engine.start()
        writer = asyncio.create_task(engine.run(), name="engine.writer")
        async with open_probe_context(
            clock, resolver=HostPort("127.0.0.1", ports.dns), ca_file=ports.ca_file
        ) as ctx:
            scheduler = Scheduler(
                lambda c: run_probe(c, ctx), engine, clock, concurrency=args.concurrency
            )
            figures = await _run_window(args, scheduler, engine, config.checks())
            await scheduler.stop(5)
        await engine.close()
        await writer
    _print_end_to_end(args, figures, engine, rss0)


async def _run_window(
    args: argparse.Namespace, scheduler: Scheduler, engine: MeteredEngine, checks: list[Check]
) -> dict[str, float]:
    tune_gc()  # as `vakt run` does
    started = time.monotonic()
    scheduler.start(checks)
    await asyncio.sleep(args.warmup)
    startup = await _settled(engine, len(checks))
    print(f"start-up        {time.monotonic() - started:.1f} s until flushes evaluate few sites")
    print(f"                slowest start-up flush {startup * 1000:.0f} ms wall")
    scheduler.stats.reset_lateness()
    engine.flushes.clear()
    engine.checkpoints.clear()
    count0, cpu0, t0 = scheduler.stats.submitted, _cpu_seconds(), time.monotonic()
    await asyncio.sleep(args.duration)
    count1, cpu1, t1 = scheduler.stats.submitted, _cpu_seconds(), time.monotonic()
    return {
        "probes": count1 - count0,
        "cpu": cpu1 - cpu0,
        "elapsed": t1 - t0,
        "p50": scheduler.stats.lateness_quantile(0.5),
        "p99": scheduler.stats.lateness_quantile(0.99),
        "rss": _rss_kib(),
        "skipped": scheduler.stats.skipped,
    }


async def _settled(engine: MeteredEngine, sites: int, limit: float = 300.0) -> float:
    """Wait (at most `limit` s) for a flush that evaluated under 1 % of the sites: the
    first results of every check change its state from unknown, so the first flushes
    evaluate every site. Returns the slowest flush until then (seconds)."""
    deadline = time.monotonic() + limit
    seen = 0
    while time.monotonic() < deadline:
        recent = engine.flushes[seen:]
        seen += len(recent)
        if any(report.sites < sites / 100 for _, report in recent):
            break
        await asyncio.sleep(0.2)
    return max((seconds for seconds, _ in engine.flushes), default=0.0)


def _print_end_to_end(
    args: argparse.Namespace, f: dict[str, float], engine: MeteredEngine, rss0: int
) -> None:
    probes, cpu, elapsed = f["probes"], f["cpu"], f["elapsed"]
    print("kind            end to end (scheduler + probe + engine + SQLite), plain HTTP")
    print(
        f"checks          {args.checks} every {args.interval:g} s "
        f"(offered {args.checks / args.interval:.0f}/s), {args.failing:.0%} of sites failing"
    )
    print(f"probes/s        {probes / elapsed:.0f}")
    print(f"CPU per probe   {cpu * 1000 / max(probes, 1):.3f} ms  (CPU busy {cpu / elapsed:.0%})")
    print(f"lateness        p50 {f['p50'] * 1000:.1f} ms   p99 {f['p99'] * 1000:.1f} ms")
    rss = f["rss"]
    print(f"RSS per check   {(rss - rss0) / args.checks:.2f} KiB  (RSS {rss / 1024:.0f} MiB)")
    _print_flushes(engine)


def _print_flushes(engine: MeteredEngine) -> None:
    flushes = [(seconds, r) for seconds, r in engine.flushes if r.results or r.sites]
    if not flushes:
        print("flushes         none in the window")
        return
    times = sorted(seconds for seconds, _ in flushes)
    results = sum(r.results for _, r in flushes)
    rows = sum(r.statuses + r.changes + r.evidence for _, r in flushes)
    print(
        f"engine flushes  {len(flushes)}, {results / len(flushes):.0f} results each; "
        f"wall p50 {times[len(times) // 2] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms; "
        f"{sum(times) / max(results, 1) * 1e6:.0f} us per result"
    )
    print(
        f"rows written    {rows / len(flushes):.0f} per flush (states, changes, evidence); "
        f"{sum(r.sites for _, r in flushes) / len(flushes):.0f} sites evaluated per flush; "
        f"{sum(r.incidents for _, r in flushes)} incident changes; "
        f"{sum(1 for _, r in flushes if r.failed)} failed flushes"
    )
    if engine.checkpoints:
        print(
            f"checkpoints     {len(engine.checkpoints)}, "
            f"max {max(engine.checkpoints) * 1000:.0f} ms wall"
        )


# --- the product: `vakt run` as a subprocess, measured from outside ----------------------

SKIPPED = "maximum number of running instances reached"


def _vakt_run_yaml(args: argparse.Namespace, url: str, store: str, ports: Ports, web: int) -> str:
    """The `--end-to-end` checks.yaml, plus a listener for /metrics and the fleet's DNS."""
    text = _e2e_yaml(args, url, store)
    extra = f"  listen: 127.0.0.1:{web}\n  public_listen: 127.0.0.1:{_free_port()}\n"
    if not args.by_ip:
        extra += f"  resolver: {{address: '127.0.0.1:{ports.dns}'}}\n"
    return text.replace("settings:\n", "settings:\n" + extra, 1)


def _scrape(url: str) -> dict[str, float]:
    """`/metrics` as {series: value}: the probe result counters summed, the lateness
    histogram's cumulative buckets by bound."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:
        text = response.read().decode()
    out: dict[str, float] = {"probes": 0.0}
    for line in text.splitlines():
        if line.startswith("vakt_probe_results_total{"):
            out["probes"] += float(line.rsplit(" ", 1)[1])
        elif line.startswith("vakt_scheduler_lateness_seconds_bucket{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            out[f"le:{bound}"] = out.get(f"le:{bound}", 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def _lateness_quantile(before: dict[str, float], after: dict[str, float], q: float) -> float:
    """The q-quantile of lateness observed between two scrapes, interpolated linearly
    inside the histogram bucket that holds it (as PromQL's histogram_quantile)."""
    bounds = sorted(
        (float(key[3:]), after[key] - before.get(key, 0.0))
        for key in after
        if key.startswith("le:")
    )
    total = bounds[-1][1] if bounds else 0.0
    if total <= 0:
        return 0.0
    rank, lower, below = q * total, 0.0, 0.0
    for bound, count in bounds:
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = bound, count
    return lower


def _rss_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _wait_serving(url: str, proc: subprocess.Popen[bytes], limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if proc.poll() is not None:
            raise SystemExit(f"vakt run exited with {proc.returncode} before serving")
        try:
            if _scrape(url)["probes"] > 0:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"vakt run did not serve /metrics with probes within {limit:.0f} s")


def _vakt_run(args: argparse.Namespace, ports: Ports, directory: Path) -> None:
    """`--vakt-run`: the real daemon (`python -m monitor run -c checks.yaml`) on CPU 0,
    read from outside: probes/s and lateness from /metrics, CPU from /proc/PID/stat,
    RSS from /proc/PID/status after two full intervals, skipped periodic jobs from its
    log, and how long SIGTERM takes to stop it. The window of `--duration` seconds
    starts two intervals (at least `--warmup` s) after the daemon serves; its RSS is
    read at the window's end."""
    web = _free_port()
    config = directory / "checks.yaml"
    log = directory / "vakt.log"
    config.write_text(
        _vakt_run_yaml(args, _url(args, ports), f"sqlite:///{directory / 'vakt.db'}", ports, web)
    )
    command = [sys.executable, "-m", "monitor", "run", "-c", str(config), "--drain", "10"]
    if args.heap:  # the same daemon, launched through the census hook
        command[1:3] = [str(Path(__file__).with_name("heap_census.py")), args.heap]
    if args.profile:
        command[1:1] = ["-m", "cProfile", "-o", args.profile]
    if os.cpu_count() and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", str(VAKT_CPU), *command]
    metrics = f"http://127.0.0.1:{web}/metrics"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if args.heap and args.traced:
        env["PYTHONTRACEMALLOC"] = str(args.traced)
    with log.open("wb") as out:
        launched, wall = time.monotonic(), time.time()
        proc = subprocess.Popen(command, stdout=out, stderr=out, env=env)
    try:
        figures = _vakt_run_window(args, proc, metrics, launched)
        if args.heap:
            proc.send_signal(signal.SIGUSR1)  # malloc_trim(0) in the daemon
            time.sleep(3.0)
            trimmed = _rss_of(proc.pid)
            print(f"malloc_trim     VmRSS {figures['rss'] / 1024:.0f} -> {trimmed / 1024:.0f} MiB")
            _heap_census(proc, Path(args.heap), args.checks)
        figures["stop"], figures["code"] = _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text(errors="replace")
    figures["loaded"] = _logged_at(text, "engine.loaded") - wall  # config + store + state
    figures["started"] = _logged_at(text, "vakt.started") - wall  # listeners, jobs, probes
    figures["skipped"] = text.count(SKIPPED)
    figures["tracebacks"] = text.count("Traceback")
    figures["cancelled"] = text.count("CancelledError")
    _print_vakt_run(args, figures)
    if args.keep_log:
        shutil.copy(log, args.keep_log)


def _vakt_run_window(
    args: argparse.Namespace, proc: subprocess.Popen[bytes], metrics: str, launched: float
) -> dict[str, float]:
    serving = _wait_serving(metrics, proc, 600.0)
    # The first two intervals are start-up: every check's first results move it out of
    # `unknown`, so every site is evaluated (twice with recover: 2). Measured apart.
    first = _scrape(metrics)
    time.sleep(max(args.warmup, 2 * args.interval))
    before, cpu0, t0 = _scrape(metrics), _process_cpu_seconds(proc.pid), time.monotonic()
    time.sleep(args.duration)
    after, cpu1, t1 = _scrape(metrics), _process_cpu_seconds(proc.pid), time.monotonic()
    return {
        "serving": serving,
        "startup_p99": _lateness_quantile(first, before, 0.99),
        "launched": launched,
        "probes": after["probes"] - before["probes"],
        "cpu": cpu1 - cpu0,
        "elapsed": t1 - t0,
        "p50": _lateness_quantile(before, after, 0.5),
        "p99": _lateness_quantile(before, after, 0.99),
        "rss": _rss_of(proc.pid),
    }


def _heap_census(proc: subprocess.Popen[bytes], out: Path, checks: int) -> None:
    """`--heap`: ask the daemon for its census (SIGUSR2, after the window's RSS was read)
    and print the types that take the most bytes per check."""
    import json

    out.unlink(missing_ok=True)
    proc.send_signal(signal.SIGUSR2)
    for _ in range(3600):  # a traced census of a large daemon takes minutes
        if out.exists():
            break
        time.sleep(0.5)
    census = json.loads(out.read_text())
    for name in [k for k in census if k.startswith(("malloc:", "pymalloc:"))]:
        size = census.pop(name)[1]
        if name.startswith("malloc:") or "bytes" in name:
            print(f"allocator       {name:<40} {size / 2**20:7.1f} MiB")
    traced = census.pop("traced", None)
    types = {k: v for k, v in census.items() if " < " not in k}
    held = {k: v for k, v in census.items() if " < " in k}
    total = traced[1] if traced else sum(size for _, size in types.values())
    what = "traced by tracemalloc" if traced else "in objects"
    print(f"heap census     {total / 2**20:.0f} MiB {what} = {total / checks:.0f} B per check")
    for table in (types, held):
        for name, (count, size) in sorted(table.items(), key=lambda kv: -kv[1][1])[:30]:
            print(f"  {name:<40} {count / checks:8.2f} a check {size / checks:8.0f} B a check")


def _logged_at(text: str, event: str) -> float:
    """The Unix time of the first JSON log line of `event` (nan when there is none)."""
    import json
    from datetime import datetime

    for line in text.splitlines():
        if f'"event": "{event}"' in line:
            return datetime.fromisoformat(json.loads(line)["time"]).timestamp()
    return float("nan")


def _stop(proc: subprocess.Popen[bytes]) -> tuple[float, float]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(60)
    except subprocess.TimeoutExpired:
        return time.monotonic() - started, -1
    return time.monotonic() - started, float(code)


def _print_vakt_run(args: argparse.Namespace, f: dict[str, float]) -> None:
    probes, cpu, elapsed = f["probes"], f["cpu"], f["elapsed"]
    print(f"kind            vakt run (subprocess on CPU {VAKT_CPU}, SQLite), measured outside")
    print(f"targets         {args.fleet} on CPU {TARGET_CPU} of this same host; {_kind(args)}")
    print(
        f"checks          {args.checks} every {args.interval:g} s "
        f"(offered {args.checks / args.interval:.0f}/s), {args.failing:.0%} of sites failing"
    )
    print(
        f"start           config loaded and state read {f['loaded']:.1f} s after launch; "
        f"probing {f['started'] - f['loaded']:.1f} s later"
    )
    print(f"serving         {f['serving']:.1f} s from launch to /metrics counting probes")
    print(
        f"start-up        p99 lateness {f['startup_p99'] * 1000:.0f} ms over the first "
        f"{max(args.warmup, 2 * args.interval):g} s (every site evaluated); then the window:"
    )
    print(f"probes/s        {probes / elapsed:.0f}   (/metrics vakt_probe_results_total)")
    print(
        f"CPU per probe   {cpu * 1000 / max(probes, 1):.3f} ms  (CPU busy {cpu / elapsed:.0%}; "
        "/proc/PID/stat)"
    )
    print(
        f"lateness        p50 {f['p50'] * 1000:.1f} ms   p99 {f['p99'] * 1000:.1f} ms  "
        "(/metrics vakt_scheduler_lateness_seconds, bucket-interpolated)"
    )
    rss = f["rss"]
    print(f"RSS per check   {rss / args.checks:.2f} KiB  (VmRSS {rss / 1024:.0f} MiB, all of it)")
    print(f"skipped jobs    {f['skipped']:.0f}  ('{SKIPPED}' in the log)")
    print(
        f"SIGTERM         exit {f['code']:.0f} after {f['stop']:.1f} s; "
        f"{f['tracebacks']:.0f} tracebacks, {f['cancelled']:.0f} CancelledError in the log"
    )


# --- prometheus-blackbox-exporter, for comparison ---------------------------------------

BLACKBOX_CONFIG = """\
modules:
  http_2xx:
    prober: http
    timeout: 10s
    http:
      preferred_ip_protocol: ip4
  tls:
    prober: http
    timeout: 10s
    http:
      preferred_ip_protocol: ip4
      tls_config:
        ca_file: {ca_file}
"""


def _drive(
    endpoint: str, target: str, module: str, plan: tuple[int, float, float], out: Connection
) -> None:
    """Load generator on CPU 1: keep `concurrency` /probe requests in flight."""
    _pin(TARGET_CPU)
    concurrency, warmup, duration = plan

    async def drive() -> None:
        import aiohttp

        url = f"{endpoint}/probe?module={module}&target={target}"
        counts = [0, 0]  # ok, failed
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker(until: float) -> None:
                while time.monotonic() < until:
                    async with session.get(url) as resp:
                        body = await resp.read()
                    counts[0 if b"\nprobe_success 1" in body else 1] += 1

            await asyncio.gather(*(worker(time.monotonic() + warmup) for _ in range(concurrency)))
            out.send(("start", time.monotonic()))
            counts[:] = [0, 0]
            end = time.monotonic() + duration
            await asyncio.gather(*(worker(end) for _ in range(concurrency)))
            out.send(("end", time.monotonic(), counts[0], counts[1]))

    run(drive)


def _process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _blackbox(args: argparse.Namespace, ports: Ports, directory: Path) -> None:
    if not shutil.which(BLACKBOX):
        print(f"{BLACKBOX} is not installed: apt install prometheus-blackbox-exporter")
        return
    config = directory / "blackbox.yml"
    config.write_text(BLACKBOX_CONFIG.format(ca_file=ports.ca_file))
    listen = f"127.0.0.1:{_free_port()}"
    # Go's resolver reads /etc/resolv.conf and cannot be pointed at the fleet's DNS port,
    # so the exporter probes by IP (compare with Vakt's --by-ip figures).
    target = f"https://localhost:{ports.https}/" if args.tls else f"http://127.0.0.1:{ports.http}/"
    command = [BLACKBOX, f"--config.file={config}", f"--web.listen-address={listen}"]
    env = {**os.environ, "GOMAXPROCS": "1"}
    _pin(VAKT_CPU)  # the exporter inherits CPU 0, where Vakt would run
    with subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) as exporter:
        try:
            time.sleep(1.0)
            _drive_blackbox(args, f"http://{listen}", target, exporter.pid)
        finally:
            exporter.terminate()


def _drive_blackbox(args: argparse.Namespace, endpoint: str, target: str, pid: int) -> None:
    parent, child = multiprocessing.Pipe()
    module = "tls" if args.tls else "http_2xx"
    plan = (args.concurrency, args.warmup, args.duration)
    driver = multiprocessing.Process(target=_drive, args=(endpoint, target, module, plan, child))
    driver.start()
    _, t0 = parent.recv()
    cpu0 = _process_cpu_seconds(pid)
    _, t1, ok, failed = parent.recv()
    cpu1 = _process_cpu_seconds(pid)
    driver.join(10)
    probes, cpu = ok + failed, cpu1 - cpu0
    print(f"kind            blackbox_exporter {module} via {target}")
    print(f"probes/s        {probes / (t1 - t0):.0f}  ({args.concurrency} in flight)")
    print(f"CPU per probe   {cpu * 1000 / max(probes, 1):.3f} ms  (CPU busy {cpu / (t1 - t0):.0%})")
    print(f"errors          {failed} of {probes}")


def _kind(args: argparse.Namespace) -> str:
    if not args.tls:
        return "plain HTTP"
    every = args.verify_every_probe
    return f"TLS, full handshakes, chain verified {'every probe' if every else 'once per 300 s'}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checks", type=int, default=10000)
    parser.add_argument("--interval", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--target-procs", type=int, default=2)
    parser.add_argument(
        "--fleet",
        choices=("python", "nginx"),
        default=None,
        help="the HTTP(S) targets: Vakt's own (default) or Debian's nginx on CPU 1 "
        "(default with --vakt-run when nginx is installed)",
    )
    parser.add_argument("--ttl", type=int, default=0, help="TTL of the fleet's DNS answers")
    parser.add_argument("--dual-stack", action="store_true", help="A and AAAA (::1) records")
    parser.add_argument("--by-ip", action="store_true", help="skip DNS (127.0.0.1)")
    parser.add_argument("--tls", action="store_true", help="HTTPS with a full handshake per probe")
    parser.add_argument(
        "--verify-every-probe",
        action="store_true",
        help="TLS: validate the certificate chain at every probe (default: once per 300 s)",
    )
    parser.add_argument("--blackbox", action="store_true", help="drive blackbox_exporter instead")
    parser.add_argument(
        "--end-to-end", action="store_true", help="results into the real engine and SQLite"
    )
    parser.add_argument(
        "--failing", type=float, default=0.0, help="share of sites answering 500 (end to end)"
    )
    parser.add_argument(
        "--vakt-run",
        action="store_true",
        help="launch the real `vakt run` on a generated checks.yaml and measure it from outside",
    )
    parser.add_argument("--profile", help="--vakt-run: run the daemon under cProfile, to FILE")
    parser.add_argument(
        "--heap", help="--vakt-run: a census of the daemon's objects by type, to FILE (JSON)"
    )
    parser.add_argument(
        "--traced",
        type=int,
        default=0,
        help="--heap: trace allocations with N frames instead (by source line; slow)",
    )
    parser.add_argument("--keep-log", help="--vakt-run: copy the daemon's log to FILE")
    args = parser.parse_args()
    if args.fleet is None:  # the product against a C server when there is one
        args.fleet = "nginx" if args.vakt_run and Path(NGINX).exists() else "python"
    print(f"host            {os.cpu_count()} cores; targets share this host")
    print(f"load average    {Path('/proc/loadavg').read_text().strip()}")
    with (
        tempfile.TemporaryDirectory() as name,
        target_fleet(
            Path(name), args.target_procs, args.ttl, dual_stack=args.dual_stack, fleet=args.fleet
        ) as ports,
    ):
        if args.blackbox:
            _blackbox(args, ports, Path(name))
        elif args.vakt_run:
            _vakt_run(args, ports, Path(name))
        elif args.end_to_end:
            _pin(VAKT_CPU)
            run(lambda: _measure_end_to_end(args, ports, Path(name)))
        else:
            _pin(VAKT_CPU)
            run(lambda: _measure(args, ports))


if __name__ == "__main__":
    main()
