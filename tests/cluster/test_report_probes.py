"""A customer's report probes the site's checks at once on the instances that own them
(issue 22 item 2: "through the store, so in a cluster the instances that own the checks do
it"). Two `vakt run` processes on one PostgreSQL share the location `oslo`, each probing
from its own loopback address; the checks' interval is long, so a hit at the target soon
after the report is the report's probe. Every check must get one, from the one member that
owns it: with the probe asked only of the leader's scheduler, the standby's shard would
wait for its rhythm."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from monitor.clock import SystemClock
from monitor.config import load_config
from monitor.incidents.reports import Filed, ReportSource, make_report
from monitor.intake import Desk
from monitor.store import Store
from tests.cluster.support import counted_members, locations_config, shard_size

pytestmark = pytest.mark.pg

CHECKS = 12
SOURCES = ("127.0.0.2", "127.0.0.3")
ARGS = tuple(("--location", "oslo", "--probe-source-address", s) for s in SOURCES)
PATHS = [f"/c{i}" for i in range(CHECKS)]


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_a_report_is_probed_by_the_members_that_own_the_checks(
    tmp_path: Path, pg_url: str
) -> None:
    config_text = locations_config(checks=CHECKS, interval="600s", locations=("oslo",))
    async with counted_members(tmp_path, pg_url, config=config_text, args=ARGS, n=2) as (
        target,
        members,
    ):
        for i in (0, 1):
            await members.until(f"vakt{i} joined", members.joined(i))
        await members.leader()

        async def split() -> bool:  # both members run and the checks are shared out
            return shard_size(members, 0) + shard_size(members, 1) == CHECKS

        await members.until("the shards cover every check once", split)
        sizes = [shard_size(members, i) for i in (0, 1)]
        config = load_config(str(members.daemons[0].config))
        asked = time.monotonic()
        async with Store(pg_url) as store:
            desk = Desk(store, lambda: config, SystemClock())
            report = make_report(
                config.customers["acme"], site="shop", name="Kari Nordmann",
                email="kari@acme.example", description="Kassen feiler", urgent=False,
                submitted_at=SystemClock().now(), source=ReportSource.FORM,
            )  # fmt: skip
            receipt = await desk.file(report)
        assert receipt.filed is Filed.OPENED

        def sources(path: str) -> set[str]:
            return {src for src, p, at in target.hits if p == path and at >= asked}

        async def every_check_probed() -> bool:
            return all(sources(p) for p in PATHS)

        await members.until("every check of the reported site probed", every_check_probed)
        by_source = {src: sum(src in sources(p) for p in PATHS) for src in SOURCES}
        print(f"shard sizes {sizes}; checks probed for the report per source {by_source}")
        for path in PATHS:  # by its owner alone: one member, one probe
            assert len(sources(path)) == 1, (path, sources(path))
        assert sorted(by_source.values()) == sorted(sizes)
