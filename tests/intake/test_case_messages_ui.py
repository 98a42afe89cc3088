"""What a customer wrote to a case by email (`case_messages`, written by the support
mailbox) is shown to the team on the case's page — the incident page of a monitoring
case, the customer-reported case's own page — as "customer wrote" with sender, time,
subject and the text escaped; and never in anything the customer sees (status page) or
is sent (the outbox toward the customer's contacts)."""

from __future__ import annotations

from monitor.incidents.reports import ReportSource, make_report
from monitor.intake import Desk
from monitor.store import CaseMessage, EventKind, IncidentEvent
from monitor.web import create_private_app, create_public_app
from tests.web.conftest import Client, MakeClient, deps_of
from tests.web.support import STATUS_TOKEN, XSS, Env, add_incident, add_password, login

SUBJECT = "Re: checkout"
TEXT = f"The checkout still fails for Vipps {XSS}"
ESCAPED = "The checkout still fails for Vipps &lt;script&gt;alert(1)&lt;/script&gt;"
SENDER = "kari@acme.example"


async def _wrote(env: Env, case: str, incident_id: int | None = None) -> None:
    """What the mailbox writes when a customer's reply joins `case`."""
    async with env.store.transaction() as tx:
        message = CaseMessage(case, env.clock.now(), SENDER, SUBJECT, TEXT, "<m1@acme.example>")
        await tx.intake.add_case_message(message)
        if incident_id is not None:
            event = IncidentEvent(
                incident_id, env.clock.now(), "customer", EventKind.CUSTOMER_MESSAGE,
                f"{SENDER}: {SUBJECT}", False,
            )  # fmt: skip
            await tx.incidents.add_events([event])


async def _team(env: Env, make_client: MakeClient) -> Client:
    await add_password(env.store)
    client = await make_client(create_private_app(deps_of(env)))
    await login(client)
    return client


def _shows_the_message(html: str) -> None:
    assert "Customer wrote" in html
    assert SENDER in html
    assert SUBJECT in html
    assert ESCAPED in html
    assert XSS not in html


async def test_the_incident_page_shows_what_the_customer_wrote(
    env: Env, make_client: MakeClient
) -> None:
    incident = await add_incident(env.store)
    env.clock.advance(120)
    await _wrote(env, incident.case_number, incident.id)
    client = await _team(env, make_client)
    response = await client.get(f"/incidents/{incident.case_number}")
    assert response.status == 200
    _shows_the_message(await response.text())


async def test_the_customer_reported_cases_page_shows_what_the_customer_wrote(
    env: Env, make_client: MakeClient
) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    report = make_report(
        env.config.customers["acme"], site="shop", name="Kari Nordmann", email=SENDER,
        description="Kassen feiler", urgent=False, submitted_at=env.clock.now(),
        source=ReportSource.FORM,
    )  # fmt: skip
    receipt = await desk.file(report)
    assert receipt.case is not None
    env.clock.advance(120)
    await _wrote(env, receipt.case)
    client = await _team(env, make_client)
    queue = await (await client.get("/queue")).text()
    assert f'href="/queue/{receipt.case}"' in queue  # the queue links to the case's page
    response = await client.get(f"/queue/{receipt.case}")
    assert response.status == 200
    html = await response.text()
    assert "Kassen feiler" in html  # the report itself
    _shows_the_message(html)


async def test_what_the_customer_wrote_never_reaches_the_customer(
    env: Env, make_client: MakeClient
) -> None:
    incident = await add_incident(env.store)
    await _wrote(env, incident.case_number, incident.id)
    client = await make_client(create_public_app(deps_of(env)))
    page = await client.get(f"/status/acme?token={STATUS_TOKEN}")
    assert page.status == 200
    html = await page.text()
    assert "Vipps" not in html
    assert SUBJECT not in html
    async with env.store.transaction(read_only=True) as tx:
        items = await tx.outbox.find(limit=100)
    toward_customer = [i for i in items if i.key.recipient.startswith("contact:")]
    assert all("Vipps" not in i.payload for i in toward_customer)


async def test_a_reply_to_a_joined_reports_receipt_shows_on_the_case_it_joined(
    env: Env, make_client: MakeClient
) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    report = make_report(
        env.config.customers["acme"], site="shop", name="Kari Nordmann", email=SENDER,
        description="Kassen feiler", urgent=False, submitted_at=env.clock.now(),
        source=ReportSource.FORM,
    )  # fmt: skip
    receipt = await desk.file(report)  # its own case number, in the receipt
    assert receipt.case is not None
    await desk.follow_up()
    env.clock.advance(60)
    incident = await add_incident(env.store, case="VAKT-2026-000002", opened_at=env.clock.now())
    assert await desk.follow_up() == 1  # the report joined it
    await _wrote(env, receipt.case)  # the customer answered the receipt
    client = await _team(env, make_client)
    response = await client.get(f"/incidents/{incident.case_number}")
    assert response.status == 200
    _shows_the_message(await response.text())
