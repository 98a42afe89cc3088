"""Probe locations across instances (issue 20 items 1-3): three `vakt run` processes on
one PostgreSQL, two in `oslo` (probing from 127.0.0.2), one in `frankfurt` (127.0.0.3);
a target on 127.0.0.1 counts its hits per source address and path. Each check is probed
in each location its site lists by exactly one live member of that location
(rendezvous hashing), a killed member's checks move to the other member of its location,
and a location without members is reported. Assertions are counts at the target."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from tests.cluster.support import (
    CountingTarget,
    Members,
    counted_members,
    locations_config,
    shard_size,
)

pytestmark = pytest.mark.pg

INTERVAL = 5.0  # seconds between probes of a check (the issue asks for >= 5 s)
CHECKS = 6
OSLO, FRANKFURT = "127.0.0.2", "127.0.0.3"
ARGS = (
    ("--location", "oslo", "--probe-source-address", OSLO),
    ("--location", "oslo", "--probe-source-address", OSLO),
    ("--location", "frankfurt", "--probe-source-address", FRANKFURT),
)
PATHS = [f"/c{i}" for i in range(CHECKS)]


def _members(tmp: Path, url: str) -> AbstractAsyncContextManager[tuple[CountingTarget, Members]]:
    config = locations_config(
        checks=CHECKS, interval=f"{INTERVAL:g}s", locations=("oslo", "frankfurt")
    )
    return counted_members(tmp, url, config=config, args=ARGS, n=len(ARGS))


async def _all_probing(members: Members, target: CountingTarget) -> None:
    """Every member joined, and every check was probed from both locations."""
    for i in range(len(members.daemons)):
        await members.until(f"vakt{i} joined", members.joined(i))
    await members.leader()
    since = time.monotonic()

    async def probed() -> bool:
        seen = target.count(since, float("inf"))
        return all((src, p) in seen for src in (OSLO, FRANKFURT) for p in PATHS)

    await members.until("every check probed from both locations", probed)


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_each_check_is_probed_once_per_interval_in_each_location(
    tmp_path: Path, pg_url: str
) -> None:
    async with _members(tmp_path, pg_url) as (target, members):
        await _all_probing(members, target)
        await asyncio.sleep(INTERVAL)  # any start-up shard change has settled
        start = time.monotonic()
        await asyncio.sleep(10 * INTERVAL)
        counts = target.count(start, time.monotonic())
        print(f"hits per (source, path) over 10 intervals: {sorted(counts.items())}")
        assert set(counts) == {(src, p) for src in (OSLO, FRANKFURT) for p in PATHS}
        for key, n in counts.items():
            assert 9 <= n <= 11, (key, n)

        # the results reached the leader through the store: its inbox is consumed
        async def consumed() -> bool:
            [row] = await members.sql("SELECT count(*) AS n FROM probe_inbox")
            return int(row["n"]) <= 2 * CHECKS

        await members.until("the leader consumes the probe inbox", consumed)
        rows = await members.sql("SELECT DISTINCT location FROM cluster_members")
        assert {r["location"] for r in rows} == {"oslo", "frankfurt"}


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_a_killed_member_s_checks_move_to_the_other_in_its_location(
    tmp_path: Path, pg_url: str
) -> None:
    async with _members(tmp_path, pg_url) as (target, members):
        await _all_probing(members, target)
        await asyncio.sleep(2 * INTERVAL)
        sizes = [shard_size(members, i) for i in (0, 1)]
        assert sum(sizes) == CHECKS, sizes  # oslo's checks are split, none twice
        victim = 0 if sizes[0] >= sizes[1] else 1
        survivor = 1 - victim
        killed = members.daemons[victim]
        assert killed.proc is not None
        members.expected_exit.add(victim)
        before = time.monotonic() - 2 * INTERVAL
        killed.proc.send_signal(signal.SIGKILL)
        await killed.proc.wait()
        kill = time.monotonic()
        await asyncio.sleep(6 * INTERVAL)
        end = time.monotonic()
        gaps: dict[str, float] = {}
        for path in PATHS:
            times = sorted(at for src, p, at in target.hits if src == OSLO and p == path)
            window = [t for t in times if before <= t < end]
            assert window, path
            edges = [before, *window, end]
            gaps[path] = max(b - a for a, b in itertools.pairwise(edges))
        print(f"oslo shards before the kill: {sizes}; longest gap per check (s): {gaps}")
        assert shard_size(members, survivor) == CHECKS
        for path, gap in gaps.items():
            assert gap <= 2 * INTERVAL + 1.0, (path, gap)  # 1 s: scheduling slack
        # no double probing once moved: one probe per interval from oslo
        settled = kill + 2 * INTERVAL
        counts = target.count(settled, settled + 3 * INTERVAL)
        for path in PATHS:
            assert 2 <= counts.get((OSLO, path), 0) <= 4, (path, counts)
            assert 2 <= counts.get((FRANKFURT, path), 0) <= 4, (path, counts)


async def test_a_location_without_members_is_reported(tmp_path: Path, pg_url: str) -> None:
    config = locations_config(checks=2, interval="5s", locations=("oslo", "tokyo"))
    args = [("--location", "oslo", "--probe-source-address", OSLO)]
    async with counted_members(tmp_path, pg_url, config=config, args=args, n=1) as (_, members):
        await members.until("vakt0 joined", members.joined(0))
        await members.leader()

        async def warned() -> bool:
            rows = await members.sql(
                "SELECT count(*) AS n FROM outbox WHERE subject = 'location:tokyo' "
                "AND kind = 'team_warning'"
            )
            return int(rows[0]["n"]) >= 1

        await members.until("a team warning for tokyo", warned)

        async def gauge() -> bool:
            text = await members.metrics(0)
            tokyo = 'vakt_location_members{location="tokyo"} 0.0' in text
            return tokyo and 'vakt_location_members{location="oslo"} 1.0' in text

        await members.until("vakt_location_members for oslo and tokyo", gauge)
        code, out = await members.daemons[0].cli("cluster", "status", "--json")
        assert code == 0, out
        status = json.loads(out)
        assert status["without_members"] == ["tokyo"]
        assert {(x["name"], x["members"]) for x in status["locations"]} == {
            ("oslo", 1),
            ("tokyo", 0),
        }
        assert [m["location"] for m in status["members"]] == ["oslo"]
        code, text = await members.daemons[0].cli("cluster", "status")
        assert "WITHOUT MEMBERS" in text, text
        assert "tokyo" in text, text
        await asyncio.sleep(2.0)  # several more rounds: still one warning for the episode
        rows = await members.sql(
            "SELECT count(*) AS n FROM outbox WHERE subject = 'location:tokyo'"
        )
        assert rows[0]["n"] == 1
