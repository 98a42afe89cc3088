"""Canaries (DESIGN.md section 4): when the canaries fail together with a large share of
customer checks, Vakt warns the team ONCE that it lost connectivity and opens no
customer incident, for at most 30 minutes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from monitor.clock import FixedClock
from monitor.config.records import Config, EmailSettings, Mailbox
from monitor.engine.engine import Engine
from monitor.engine.notify import NotifyPlanner
from monitor.model import Verdict
from monitor.notify.planner import Planner
from monitor.probes.canary import canary_checks
from monitor.store import Incident, OutboxItem, Store
from tests.engine.support import T0, config, no_deadlines, result

HOME = "acme/shop/home"
CHECKOUT = "acme/shop/checkout"
FAILED, OK = Verdict.FAILED, Verdict.OK


def canary_config() -> Config:
    cfg = config()
    settings = replace(
        cfg.settings,
        canaries=("http://127.0.0.1:9/canary",),
        email=EmailSettings(team=Mailbox("ops@agency.example")),
    )
    return replace(cfg, settings=settings)


CANARY = canary_checks(canary_config().settings)[0].id


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
async def engine(store: Store, clock: FixedClock) -> Engine:
    cfg = canary_config()
    engine = Engine(store, cfg, clock, planner=NotifyPlanner(Planner(cfg)), deadlines=no_deadlines)
    await engine.start()
    return engine


async def feed(
    engine: Engine, clock: FixedClock, canary: Verdict, site: Verdict, rounds: int = 1
) -> None:
    for _ in range(rounds):
        engine.submit(result(CANARY, clock.now(), canary), 0.0)
        for check_id in (HOME, CHECKOUT):
            engine.submit(result(check_id, clock.now(), site), 0.0)
        await engine.flush()
        clock.advance(10)


async def incidents(store: Store) -> list[Incident]:
    async with store.transaction(read_only=True) as tx:
        return await tx.incidents.find()


async def warnings(store: Store) -> list[OutboxItem]:
    async with store.transaction(read_only=True) as tx:
        return [i for i in await tx.outbox.find(limit=1000) if i.key.kind == "team_warning"]


async def test_canaries_and_sites_failing_together_warn_once_and_open_no_incident(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await feed(engine, clock, OK, OK)
    await feed(engine, clock, FAILED, FAILED, rounds=6)
    assert await incidents(store) == []
    [warning] = await warnings(store)
    assert warning.key.subject == "connectivity"
    assert "Vakt lost connectivity" in warning.payload
    assert engine.connectivity.suppressing


async def test_the_suppression_ends_after_30_minutes_and_the_incident_opens(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await feed(engine, clock, FAILED, FAILED, rounds=3)
    assert await incidents(store) == []
    clock.advance(timedelta(minutes=29).total_seconds())
    await feed(engine, clock, FAILED, FAILED)
    assert await incidents(store) == []  # still within 30 minutes of the loss
    clock.advance(timedelta(minutes=1).total_seconds())
    await feed(engine, clock, FAILED, FAILED)
    [incident] = await incidents(store)
    assert incident.site_id == "acme/shop"
    assert len(await warnings(store)) == 1  # still the one warning


async def test_a_site_failing_alone_opens_its_incident_as_usual(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await feed(engine, clock, OK, FAILED, rounds=3)
    assert len(await incidents(store)) == 1
    assert await warnings(store) == []


async def test_after_a_restored_connection_a_new_loss_warns_again(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await feed(engine, clock, FAILED, FAILED, rounds=3)
    await feed(engine, clock, OK, OK, rounds=3)
    assert not engine.connectivity.suppressing
    await feed(engine, clock, FAILED, FAILED, rounds=3)
    assert await incidents(store) == []
    assert len(await warnings(store)) == 2
