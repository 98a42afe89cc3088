"""The team's queue page: open monitoring and customer-reported cases by respond-by, then
time of submission, each with its contract clock; and the triage list."""

from __future__ import annotations

from datetime import timedelta

from monitor.incidents.reports import Report, ReportSource, make_report
from monitor.intake import Desk
from monitor.model import Level
from monitor.store import RequestStatus
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


async def test_a_person_acknowledges_and_resolves_a_customer_reported_case(
    env: Env, make_client: MakeClient
) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    receipt = await desk.file(_report(env, "kari@acme.example", urgent=False))
    await add_password(env.store)
    client = await make_client(create_private_app(deps_of(env)))
    csrf = await login(client)
    env.clock.advance(600)
    acked = await client.post(f"/queue/{receipt.case}/ack", data={"csrf": csrf})
    assert acked.status == 200
    async with env.store.transaction(read_only=True) as tx:
        (request,) = await tx.intake.by_case(str(receipt.case))
    assert (request.acknowledged_by, request.acknowledged_at) == ("alice", env.clock.now())
    assert request.status is RequestStatus.OPEN
    resolved = await client.post(f"/queue/{receipt.case}/resolve", data={"csrf": csrf})
    assert resolved.status == 200
    async with env.store.transaction(read_only=True) as tx:
        (request,) = await tx.intake.by_case(str(receipt.case))
    assert request.status is RequestStatus.RESOLVED
    assert request.resolved_by == "alice"
    assert f'data-case="{receipt.case}"' not in await (await client.get("/queue")).text()


async def test_answering_needs_the_session_csrf_token(env: Env, make_client: MakeClient) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    receipt = await desk.file(_report(env, "kari@acme.example", urgent=False))
    await add_password(env.store)
    client = await make_client(create_private_app(deps_of(env)))
    await login(client)
    refused = await client.post(f"/queue/{receipt.case}/resolve", data={})
    assert refused.status == 403
    async with env.store.transaction(read_only=True) as tx:
        (request,) = await tx.intake.by_case(str(receipt.case))
    assert request.status is RequestStatus.OPEN
    assert (await client.post("/queue/VAKT-2026-999999/resolve", data={})).status in (403, 404)


async def _triage_id(env: Env) -> int:
    async with env.store.transaction(read_only=True) as tx:
        (row,) = await tx.intake.with_status(RequestStatus.TRIAGE)
    return row.id


async def test_the_team_accepts_a_triage_report_as_a_case_or_dismisses_it(
    env: Env, make_client: MakeClient
) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    await desk.file(_report(env, "ola@acme-partner.example", urgent=False))
    await add_password(env.store)
    client = await make_client(create_private_app(deps_of(env, desk=desk)))
    csrf = await login(client)
    env.clock.advance(600)
    accepted = await client.post(
        f"/queue/triage/{await _triage_id(env)}/accept", data={"csrf": csrf}
    )
    assert accepted.status == 200
    async with env.store.transaction(read_only=True) as tx:
        (row,) = await tx.intake.with_status(*RequestStatus)
        items = await tx.outbox.find(limit=10)
    assert row.status is RequestStatus.OPEN
    assert row.case_number is not None
    assert row.respond_by == T0 + timedelta(hours=8)  # counted from the submission
    assert [i.key.kind for i in items] == ["customer_receipt"]
    assert f'data-case="{row.case_number}"' in await (await client.get("/queue")).text()
    await desk.file(_report(env, "spam@elsewhere.example", urgent=False))
    dismissed = await client.post(
        f"/queue/triage/{await _triage_id(env)}/dismiss", data={"csrf": csrf}
    )
    assert dismissed.status == 200
    async with env.store.transaction(read_only=True) as tx:
        assert await tx.intake.with_status(RequestStatus.TRIAGE) == []
