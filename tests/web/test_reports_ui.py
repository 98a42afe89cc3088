"""The team UI's reports (issue 21, part 5): a 12-month SLA overview of every customer,
and any month's report as the customer reads it."""

from __future__ import annotations

import pytest

from monitor.web.app import create_private_app
from tests.web.conftest import Client, MakeClient, deps_of
from tests.web.support import T0, XSS, Env, add_incident, add_password, login

MONTH = f"{T0.year:04d}-{T0.month:02d}"


@pytest.fixture
async def ui(env: Env, make_client: MakeClient) -> Client:
    from monitor.reports.source import StoreReports

    reports = StoreReports(env.store, lambda: env.config, env.clock)
    client = await make_client(create_private_app(deps_of(env, reports=reports)))
    await add_password(env.store)
    await login(client)
    return client


async def test_the_sla_overview_has_twelve_months_for_every_customer(env: Env, ui: Client) -> None:
    await add_incident(env.store, case="VAKT-2026-000001")
    response = await ui.get("/reports")
    assert response.status == 200
    page = await response.text()
    assert "SLA overview, last 12 months" in page
    assert page.count(f'href="/reports/acme/{MONTH}"') == 1
    assert page.count('href="/reports/acme/') == 12
    assert XSS not in page


async def test_a_months_report_is_the_customers_page(env: Env, ui: Client) -> None:
    await add_incident(env.store, case="VAKT-2026-000001")
    response = await ui.get(f"/reports/acme/{MONTH}")
    assert response.status == 200
    page = await response.text()
    assert "Tjenesterapport" in page  # acme reads Norwegian
    assert "VAKT-2026-000001" in page
    assert XSS not in page
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert (await ui.get("/reports/nobody/2026-01")).status == 404
    assert (await ui.get("/reports/acme/2026-13")).status == 404


async def test_a_month_is_held_then_approved_from_the_team_ui(
    env: Env, make_client: MakeClient
) -> None:
    import json

    from monitor.reports.figures import Month
    from monitor.reports.source import StoreReports

    reports = StoreReports(env.store, lambda: env.config, env.clock)
    client = await make_client(create_private_app(deps_of(env, reports=reports)))
    await add_password(env.store)
    csrf = await login(client)
    month = str(Month(T0.year, T0.month).previous())

    held = await client.post(f"/reports/acme/{month}/hold", data={"csrf": csrf})
    assert "held" in await held.text()
    overview = await (await client.get("/reports")).text()
    assert "held by alice" in overview
    async with env.store.transaction(read_only=True) as tx:
        assert await tx.outbox.find() == []  # held: nothing sent
        assert await tx.reports.latest("acme", month) is None
    for said in ("approved and sent", "sent before"):  # approving twice sends once
        done = await client.post(f"/reports/acme/{month}/approve", data={"csrf": csrf})
        assert said in await done.text()
    async with env.store.transaction(read_only=True) as tx:
        rows = await tx.outbox.find()
    to = [json.loads(r.payload)["to"]["address"] for r in rows]
    assert to.count("kari@acme.example") == 1
    assert (await client.post(f"/reports/acme/{month}/hold", data={})).status == 403  # CSRF
    running = await client.post(f"/reports/acme/{MONTH}/approve", data={"csrf": csrf})
    assert "is not over yet" in await running.text()  # only a whole month is sent
