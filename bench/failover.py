"""Failover: how long a standby takes to lead after the leader is killed, with real
`vakt run` processes on one PostgreSQL database.

    .venv/bin/python bench/failover.py [--kills 10] [--instances 3]
        [--heartbeat 2s] [--lease 10s] [--pg-dsn postgresql://postgres@127.0.0.1:5432/test]

Creates a fresh database (dropped at the end), starts `--instances` `vakt run`
processes on it (their logs in a temp directory) with `settings.cluster` from the
options (the defaults are the product's), a local target that fails from the start (so
a case is open and paging goes on throughout) and an SMTP sink. Then `--kills` times:
find the leader in `cluster_lease`, SIGKILL it, and measure

- takeover: from the kill until another member holds the lease under a higher term;
- probing: from the kill until the target is hit again (the new leader probes);

and start the killed instance again (it joins as a standby). At the end the target
heals; once the case resolved and the outbox is empty it prints each kill, the median
and max of both times, the case count (1: the takeovers kept the case), and the
duplicate deliveries (same Message-ID twice). Prints the machine's cores and load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  secret: bench-secret-0123456789abcdef
  email:
    from: "Vakt <vakt@agency.example>"
    team: ops@agency.example
    smtp: {{host: 127.0.0.1, port: {smtp}}}
  defaults: {{interval: 1s, retry_interval: 500ms, timeout: 2s, confirm: 2, recover: 2}}
  delivery: {{poll: 500ms, lease: 10s, timeout: 5s}}
  cluster: {{heartbeat: {heartbeat}, lease: {lease}}}
oncall:
  escalation:
    default:
      steps: [{{notify: [person:alice], via: [email]}}]
      repeat_every: 5s
      max_repeats: 10000
people:
  alice: {{name: Alice, email: alice@agency.example}}
customers:
  acme:
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: {target}
        checks: {{home: {{path: /}}}}
"""
WAIT = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Target:
    def __init__(self) -> None:
        self.down = True
        self.last_hit = 0.0
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def answer(self, request: web.Request) -> web.Response:
        self.last_hit = time.monotonic()
        return web.Response(status=500 if self.down else 200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self.answer)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        self.port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()


class Sink:
    def __init__(self) -> None:
        self.ids: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = (envelope.original_content or b"").decode(errors="replace")
        ids = [
            ln.split(":", 1)[1].strip()
            for ln in raw.splitlines()
            if ln.lower().startswith("message-id:")
        ]
        self.ids.extend(ids[:1])
        return "250 OK"


async def until(what: str, probe, wait: float = WAIT) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(wait):
        while True:
            try:
                if await probe():
                    return
            except (OSError, asyncpg.PostgresError):
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(what)


class Bench:
    def __init__(self, args: argparse.Namespace, dsn: str, tmp: Path) -> None:
        self.args, self.dsn, self.tmp = args, dsn, tmp
        self.procs: list[asyncio.subprocess.Process | None] = []
        self.configs: list[Path] = []

    async def sql(self, query: str) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn, timeout=5)
        try:
            return list(await conn.fetch(query))
        finally:
            await conn.close()

    async def lease(self) -> tuple[str, int] | None:
        rows = await self.sql("SELECT holder, term FROM cluster_lease")
        return (rows[0]["holder"], rows[0]["term"]) if rows else None

    async def start(self, i: int) -> None:
        log = (self.tmp / f"vakt{i}.log").open("ab")
        self.procs[i] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "run", "-c", str(self.configs[i]),
            stdout=log, stderr=log,
        )  # fmt: skip

    def index_of(self, holder: str) -> int:
        pid = int(holder.rpartition(":")[2])
        return next(i for i, p in enumerate(self.procs) if p is not None and p.pid == pid)


