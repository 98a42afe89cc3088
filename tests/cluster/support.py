"""Three `vakt run` processes against one PostgreSQL database, a target that counts its
hits, and reads of the shared tables (lease, members, outbox, timeline) by plain SQL."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from tests.e2e.support import WAIT, Daemon, HookInbox, SmtpInbox, free_port

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  secret: cluster-secret-0123456789abcdef
  location: e2e
  email:
    from: "Agency Support <support@agency.example>"
    team: ops@agency.example
    smtp: {{host: 127.0.0.1, port: {smtp}}}
  paging: {{group_window: 1s}}
  defaults: {{interval: 300ms, retry_interval: 200ms, timeout: 2s, confirm: 2, recover: 2}}
  delivery: {{poll: 200ms, lease: 5s, timeout: 2s, retry: {{base: 200ms, cap: 1s}}}}
  cluster: {{heartbeat: 200ms, lease: 1500ms}}
  web:
    api_tokens: [{{name: bot, sha256: {token_sha}, scope: write}}]
policies:
  fast:
    levels:
      A: {{respond: 2h, clock: always, page: always, customer_email_after: 1s}}
people:
  alice: {{name: Alice Hansen, email: alice@agency.example}}
oncall:
  escalation:
    default:
      steps:
        - {{notify: [person:alice], via: [email, hook]}}
      repeat_every: 1s
      max_repeats: 500
channels:
  hook: {{type: webhook, url: "{hook}"}}
customers:
  acme:
    name: ACME AS
    language: nb
    policy: fast
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites:
      shop:
        url: {target}
        checks:
          home: {{path: /}}
"""


API_TOKEN = "cluster-api-token-0123456789"


