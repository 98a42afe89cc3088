"""Issue 18 item 3: a site's latency shows from its first probe, and a slow site's
latency shows while its Level B (slowness) case is open — the demo's slow API read
"State ok, Latency –" because a check that stays ok writes no status row and the
recent-results ring waited for the next checkpoint (every 30 s).

A scripted equivalent of the demo's slow API: one engine on a real store, a fast
baseline, then slow answers until the Level B case opens; then what `vakt status` and the
team UI's overview read from the store. No checkpoint runs meanwhile.
"""

from __future__ import annotations

import pytest

from monitor.cli.status import read_snapshot, site_lines
from monitor.clock import FixedClock
from monitor.model import IncidentStatus, Level
from monitor.store import Store
from monitor.web.ui.overview import site_latency
from tests.engine.support import T0
from tests.engine.test_restart import cases, probe, restarted, slow_config


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


async def latencies(store: Store, clock: FixedClock) -> tuple[float | None, float | None]:
    """(what `vakt status` shows, what the overview shows) for the site."""
    config = slow_config()
    snapshot = await read_snapshot(store, clock.now())
    [line] = site_lines(config, snapshot, None)
    [site] = config.sites()
    async with store.transaction(read_only=True) as tx:
        ring = await tx.results.newest()
    return line.latency, site_latency(site, dict(snapshot.checks), ring)


async def test_a_slow_sites_latency_shows_while_its_level_b_case_is_open(
    store: Store, clock: FixedClock
) -> None:
    engine = await restarted(store, clock)  # checkpoint_every: never, within this test
    await probe(engine, clock, 0.05)
    assert (await latencies(store, clock))[0] == pytest.approx(0.05)  # from the first probe
    await probe(engine, clock, 0.05, rounds=39)
    await probe(engine, clock, 0.5, rounds=3)
    [case] = await cases(store)
    assert (case.level, case.status) == (Level.B, IncidentStatus.OPEN)

    status, overview = await latencies(store, clock)
    assert status == pytest.approx(0.5)
    assert overview == pytest.approx(0.5)