async def run(args: argparse.Namespace) -> int:
    name = f"vakt_failover_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.pg_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = args.pg_dsn.rsplit("/", 1)[0] + f"/{name}"
    target, sink = Target(), Sink()
    await target.start()
    loop = asyncio.get_running_loop()
    smtp_port = free_port()
    smtp = await loop.create_server(lambda: SMTP(sink, hostname="bench"), "127.0.0.1", smtp_port)
    tmp = Path(tempfile.mkdtemp(prefix="vakt-failover-"))
    bench = Bench(args, dsn, tmp)
    try:
        for i in range(args.instances):
            path = tmp / f"vakt{i}.yaml"
            path.write_text(
                CONFIG.format(
                    store=dsn, private=free_port(), public=free_port(), smtp=smtp_port,
                    heartbeat=args.heartbeat, lease=args.lease, target=f"http://127.0.0.1:{target.port}/",
                )
            )  # fmt: skip
            bench.configs.append(path)
            bench.procs.append(None)
        upgrade = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "db", "upgrade", "-c", str(bench.configs[0])
        )
        assert await upgrade.wait() == 0
        for i in range(args.instances):
            await bench.start(i)

        async def case_open() -> bool:
            rows = await bench.sql("SELECT count(*) AS n FROM outbox WHERE status = 'sent'")
            return await bench.lease() is not None and rows[0]["n"] >= 2

        await until("an open case with pages sent", case_open)
        takeovers, probing = await kill_leaders(bench, target, args.kills)
        target.down = False

        async def settled() -> bool:
            cases = await bench.sql("SELECT status FROM incidents")
            pending = await bench.sql("SELECT id FROM outbox WHERE status = 'pending'")
            return all(c["status"] == "resolved" for c in cases) and not pending

        await until("resolution and an empty outbox", settled, wait=300.0)
        cases = await bench.sql("SELECT case_number FROM incidents")
        counts = Counter(sink.ids)
        duplicates = sum(counts.values()) - len(counts)
        print(
            f"\n{args.kills} kills, {args.instances} instances, heartbeat {args.heartbeat}, "
            f"lease {args.lease}: takeover median {statistics.median(takeovers):.2f} s, "
            f"max {max(takeovers):.2f} s; probing again median {statistics.median(probing):.2f} s, "
            f"max {max(probing):.2f} s; cases {len(cases)}; emails {len(sink.ids)}, "
            f"duplicates {duplicates}"
        )  # fmt: skip
        print(f"cores {os.cpu_count()}, load {os.getloadavg()}; logs in {tmp}")
        return 0
    finally:
        for proc in bench.procs:
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
        smtp.close()
        if target.runner is not None:
            await target.runner.cleanup()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def kill_leaders(bench: Bench, target: Target, kills: int) -> tuple[list[float], list[float]]:
    """SIGKILL the leader `kills` times (restarting it as a standby each time): the
    takeover and probing-again times."""
    takeovers: list[float] = []
    probing: list[float] = []
    for k in range(kills):
        lease = await bench.lease()
        assert lease is not None
        i = bench.index_of(lease[0])
        proc = bench.procs[i]
        assert proc is not None
        killed = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

        async def moved(old: tuple[str, int] = lease) -> bool:
            now = await bench.lease()
            return now is not None and now[1] > old[1] and now[0] != old[0]

        await until("a takeover", moved)
        took = time.monotonic() - killed
        await until("probing again", _hit_after(target, time.monotonic()))
        probed = target.last_hit - killed
        takeovers.append(took)
        probing.append(probed)
        new = await bench.lease()
        print(
            f"kill {k + 1}: vakt{i} term {lease[1]} -> {new}: "
            f"takeover {took:.2f} s, probing again {probed:.2f} s",
            flush=True,
        )
        await bench.start(i)

        async def joined(i: int = i) -> bool:  # it joins as a standby
            proc = bench.procs[i]
            assert proc is not None
            rows = await bench.sql(f"SELECT id FROM cluster_members WHERE pid = {proc.pid}")
            return bool(rows)

        await until("the restarted instance a member", joined)
    return takeovers, probing


def _hit_after(target: Target, since: float):  # type: ignore[no-untyped-def]
    async def hit() -> bool:
        return target.last_hit > since

    return hit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--heartbeat", default="2s")
    parser.add_argument("--lease", default="10s")
    parser.add_argument(
        "--pg-dsn",
        default=os.environ.get("VAKT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
