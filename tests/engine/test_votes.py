"""Quorum over voting locations and vote loss (issue 20), in process: results of two
locations (`ProbeResult.location`) fed into one engine. A check is failing when a
quorum of its *voting* locations confirm it; a location whose canaries and customer
checks fail together loses its vote (one team warning naming it, no customer incident),
and a real outage seen by the locations that still vote opens as usual."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from monitor.clock import FixedClock
from monitor.config.records import Config, EmailSettings, Mailbox
from monitor.engine.engine import Engine
from monitor.engine.notify import NotifyPlanner
from monitor.engine.state import read_votes
from monitor.metrics import MetricsHub
from monitor.model import Verdict
from monitor.notify.planner import Planner
from monitor.probes.canary import canary_checks
from monitor.store import Incident, OutboxItem, Store
from tests.engine.support import T0, config, no_deadlines, result, site

OSLO, FRANKFURT = "oslo", "frankfurt"
FAILED, OK = Verdict.FAILED, Verdict.OK
SHOP, BLOG = "acme/shop", "acme/blog"


def two_locations() -> Config:
    sites = [replace(site(s), locations=(OSLO, FRANKFURT)) for s in (SHOP, BLOG)]
    cfg = config(*sites)
    settings = replace(
        cfg.settings,
        canaries=("http://127.0.0.1:9/canary",),
        email=EmailSettings(team=Mailbox("ops@agency.example")),
    )
    return replace(cfg, settings=settings)


CANARY = canary_checks(two_locations().settings)[0].id


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


async def started(store: Store, clock: FixedClock) -> Engine:
    cfg = two_locations()
    engine = Engine(store, cfg, clock, planner=NotifyPlanner(Planner(cfg)), deadlines=no_deadlines)
    await engine.start()
    return engine


@pytest.fixture
async def engine(store: Store, clock: FixedClock) -> Engine:
    return await started(store, clock)


Seen = dict[str, Verdict]  # "canary" / site id -> verdict of its checks


async def feed(
    engine: Engine, clock: FixedClock, oslo: Seen, frankfurt: Seen, rounds: int = 1
) -> None:
    """`rounds` probe rounds: every check and the canary probed in both locations."""
    for _ in range(rounds):
        for location, seen in ((OSLO, oslo), (FRANKFURT, frankfurt)):
            at = clock.now()
            engine.submit(result(CANARY, at, seen.get("canary", OK), location=location), 0.0)
            for site_id in (SHOP, BLOG):
                verdict = seen.get(site_id, OK)
                for name in ("home", "checkout"):
                    engine.submit(result(f"{site_id}/{name}", at, verdict, location=location))
        await engine.flush()
        clock.advance(10)


async def incidents(store: Store) -> list[Incident]:
    async with store.transaction(read_only=True) as tx:
        return await tx.incidents.find()


async def outbox(store: Store) -> list[OutboxItem]:
    async with store.transaction(read_only=True) as tx:
        return await tx.outbox.find(limit=1000)


async def test_a_check_failing_only_in_frankfurt_opens_nothing(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await feed(engine, clock, {}, {SHOP: FAILED}, rounds=4)
    assert await incidents(store) == []
    assert await outbox(store) == []


async def test_a_check_failing_in_both_locations_opens_one_incident(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await feed(engine, clock, {SHOP: FAILED}, {SHOP: FAILED}, rounds=4)
    [incident] = await incidents(store)
    assert incident.site_id == SHOP


async def test_frankfurts_canaries_and_checks_failing_take_its_vote_and_page_nobody(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    broken = {"canary": FAILED, SHOP: FAILED, BLOG: FAILED}
    await feed(engine, clock, {}, broken, rounds=4)
    assert engine.votes[FRANKFURT].lost_since is not None
    assert engine.votes[OSLO].lost_since is None
    # longer than the 30-minute ceiling: oslo still votes, so nothing is held, nothing opens
    clock.advance(timedelta(minutes=40).total_seconds())
    await feed(engine, clock, {}, broken, rounds=3)
    assert await incidents(store) == []
    [warning] = await outbox(store)  # the team warning, and no other row
    assert warning.key.kind == "team_warning"
    assert warning.key.subject == "connectivity:frankfurt"
    assert "frankfurt" in warning.payload
    async with store.transaction(read_only=True) as tx:
        votes = await read_votes(tx)
    assert {name: since is None for name, since in votes.items()} == {
        OSLO: True,
        FRANKFURT: False,
    }


async def test_a_real_outage_seen_in_oslo_opens_while_frankfurt_has_no_vote(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    # frankfurt: canary and the shop fail (half its checks): it loses its vote; the blog
    # is fine from frankfurt but down from oslo: quorum over the voting location (oslo)
    await feed(engine, clock, {BLOG: FAILED}, {"canary": FAILED, SHOP: FAILED}, rounds=4)
    assert engine.votes[FRANKFURT].lost_since is not None
    [incident] = await incidents(store)
    assert incident.site_id == BLOG


async def test_the_lost_vote_survives_a_restart_without_a_second_warning(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    broken = {"canary": FAILED, SHOP: FAILED, BLOG: FAILED}
    await feed(engine, clock, {}, broken, rounds=3)
    since = engine.votes[FRANKFURT].lost_since
    assert since is not None
    await engine.close()
    again = await started(store, clock)
    assert again.votes[FRANKFURT].lost_since == since
    await feed(again, clock, {}, broken, rounds=3)
    assert again.votes[FRANKFURT].lost_since == since
    assert len(await outbox(store)) == 1
    assert await incidents(store) == []


async def test_the_vote_comes_back_when_frankfurt_recovers(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await feed(engine, clock, {}, {"canary": FAILED, SHOP: FAILED, BLOG: FAILED}, rounds=3)
    await feed(engine, clock, {}, {}, rounds=3)
    assert engine.votes[FRANKFURT].lost_since is None
    async with store.transaction(read_only=True) as tx:
        assert all(since is None for since in (await read_votes(tx)).values())


async def test_with_no_location_voting_incidents_are_held_at_most_30_minutes(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    broken = {"canary": FAILED, SHOP: FAILED, BLOG: FAILED}
    await feed(engine, clock, broken, broken, rounds=3)
    assert await incidents(store) == []
    assert {w.key.subject for w in await outbox(store)} == {
        "connectivity:oslo",
        "connectivity:frankfurt",
    }
    clock.advance(timedelta(minutes=29).total_seconds())
    await feed(engine, clock, broken, broken)
    assert await incidents(store) == []
    clock.advance(timedelta(minutes=1).total_seconds())
    await feed(engine, clock, broken, broken)
    assert sorted(i.site_id for i in await incidents(store)) == [BLOG, SHOP]


async def test_the_voting_gauge_says_which_location_votes(store: Store, clock: FixedClock) -> None:
    cfg = two_locations()
    hub = MetricsHub(version="test", location=OSLO)
    engine = Engine(
        store,
        cfg,
        clock,
        planner=NotifyPlanner(Planner(cfg)),
        deadlines=no_deadlines,
        observer=hub,
    )
    await engine.start()
    await feed(engine, clock, {}, {"canary": FAILED, SHOP: FAILED, BLOG: FAILED}, rounds=3)
    text = hub.render().decode()
    assert 'vakt_location_voting{location="oslo"} 1.0' in text
    assert 'vakt_location_voting{location="frankfurt"} 0.0' in text


async def test_a_location_no_site_lists_any_more_is_forgotten(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    await feed(engine, clock, {}, {"canary": FAILED, SHOP: FAILED, BLOG: FAILED}, rounds=3)
    cfg = two_locations()
    only_oslo = [replace(s, locations=(OSLO,)) for c in cfg.customers.values() for s in c.sites]
    engine.reload(replace(config(*only_oslo), settings=cfg.settings))
    await feed(engine, clock, {}, {}, rounds=1)
    async with store.transaction(read_only=True) as tx:
        assert await read_votes(tx) == {OSLO: None}


async def test_a_takeover_rebuilds_the_lost_vote_from_the_store(
    engine: Engine, clock: FixedClock, store: Store
) -> None:
    broken = {"canary": FAILED, SHOP: FAILED, BLOG: FAILED}
    await feed(engine, clock, {}, broken, rounds=3)
    since = engine.votes[FRANKFURT].lost_since
    await engine.standby()  # stepped down: its memory is forgotten
    assert engine.votes == {}
    await engine.resume()  # leads again: rebuilt from the store as a start does
    assert engine.votes[FRANKFURT].lost_since == since
    await feed(engine, clock, {}, broken, rounds=2)
    assert len(await outbox(store)) == 1
