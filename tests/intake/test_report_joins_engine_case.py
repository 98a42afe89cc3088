"""A report about a site that is really down, end to end: the report is filed (no case
open yet), then a real `vakt run` probes the site's checks against a local HTTP target
that answers 500, the engine opens the monitoring case, and the report joins it: one
case only, the report `joined`, the case's response clock started at the submission."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aiohttp import web

from monitor.clock import SystemClock
from monitor.config import load_config
from monitor.engine.queue import read_queue
from monitor.incidents.reports import Filed, ReportSource, make_report
from monitor.intake import Desk
from monitor.model import IncidentStatus
from monitor.store import CustomerRequest, Incident, RequestStatus, Store
from tests.e2e.support import Daemon, free_port, until

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: e2e
  defaults: {{interval: 10m, retry_interval: 300ms, timeout: 2s, confirm: 2, recover: 2}}
policies:
  always:
    levels:
      A: {{respond: 2h, clock: always}}
      B: {{respond: 8h, clock: always}}
customers:
  acme:
    name: ACME
    policy: always
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: http://127.0.0.1:{target}
        checks:
          home: {{path: /}}
"""


async def _broken(request: web.Request) -> web.Response:
    return web.Response(status=500, text="broken")


async def test_a_report_about_a_site_really_down_joins_the_case_the_engine_opens(
    tmp_path: Path,
) -> None:
    app = web.Application()
    app.router.add_get("/", _broken)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    target = web.TCPSite(runner, "127.0.0.1", 0)
    await target.start()
    port = int(runner.addresses[0][1])
    url = f"sqlite:///{tmp_path / 'vakt.db'}"
    path = tmp_path / "vakt.yaml"
    path.write_text(CONFIG.format(store=url, private=free_port(), public=free_port(), target=port))
    config = load_config(str(path))
    log = tmp_path / "vakt.log"
    try:
        async with Store(url) as store:
            await store.upgrade()
            desk = Desk(store, lambda: config, SystemClock())
            report = make_report(
                config.customers["acme"], site="shop", name="Kari", email="kari@acme.example",
                description="The shop shows an error", urgent=False,
                submitted_at=SystemClock().now(), source=ReportSource.FORM,
            )  # fmt: skip
            receipt = await desk.file(report)
            assert receipt.filed is Filed.OPENED  # no case was open yet

            async def joined() -> bool:
                return (await _request(store)).status is RequestStatus.JOINED

            async with Daemon(path, log):
                await until("the report to join the engine's case", joined, log)
            request = await _request(store)
            cases = await _cases(store)
            async with store.transaction(read_only=True) as tx:
                queue = await read_queue(tx, config)
    finally:
        await runner.cleanup()
    (case,) = cases  # one case only: the engine's
    assert case.status is not IncidentStatus.RESOLVED
    assert request.joined_case == case.case_number
    assert [e.case for e in queue.entries] == [case.case_number]  # the team answers one case
    assert request.probed  # the report asked for the site's checks at once
    assert case.opened_at >= report.submitted_at
    assert case.respond_by == report.submitted_at + timedelta(hours=2)  # from the submission


async def _request(store: Store) -> CustomerRequest:
    async with store.transaction(read_only=True) as tx:
        (request,) = await tx.intake.with_status(*RequestStatus)
    return request


async def _cases(store: Store) -> list[Incident]:
    async with store.transaction(read_only=True) as tx:
        return await tx.incidents.find(site_id="acme/shop")
