"""Issue 18 item 3: a healthy, probed site does not look unmonitored. The engine writes a
5-minute aggregate when its bucket closes and the recent-results ring at each checkpoint,
so the overview's 24-hour sparkline, the site chart and the latency must fill from the
ring before the first aggregate exists."""

from __future__ import annotations

import re
from datetime import timedelta

from monitor.model import CheckState
from monitor.store import CheckStatus
from tests.web.conftest import Client
from tests.web.support import T0, Env, add_password, login, ok_result

CHECK = "open/web/home"


async def only_the_ring(env: Env) -> None:
    """Two minutes of probes in the open bucket: ring entries, no aggregate yet; the check
    status as the engine wrote it at the first probe (latency of that probe)."""
    results = [ok_result(CHECK, T0 - timedelta(seconds=s), 0.2 + s / 1000) for s in (90, 60, 30)]
    async with env.store.transaction() as tx:
        await tx.results.push_recent(results)
        first = CheckStatus(CHECK, "oslo", CheckState.OK, T0 - timedelta(seconds=90), T0)
        await tx.checks.save([first])


async def test_problem_3_the_sparkline_and_site_chart_fill_before_the_first_aggregate(
    env: Env, private: Client
) -> None:
    await only_the_ring(env)
    await add_password(env.store)
    await login(private)

    overview = await (await private.get("/")).text()
    row = overview[overview.index("www.open.example") :]
    assert re.search(r'<polyline class="line" points="[^"]+"', row[:3000])
    assert "230 ms" in row[:1500]  # the newest probe's latency, not "–"

    site = await (await private.get("/sites/open/web")).text()
    assert re.search(r'<polyline class="line" points="[^"]+"', site)
