"""`impact: warning` checks: the engine tells the team once per episode through the real
notification planner; no incident opens and no customer hears of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from monitor.clock import FixedClock
from monitor.config.records import Config, EmailSettings, Mailbox
from monitor.engine.engine import Engine
from monitor.engine.notify import NotifyPlanner
from monitor.model import Impact, Verdict
from monitor.notify.message import MessageKind
from monitor.notify.planner import Planner
from monitor.store import OutboxItem, Store
from tests.engine.support import T0, check, config, no_deadlines, result, site

HOME = "acme/shop/home"
CERT = "acme/shop/certificate"
FAILED, OK = Verdict.FAILED, Verdict.OK
TEAM = "ops@agency.example"


def warning_config() -> Config:
    base = site()
    cert = check(base.id, "certificate", Impact.WARNING)
    cfg = config(replace(base, checks=(*base.checks, cert)))
    return replace(cfg, settings=replace(cfg.settings, email=EmailSettings(team=Mailbox(TEAM))))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
async def engine(store: Store, clock: FixedClock) -> Engine:
    cfg = warning_config()
    engine = Engine(store, cfg, clock, planner=NotifyPlanner(Planner(cfg)), deadlines=no_deadlines)
    await engine.start()
    return engine


async def feed(engine: Engine, clock: FixedClock, cert: Verdict, rounds: int = 1) -> None:
    for _ in range(rounds):
        engine.submit(result(HOME, clock.now()), 0.0)
        engine.submit(result(CERT, clock.now(), cert), 0.0)
        await engine.flush()
        clock.advance(10)


async def outbox(store: Store) -> list[OutboxItem]:
    async with store.transaction(read_only=True) as tx:
        return sorted(await tx.outbox.find(limit=1000), key=lambda i: i.id)


async def test_a_failing_warning_check_warns_the_team_once_and_opens_no_incident(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await feed(engine, clock, OK)
    await feed(engine, clock, FAILED)
    assert await outbox(store) == []  # not confirmed yet (confirm: 2)
    await feed(engine, clock, FAILED, rounds=5)
    [warning] = await outbox(store)
    assert (warning.key.subject, warning.key.kind) == (
        f"check:{CERT}",
        MessageKind.TEAM_WARNING.value,
    )
    assert (warning.key.recipient, warning.key.channel) == ("team", "email")
    assert TEAM in warning.payload
    assert warning.due_at == T0 + timedelta(seconds=10)  # when the bad streak began
    async with store.transaction(read_only=True) as tx:
        assert await tx.incidents.find() == []


async def test_a_new_episode_after_recovery_warns_again_under_its_own_key(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await feed(engine, clock, FAILED, rounds=2)
    await feed(engine, clock, OK, rounds=2)  # recover: 2
    await feed(engine, clock, FAILED, rounds=2)
    warnings = await outbox(store)
    assert [w.key.subject for w in warnings] == [f"check:{CERT}"] * 2
    assert len({w.key.slot for w in warnings}) == 2


async def test_no_team_address_means_no_warning(store: Store, clock: FixedClock) -> None:
    cfg = warning_config()
    cfg = replace(cfg, settings=replace(cfg.settings, email=EmailSettings()))
    engine = Engine(store, cfg, clock, planner=NotifyPlanner(Planner(cfg)), deadlines=no_deadlines)
    await engine.start()
    await feed(engine, clock, FAILED, rounds=3)
    assert await outbox(store) == []
