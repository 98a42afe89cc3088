"""Issues 4 and 6 end to end: `vakt run` as a subprocess pages, emails and threads for real.

First a blip: the site fails exactly one probe, which opens no incident and tells nobody.

A Level A outage of a local target pages the on-call person (email and webhook), emails
the customer in Norwegian after `customer_email_after`, sends updates on the back-off,
repeats the page until `vakt incidents ack` stops it, and sends the resolved email in the
same thread. The SMTP server (aiosmtpd on 127.0.0.1) keeps every message: a duplicate
would show. Waits are bounded polls; nothing asserts wall-clock speed.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from monitor.demo.targets import HostileFleet
from monitor.demo.targets.http import SiteMode, SiteState
from monitor.model import IncidentStatus
from monitor.store import OutboxStatus, Store
from tests.e2e.support import Daemon, HookInbox, Mail, SmtpInbox, free_port, until

ALICE = "alice@agency.example"
KARI = "kari@acme.example"

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  public_url: http://127.0.0.1:{public}
  secret: e2e-secret-0123456789abcdef
  location: e2e
  email:
    from: "Agency Support <support@agency.example>"
    team: ops@agency.example
    smtp: {{host: 127.0.0.1, port: {smtp}}}
  paging: {{group_window: 2s}}
  defaults: {{interval: 1s, retry_interval: 500ms, timeout: 2s, confirm: 2, recover: 2}}
policies:
  fast:
    levels:
      A: {{respond: 2h, clock: always, page: always, customer_email_after: 3s,
          update_every: [10s, 20s]}}
people:
  alice: {{name: Alice Hansen, email: {alice}}}
oncall:
  escalation:
    default:
      steps:
        - {{notify: [person:alice], via: [email, hook]}}
      repeat_every: 4s
      max_repeats: 50
channels:
  hook: {{type: webhook, url: "{hook}"}}
customers:
  acme:
    name: ACME AS
    language: nb
    policy: fast
    contacts: [{{name: Kari Nordmann, email: {kari}}}]
    status_page: {{public: true}}
    sites:
      shop:
        url: {shop}
        checks:
          home: {{path: /}}
"""


def write_config(path: Path, store: str, fleet: HostileFleet, smtp: int, hook: str) -> Path:
    path.write_text(
        CONFIG.format(
            store=store,
            private=free_port(),
            public=free_port(),
            smtp=smtp,
            hook=hook,
            alice=ALICE,
            kari=KARI,
            shop=fleet.url("/sites/shop/"),
        )
    )
    return path


def distinct(mails: list[Mail]) -> list[Mail]:
    """One mail per Message-ID (the first), in arrival order."""
    seen: dict[str, Mail] = {}
    for mail in mails:
        seen.setdefault(mail.message_id, mail)
    return list(seen.values())


async def open_case(store: Store) -> str | None:
    async with store.transaction(read_only=True) as tx:
        rows = await tx.incidents.find(site_id="acme/shop", limit=1)
    return rows[0].case_number if rows and rows[0].status is IncidentStatus.OPEN else None


async def pages_delivered(store: Store) -> bool:
    """No page (or digest of pages) is waiting in the outbox."""
    async with store.transaction(read_only=True) as tx:
        pending = await tx.outbox.find(status=OutboxStatus.PENDING, limit=100_000)
    return not any(i.key.kind in {"page", "digest"} for i in pending)


async def one_failed_probe(shop: SiteMode, log: Path) -> None:
    """The site fails exactly one probe: the fleet answers the next hit with an error and
    heals the site itself, however late this test gets to run (the retry after a failure
    comes `retry_interval` later)."""
    hits = shop.hits
    shop.break_for(SiteState.ERROR, hits=1)
    await until("one probe of the broken site", lambda: shop.hits > hits, log)
    assert shop.state is SiteState.HEALTHY


async def test_level_a_pages_emails_in_norwegian_repeats_until_ack_and_threads_resolution(
    store_url: str, tmp_path: Path
) -> None:
    async with (
        HostileFleet(tmp_path) as fleet,
        SmtpInbox() as smtp,
        HookInbox() as hooks,
        Store(store_url) as store,
    ):
        shop = fleet.http.site("shop")
        config = write_config(tmp_path / "checks.yaml", store_url, fleet, smtp.port, hooks.url)
        log = tmp_path / "daemon.log"
        async with Daemon(config, log) as daemon:

            async def probed() -> bool:
                async with store.transaction(read_only=True) as tx:
                    return bool(await tx.checks.load())

            await until("the first probes", probed, log)
            await one_failed_probe(shop, log)
            hits = shop.hits
            await until("three more good probes", lambda: shop.hits >= hits + 3, log)
            async with store.transaction(read_only=True) as tx:
                assert await tx.incidents.find() == []  # one failed probe: no incident
            assert smtp.mails == []  # and nobody was told
            assert hooks.requests == []

            shop.state = SiteState.ERROR

            await until("a page to the on-call person", lambda: bool(smtp.to(ALICE)), log)
            await until("the page by webhook", lambda: bool(hooks.requests), log)
            case = await open_case(store)
            assert case is not None
            first_page = smtp.to(ALICE)[0]
            assert case in first_page.subject
            assert hooks.requests[0].headers.get("Idempotency-Key")

            await until("the customer email", lambda: bool(smtp.to(KARI)), log)
            opened = smtp.to(KARI)[0]
            assert opened.subject.startswith(f"[{case}]")
            assert "Vi jobber med saken" in opened.text or "utilgjengelig" in opened.text

            await until("a repeated page", lambda: len(distinct(smtp.to(ALICE))) >= 2, log)
            await until("a customer update", lambda: len(distinct(smtp.to(KARI))) >= 2, log)
            update = distinct(smtp.to(KARI))[1]
            assert update.subject == opened.subject
            assert "oppdatering" in update.text

            code, out = await daemon.cli("incidents", "ack", case, "--by", "alice")
            assert code == 0, out
            await asyncio.sleep(3)  # a planner tick under way at the ack may still plan a page
            # Pages planned before the ack still go out: wait until each one has (a loaded
            # machine, or a retried delivery, may take longer than any fixed pause).
            await until("the pages planned before the ack", lambda: pages_delivered(store), log)
            pages_at_ack = len(distinct(smtp.to(ALICE)))
            await asyncio.sleep(10)  # more than two repeat intervals
            assert len(distinct(smtp.to(ALICE))) == pages_at_ack

            shop.state = SiteState.HEALTHY
            await until(
                "the resolved email",
                lambda: any("er løst" in m.text for m in smtp.to(KARI)),
                log,
            )
            resolved = next(m for m in smtp.to(KARI) if "er løst" in m.text)
            assert resolved.subject == opened.subject
            assert resolved.header("In-Reply-To") == opened.message_id
            assert opened.message_id in resolved.header("References")
            assert await daemon.stop(signal.SIGTERM) == 0
