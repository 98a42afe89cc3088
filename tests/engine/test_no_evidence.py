"""Vakt's own trouble through the engine: no incident, the check keeps its state
(issue 16 items 2 and 4; DESIGN.md trust rule 4)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.clock import FixedClock
from monitor.engine.engine import Engine
from monitor.model import ErrorCode, IncidentStatus, Verdict
from monitor.store import Store
from tests.engine.support import QUIET_PLANNER, T0, config, no_deadlines, result

HOME = "acme/shop/home"
CHECKOUT = "acme/shop/checkout"


@pytest.mark.parametrize("code", [ErrorCode.LOCAL_RESOURCE, ErrorCode.INTERNAL])
async def test_problem_2_local_errors_open_no_incident_and_do_not_resolve_one(
    store: Store, code: ErrorCode
) -> None:
    clock = FixedClock(T0)
    engine = Engine(store, config(), clock, planner=QUIET_PLANNER, deadlines=no_deadlines)
    await engine.start()

    async def probe_round(home: Verdict, error: ErrorCode | None = None) -> None:
        probe = result(HOME, clock.now(), home)
        engine.submit(probe if error is None else replace(probe, error=error), 0.0)
        engine.submit(result(CHECKOUT, clock.now()), 0.0)
        await engine.flush()
        clock.advance(10)

    await probe_round(Verdict.OK)
    for _ in range(6):  # twice what confirms a failure
        await probe_round(Verdict.FAILED, code)
    async with store.transaction(read_only=True) as tx:
        assert await tx.incidents.find() == []
    for _ in range(3):  # a real outage still opens its case
        await probe_round(Verdict.FAILED)
    async with store.transaction(read_only=True) as tx:
        [incident] = await tx.incidents.find()
    for _ in range(6):  # and Vakt's trouble neither resolves nor changes it
        await probe_round(Verdict.FAILED, code)
    async with store.transaction(read_only=True) as tx:
        [still] = await tx.incidents.find()
    assert still.status is IncidentStatus.OPEN
    assert (still.id, still.level) == (incident.id, incident.level)
