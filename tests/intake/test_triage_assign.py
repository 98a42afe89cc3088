"""Triage (issue 22): a person assigns a stranger's mail or report to a customer (and
site) from the team UI (POST, CSRF-checked) or the CLI; it then takes effect as a
contact's report would (opens a case or joins the site's monitoring case, with a receipt
to the reporter in the customer's language), or is dismissed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from monitor.cli import main
from monitor.intake import Desk
from monitor.notify.message import Payload
from monitor.store import CustomerRequest, OutboxItem, RequestStatus
from monitor.web import create_private_app
from tests.web.conftest import Client, MakeClient, deps_of
from tests.web.support import Env, add_incident, add_password, login

STRANGER = "ola@gmail.example"


async def _stranger_mail(env: Env) -> int:
    """A mail from someone no customer knows, waiting in triage (as the mailbox files it)."""
    row = CustomerRequest(
        submitted_at=env.clock.now(),
        source="email",
        customer_id="",
        site_id=None,
        name="Ola Nordmann",
        email=STRANGER,
        description="Nettbutikken svarer ikke",
        urgent=False,
        language="",
        status=RequestStatus.TRIAGE,
        message_id="<x1@gmail.example>",
    )
    async with env.store.transaction() as tx:
        return (await tx.intake.add(row)).id


async def _row(env: Env, request_id: int) -> CustomerRequest:
    async with env.store.transaction(read_only=True) as tx:
        row = await tx.intake.get(request_id)
    assert row is not None
    return row


async def _receipts(env: Env) -> list[OutboxItem]:
    async with env.store.transaction(read_only=True) as tx:
        items = await tx.outbox.find(limit=20)
    return [i for i in items if i.key.kind == "customer_receipt"]


async def _client(env: Env, make_client: MakeClient) -> tuple[Client, str]:
    desk = Desk(env.store, lambda: env.config, env.clock)
    await add_password(env.store)
    client = await make_client(create_private_app(deps_of(env, desk=desk)))
    return client, await login(client)


async def test_the_team_assigns_a_strangers_mail_to_a_customers_site(
    env: Env, make_client: MakeClient
) -> None:
    request_id = await _stranger_mail(env)
    client, csrf = await _client(env, make_client)
    page = await (await client.get("/queue")).text()
    triage = page.split('id="triage"')[1]
    assert 'name="target"' in triage
    assert 'value="acme/shop"' in triage  # each customer and site to choose from
    forged = await client.post(
        f"/queue/triage/{request_id}/accept", data={"csrf": "x", "target": "acme/shop"}
    )
    assert forged.status == 403
    assert (await _row(env, request_id)).status is RequestStatus.TRIAGE
    accepted = await client.post(
        f"/queue/triage/{request_id}/accept", data={"csrf": csrf, "target": "acme/shop"}
    )
    assert accepted.status == 200
    row = await _row(env, request_id)
    assert (row.status, row.customer_id, row.site_id) == (RequestStatus.OPEN, "acme", "acme/shop")
    assert row.case_number is not None
    (receipt,) = await _receipts(env)
    payload = Payload.from_json(receipt.payload)
    assert receipt.key.recipient == f"contact:{STRANGER}"
    assert payload.case == row.case_number
    assert payload.language is not None
    assert payload.language.value == "nb"  # the customer's language
    assert f'data-case="{row.case_number}"' in await (await client.get("/queue")).text()


async def test_assigned_to_a_site_that_is_down_it_joins_the_monitoring_case(
    env: Env, make_client: MakeClient
) -> None:
    case = await add_incident(env.store, case="VAKT-2026-000900")
    request_id = await _stranger_mail(env)
    client, csrf = await _client(env, make_client)
    accepted = await client.post(
        f"/queue/triage/{request_id}/accept", data={"csrf": csrf, "target": "acme/shop"}
    )
    assert accepted.status == 200
    row = await _row(env, request_id)
    assert (row.status, row.joined_case) == (RequestStatus.JOINED, case.case_number)
    assert len(await _receipts(env)) == 1


async def test_an_unknown_customer_or_another_customers_site_is_refused(
    env: Env, make_client: MakeClient
) -> None:
    request_id = await _stranger_mail(env)
    client, csrf = await _client(env, make_client)
    for target in ("nobody", "acme/web", "open/shop", ""):
        response = await client.post(
            f"/queue/triage/{request_id}/accept", data={"csrf": csrf, "target": target}
        )
        assert response.status in (400, 404), target
    assert (await _row(env, request_id)).status is RequestStatus.TRIAGE
    assert await _receipts(env) == []


def _vakt(tmp_path: Path, *args: str) -> int:
    config = str(tmp_path / "checks.yaml")
    store = f"sqlite:///{tmp_path / 'vakt.db'}"
    return main(["incidents", "triage", *args, "-c", config, "--store", store])


async def test_the_cli_lists_assigns_and_dismisses_triage(env: Env, tmp_path: Path) -> None:
    first = await _stranger_mail(env)
    second = await _stranger_mail(env)
    assert await asyncio.to_thread(_vakt, tmp_path, "list") == 0
    code = await asyncio.to_thread(
        _vakt, tmp_path, "accept", str(first), "--customer", "acme", "--site", "shop",
        "--by", "alice",
    )  # fmt: skip
    assert code == 0
    row = await _row(env, first)
    assert (row.status, row.customer_id, row.site_id) == (RequestStatus.OPEN, "acme", "acme/shop")
    assert len(await _receipts(env)) == 1
    refused = await asyncio.to_thread(
        _vakt, tmp_path, "accept", str(second), "--customer", "nobody", "--by", "alice"
    )
    assert refused == 2
    assert await asyncio.to_thread(_vakt, tmp_path, "dismiss", str(second), "--by", "alice") == 0
    row = await _row(env, second)
    assert (row.status, row.resolved_by) == (RequestStatus.RESOLVED, "alice")
    assert len(await _receipts(env)) == 1
