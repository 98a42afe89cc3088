"""Escalation and SLA of customer-reported cases by the planner's rules for monitoring
cases (issue 22): the team's escalation-exhausted warning when nobody acknowledges, and
the SLA marks (metrics) and breach warning when respond-by passes unanswered."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor.engine.queue import answer_report
from monitor.incidents.reports import Receipt, ReportSource, make_report
from monitor.intake import Desk
from monitor.notify.message import MessageKind, Payload
from monitor.notify.planner import Planner
from monitor.notify.tick import TickResult, planner_tick
from monitor.store import OutboxItem
from tests.web.support import CONFIG, Env, write_config

TEAM = CONFIG.replace(
    "  location: oslo\n", "  location: oslo\n  email: {team: ops@agency.example}\n"
)


async def _file(env: Env, tmp_path: Path) -> Receipt:
    env.config = write_config(tmp_path, TEAM)
    desk = Desk(env.store, lambda: env.config, env.clock)
    report = make_report(
        env.config.customers["acme"], site="shop", name="Kari Nordmann",
        email="kari@acme.example", description="Kassen er treg", urgent=False,
        submitted_at=env.clock.now(), source=ReportSource.FORM,
    )  # fmt: skip
    receipt = await desk.file(report)
    assert receipt.case is not None
    assert receipt.respond_by is not None
    return receipt


async def _tick(env: Env) -> TickResult:
    return await planner_tick(env.store, env.config, Planner(env.config), env.clock.now())


async def _warnings(env: Env, case: str) -> dict[str, OutboxItem]:
    async with env.store.transaction(read_only=True) as tx:
        items = await tx.outbox.find(limit=200)
    out = {}
    for item in items:
        if item.key.kind == MessageKind.TEAM_WARNING.value and item.key.subject == case:
            out[Payload.from_json(item.payload).warning] = item
    return out


async def test_an_unacknowledged_report_case_exhausts_its_escalation_and_breaches(
    env: Env, tmp_path: Path
) -> None:
    receipt = await _file(env, tmp_path)
    case = receipt.case or ""
    await _tick(env)
    assert await _warnings(env, case) == {}
    env.clock.advance(16 * 60)  # the team-only escalation ran out (15 minutes after its page)
    result = await _tick(env)
    assert set(await _warnings(env, case)) == {"escalation_exhausted"}
    assert [m.what for m in result.sla if m.case == case] == []
    assert receipt.respond_by is not None
    env.clock.advance((receipt.respond_by - env.clock.now() + timedelta(minutes=1)).total_seconds())
    result = await _tick(env)
    marks = {m.what for m in result.sla if m.case == case}
    assert "sla_breach" in marks
    assert {"escalation_exhausted", "sla_breach"} <= set(await _warnings(env, case))


async def test_an_acknowledged_report_case_neither_exhausts_nor_breaches(
    env: Env, tmp_path: Path
) -> None:
    receipt = await _file(env, tmp_path)
    case = receipt.case or ""
    await _tick(env)
    env.clock.advance(5 * 60)
    await answer_report(env.store, case, "alice", env.clock.now(), resolve=False)
    env.clock.advance(20 * 60)
    await _tick(env)
    assert receipt.respond_by is not None
    env.clock.advance((receipt.respond_by - env.clock.now() + timedelta(minutes=1)).total_seconds())
    result = await _tick(env)
    assert [m for m in result.sla if m.case == case] == []
    assert await _warnings(env, case) == {}
