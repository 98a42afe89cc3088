"""Cluster mode: the leading engine reads the probe inbox at each flush, evaluates those
results per (check, location), and deletes the rows in the flush's own transaction."""

from __future__ import annotations

import pytest

from monitor.clock import FixedClock
from monitor.engine.engine import Engine
from monitor.model import CheckState, Level, Verdict
from monitor.store import Store
from tests.engine.support import QUIET_PLANNER, T0, config, no_deadlines, result

HOME = "acme/shop/home"
CHECKOUT = "acme/shop/checkout"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


async def inbox_rows(store: Store) -> int:
    async with store.transaction(read_only=True) as tx:
        return await tx.inbox.count()


async def test_results_of_other_members_are_evaluated_and_consumed_once(
    store: Store, clock: FixedClock
) -> None:
    engine = Engine(
        store, config(), clock, planner=QUIET_PLANNER, deadlines=no_deadlines, inbox=True
    )
    await engine.start()
    for _ in range(3):
        async with store.transaction() as tx:
            await tx.inbox.add("other:1", [result(HOME, clock.now(), Verdict.FAILED)], 1000)
            await tx.inbox.add("other:2", [result(CHECKOUT, clock.now())], 1000)
        report = await engine.flush()
        assert (report.results, report.failed) == (2, False)
        assert await inbox_rows(store) == 0  # deleted with the flush that evaluated them
        clock.advance(10)
    assert (await engine.flush()).results == 0  # nothing is read twice
    async with store.transaction(read_only=True) as tx:
        [incident] = await tx.incidents.find()
        states = {(s.check_id, s.location): s for s in await tx.checks.load()}
    assert incident.level is Level.A
    assert states[(HOME, "oslo")].state is CheckState.FAILING


async def test_a_standby_engine_leaves_the_inbox_to_the_leader(
    store: Store, clock: FixedClock
) -> None:
    class Standby:
        holder, term = "me:1", None

    engine = Engine(
        store,
        config(),
        clock,
        planner=QUIET_PLANNER,
        deadlines=no_deadlines,
        inbox=True,
        fence=Standby(),
    )
    async with store.transaction() as tx:
        await tx.inbox.add("other:1", [result(HOME, clock.now(), Verdict.FAILED)], 1000)
    await engine.flush()
    assert await inbox_rows(store) == 1
