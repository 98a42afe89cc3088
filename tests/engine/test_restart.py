"""A crash at any instant loses nothing evaluation depends on (DESIGN.md 8, rule 1).

Each test drives one engine, abandons it without `close()` or a checkpoint (a SIGKILL),
and starts a second one on the same store: its memory must be what the first one had
committed, and its decisions the same.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from monitor.clock import FixedClock
from monitor.config.records import Config, SlowRule
from monitor.engine import resolve
from monitor.engine.engine import Engine
from monitor.evaluate import LocationState
from monitor.model import CheckState, IncidentStatus, Level, Verdict
from monitor.store import Incident, Store
from tests.engine.support import QUIET_PLANNER, T0, config, no_deadlines, result, site

HOME = "acme/shop/home"
CHECKOUT = "acme/shop/checkout"
Locations = dict[str, dict[str, LocationState]]
RULE = SlowRule(
    factor=3.0,
    over=timedelta(seconds=30),
    min=timedelta(milliseconds=100),
    baseline=timedelta(hours=1),
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def slow_config() -> Config:
    return config(site(slow=RULE))


async def probe(engine: Engine, clock: FixedClock, total: float, rounds: int = 1) -> None:
    """`rounds` rounds of both checks ok in `total` seconds, one flush each, 5 s apart."""
    for _ in range(rounds):
        for check_id in (HOME, CHECKOUT):
            engine.submit(result(check_id, clock.now(), Verdict.OK, total=total), 0.0)
        await engine.flush()
        clock.advance(5)


def decisive(locations: Locations) -> Locations:
    """The states without the success streak of a location already ok: it decides nothing
    (the steady state writes nothing), so it is not kept."""
    return {
        check_id: {
            loc: replace(state, good=0) if state.state is CheckState.OK else state
            for loc, state in states.items()
        }
        for check_id, states in locations.items()
    }


async def cases(store: Store) -> list[Incident]:
    async with store.transaction(read_only=True) as tx:
        return await tx.incidents.find()


async def restarted(store: Store, clock: FixedClock) -> Engine:
    engine = Engine(
        store,
        slow_config(),
        clock,
        planner=QUIET_PLANNER,
        deadlines=no_deadlines,
        checkpoint_every=1e9,
    )
    await engine.start()
    return engine


async def test_a_crash_loses_no_latency_sample_and_no_site_memory(
    store: Store, clock: FixedClock
) -> None:
    first = await restarted(store, clock)
    await probe(first, clock, 0.05, rounds=35)
    await first.checkpoint()  # a compaction in the middle: the journal continues from it
    await probe(first, clock, 0.05, rounds=5)
    await probe(first, clock, 0.5, rounds=3)  # slow: Level B
    [case] = await cases(store)
    assert (case.level, case.status) == (Level.B, IncidentStatus.OPEN)
    second = await restarted(store, clock)  # no close(), no checkpoint: a SIGKILL
    assert second.memory.baselines == first.memory.baselines
    assert second.memory.seq == first.memory.seq
    assert second.memory.sites == first.memory.sites
    assert decisive(second.memory.locations) == decisive(first.memory.locations)


async def test_a_slow_case_keeps_its_level_after_a_restart_longer_than_the_window(
    store: Store, clock: FixedClock
) -> None:
    first = await restarted(store, clock)
    await probe(first, clock, 0.05, rounds=40)
    await probe(first, clock, 0.5, rounds=3)
    [case] = await cases(store)
    assert (case.level, case.status) == (Level.B, IncidentStatus.OPEN)
    clock.advance(RULE.over.total_seconds() + 10)  # down for longer than the short window
    second = await restarted(store, clock)
    await second.tick()
    await probe(second, clock, 0.5)  # one fresh sample: still too few to judge
    await second.tick()
    assert await cases(store) == [case]  # nothing written: same level, status, version
    await probe(second, clock, 0.5, rounds=2)
    assert await cases(store) == [case]
    await probe(second, clock, 0.05, rounds=10)  # fresh evidence of recovery resolves it
    [resolved] = await cases(store)
    assert (resolved.case_number, resolved.status) == (case.case_number, IncidentStatus.RESOLVED)


async def test_a_restart_keeps_the_exact_mixed_bad_streak(store: Store, clock: FixedClock) -> None:
    first = await restarted(store, clock)
    await probe(first, clock, 0.05)
    for verdict in (Verdict.FAILED, Verdict.DEGRADED):
        first.submit(result(HOME, clock.now(), verdict), 0.0)
        await first.flush()
        clock.advance(5)
    second = await restarted(store, clock)
    assert second.memory.locations[HOME] == first.memory.locations[HOME]


async def test_a_restart_after_a_manual_resolve_keeps_detection_rearmed(
    store: Store, clock: FixedClock
) -> None:
    first = await restarted(store, clock)
    for _ in range(2):
        for check_id, verdict in ((HOME, Verdict.FAILED), (CHECKOUT, Verdict.OK)):
            first.submit(result(check_id, clock.now(), verdict), 0.0)
        await first.flush()
        clock.advance(5)
    [opened] = await cases(store)
    await resolve(store, opened.case_number, "alice", clock.now())
    await first.tick()  # re-arms: the failure needs a fresh confirmation
    second = await restarted(store, clock)  # a SIGKILL right after
    second.submit(result(HOME, clock.now(), Verdict.FAILED), 0.0)
    await second.flush()
    [still] = await cases(store)  # one failure after re-arming: no new case
    assert (still.case_number, still.status) == (opened.case_number, IncidentStatus.RESOLVED)


async def test_a_start_and_a_reload_evaluate_only_the_sites_not_at_rest(
    store: Store, clock: FixedClock
) -> None:
    three = config(site("acme/shop"), site("acme/blog"), site("acme/news"))

    def engine() -> Engine:
        return Engine(store, three, clock, planner=QUIET_PLANNER, deadlines=no_deadlines)

    first = engine()
    await first.start()
    assert (await first.flush()).sites == 0  # a fresh store: every site is at rest
    for check_id in ("acme/shop/home", "acme/blog/home", "acme/news/home"):
        first.submit(result(check_id, clock.now()), 0.0)
    await first.flush()
    clock.advance(5)
    for _ in range(2):  # the shop's home fails twice: a case
        first.submit(result("acme/shop/home", clock.now(), Verdict.FAILED), 0.0)
        await first.flush()
        clock.advance(5)
    first.submit(result("acme/blog/home", clock.now(), Verdict.FAILED), 0.0)  # one: a streak
    await first.flush()
    [case] = await cases(store)
    second = engine()  # a restart
    await second.start()
    assert (await second.flush()).sites == 2  # the shop (its case) and the blog (its streak)
    assert (await second.flush()).sites == 0
    second.reload(three)
    assert (await second.flush()).sites == 2
    assert await cases(store) == [case]  # evaluated, and nothing changed
