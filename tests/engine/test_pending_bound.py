"""While the store is down the engine keeps its writes for the next flush, but only up to a
bound: the oldest evidence and aggregate rows are shed (counted), never what decides
incidents and their notifications, which arrive once the store is back."""

from __future__ import annotations

from dataclasses import replace

from monitor.clock import FixedClock
from monitor.config.records import Config, EmailSettings, Mailbox
from monitor.engine.engine import Engine
from monitor.engine.notify import NotifyPlanner
from monitor.model import CheckState, Level, Verdict
from monitor.notify.message import Payload
from monitor.notify.planner import Planner
from monitor.store import Store
from tests.engine.support import QUIET_PLANNER, T0, config, no_deadlines, result

HOME = "acme/shop/home"
CHECKOUT = "acme/shop/checkout"
TEAM = "ops@agency.example"
BOUND = 500


def team_config() -> Config:
    cfg = config()  # no escalation policy: pages go to the team address
    return replace(cfg, settings=replace(cfg.settings, email=EmailSettings(team=Mailbox(TEAM))))


async def test_problem_8_pending_writes_stay_bounded_while_the_store_is_down_and_the_case_arrives(
    store: Store,
) -> None:
    clock = FixedClock(T0)
    cfg = team_config()
    shed: dict[str, int] = {}

    def count_shed(what: str, rows: int) -> None:
        shed[what] = shed.get(what, 0) + rows

    engine = Engine(
        store,
        cfg,
        clock,
        planner=NotifyPlanner(Planner(cfg)),
        deadlines=no_deadlines,
        max_pending=BOUND,
        on_shed=count_shed,
    )
    await engine.start()
    await store.close()  # the store is gone: every flush fails
    for _ in range(40):  # 40 flushes of 50 failed results: 2,000 evidence rows
        for _ in range(25):
            engine.submit(result(HOME, clock.now(), Verdict.FAILED), 0.0)
            engine.submit(result(CHECKOUT, clock.now(), Verdict.FAILED), 0.0)
        assert (await engine.flush()).failed
        assert engine.pending_rows <= BOUND
        clock.advance(10)
    assert shed.get("evidence", 0) >= 2_000 - BOUND

    await store.open()  # the store is back
    report = await engine.flush()

    assert not report.failed
    assert engine.pending_rows == 0
    async with store.transaction(read_only=True) as tx:
        [incident] = await tx.incidents.find()
        pages = await tx.outbox.find(incident_id=incident.id)
        changes = await tx.checks.changes(HOME)
    assert incident.level is Level.A
    assert pages, "the case's page was planned in the commit that opened it"
    assert changes, "state changes are never shed"
    async with store.transaction(read_only=True) as tx:
        warnings = [i for i in await tx.outbox.find() if i.key.subject == "engine_shed"]
    [warning] = warnings  # the team hears once, in the first flush that committed again
    payload = Payload.from_json(warning.payload)
    assert (warning.key.kind, payload.to) == ("team_warning", Mailbox(TEAM))
    assert str(sum(shed.values())) in payload.note


async def test_at_a_bound_of_nothing_only_statuses_and_state_changes_are_kept(
    store: Store,
) -> None:
    clock = FixedClock(T0)
    shed: dict[str, int] = {}

    def count_shed(what: str, rows: int) -> None:
        shed[what] = shed.get(what, 0) + rows

    engine = Engine(
        store,
        config(),
        clock,
        planner=QUIET_PLANNER,
        deadlines=no_deadlines,
        max_pending=0,
        on_shed=count_shed,
    )
    await engine.start()
    await store.close()
    for _ in range(40):  # 400 s: a 5-minute aggregate bucket closes on the way
        engine.submit(result(HOME, clock.now(), Verdict.FAILED), 0.0)
        engine.submit(result(CHECKOUT, clock.now()), 0.0)
        assert (await engine.flush()).failed
        clock.advance(10)
    assert shed["evidence"] == 40  # every failed result's evidence
    assert shed["aggregates"] >= 2  # the closed bucket of each check
    assert engine.pending_rows >= 2  # both checks' statuses and HOME's state change stay

    await store.open()
    assert not (await engine.flush()).failed
    async with store.transaction(read_only=True) as tx:
        [incident] = await tx.incidents.find()
        changes = await tx.checks.changes(HOME)
    assert incident.level is Level.A
    assert [c.new for c in changes] == [CheckState.FAILING]  # kept through the outage