class Target:
    """An HTTP target on 127.0.0.1 that answers 500 while `down` and counts its hits."""

    def __init__(self) -> None:
        self.down = False
        self.hits = 0
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def _answer(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(status=500 if self.down else 200, text="target")

    async def __aenter__(self) -> Target:
        app = web.Application()
        app.router.add_get("/", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        for address in self._runner.addresses:
            self.port = int(address[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@dataclass(frozen=True, slots=True)
class Lease:
    holder: str
    term: int


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


LOCATIONS_CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  secret: cluster-secret-0123456789abcdef
  location: oslo
  email:
    from: "Agency Support <support@agency.example>"
    team: ops@agency.example
    smtp: {{host: 127.0.0.1, port: {smtp}}}
  paging: {{group_window: 1s}}
  defaults: {{interval: {interval}, retry_interval: 1s, timeout: 2s, confirm: 2, recover: 2}}
  delivery: {{poll: 200ms, lease: 5s, timeout: 2s, retry: {{base: 200ms, cap: 1s}}}}
  cluster: {{heartbeat: 300ms, lease: 1500ms}}
  web:
    api_tokens: [{{name: bot, sha256: {token_sha}, scope: write}}]
people:
  alice: {{name: Alice Hansen, email: alice@agency.example}}
oncall:
  escalation:
    default:
      steps:
        - {{notify: [person:alice], via: [email]}}
channels:
  hook: {{type: webhook, url: "{hook}"}}
customers:
  acme:
    name: ACME AS
    language: nb
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites:
      shop:
        url: {target}
        locations: [{locations}]
        quorum: majority
        checks:
{checks}
"""


def locations_config(*, checks: int, interval: str, locations: Sequence[str]) -> str:
    """`LOCATIONS_CONFIG` with `checks` checks (paths /c0, /c1 ...) every `interval` from
    `locations`; the other fields are filled in by `Members`."""
    lines = "\n".join(f"          c{i}: {{{{path: /c{i}}}}}" for i in range(checks))
    return (
        LOCATIONS_CONFIG.replace("{checks}", lines)
        .replace("{interval}", interval)
        .replace("{locations}", ", ".join(locations))
    )


class CountingTarget:
    """An HTTP target on 127.0.0.1 that answers 200 on any path and records every hit:
    (the client's source address, the path, monotonic time)."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, str, float]] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def _answer(self, request: web.Request) -> web.Response:
        self.hits.append((request.remote or "", request.path, time.monotonic()))
        return web.Response(text="target")

    def count(self, since: float, until: float) -> dict[tuple[str, str], int]:
        """Hits per (source address, path) in [since, until)."""
        out: dict[tuple[str, str], int] = {}
        for remote, path, at in self.hits:
            if since <= at < until:
                out[(remote, path)] = out.get((remote, path), 0) + 1
        return out

    async def __aenter__(self) -> CountingTarget:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        for address in self._runner.addresses:
            self.port = int(address[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


class Members:
    """`n` `vakt run` processes with their own listeners and logs, one database
    (`config`: the template, `CONFIG` by default; `args`: each one's extra `vakt run`
    options, e.g. its `--location`)."""

    def __init__(
        self,
        tmp: Path,
        url: str,
        *,
        smtp: int,
        hook: str,
        target: str,
        n: int = 3,
        config: str = CONFIG,
        args: Sequence[Sequence[str]] = (),
    ):
        self.url = url
        self.daemons: list[Daemon] = []
        self.ports: list[int] = []
        for i in range(n):
            private = free_port()
            path = tmp / f"vakt{i}.yaml"
            path.write_text(
                config.format(
                    store=url,
                    private=private,
                    public=free_port(),
                    smtp=smtp,
                    hook=hook,
                    target=target,
                    token_sha=hashlib.sha256(API_TOKEN.encode()).hexdigest(),
                )
            )
            extra = args[i] if i < len(args) else ()
            self.daemons.append(Daemon(path, tmp / f"vakt{i}.log", drain=2.0, args=extra))
            self.ports.append(private)
        self.expected_exit: set[int] = set()

    async def __aenter__(self) -> Members:
        for daemon in self.daemons:
            await daemon.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for daemon in self.daemons:
            if daemon.proc is not None and daemon.proc.returncode is None:
                daemon.proc.send_signal(signal.SIGCONT)
                daemon.proc.kill()
                await daemon.proc.wait()

    def logs(self) -> str:
        return "\n".join(
            f"--- {d.log.name}\n{d.log.read_text(errors='replace')[-3000:]}"
            for d in self.daemons
            if d.log.exists()
        )

    def index_of(self, holder: str) -> int:
        pid = int(holder.rpartition(":")[2])
        return next(i for i, d in enumerate(self.daemons) if d.proc and d.proc.pid == pid)

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(asyncpg_dsn(self.url), timeout=5)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def lease(self) -> Lease | None:
        rows = await self.sql("SELECT holder, term FROM cluster_lease")
        return Lease(rows[0]["holder"], rows[0]["term"]) if rows else None

    async def readyz(self, i: int) -> int:
        url = f"http://127.0.0.1:{self.ports[i]}/readyz"
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as response,
            ):
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return 0

    def joined(self, i: int) -> Callable[[], Awaitable[bool]]:
        """A probe: instance `i` (as it runs now) has written its membership heartbeat."""

        async def probe() -> bool:
            proc = self.daemons[i].proc
            assert proc is not None
            rows = await self.sql("SELECT id FROM cluster_members WHERE pid = $1", proc.pid)
            return bool(rows)

        return probe

    async def acknowledge(self, i: int, case: str) -> int:
        """Acknowledge `case` through instance `i`'s REST API; the HTTP status."""
        url = f"http://127.0.0.1:{self.ports[i]}/api/v1/incidents/{case}/acknowledge"
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={}, headers=headers) as response,
        ):
            return response.status

    async def metrics(self, i: int) -> str:
        """Instance `i`'s `/metrics` exposition."""
        url = f"http://127.0.0.1:{self.ports[i]}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return await response.text()

    async def until(
        self, what: str, probe: Callable[[], Awaitable[bool]], wait: float = WAIT
    ) -> None:
        """Poll `probe` (store errors count as "not yet") at most `wait` s; fail at once
        if a daemon exits that was not stopped on purpose."""
        try:
            async with asyncio.timeout(wait):
                while True:
                    for i, d in enumerate(self.daemons):
                        code = d.proc.returncode if d.proc else None
                        if code is not None and i not in self.expected_exit:
                            raise AssertionError(f"vakt{i} exited ({code})\n{self.logs()}")
                    try:
                        if await probe():
                            return
                    except (OSError, asyncpg.PostgresError):
                        pass
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}\n{self.logs()}") from None

    async def leader(self) -> tuple[int, Lease]:
        found: list[Lease] = []

        async def elected() -> bool:
            lease = await self.lease()
            if lease is None:
                return False
            found.append(lease)
            return True

        await self.until("a leader", elected)
        return self.index_of(found[-1].holder), found[-1]

    async def takeover(self, old: Lease) -> tuple[int, Lease, float]:
        """Wait for another holder with a higher term; (its index, lease, seconds)."""
        start = time.monotonic()
        found: list[Lease] = []

        async def moved() -> bool:
            lease = await self.lease()
            if lease is None or lease.term <= old.term or lease.holder == old.holder:
                return False
            found.append(lease)
            return True

        await self.until("a takeover", moved)
        return self.index_of(found[-1].holder), found[-1], time.monotonic() - start

    async def sent(self) -> int:
        rows = await self.sql("SELECT count(*) AS n FROM outbox WHERE status = 'sent'")
        return int(rows[0]["n"])

    async def open_case(self) -> asyncpg.Record | None:
        rows = await self.sql("SELECT * FROM incidents WHERE site_id = 'acme/shop'")
        return rows[0] if rows else None


@asynccontextmanager
async def counted_members(
    tmp: Path, url: str, *, config: str, args: Sequence[Sequence[str]], n: int
) -> AsyncIterator[tuple[CountingTarget, Members]]:
    """`n` members on `config` (a `locations_config`) probing a `CountingTarget`, with an
    SMTP sink and a webhook sink for what they send."""
    async with (
        CountingTarget() as target,
        SmtpInbox() as smtp,
        HookInbox() as hooks,
        Members(
            tmp,
            url,
            smtp=smtp.port,
            hook=hooks.url,
            target=target.url,
            n=n,
            config=config,
            args=args,
        ) as members,  # fmt: skip
    ):
        yield target, members


def shard_size(members: Members, i: int) -> int:
    """How many checks instance `i` probes, from its last `cluster.shard` log line."""
    size = 0
    for line in members.daemons[i].log.read_text(errors="replace").splitlines():
        if '"cluster.shard"' in line:
            size = int(json.loads(line)["checks"])
    return size
