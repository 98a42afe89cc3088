"""Nothing is lost, duplicates are recognisable: SIGKILL `vakt run` at random moments.

A site is down from the start, so the daemon keeps planning pages (email and webhook,
repeated every 2 s) and customer emails. It is killed with SIGKILL at random moments and
restarted each time; at the end the site recovers, and the daemon runs until the outbox is
empty. Then every notification in the outbox must have been sent, the SMTP server and the
webhook receiver must have seen exactly one distinct Message-ID / Idempotency-Key per
notification (so each arrived at least once, and every duplicate carries its original's
key), and the number of duplicates is printed.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections import Counter
from pathlib import Path

import pytest

from monitor.demo.targets import HostileFleet
from monitor.demo.targets.http import SiteState
from monitor.model import IncidentStatus
from monitor.store import OutboxItem, OutboxStatus, Store
from tests.e2e.support import Daemon, HookInbox, SmtpInbox, free_port, until

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  secret: e2e-secret-0123456789abcdef
  location: e2e
  email:
    from: "Agency Support <support@agency.example>"
    team: ops@agency.example
    smtp: {{host: 127.0.0.1, port: {smtp}}}
  paging: {{group_window: 1s}}
  defaults: {{interval: 500ms, retry_interval: 250ms, timeout: 2s, confirm: 2, recover: 2}}
policies:
  fast:
    levels:
      A: {{respond: 2h, clock: always, page: always, customer_email_after: 1s,
          update_every: [3s]}}
people:
  alice: {{name: Alice Hansen, email: alice@agency.example}}
oncall:
  escalation:
    default:
      steps:
        - {{notify: [person:alice], via: [email, hook]}}
      repeat_every: 2s
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
        url: {shop}
        checks:
          home: {{path: /}}
"""


async def outbox(store: Store) -> list[OutboxItem]:
    async with store.transaction(read_only=True) as tx:
        return await tx.outbox.find(limit=100_000)


async def many(store: Store) -> bool:
    return len(await outbox(store)) >= 12


async def crash_and_check(tmp_path: Path, kills: int) -> None:
    seed = int(os.environ.get("VAKT_CRASH_SEED", random.randrange(1 << 30)))
    draw = random.Random(seed)
    store_url = f"sqlite:///{tmp_path / 'vakt.db'}"
    async with (
        HostileFleet(tmp_path) as fleet,
        SmtpInbox() as smtp,
        HookInbox() as hooks,
        Store(store_url) as store,
    ):
        await store.upgrade()
        shop = fleet.http.site("shop")
        shop.state = SiteState.ERROR
        config = tmp_path / "checks.yaml"
        config.write_text(
            CONFIG.format(
                store=store_url,
                private=free_port(),
                public=free_port(),
                smtp=smtp.port,
                hook=hooks.url,
                shop=fleet.url("/sites/shop/"),
            )
        )
        log = tmp_path / "daemon.log"
        daemon = Daemon(config, log)
        try:
            for _ in range(kills):
                await daemon.start()
                await asyncio.sleep(draw.uniform(2.0, 6.0))
                assert await daemon.stop(signal.SIGKILL) == -signal.SIGKILL
            await daemon.start()
            await until("a dozen notifications", lambda: many(store), log)
            shop.state = SiteState.HEALTHY

            async def settled() -> bool:
                async with store.transaction(read_only=True) as tx:
                    [row] = await tx.incidents.find(site_id="acme/shop", limit=1)
                items = await outbox(store)
                resolved = row.status is IncidentStatus.RESOLVED
                return resolved and all(i.status is not OutboxStatus.PENDING for i in items)

            try:
                await until("resolution and an empty outbox", settled, log, wait=90.0)
            except AssertionError as exc:
                pending = [
                    (i.key, i.attempts, i.due_at, i.lease_until, i.last_error)
                    for i in await outbox(store)
                    if i.status is OutboxStatus.PENDING
                ]
                raise AssertionError(f"seed={seed} still pending: {pending}\n{exc}") from None
            assert await daemon.stop(signal.SIGTERM) == 0
        finally:
            if daemon.proc is not None and daemon.proc.returncode is None:
                daemon.proc.kill()
                await daemon.proc.wait()
        items = await outbox(store)
    # Every notification was delivered, or cancelled with its reason: a page still
    # pending (or interrupted by a kill) when its case resolved is not sent afterwards.
    ended = {OutboxStatus.SENT, OutboxStatus.CANCELLED}
    assert all(i.status in ended for i in items), [
        (i.key, i.status, i.last_error) for i in items if i.status not in ended
    ]
    cancelled = [i for i in items if i.status is OutboxStatus.CANCELLED]
    # pages and digests only (customer emails are never cancelled), each for its case's
    # resolution: nobody acknowledges in this test
    paging = ("page", "digest")
    assert all(i.key.kind in paging and "resolved" in i.cancel_reason for i in cancelled), [
        (i.key, i.cancel_reason) for i in cancelled
    ]
    sent = Counter(i.key.channel for i in items if i.status is OutboxStatus.SENT)
    stopped = Counter(i.key.channel for i in cancelled)
    mail_ids = Counter(m.message_id for m in smtp.mails)
    hook_keys = Counter(h.headers["Idempotency-Key"] for h in hooks.requests)
    assert sent["hook"] > 0
    assert sent["email"] > 0
    # one distinct key per notification: each sent one arrived, and no repeat got a new
    # key (a cancelled one may have arrived too, when a kill fell between send and settle)
    assert sent["email"] <= len(mail_ids) <= sent["email"] + stopped["email"]
    assert sent["hook"] <= len(hook_keys) <= sent["hook"] + stopped["hook"]
    duplicates = sum(mail_ids.values()) - len(mail_ids) + sum(hook_keys.values()) - len(hook_keys)
    print(
        f"crash test: seed={seed} kills={kills} notifications={len(items)} "
        f"cancelled={len(cancelled)} deliveries={len(smtp.mails) + len(hooks.requests)} "
        f"duplicates={duplicates}"
    )


async def test_sigkill_three_times_loses_no_notification(tmp_path: Path) -> None:
    await crash_and_check(tmp_path, kills=3)


@pytest.mark.slow
async def test_sigkill_twenty_times_loses_no_notification(tmp_path: Path) -> None:
    await crash_and_check(tmp_path, kills=20)
