"""The engine: results in, one transaction per flush out, the store as the truth."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.clock import FixedClock
from monitor.engine import acknowledge, resolve
from monitor.engine.engine import Engine
from monitor.model import CheckState, IncidentStatus, Level, Verdict
from monitor.store import EventKind, Incident, MaintenanceWindow, Store
from tests.engine.support import QUIET_PLANNER, T0, config, no_deadlines, result

HOME = "acme/shop/home"
CHECKOUT = "acme/shop/checkout"
FAILED, OK = Verdict.FAILED, Verdict.OK


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
async def engine(store: Store, clock: FixedClock) -> Engine:
    engine = Engine(store, config(), clock, planner=QUIET_PLANNER, deadlines=no_deadlines)
    await engine.start()
    return engine


async def feed(engine: Engine, clock: FixedClock, *probes: tuple[str, Verdict]) -> None:
    """One round: each (check, verdict) probed now, then a flush; the clock moves 10 s."""
    for check_id, verdict in probes:
        engine.submit(result(check_id, clock.now(), verdict), 0.0)
    await engine.flush()
    clock.advance(10)


async def incidents(store: Store) -> list[Incident]:
    async with store.transaction(read_only=True) as tx:
        return await tx.incidents.find()


async def test_home_failing_twice_opens_one_level_a_case(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await feed(engine, clock, (HOME, OK), (CHECKOUT, OK))
    await feed(engine, clock, (HOME, FAILED), (CHECKOUT, OK))
    assert await incidents(store) == []  # one failed probe: nothing
    await feed(engine, clock, (HOME, FAILED), (CHECKOUT, OK))
    await feed(engine, clock, (HOME, FAILED), (CHECKOUT, OK))
    [incident] = await incidents(store)
    assert (incident.level, incident.status) == (Level.A, IncidentStatus.OPEN)
    assert incident.case_number == "VAKT-2026-000001"
    assert "Home" in incident.description
    async with store.transaction(read_only=True) as tx:
        [site] = await tx.sites.load()
        events = await tx.incidents.events(incident.id)
    assert (site.level, site.incident_id) == (Level.A, incident.id)
    assert [e.kind for e in events] == [EventKind.OPENED]


async def test_only_checkout_failing_is_level_b(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    for _ in range(3):
        await feed(engine, clock, (HOME, OK), (CHECKOUT, FAILED))
    [incident] = await incidents(store)
    assert incident.level is Level.B


async def test_steady_successes_write_no_check_state(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await feed(engine, clock, (HOME, OK), (CHECKOUT, OK))
    first = await engine.flush()
    for _ in range(5):
        engine.submit(result(HOME, clock.now()), 0.0)
        report = await engine.flush()
        clock.advance(10)
        assert (report.results, report.statuses, report.changes, report.sites) == (1, 0, 0, 0)
    assert first.results == 0
    async with store.transaction(read_only=True) as tx:
        changes = await tx.checks.changes(HOME)
    assert [(c.old, c.new) for c in changes] == [(CheckState.UNKNOWN, CheckState.OK)]


async def test_recovery_resolves_and_a_relapse_reopens_the_same_case(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    for _ in range(2):
        await feed(engine, clock, (HOME, FAILED), (CHECKOUT, OK))
    for _ in range(2):
        await feed(engine, clock, (HOME, OK), (CHECKOUT, OK))
    [resolved] = await incidents(store)
    assert (resolved.status, resolved.resolved_by) == (IncidentStatus.RESOLVED, "vakt")
    for _ in range(2):
        await feed(engine, clock, (HOME, FAILED), (CHECKOUT, OK))
    [reopened] = await incidents(store)
    assert reopened.case_number == resolved.case_number
    assert reopened.status is IncidentStatus.OPEN


async def test_flapping_cycles_mark_the_one_case_flapping(store: Store, clock: FixedClock) -> None:
    from monitor.config.records import FlappingSettings

    flapping = FlappingSettings(changes=4, within=timedelta(minutes=30))
    engine = Engine(
        store, config(flapping=flapping), clock, planner=QUIET_PLANNER, deadlines=no_deadlines
    )
    await engine.start()
    for _ in range(4):  # four outages: a recovery is not a change
        for _ in range(2):
            await feed(engine, clock, (HOME, FAILED), (CHECKOUT, OK))
        for _ in range(2):
            await feed(engine, clock, (HOME, OK), (CHECKOUT, OK))
    [incident] = await incidents(store)
    assert incident.flapping


async def test_a_restart_keeps_the_open_case_and_opens_no_second(
    store: Store, clock: FixedClock
) -> None:
    first = Engine(store, config(), clock, planner=QUIET_PLANNER, deadlines=no_deadlines)
    await first.start()
    for _ in range(2):
        await feed(first, clock, (HOME, FAILED), (CHECKOUT, OK))
    # no close(): a crash loses nothing that was committed
    second = Engine(store, config(), clock, planner=QUIET_PLANNER, deadlines=no_deadlines)
    await second.start()
    assert second.memory.locations[HOME]["oslo"].state is CheckState.FAILING
    for _ in range(3):
        await feed(second, clock, (HOME, FAILED), (CHECKOUT, OK))
    await second.tick()
    [incident] = await incidents(store)
    assert incident.status is IncidentStatus.OPEN
    await feed(second, clock, (HOME, OK), (CHECKOUT, OK))
    third = Engine(store, config(), clock, planner=QUIET_PLANNER, deadlines=no_deadlines)
    await third.start()
    await feed(third, clock, (HOME, OK), (CHECKOUT, OK))
    [incident] = await incidents(store)
    assert incident.status is IncidentStatus.RESOLVED


async def test_the_engine_never_overwrites_a_concurrent_acknowledgement(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    for _ in range(2):
        await feed(engine, clock, (HOME, FAILED), (CHECKOUT, OK))
    [opened] = await incidents(store)
    await acknowledge(store, opened.case_number, "alice", clock.now())
    # the engine's next decisions (checkout failing too: still A, more checks) build on it
    for _ in range(2):
        await feed(engine, clock, (HOME, FAILED), (CHECKOUT, FAILED))
    for _ in range(2):
        await feed(engine, clock, (HOME, OK), (CHECKOUT, OK))
    [incident] = await incidents(store)
    assert incident.acknowledged_by == "alice"
    assert incident.status is IncidentStatus.RESOLVED


async def test_a_manual_resolve_while_failing_rearms_detection(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    for _ in range(2):
        await feed(engine, clock, (HOME, FAILED), (CHECKOUT, OK))
    [opened] = await incidents(store)
    await resolve(store, opened.case_number, "alice", clock.now())
    await engine.tick()
    assert HOME not in engine.memory.locations
    await feed(engine, clock, (HOME, FAILED), (CHECKOUT, OK))
    assert len(await incidents(store)) == 1  # one failure after re-arming: no new case yet
    await feed(engine, clock, (HOME, FAILED), (CHECKOUT, OK))
    newest, first = await incidents(store)
    assert first.case_number == opened.case_number
    assert first.status is IncidentStatus.RESOLVED
    assert first.resolved_by == "alice"
    assert newest.case_number != opened.case_number
    assert newest.status is IncidentStatus.OPEN


async def test_a_store_error_keeps_the_batch_for_the_next_flush(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await store.close()
    for _ in range(2):
        engine.submit(result(HOME, clock.now(), FAILED), 0.0)
        report = await engine.flush()
        clock.advance(10)
        assert report.failed
    await store.open()
    report = await engine.flush()
    assert not report.failed
    assert report.changes == 1
    assert report.evidence == 2
    [incident] = await incidents(store)
    assert incident.level is Level.A


async def test_maintenance_holds_the_case_until_the_window_ends_then_the_tick_opens_it(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    async with store.transaction() as tx:
        await tx.maintenance.add(
            MaintenanceWindow(
                sites=("acme/*",),
                start=T0,
                end=T0 + timedelta(seconds=45),
                reason="upgrade",
                created_by="alice",
                created_at=T0,
            )
        )
    for _ in range(3):
        await feed(engine, clock, (HOME, FAILED), (CHECKOUT, OK))
    assert await incidents(store) == []
    clock.advance(20)
    await engine.tick()
    [incident] = await incidents(store)
    assert incident.level is Level.A


async def test_a_full_batch_wakes_the_writer(store: Store, clock: FixedClock) -> None:
    import asyncio

    engine = Engine(
        store,
        config(),
        clock,
        planner=QUIET_PLANNER,
        deadlines=no_deadlines,
        batch_size=3,
        flush_every=3600,
    )
    await engine.start()
    writer = asyncio.create_task(engine.run())
    for _ in range(3):
        engine.submit(result(HOME, clock.now(), FAILED), 0.0)
    async with asyncio.timeout(30):
        while not (await incidents(store)):  # noqa: ASYNC110 - the writer task commits
            await asyncio.sleep(0.05)
    await engine.close()
    await writer


async def test_a_requested_tick_is_done_by_the_writer_loop(store: Store, clock: FixedClock) -> None:
    """The daemon's tick job only asks (`request_tick`): the running writer loop's next
    flush re-evaluates the held site, at once, however long its period."""
    import asyncio

    engine = Engine(
        store, config(), clock, planner=QUIET_PLANNER, deadlines=no_deadlines, flush_every=3600
    )
    await engine.start()
    async with store.transaction() as tx:
        await tx.maintenance.add(
            MaintenanceWindow(
                sites=("acme/*",),
                start=T0,
                end=T0 + timedelta(seconds=45),
                reason="upgrade",
                created_by="alice",
                created_at=T0,
            )
        )
    for _ in range(3):
        await feed(engine, clock, (HOME, FAILED), (CHECKOUT, OK))
    clock.advance(20)  # the window has ended; no result arrives
    writer = asyncio.create_task(engine.run())
    await asyncio.sleep(0.05)
    assert await incidents(store) == []  # the writer sleeps: nothing asked it to flush
    engine.request_tick()
    async with asyncio.timeout(30):
        while not (await incidents(store)):  # noqa: ASYNC110 - the writer task commits
            await asyncio.sleep(0.05)
    [incident] = await incidents(store)
    assert incident.level is Level.A
    await engine.close()
    await writer
