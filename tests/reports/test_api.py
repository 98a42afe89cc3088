"""`GET /api/v1/reports/{customer}/{month}` (issue 21, part 5): the frozen version when one
was sent, else the month computed now; in the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from monitor.clock import FixedClock
from monitor.config.loader import load_config_text
from monitor.store import Store
from monitor.web.api import OPERATIONS, openapi_document, token_digest
from tests.reports.test_figures import oslo
from tests.reports.test_snapshots import outage
from tests.web.api_support import Deps, open_store, serve

TOKEN = "reports-read-token-0123456789"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}

CONFIG = f"""
vakt: 1
settings:
  timezone: Europe/Oslo
  web: {{api_tokens: [{{name: grafana, sha256: {token_digest(TOKEN)}, scope: read}}]}}
customers:
  acme:
    name: ACME AS
    timezone: Europe/Oslo
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites: {{shop: {{url: "http://127.0.0.1:9/", checks: {{home: {{path: /}}}}}}}}
"""


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], Store]]:
    from monitor.reports.source import StoreReports

    config = load_config_text(CONFIG)
    clock = FixedClock(oslo(2026, 12, 7))
    async with open_store(f"sqlite:///{tmp_path / 'vakt.db'}") as store:
        row, changes = outage(5, oslo(2026, 11, 3, 10), 60)
        async with store.transaction() as tx:
            await tx.incidents.insert(row)
            await tx.sites.append_changes(changes)
        reports = StoreReports(store, lambda: config, clock)
        deps = Deps(store, lambda: config, clock, reports=reports)
        async with serve(deps) as served:
            yield served, store


async def test_the_report_of_a_month_computed_now(
    client: tuple[TestClient[Any, Any], Store],
) -> None:
    http, _ = client
    response = await http.get("/api/v1/reports/acme/2026-11", headers=HEADERS)
    assert response.status == 200
    body = await response.json()
    assert (body["customer"], body["month"], body["version"]) == ("acme", "2026-11", None)
    assert [c["case"] for c in body["cases"]] == ["VAKT-2026-000005"]
    assert body["cases"][0]["met"] is True
    assert len(body["days"]) == 30


async def test_a_frozen_month_is_answered_as_sent(
    client: tuple[TestClient[Any, Any], Store],
) -> None:
    from monitor.store.queries.reports import ReportSnapshot

    http, store = client
    first = await (await http.get("/api/v1/reports/acme/2026-11", headers=HEADERS)).json()
    sent = {**first, "cases": [], "cases_met": 0}
    sent.pop("version")
    async with store.transaction() as tx:
        await tx.reports.freeze(
            ReportSnapshot(
                "acme",
                "2026-11",
                json.dumps(sent),
                "<p>sent</p>",
                None,
                "x",
                "vakt",
                oslo(2026, 12, 1),
            )
        )
    body = await (await http.get("/api/v1/reports/acme/2026-11", headers=HEADERS)).json()
    assert (body["version"], body["cases"], body["cases_met"]) == (1, [], 0)


@pytest.mark.parametrize("path", ["/api/v1/reports/nobody/2026-11", "/api/v1/reports/acme/2026-13"])
async def test_an_unknown_customer_or_month_is_404(
    client: tuple[TestClient[Any, Any], Store], path: str
) -> None:
    http, _ = client
    response = await http.get(path, headers=HEADERS)
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"


def test_the_operation_is_in_the_openapi_document() -> None:
    document = openapi_document(OPERATIONS, version="1")
    operation = document["paths"]["/reports/{customer}/{month}"]["get"]
    assert operation["operationId"] == "getReport"
    assert set(operation["responses"]) >= {"200", "404"}
