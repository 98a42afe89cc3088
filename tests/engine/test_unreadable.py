"""An incident row this release cannot read stops only its own site (issue 15 item 2: one
mapping, one error policy). The engine once let `UnreadableCase` out of the flush, so one
bad row stopped every site's evaluation on every flush."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from monitor.clock import FixedClock
from monitor.engine.engine import Engine
from monitor.model import IncidentStatus, Level, Verdict
from monitor.store import Store
from tests.engine.support import (
    QUIET_PLANNER,
    T0,
    config,
    no_deadlines,
    result,
    site,
    stored_incident,
)

FAILED = Verdict.FAILED


async def test_an_unreadable_case_holds_its_site_and_the_others_are_still_evaluated(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    broken = dataclasses.replace(
        stored_incident("VAKT-2026-000900"), data='{"v":1,"kind":"no-such-kind"'
    )
    async with store.transaction() as tx:
        await tx.incidents.insert(broken)
    clock = FixedClock(T0)
    engine = Engine(
        store,
        config(site("acme/shop"), site("beta/web")),
        clock,
        planner=QUIET_PLANNER,
        deadlines=no_deadlines,
    )
    await engine.start()
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            for check_id in ("acme/shop/home", "beta/web/home"):
                engine.submit(result(check_id, clock.now(), FAILED), 0.0)
            report = await engine.flush()
            clock.advance(10)
            assert not report.failed
    async with store.transaction(read_only=True) as tx:
        rows = await tx.incidents.find()
    by_site = {row.site_id: row for row in rows}
    assert by_site["beta/web"].status is IncidentStatus.OPEN  # the other site: evaluated
    assert by_site["beta/web"].level is Level.A
    assert by_site["acme/shop"].data == broken.data  # the unreadable case: left as it was
    assert [r.site_id for r in rows].count("acme/shop") == 1  # no second case for it
    unreadable = [r for r in caplog.records if r.getMessage() == "engine.unreadable_case"]
    assert {r.__dict__["case"] for r in unreadable} == {"VAKT-2026-000900"}
