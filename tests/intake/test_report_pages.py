"""Pages of customer-reported cases as for monitoring cases (issue 22): planned by the
planner's tick with a signed acknowledge link, which acknowledges the customer-reported
case through `answer_report` (pending pages cancelled); the dispatcher's send-time
re-check cancels a queued page of an acknowledged, resolved or joined case."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.engine.notify import NotifyPlanner
from monitor.engine.planner import Change
from monitor.engine.queue import answer_report
from monitor.incidents import Decision
from monitor.incidents.reports import Receipt, ReportSource, make_report
from monitor.intake import Desk
from monitor.notify.message import MessageKind, Payload
from monitor.notify.planner import Planner
from monitor.notify.recheck import Action, Recheck
from monitor.notify.tick import planner_tick
from monitor.store import EventKind, OutboxItem, OutboxStatus, RequestStatus
from tests.web.conftest import Client
from tests.web.support import CONFIG, Env, add_incident, csrf_of, write_config

ONCALL = CONFIG.replace(
    "policies:\n",
    "oncall:\n  escalation:\n    first:\n      steps: [{notify: [person:alice], via: [email]}]\n"
    "policies:\n",
).replace("    policy: approving\n", "    policy: approving\n    escalation: first\n", 1)


async def _file(env: Env, *, urgent: bool = True) -> tuple[Desk, Receipt]:
    desk = Desk(env.store, lambda: env.config, env.clock)
    report = make_report(
        env.config.customers["acme"], site="shop", name="Kari Nordmann",
        email="kari@acme.example", description="Kassen er nede", urgent=urgent,
        submitted_at=env.clock.now(), source=ReportSource.FORM,
    )  # fmt: skip
    receipt = await desk.file(report)
    assert receipt.case is not None
    return desk, receipt


async def _tick(env: Env) -> None:
    planner = Planner(env.config)
    await planner_tick(env.store, env.config, planner, env.clock.now())


async def _outbox(env: Env, kind: MessageKind) -> list[OutboxItem]:
    async with env.store.transaction(read_only=True) as tx:
        items = await tx.outbox.find(limit=100)
    return [i for i in items if i.key.kind == kind.value]


async def test_a_report_page_carries_an_ack_link_that_acknowledges_the_case(
    env: Env, public: Client, tmp_path: Path
) -> None:
    env.config = write_config(tmp_path, ONCALL)  # alice is paged (the team cannot ack)
    _, receipt = await _file(env)
    await _tick(env)
    await _tick(env)  # planned again: the same page
    (page,) = await _outbox(env, MessageKind.PAGE)
    assert page.key.subject == receipt.case
    payload = Payload.from_json(page.payload)
    assert payload.level is not None
    assert payload.level.value == "A"
    assert "Kassen er nede" in payload.summary
    assert payload.ack_url is not None
    assert payload.incident_url is not None
    assert payload.incident_url.endswith(f"/queue/{receipt.case}")
    link = "/ack/" + payload.ack_url.rpartition("/ack/")[2]
    shown = await public.get(link)
    html = await shown.text()
    assert shown.status == 200
    assert receipt.case in html
    response = await public.post(link, data={"csrf": csrf_of(html)})
    assert response.status == 200
    assert "acknowledged" in await response.text()
    async with env.store.transaction(read_only=True) as tx:
        (row,) = await tx.intake.by_case(receipt.case or "")
    assert (row.status, row.acknowledged_by) == (RequestStatus.OPEN, "alice")
    (page,) = await _outbox(env, MessageKind.PAGE)
    assert page.status is OutboxStatus.CANCELLED
    assert "acknowledged by alice" in page.cancel_reason
    again = await public.post(link, data={"csrf": csrf_of(html)})
    assert again.status == 410  # the link is spent


@pytest.mark.parametrize("answer", ["acknowledged", "resolved", "joined"])
async def test_the_send_time_recheck_cancels_a_page_of_an_answered_report_case(
    env: Env, answer: str
) -> None:
    _, receipt = await _file(env)
    await _tick(env)
    (page,) = await _outbox(env, MessageKind.PAGE)
    now = env.clock.now() + timedelta(minutes=1)
    # answered behind the outbox's back (a tick that read the case just before)
    async with env.store.transaction() as tx:
        (row,) = await tx.intake.by_case(receipt.case or "")
        if answer == "acknowledged":
            row = replace(row, acknowledged_at=now, acknowledged_by="bob")
        elif answer == "resolved":
            row = replace(row, status=RequestStatus.RESOLVED, resolved_at=now, resolved_by="bob")
        else:
            row = replace(row, status=RequestStatus.JOINED, joined_case="VAKT-2026-000900")
        await tx.intake.update(row)
    async with env.store.transaction() as tx:
        decision = await Recheck(tx, now, env.config, timedelta(minutes=1)).decide(page)
    assert decision.action is Action.CANCEL
    assert receipt.case in decision.reason
    assert answer in decision.reason


async def test_an_open_report_cases_page_is_sent(env: Env) -> None:
    await _file(env)
    await _tick(env)
    (page,) = await _outbox(env, MessageKind.PAGE)
    async with env.store.transaction() as tx:
        decision = await Recheck(tx, env.clock.now(), env.config, timedelta(minutes=1)).decide(page)
    assert decision.action is Action.SEND


async def test_answering_from_the_queue_cancels_the_planned_pages(env: Env) -> None:
    _, receipt = await _file(env)
    await _tick(env)
    env.clock.advance(60)
    assert receipt.case is not None
    await answer_report(env.store, receipt.case, "alice", env.clock.now(), resolve=False)
    (page,) = await _outbox(env, MessageKind.PAGE)
    assert page.status is OutboxStatus.CANCELLED


async def test_a_report_joining_a_monitoring_case_cancels_its_own_pages_on_the_record(
    env: Env, tmp_path: Path
) -> None:
    env.config = write_config(tmp_path, ONCALL)
    desk, receipt = await _file(env)
    await _tick(env)
    (page,) = await _outbox(env, MessageKind.PAGE)
    assert page.status is OutboxStatus.PENDING
    env.clock.advance(60)
    case = await add_incident(env.store, case="VAKT-2026-000900", opened_at=env.clock.now())
    assert await desk.follow_up() == 1
    (page,) = [p for p in await _outbox(env, MessageKind.PAGE) if p.key.subject == receipt.case]
    assert page.status is OutboxStatus.CANCELLED
    assert "joined VAKT-2026-000900" in page.cancel_reason
    async with env.store.transaction(read_only=True) as tx:
        timelines, _ = await tx.incidents.events_of([case.id])
    (entry,) = [e for e in timelines[case.id] if e.kind is EventKind.CUSTOMER_REPORT]
    assert receipt.case in entry.text
    assert "1 pending page" in entry.text


async def test_the_engines_flush_groups_report_pages_as_the_tick_does(
    env: Env, tmp_path: Path
) -> None:
    env.config = write_config(tmp_path, ONCALL)
    _, receipt = await _file(env)  # pages alice at once
    await _tick(env)
    env.clock.advance(10)  # a monitoring case pages alice within the 30 s group window
    row = await add_incident(env.store, case="VAKT-2026-000900", opened_at=env.clock.now())
    planner = Planner(env.config)
    async with env.store.transaction() as tx:
        change = Change(row, Decision(incident=None))
        flushed = await NotifyPlanner(planner).plan(tx, [change], env.clock.now(), env.config)
        await tx.outbox.add(list(flushed))
    await _tick(env)
    pages = [str(p.key) for p in await _outbox(env, MessageKind.PAGE)]
    # the monitoring case's page waits for the digest of alice's window, as the tick says
    assert pages == [f"{receipt.case}/page/0:0:0/person:alice/email"]
