"""Customers report problems: the status-page form and `POST /api/v1/requests`.

A contact's report opens a customer-reported case at once (or joins the site's open
monitoring case) and queues a receipt in the customer's language; a stranger's waits in
triage. Real aiohttp apps on loopback, a migrated SQLite store, a fixed clock.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from monitor.config.records import ApiToken, Scope
from monitor.intake import Desk, Limits
from monitor.model import Level
from monitor.notify.message import MessageKind, Payload
from monitor.notify.render import Renderer
from monitor.store import CustomerRequest, RequestStatus
from monitor.web import create_private_app, create_public_app
from tests.web.conftest import Client, MakeClient, deps_of
from tests.web.support import CONFIG, STATUS_TOKEN, T0, Env, add_incident, csrf_of, write_config

ACME = "/status/acme"
HELPDESK = "helpdesk-token-0123456789abcdef"


def _desk(env: Env, limits: Limits | None = None) -> Desk:
    return Desk(env.store, lambda: env.config, env.clock, limits or Limits())


async def _public(env: Env, make_client: MakeClient, limits: Limits | None = None) -> Client:
    client = await make_client(create_public_app(deps_of(env, desk=_desk(env, limits))))
    assert (await client.get(f"{ACME}?token={STATUS_TOKEN}")).status == 200  # the cookie
    return client


def _limits(per_address: int, per_email: int) -> Limits:
    return Limits(per_address=per_address, per_email=per_email)


async def _form(client: Client, path: str = ACME) -> str:
    page = await client.get(path)
    assert page.status == 200
    return await page.text()


async def _report(client: Client, **fields: str) -> tuple[int, str]:
    html = await _form(client)
    data = {
        "csrf": csrf_of(html),
        "name": "Kari Nordmann",
        "email": "kari@acme.example",
        "site": "shop",
        "description": "Kassen feiler for Vipps",
        "website": "",
        **fields,
    }
    response = await client.post(f"{ACME}/report", data=data)
    return response.status, await response.text()


async def _requests(env: Env) -> list[CustomerRequest]:
    async with env.store.transaction(read_only=True) as tx:
        return await tx.intake.with_status(*RequestStatus)


async def _receipts(env: Env) -> list[Payload]:
    async with env.store.transaction(read_only=True) as tx:
        items = await tx.outbox.find(limit=100)
    kind = MessageKind.CUSTOMER_RECEIPT.value
    return [Payload.from_json(i.payload) for i in items if i.key.kind == kind]


async def test_the_status_page_has_a_report_form_in_the_customers_language(
    env: Env, make_client: MakeClient
) -> None:
    reporting = await _public(env, make_client)
    html = await _form(reporting)
    assert f'action="{ACME}/report"' in html
    assert "Meld fra om et problem" in html  # nb
    assert 'name="website"' in html  # the honeypot
    assert "<script" not in html.split('action="/status/acme/report"')[1].split("</form>")[0]


async def test_a_contacts_report_opens_a_case_and_queues_a_norwegian_receipt(
    env: Env, make_client: MakeClient
) -> None:
    reporting = await _public(env, make_client)
    status, html = await _report(reporting, urgent="on")
    assert status == 200
    (request,) = await _requests(env)
    assert request.status is RequestStatus.OPEN
    assert request.case_number is not None
    assert re.fullmatch(r"VAKT-2026-\d{6}", request.case_number)
    assert request.case_number in html
    assert request.submitted_at == T0
    assert request.respond_by == T0 + timedelta(hours=2)  # urgent: Level A's 2 h
    (receipt,) = await _receipts(env)
    assert receipt.case == request.case_number
    assert receipt.to is not None
    assert receipt.to.address == "kari@acme.example"
    text = Renderer().render(receipt).text
    assert "Vi har mottatt henvendelsen din" in text
    assert request.case_number in text
    assert "13:00" in text  # respond-by 12:00 UTC = 13:00 in Oslo (CET)


async def test_a_report_that_is_not_urgent_gets_level_bs_deadline(
    env: Env, make_client: MakeClient
) -> None:
    reporting = await _public(env, make_client)
    await _report(reporting)
    (request,) = await _requests(env)
    assert request.respond_by == T0 + timedelta(hours=8)


async def test_a_strangers_report_waits_in_triage_without_a_case_or_receipt(
    env: Env, make_client: MakeClient
) -> None:
    reporting = await _public(env, make_client)
    status, _ = await _report(reporting, email="someone@elsewhere.example")
    assert status == 200
    (request,) = await _requests(env)
    assert request.status is RequestStatus.TRIAGE
    assert request.case_number is None
    assert await _receipts(env) == []


async def test_a_report_about_a_site_that_is_down_joins_its_monitoring_case(
    env: Env, make_client: MakeClient
) -> None:
    reporting = await _public(env, make_client)
    await add_incident(env.store, level=Level.B, respond_by=T0 + timedelta(hours=8))
    env.clock.advance(300)
    await _report(reporting)
    (request,) = await _requests(env)
    assert request.status is RequestStatus.JOINED
    assert request.case_number == "VAKT-2026-000001"
    async with env.store.transaction(read_only=True) as tx:
        case = await tx.incidents.by_case("VAKT-2026-000001")
        assert (await tx.incidents.find(limit=10)) == [case]  # no second case
    (receipt,) = await _receipts(env)
    assert receipt.case == "VAKT-2026-000001"


async def test_the_response_clock_starts_at_an_earlier_submission(
    env: Env, make_client: MakeClient
) -> None:
    reporting = await _public(env, make_client)
    # The monitoring case opened after the report was submitted (the report probes).
    await add_incident(env.store, level=Level.B, respond_by=T0 + timedelta(hours=9))
    await _report(reporting)
    async with env.store.transaction(read_only=True) as tx:
        case = await tx.incidents.by_case("VAKT-2026-000001")
    assert case is not None
    assert case.respond_by == T0 + timedelta(hours=8)


async def test_the_honeypot_files_nothing(env: Env, make_client: MakeClient) -> None:
    reporting = await _public(env, make_client)
    status, _ = await _report(reporting, website="http://spam.example")
    assert status == 200  # a bot learns nothing
    assert await _requests(env) == []


async def test_a_report_without_the_csrf_token_is_refused(
    env: Env, make_client: MakeClient
) -> None:
    reporting = await _public(env, make_client)
    response = await reporting.post(
        f"{ACME}/report", data={"name": "K", "email": "kari@acme.example", "description": "x"}
    )
    assert response.status == 403
    assert await _requests(env) == []


async def test_a_report_that_is_too_long_is_refused(env: Env, make_client: MakeClient) -> None:
    reporting = await _public(env, make_client)
    status, _ = await _report(reporting, description="x" * 10_001)
    assert status == 400
    assert await _requests(env) == []


async def test_reports_are_limited_per_reporter_email(env: Env, make_client: MakeClient) -> None:
    client = await _public(env, make_client, _limits(per_address=100, per_email=2))
    statuses = [(await _report(client))[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert len(await _requests(env)) == 2


async def test_reports_are_limited_per_client_address(env: Env, make_client: MakeClient) -> None:
    client = await _public(env, make_client, _limits(per_address=2, per_email=100))
    emails = ["kari@acme.example", "ola@acme.example", "per@acme.example"]
    statuses = [(await _report(client, email=e))[0] for e in emails]
    assert statuses == [200, 200, 429]


async def test_the_api_files_a_report_with_a_requests_token(
    env: Env, make_client: MakeClient
) -> None:
    digest = hashlib.sha256(HELPDESK.encode()).hexdigest()
    token = ApiToken(name="helpdesk", sha256=digest, scope=Scope.REQUESTS_WRITE)
    web_settings = replace(env.config.settings.web, api_tokens=(token,))
    env.config = replace(env.config, settings=replace(env.config.settings, web=web_settings))
    client = await make_client(create_private_app(deps_of(env, desk=_desk(env))))
    body = {
        "customer": "acme",
        "site": "shop",
        "name": "Kari Nordmann",
        "email": "kari@acme.example",
        "description": "Checkout fails",
        "urgent": False,
    }
    response = await client.post(
        "/api/v1/requests", json=body, headers={"Authorization": f"Bearer {HELPDESK}"}
    )
    assert response.status == 201
    document = await response.json()
    assert document["status"] == "opened"
    assert re.fullmatch(r"VAKT-2026-\d{6}", document["case"])
    read = await client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {HELPDESK}"})
    assert read.status == 403  # the scope files requests, nothing else


async def test_a_report_from_an_allowed_domain_takes_effect_at_once(
    env: Env, make_client: MakeClient, tmp_path: Path
) -> None:
    contacts = "    contacts: [{name: Kari Nordmann, email: kari@acme.example}]\n"
    text = CONFIG.replace(contacts, contacts + "    report_domains: [ACME.example]\n", 1)
    env.config = write_config(tmp_path, text)
    reporting = await _public(env, make_client)
    await _report(reporting, email="ola@acme.example")
    await _report(reporting, email="ola@acme.example.evil.example")
    opened, stranger = sorted(await _requests(env), key=lambda r: r.id)
    assert opened.status is RequestStatus.OPEN
    assert stranger.status is RequestStatus.TRIAGE


async def test_a_joined_reports_receipt_replies_in_the_cases_customer_thread(
    env: Env, make_client: MakeClient
) -> None:
    reporting = await _public(env, make_client)
    await add_incident(env.store, level=Level.B)
    await _report(reporting)
    (receipt,) = await _receipts(env)
    assert receipt.thread == "VAKT-2026-000001/customer_opened/0/contact:kari@acme.example/email"
