"""Quorum over voting locations and vote loss (issue 20 item 4) with three `vakt run`
processes on one PostgreSQL: two in `oslo` (probing from 127.0.0.2), one in `frankfurt`
(127.0.0.3). The target on 127.0.0.1 answers 500 to the source addresses it is told to
fail, per path (the canary has its own path), and counts its hits. The site lists both
locations with `quorum: majority`. Assertions are counts (incidents, outbox rows): a
failure seen only from frankfurt opens nothing, seen from both opens one incident;
frankfurt's canary and half its checks failing take its vote (status, gauge, one team
warning, nobody paged), and then an outage seen from oslo alone opens."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp import web

from tests.cluster.support import CountingTarget, Members, locations_config
from tests.e2e.support import HookInbox, SmtpInbox

pytestmark = pytest.mark.pg

INTERVAL = 5.0  # seconds between probes of a check (the issue asks for >= 5 s)
CHECKS = 4
OSLO, FRANKFURT = "127.0.0.2", "127.0.0.3"
ARGS = (
    ("--location", "oslo", "--probe-source-address", OSLO),
    ("--location", "oslo", "--probe-source-address", OSLO),
    ("--location", "frankfurt", "--probe-source-address", FRANKFURT),
)
CANARY = "/canary"
SITE_PATHS = tuple(f"/c{i}" for i in range(CHECKS))


class FailingTarget(CountingTarget):
    """`CountingTarget` that answers 500 to `(source address, path)` pairs in `failing`."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: set[tuple[str, str]] = set()

    def fail(self, source: str, paths: tuple[str, ...]) -> None:
        self.failing |= {(source, p) for p in paths}

    async def _answer(self, request: web.Request) -> web.Response:
        response = await super()._answer(request)
        if (request.remote or "", request.path) in self.failing:
            return web.Response(status=500, text="down for this source")
        return response


def _members(tmp: Path, url: str, target: FailingTarget, smtp: int, hook: str) -> Members:
    config = locations_config(
        checks=CHECKS, interval=f"{INTERVAL:g}s", locations=("oslo", "frankfurt")
    )
    canary = f'  canaries: ["{target.url.rstrip("/")}{CANARY}"]\n'
    config = config.replace("  location: oslo\n", "  location: oslo\n" + canary)
    return Members(tmp, url, smtp=smtp, hook=hook, target=target.url, config=config, args=ARGS)


async def _all_probing(members: Members) -> None:
    for i in range(len(members.daemons)):
        await members.until(f"vakt{i} joined", members.joined(i))
    await members.leader()

    async def known() -> bool:  # every check has an ok state in both locations
        query = (
            "SELECT count(*) AS n FROM check_states WHERE state = 'ok' AND check_id LIKE 'acme/%'"
        )
        return await _count(members, query) == 2 * CHECKS

    await members.until("every check ok in both locations", known)


async def _count(members: Members, query: str) -> int:
    rows = await members.sql(query)
    return int(rows[0]["n"])


def _failing_in(location: str) -> str:
    return (
        "SELECT count(*) AS n FROM check_states WHERE state = 'failing' "
        f"AND location = '{location}' AND check_id LIKE 'acme/%'"
    )


INCIDENTS = "SELECT count(*) AS n FROM incidents WHERE site_id = 'acme/shop'"
# at start-up the first instance may lead before oslo's joined: LOC's "location without
# members" team warning for that moment is not what these tests are about
OUTBOX = "SELECT count(*) AS n FROM outbox WHERE subject NOT LIKE 'location:%'"


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_failing_only_for_frankfurt_opens_nothing_and_in_both_opens_one_incident(
    tmp_path: Path, pg_url: str
) -> None:
    async with (
        FailingTarget() as target,
        SmtpInbox() as smtp,
        HookInbox() as hooks,
        _members(tmp_path, pg_url, target, smtp.port, hooks.url) as members,
    ):
        await _all_probing(members)
        target.fail(FRANKFURT, SITE_PATHS)  # the canary stays up: frankfurt keeps its vote

        async def frankfurt_failing() -> bool:
            return await _count(members, _failing_in("frankfurt")) == CHECKS

        await members.until("every check failing in frankfurt", frankfurt_failing)
        await asyncio.sleep(2 * INTERVAL)  # evaluated again and again meanwhile
        assert await _count(members, INCIDENTS) == 0
        assert await _count(members, OUTBOX) == 0
        assert await _count(members, _failing_in("oslo")) == 0

        target.fail(OSLO, SITE_PATHS)  # now both locations see it: a majority of two

        async def opened() -> bool:
            return await _count(members, INCIDENTS) == 1

        await members.until("one incident once both locations see the failure", opened)
        await asyncio.sleep(INTERVAL)
        assert await _count(members, INCIDENTS) == 1


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_frankfurts_canaries_failing_take_its_vote_page_nobody_and_hide_no_outage(
    tmp_path: Path, pg_url: str
) -> None:
    async with (
        FailingTarget() as target,
        SmtpInbox() as smtp,
        HookInbox() as hooks,
        _members(tmp_path, pg_url, target, smtp.port, hooks.url) as members,
    ):
        await _all_probing(members)
        # frankfurt's own network "breaks": its canary and half the site's checks fail
        target.fail(FRANKFURT, (CANARY, *SITE_PATHS[:2]))
        status: dict[str, object] = {}

        async def lost_vote() -> bool:
            code, out = await members.daemons[0].cli("cluster", "status", "--json")
            status.update(json.loads(out) if code in (0, 1) and out.startswith("{") else {})
            votes = {v["location"]: v["voting"] for v in status.get("votes", [])}  # type: ignore[union-attr]
            return votes == {"oslo": True, "frankfurt": False}

        await members.until("frankfurt loses its vote", lost_vote)
        leader, _ = await members.leader()

        async def gauge() -> bool:
            text = await members.metrics(leader)
            return (
                'vakt_location_voting{location="frankfurt"} 0.0' in text
                and 'vakt_location_voting{location="oslo"} 1.0' in text
            )

        await members.until("the leader's vakt_location_voting gauges", gauge)
        _, text = await members.daemons[2].cli("cluster", "status")
        assert "no vote since" in text, text
        await asyncio.sleep(2 * INTERVAL)  # evaluated again and again meanwhile
        assert await _count(members, INCIDENTS) == 0
        rows = await members.sql(
            "SELECT kind, subject FROM outbox WHERE subject NOT LIKE 'location:%'"
        )
        assert [(r["kind"], r["subject"]) for r in rows] == [
            ("team_warning", "connectivity:frankfurt")
        ]

        # a real outage seen from oslo only (frankfurt sees c2 fine, but has no vote): the
        # quorum is over the voting location, so it opens (with frankfurt voting, a
        # majority of two would need frankfurt too)
        target.fail(OSLO, (SITE_PATHS[2],))

        async def opened() -> bool:
            return await _count(members, INCIDENTS) == 1

        await members.until("the outage seen from oslo opens", opened)
