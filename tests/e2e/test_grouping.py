"""Issue 6, grouping and mass outages, with 20 sites failing together.

- `mass_outage.sites` above 20: the on-call person gets two pages, not 20: the first at
  once, one digest for the other 19.
- `mass_outage.sites: 10`: one Level A mass-outage incident pages; every site incident is
  linked to it, and the customer is still emailed about each site.

The SMTP server keeps every message; pages are counted by distinct Message-ID.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from monitor.demo.targets import HostileFleet
from monitor.demo.targets.http import SiteState
from monitor.model import IncidentStatus
from monitor.store import Store
from tests.e2e.support import Daemon, SmtpInbox, free_port, until

ALICE = "alice@agency.example"
SITES = 20

HEAD = """\
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
  paging: {{group_window: 15s, mass_outage: {{sites: {mass}, within: 1m, escalation: default}}}}
  defaults: {{interval: 1s, retry_interval: 500ms, timeout: 2s, confirm: 2, recover: 2}}
policies:
  quiet:
    levels:
      A: {{respond: 2h, clock: always, page: always, customer_email_after: {email_after}}}
people:
  alice: {{name: Alice Hansen, email: {alice}}}
oncall:
  escalation:
    default:
      steps:
        - {{notify: [person:alice]}}
customers:
  acme:
    name: ACME AS
    policy: quiet
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites:
"""
SITE = "      s{n:02d}: {{url: {url}, checks: {{home: {{path: /}}}}}}\n"


def pages(smtp: SmtpInbox) -> list[str]:
    return list(dict.fromkeys(m.message_id for m in smtp.to(ALICE)))


async def test_twenty_sites_failing_together_give_one_page_and_one_digest(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'vakt.db'}"
    async with HostileFleet(tmp_path) as fleet, SmtpInbox() as smtp, Store(store_url) as store:
        await store.upgrade()
        config = tmp_path / "checks.yaml"
        head = HEAD.format(
            store=store_url,
            private=free_port(),
            public=free_port(),
            smtp=smtp.port,
            alice=ALICE,
            mass=21,
            email_after="1h",
        )
        sites = "".join(SITE.format(n=n, url=fleet.url(f"/sites/s{n:02d}/")) for n in range(SITES))
        config.write_text(head + sites)
        log = tmp_path / "daemon.log"

        async def probed_all() -> bool:
            async with store.transaction(read_only=True) as tx:
                return len(await tx.checks.load()) == SITES

        async def all_open() -> bool:
            async with store.transaction(read_only=True) as tx:
                rows = await tx.incidents.unresolved()
            return len(rows) == SITES and all(r.status is IncidentStatus.OPEN for r in rows)

        async with Daemon(config, log) as daemon:
            await until("every site probed", probed_all, log)
            for n in range(SITES):
                fleet.http.site(f"s{n:02d}").state = SiteState.ERROR
            await until("20 open incidents", all_open, log)
            await until("the first page", lambda: len(pages(smtp)) >= 1, log)
            await until("the digest", lambda: len(pages(smtp)) >= 2, log)
            await asyncio.sleep(5)  # any stray single page would arrive by now
            assert len(pages(smtp)) == 2
            by_id = {m.message_id: m for m in smtp.to(ALICE)}
            first, digest = (by_id[i] for i in pages(smtp))
            assert first.subject != digest.subject
            assert "19" in digest.subject + digest.text
            assert await daemon.stop(signal.SIGTERM) == 0


async def test_ten_sites_failing_together_open_one_mass_outage_that_pages_once(
    tmp_path: Path,
) -> None:
    store_url = f"sqlite:///{tmp_path / 'vakt.db'}"
    async with HostileFleet(tmp_path) as fleet, SmtpInbox() as smtp, Store(store_url) as store:
        await store.upgrade()
        config = tmp_path / "checks.yaml"
        head = HEAD.format(
            store=store_url,
            private=free_port(),
            public=free_port(),
            smtp=smtp.port,
            alice=ALICE,
            mass=10,
            email_after="2s",
        )
        sites = "".join(SITE.format(n=n, url=fleet.url(f"/sites/s{n:02d}/")) for n in range(SITES))
        config.write_text(head + sites)
        log = tmp_path / "daemon.log"

        async def probed_all() -> bool:
            async with store.transaction(read_only=True) as tx:
                return len(await tx.checks.load()) == SITES

        async def linked() -> bool:
            async with store.transaction(read_only=True) as tx:
                rows = await tx.incidents.unresolved()
            mass = [r for r in rows if r.site_id == "*"]
            site_rows = [r for r in rows if r.site_id != "*"]
            return (
                len(mass) == 1
                and len(site_rows) == SITES
                and all(mass[0].case_number in r.data for r in site_rows)
            )

        async with Daemon(config, log) as daemon:
            await until("every site probed", probed_all, log)
            for n in range(SITES):
                fleet.http.site(f"s{n:02d}").state = SiteState.ERROR
            await until("a mass outage with every site linked", linked, log)
            async with store.transaction(read_only=True) as tx:
                [mass] = [r for r in await tx.incidents.unresolved() if r.site_id == "*"]
            assert mass.level.value == "A"
            await until(
                "the mass-outage page",
                lambda: any(mass.case_number in m.subject + m.text for m in smtp.to(ALICE)),
                log,
            )
            kari = "kari@acme.example"
            await until("an email per site", lambda: len(smtp.to(kari)) >= SITES, log)
            await asyncio.sleep(5)  # stray site pages would arrive by now
            case = mass.case_number
            mentions = {m.message_id for m in smtp.to(ALICE) if case in m.subject + m.text}
            assert len(mentions) == 1  # paged once (alone, or in the digest of its window)
            # a site confirmed before the threshold was reached pages at once, as a first page
            assert len(pages(smtp)) <= 2
            assert await daemon.stop(signal.SIGTERM) == 0
