"""A customer-reported case pages the team like a monitoring case of its level: an urgent
report from a contact like Level A (at once under the example policy), and the pages stop
when a person acknowledges it. Planned by the planner's tick (`read_reported`)."""

from __future__ import annotations

from monitor.engine.queue import answer_report
from monitor.incidents.reports import ReportSource, make_report
from monitor.intake import Desk
from monitor.notify.message import MessageKind, Payload
from monitor.notify.planner import Planner
from monitor.notify.tick import planner_tick
from monitor.store import OutboxItem, OutboxStatus
from tests.web.support import Env


async def _pages(env: Env) -> list[OutboxItem]:
    async with env.store.transaction(read_only=True) as tx:
        items = await tx.outbox.find(limit=100)
    return [i for i in items if i.key.kind == MessageKind.PAGE.value]


async def test_an_urgent_report_pages_like_level_a_until_acknowledged(env: Env) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    report = make_report(
        env.config.customers["acme"], site="shop", name="Kari Nordmann",
        email="kari@acme.example", description="Kassen er nede", urgent=True,
        submitted_at=env.clock.now(), source=ReportSource.FORM,
    )  # fmt: skip
    receipt = await desk.file(report)
    planner = Planner(env.config)
    await planner_tick(env.store, env.config, planner, env.clock.now())
    # planned again: the same page, not a second one
    await planner_tick(env.store, env.config, planner, env.clock.now())
    (page,) = await _pages(env)
    assert (page.key.subject, page.key.recipient) == (receipt.case, "team")
    assert page.due_at == env.clock.now()
    payload = Payload.from_json(page.payload)
    assert payload.level is not None
    assert payload.level.value == "A"
    assert "Kassen er nede" in payload.summary
    env.clock.advance(60)
    assert receipt.case is not None
    await answer_report(env.store, receipt.case, "alice", env.clock.now(), resolve=False)
    (page,) = await _pages(env)
    assert page.status is OutboxStatus.CANCELLED
