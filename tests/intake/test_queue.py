"""The team's queue page: open monitoring and customer-reported cases by respond-by, then
time of submission, each with its contract clock; and the triage list."""

from __future__ import annotations

from datetime import timedelta

from monitor.incidents.reports import Report, ReportSource, make_report
from monitor.intake import Desk
from monitor.model import Level
from monitor.web import create_private_app
from tests.web.conftest import MakeClient, deps_of
from tests.web.support import T0, Env, add_incident, add_password, login


def _report(env: Env, email: str, urgent: bool) -> Report:
    return make_report(
        env.config.customers["acme"], site="shop", name="Kari Nordmann", email=email,
        description=f"report from {email}", urgent=urgent, submitted_at=env.clock.now(),
        source=ReportSource.FORM,
    )  # fmt: skip


async def test_the_queue_lists_open_cases_by_respond_by_then_submission(
    env: Env, make_client: MakeClient
) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    # A monitoring case on another customer's site, due at T0 + 2 h 5 min.
    monitoring = await add_incident(
        env.store, case="VAKT-2026-000001", site_id="open/web", level=Level.A,
        respond_by=T0 + timedelta(hours=2, minutes=5),
    )  # fmt: skip
    env.clock.advance(300)
    urgent = await desk.file(_report(env, "kari@acme.example", urgent=True))  # T0+2h05 too
    normal = await desk.file(_report(env, "kari@acme.example", urgent=False))  # T0+8h05
    await desk.file(_report(env, "stranger@elsewhere.example", urgent=False))  # triage
    assert urgent.respond_by == monitoring.respond_by
    await add_password(env.store)
    client = await make_client(create_private_app(deps_of(env)))
    await login(client)
    response = await client.get("/queue")
    assert response.status == 200
    html = await response.text()
    order = [monitoring.case_number, urgent.case, normal.case]
    positions = [html.index(f'data-case="{case}"') for case in order]
    assert positions == sorted(positions)  # same deadline: the earlier submission first
    triage = html.split('id="triage"')[1]
    assert "stranger@elsewhere.example" in triage
    assert "always" in html  # the approving policy counts around the clock
