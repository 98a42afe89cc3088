"""Cluster capacity: probes/s and CPU per probe of 1, 2 and 3 `vakt run` instances in one
location on one PostgreSQL database, against local targets.

    .venv/bin/python bench/cluster_capacity.py [--checks 3000] [--interval 1] [--duration 20]
        [--instances 1 2 3] [--target-procs 1] [--pg-dsn postgresql://postgres@127.0.0.1:5432/test]

For each instance count: a fresh database (dropped at the end), `n` `vakt run` processes
with the same checks.yaml (`--checks` HTTP checks every `--interval` s, by IP, against
`bench/probe_capacity.py`'s Python target fleet on CPU 1), each in location `bench`, so
rendezvous hashing gives each about 1/n of the checks. After every instance joined and
probes flow, a window of `--duration` s is measured:

- probes/s: rows written to the probe inbox (its id sequence), i.e. results that reached
  the store on their way to the leader's evaluation;
- CPU per probe: user + system CPU of all the `vakt run` processes (from /proc/PID/stat)
  over those probes, and each instance's share. PostgreSQL's own CPU is not counted.

All instances, the targets and PostgreSQL share ONE host: the figures show the cost of a
probe in a cluster (its inbox write and the leader's reading it) and how the work
spreads, not how far separate hosts scale. On a 2-core machine 2 or 3 instances compete
for the same cores as the targets and the database, so probes/s can only grow until the
cores are busy; on separate hosts each instance brings its own core. Not a test: figures
depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from probe_capacity import _e2e_yaml, _free_port, _process_cpu_seconds, target_fleet

WAIT = 180.0


def config_text(store: str, url: str, checks: int, interval: float, web: int, public: int) -> str:
    """`probe_capacity.py`'s checks.yaml (`--checks` sites of one HTTP check, 100 a
    customer), on `store`, with an instance's own listeners."""
    shape = argparse.Namespace(checks=checks, interval=interval, failing=0.0)
    extra = f"  listen: 127.0.0.1:{web}\n  public_listen: 127.0.0.1:{public}\n"
    return _e2e_yaml(shape, url, store).replace("settings:\n", "settings:\n" + extra, 1)


async def sequence(conn: asyncpg.Connection) -> int:
    """Rows ever written to the probe inbox (its id sequence's last value)."""
    value = await conn.fetchval(
        "SELECT last_value FROM pg_sequences WHERE sequencename = "
        "(SELECT split_part(pg_get_serial_sequence('probe_inbox', 'id'), '.', 2))"
    )
    return int(value or 0)


async def start(
    args: argparse.Namespace, n: int, dsn: str, url: str, tmp: Path
) -> list[asyncio.subprocess.Process]:
    """Migrate the database and start `n` `vakt run` processes on it (logs in `tmp`)."""
    paths = []
    for i in range(n):
        path = tmp / f"n{n}-vakt{i}.yaml"
        path.write_text(
            config_text(dsn, url, args.checks, args.interval, _free_port(), _free_port())
        )
        paths.append(path)
    upgrade = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "db", "upgrade", "-c", str(paths[0])
    )
    assert await upgrade.wait() == 0
    procs = []
    for i, path in enumerate(paths):
        log = (tmp / f"n{n}-vakt{i}.log").open("ab")
        command = (sys.executable, "-m", "monitor", "run", "-c", str(path))
        procs.append(await asyncio.create_subprocess_exec(*command, stdout=log, stderr=log))
    return procs


async def window(
    args: argparse.Namespace, conn: asyncpg.Connection, procs: list[asyncio.subprocess.Process]
) -> None:
    """Wait until every instance joined and probes flow; measure `--duration` s; print."""
    n = len(procs)
    async with asyncio.timeout(WAIT):
        while True:
            joined = await conn.fetchval("SELECT count(*) FROM cluster_members")
            if joined == n and await sequence(conn) > args.checks:
                break
            if any(proc.returncode is not None for proc in procs):
                raise SystemExit("a vakt run exited (see its log)")
            await asyncio.sleep(0.5)
    await asyncio.sleep(2 * args.interval + 2)  # shards settled, start-up spent
    rows0, t0 = await sequence(conn), time.monotonic()
    cpu0 = [_process_cpu_seconds(p.pid) for p in procs]
    await asyncio.sleep(args.duration)
    rows1, t1 = await sequence(conn), time.monotonic()
    cpu1 = [_process_cpu_seconds(p.pid) for p in procs]
    backlog = await conn.fetchval("SELECT count(*) FROM probe_inbox")
    probes, elapsed = rows1 - rows0, t1 - t0
    cpu = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
    shares = ", ".join(f"{c / elapsed:.0%}" for c in cpu)
    print(
        f"{n} instance(s): {probes / elapsed:7.0f} probes/s "
        f"(offered {args.checks / args.interval:.0f}/s), "
        f"{sum(cpu) * 1000 / max(probes, 1):.3f} CPU-ms per probe, "
        f"CPU busy per instance [{shares}], inbox backlog at the end {backlog}"
    )


async def stop(procs: list[asyncio.subprocess.Process]) -> None:
    for proc in procs:
        if proc.returncode is None:
            proc.terminate()
    for proc in procs:
        try:
            async with asyncio.timeout(30):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def measure(args: argparse.Namespace, n: int, url: str, tmp: Path) -> None:
    name = f"vakt_capacity_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.pg_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = args.pg_dsn.rsplit("/", 1)[0] + f"/{name}"
    procs: list[asyncio.subprocess.Process] = []
    try:
        procs = await start(args, n, dsn, url, tmp)
        conn = await asyncpg.connect(dsn)
        try:
            await window(args, conn, procs)
        finally:
            await conn.close()
    finally:
        await stop(procs)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=3000)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--target-procs", type=int, default=1)
    parser.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vakt-capacity-"))
    print(
        f"{os.cpu_count()} cores; every vakt run instance, the targets (CPU 1) and PostgreSQL "
        "share this ONE host: the figures are the cost of a probe through the cluster and how "
        "the work spreads, not the scaling of separate hosts (each would bring its own cores)."
    )
    with target_fleet(tmp, args.target_procs, ttl=0) as ports:
        url = f"http://127.0.0.1:{ports.http}/"
        for n in args.instances:
            asyncio.run(measure(args, n, url, tmp))
    print(f"load {os.getloadavg()}; logs in {tmp}")


if __name__ == "__main__":
    main()
