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
