"""A restart changes nothing a customer sees: SIGKILL `vakt run` at random moments and
once in the middle of a flush, on SQLite and PostgreSQL (issue 14, DESIGN.md 8 rule 1).

Four sites reach a steady state first: one down (Level A), one slow against its own
baseline (Level B), one upgraded from B to A, one failing inside a maintenance window
(no case). Then the targets change nothing while the daemon is killed and restarted
several times; once it is killed while its flush waits for the store's write lock, held
by the test. Whatever the daemon writes from the first kill until two intervals after
the last restart (an incident, a timeline event, an outbox row, a flapping mark, a
level or status change) fails the test.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from monitor.demo.targets import HostileFleet
from monitor.demo.targets.http import SiteMode, SiteState
from monitor.evaluate.baseline import MIN_BASELINE
from monitor.model import IncidentStatus, Level
from monitor.notify.message import MessageKind
from monitor.store import Store
from tests.e2e.support import Daemon, SmtpInbox, free_port, until

INTERVAL = 0.25  # seconds, every check's
OPENED = MessageKind.CUSTOMER_OPENED.value  # the customer's first email about a case

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: e2e
  email:
    from: "Agency Support <support@agency.example>"
    team: ops@agency.example
    smtp: {{host: 127.0.0.1, port: {smtp}}}
  paging: {{group_window: 1s}}
  defaults: {{interval: 250ms, retry_interval: 250ms, timeout: 2s, confirm: 2, recover: 2}}
policies:
  fast:
    levels:
      A: {{respond: 2h, clock: always, page: always, customer_email_after: 1s,
          update_every: [1h]}}
      B: {{respond: 2h, clock: always, page: always, customer_email_after: 1s,
          update_every: [1h]}}
people:
  alice: {{name: Alice Hansen, email: alice@agency.example}}
oncall:
  escalation:
    default:
      steps:
        - {{notify: [person:alice], via: [email]}}
customers:
  acme:
    name: ACME AS
    policy: fast
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites:
      down:
        url: {down}
        slow: off
        checks: {{home: {{path: /}}}}
      slow:
        url: {slow}
        slow: {{factor: 3, over: 2s, min: 50ms, baseline: 1h}}
        checks: {{home: {{path: /}}}}
      upgrade:
        url: {upgrade}
        slow: off
        checks:
          home: {{path: /}}
          checkout: {{path: /checkout, impact: function}}
      maint:
        url: {maint}
        slow: off
        checks: {{home: {{path: /}}}}
maintenance:
  - {{sites: [acme/maint], from: "{since}", to: "{until}", reason: Upgrade}}
"""


@dataclass(frozen=True, slots=True)
class Seen:
    """Everything a restart must leave alone, as the store has it."""

    cases: tuple[tuple[str, str, str, str, bool], ...]  # case, site, level, status, flapping
    events: int
    outbox: int

    def difference(self, other: Seen) -> str:
        return f"before: {self}\nafter: {other}"


async def seen(store: Store) -> Seen:
    async with store.transaction(read_only=True) as tx:
        rows = await tx.incidents.find(limit=1000)
        events = sum([len(await tx.incidents.events(r.id)) for r in rows])
        outbox = await tx.outbox.find(limit=100_000)
    cases = tuple(
        sorted((r.case_number, r.site_id, r.level.value, r.status.value, r.flapping) for r in rows)
    )
    return Seen(cases, events, len(outbox))


async def case_of(store: Store, site_id: str) -> tuple[Level, IncidentStatus] | None:
    async with store.transaction(read_only=True) as tx:
        rows = await tx.incidents.find(site_id=site_id, limit=1)
    return (rows[0].level, rows[0].status) if rows else None


async def probed(store: Store, check_id: str, after: datetime) -> bool:
    """The daemon has stored a result of `check_id` taken after `after` (a failing
    check's state row is written with every result)."""
    async with store.transaction(read_only=True) as tx:
        states = await tx.checks.load()
    return any(s.check_id == check_id and s.updated_at > after for s in states)


async def fresh(store: Store, log: Path, after: datetime) -> None:
    """Wait for results of the new process taken after `after`, stored."""
    for check_id in ("acme/down/home", "acme/upgrade/checkout"):
        await until("fresh results", lambda c=check_id: probed(store, c, after), log)


@asynccontextmanager
async def write_lock_held(store_url: str) -> AsyncIterator[None]:
    """Hold the store's write lock from outside: the daemon's next flush waits inside
    its transaction (SQLite: at its `BEGIN IMMEDIATE`; PostgreSQL: at its first write
    of evidence, after its check states)."""
    if store_url.startswith("sqlite:///"):
        path = store_url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    pg = await asyncpg.connect(store_url)
    try:
        async with pg.transaction():
            await pg.execute("LOCK TABLE results IN SHARE ROW EXCLUSIVE MODE")
            yield
    finally:
        await pg.close()


