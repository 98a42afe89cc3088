"""Issue 17 item 1: with no `settings.secret`, `vakt run` generates one and keeps it in the
database, so pages always carry an acknowledge link, the link still works after a restart,
and the CLI signs with the same secret. It says "generated" once, not at every start.

`vakt run` is a subprocess; the page arrives at aiosmtpd on 127.0.0.1. Waits are bounded
polls. SQLite only: the secret's home is the store, which the store tests cover on both
backends.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import aiohttp

from monitor.demo.targets import HostileFleet
from monitor.demo.targets.http import SiteState
from tests.e2e.support import Daemon, SmtpInbox, free_port, until

ALICE = "alice@agency.example"

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  public_url: http://127.0.0.1:{public}
  location: e2e
  email:
    from: "Agency Support <support@agency.example>"
    smtp: {{host: 127.0.0.1, port: {smtp}}}
  paging: {{group_window: 1s}}
  defaults: {{interval: 1s, retry_interval: 500ms, timeout: 2s, confirm: 2, recover: 2}}
policies:
  fast:
    levels:
      A: {{respond: 2h, clock: always, page: always}}
people:
  alice: {{name: Alice Hansen, email: {alice}}}
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
      shop:
        url: {shop}
        checks:
          home: {{path: /}}
"""

ACK = re.compile(r"https?://\S+/ack/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")


async def get(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        await response.read()
        return response.status


async def healthy(url: str) -> bool:
    try:
        return await get(url) == 200
    except aiohttp.ClientError:
        return False


def generated_lines(log: Path) -> int:
    return sum('"secret.generated"' in line for line in log.read_text().splitlines())


async def test_no_secret_generates_one_kept_across_restarts_and_shared_with_the_cli(
    tmp_path: Path,
) -> None:
    store_url = f"sqlite:///{tmp_path / 'vakt.db'}"
    async with HostileFleet(tmp_path) as fleet, SmtpInbox() as smtp:
        shop = fleet.http.site("shop")
        public, private = free_port(), free_port()
        config = tmp_path / "checks.yaml"
        config.write_text(
            CONFIG.format(
                store=store_url,
                private=private,
                public=public,
                smtp=smtp.port,
                alice=ALICE,
                shop=fleet.url("/sites/shop/"),
            )
        )
        log = tmp_path / "daemon.log"
        async with Daemon(config, log) as daemon:
            shop.state = SiteState.ERROR
            await until("a page to the on-call person", lambda: bool(smtp.to(ALICE)), log)
            page = smtp.to(ALICE)[0]
            links = ACK.findall(page.text)
            assert links, f"the page has no acknowledge link:\n{page.text}"
            link = links[0]
            assert link.startswith(f"http://127.0.0.1:{public}/ack/")
            [case] = re.findall(r"[A-Z]+-\d{4}-\d+", page.subject)[:1]
            assert generated_lines(log) == 1

            assert await daemon.stop(signal.SIGTERM) == 0
            await daemon.start()
            ready = f"http://127.0.0.1:{private}/healthz"
            await until("the restarted daemon", lambda: healthy(ready), log)
            assert await get(link) == 200  # the emailed link verifies after the restart

            code, out = await daemon.cli("incidents", "ack-link", case, "--by", "alice")
            assert code == 0, out
            [cli_link] = ACK.findall(out)
            assert await get(cli_link) == 200  # the CLI signs with the daemon's secret
            assert await daemon.stop(signal.SIGTERM) == 0
        assert generated_lines(log) == 1  # said once over two starts