async def settle(store: Store, log: Path, fleet: Fleet) -> None:
    """Drive the sites into the steady state the restarts must keep."""
    await until("the down site's Level A case", lambda: is_open(store, "acme/down", Level.A), log)
    await until("the upgrade's Level B case", lambda: is_open(store, "acme/upgrade", Level.B), log)
    await until("a latency baseline", lambda: fleet.slow.hits >= MIN_BASELINE + 8, log)
    fleet.slow.state = SiteState.SLOW
    await until("the slow site's Level B case", lambda: is_open(store, "acme/slow", Level.B), log)
    fleet.upgrade.state = SiteState.ERROR  # home fails too: B -> A
    await until("the upgrade to A", lambda: is_open(store, "acme/upgrade", Level.A), log)
    previous = await seen(store)

    async def quiet() -> bool:
        """Every open case's customer was told, and nothing new for longer than the
        planner's tick: every notification of the steady state is planned."""
        nonlocal previous
        await asyncio.sleep(3.0)
        now = await seen(store)
        same, previous = now == previous, now
        return same and await customers_told(store)

    await until("a quiet store", quiet, log)
    assert await case_of(store, "acme/maint") is None


async def customers_told(store: Store) -> bool:
    async with store.transaction(read_only=True) as tx:
        cases = {r.case_number for r in await tx.incidents.find(limit=1000)}
        told = {i.key.subject for i in await tx.outbox.find(limit=100_000) if i.key.kind == OPENED}
    return cases <= told


async def is_open(store: Store, site_id: str, level: Level) -> bool:
    return await case_of(store, site_id) == (level, IncidentStatus.OPEN)


@dataclass(frozen=True, slots=True)
class Fleet:
    down: SiteMode
    slow: SiteMode
    upgrade: SiteMode
    maint: SiteMode


async def restart_changes_nothing(store_url: str, tmp_path: Path, kills: int) -> None:
    seed = int(os.environ.get("VAKT_RESTART_SEED", random.randrange(1 << 30)))
    draw = random.Random(seed)
    middle = draw.randrange(kills)  # which kill falls in the middle of a flush
    today = datetime.now(UTC).replace(microsecond=0)
    async with (
        HostileFleet(tmp_path) as hosts,
        SmtpInbox() as smtp,
        Store(store_url) as store,
    ):
        sites = {name: hosts.http.site(name) for name in ("down", "slow", "upgrade", "maint")}
        fleet = Fleet(**sites)
        fleet.down.state = SiteState.ERROR
        fleet.maint.state = SiteState.ERROR
        fleet.upgrade.state = SiteState.BROKEN_CHECKOUT
        fleet.slow.latency = 0.03  # 5x when slow: 0.15 s, within the 250 ms interval
        config = tmp_path / "checks.yaml"
        config.write_text(
            CONFIG.format(
                store=store_url,
                private=free_port(),
                public=free_port(),
                smtp=smtp.port,
                since=(today - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
                until=(today + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
                **{name: hosts.url(f"/sites/{name}/") for name in sites},
            )
        )
        log = tmp_path / "daemon.log"
        async with Daemon(config, log) as daemon:
            await settle(store, log, fleet)
            before = await seen(store)
            for n in range(kills):
                await asyncio.sleep(draw.uniform(2 * INTERVAL, 2.0))
                if n == middle:
                    async with write_lock_held(store_url):
                        await asyncio.sleep(1.5)  # the daemon's flush is waiting inside
                        assert await daemon.stop(signal.SIGKILL) == -signal.SIGKILL
                else:
                    assert await daemon.stop(signal.SIGKILL) == -signal.SIGKILL
                await asyncio.sleep(draw.uniform(0.0, 2.0))
                restarted = datetime.now(UTC)
                await daemon.start()
                await fresh(store, log, restarted + timedelta(seconds=2 * INTERVAL))
            await asyncio.sleep(4 * INTERVAL + 2.0)  # a tick and a flush or two later
            now = await seen(store)
            assert now == before, f"seed={seed}\n{before.difference(now)}"
            assert await daemon.stop(signal.SIGTERM) == 0
    print(f"restart test: seed={seed} kills={kills} mid-flush kill #{middle + 1}")


async def test_a_restart_changes_nothing_a_customer_sees(store_url: str, tmp_path: Path) -> None:
    await restart_changes_nothing(store_url, tmp_path, kills=3)


@pytest.mark.slow
@pytest.mark.timeout(480)  # ten kills, each with two quiet intervals either side
async def test_ten_restarts_change_nothing_a_customer_sees(store_url: str, tmp_path: Path) -> None:
    await restart_changes_nothing(store_url, tmp_path, kills=10)
