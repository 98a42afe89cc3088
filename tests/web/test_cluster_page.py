"""`/cluster` in the team UI: members, leader and term on PostgreSQL; a single instance
on SQLite says there is no cluster."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.clock import SystemClock
from monitor.cluster import ClusterNode, Identity, read_status
from monitor.config.records import ClusterSettings
from monitor.store import Store
from monitor.web import create_private_app
from tests.cluster.conftest import pg_available as pg_available
from tests.cluster.conftest import pg_url as pg_url
from tests.cluster.test_node import store_votes
from tests.web.conftest import Client, MakeClient, deps_of
from tests.web.support import Env, add_password, login

SETTINGS = ClusterSettings(heartbeat=timedelta(seconds=1), lease=timedelta(seconds=10))


async def follow(leading: bool) -> None:
    return None


async def test_a_single_instance_says_there_is_no_cluster(env: Env, private: Client) -> None:
    await add_password(env.store)
    await login(private)
    response = await private.get("/cluster")
    assert response.status == 200
    assert "no cluster" in await response.text()


@pytest.mark.pg
async def test_the_cluster_page_lists_members_the_leader_and_its_term(
    env: Env, make_client: MakeClient, pg_url: str
) -> None:
    async with Store(pg_url) as cluster_store:
        for name, pid in (("a", 1), ("b", 2)):
            node = ClusterNode(
                cluster_store,
                SETTINGS,
                Identity(f"{name}:{pid}", name, pid, "test"),
                SystemClock(),
                on_change=follow,
            )
            await node.round()

        async def status():  # type: ignore[no-untyped-def]
            return await read_status(cluster_store, SETTINGS.lease)

        client = await make_client(create_private_app(deps_of(env, cluster=status, member="b:2")))
        await add_password(env.store)
        await login(client)
        response = await client.get("/cluster")
        text = await response.text()
    assert response.status == 200
    assert '<strong id="leader">a:1</strong>' in text
    assert '<span id="term">1</span>' in text
    assert '<span id="served-by">b:2</span>' in text
    assert text.count('<tr class="member">') == 2


@pytest.mark.pg
async def test_the_cluster_page_shows_which_location_votes(
    env: Env, make_client: MakeClient, pg_url: str
) -> None:
    async with Store(pg_url) as cluster_store:
        node = ClusterNode(
            cluster_store,
            SETTINGS,
            Identity("a:1", "a", 1, "test"),
            SystemClock(),
            on_change=follow,
        )
        await node.round()
        await store_votes(cluster_store)

        async def status():  # type: ignore[no-untyped-def]
            return await read_status(cluster_store, SETTINGS.lease)

        client = await make_client(create_private_app(deps_of(env, cluster=status, member="a:1")))
        await add_password(env.store)
        await login(client)
        text = await (await client.get("/cluster")).text()
    assert '<tr class="vote lost"><td>frankfurt</td>' in text
    assert '<tr class="vote"><td>oslo</td>' in text


@pytest.mark.pg
async def test_the_cluster_page_shows_each_members_location_and_a_location_without_members(
    env: Env, make_client: MakeClient, pg_url: str
) -> None:
    async with Store(pg_url) as cluster_store:
        node = ClusterNode(
            cluster_store,
            SETTINGS,
            Identity("a:1", "a", 1, "test", location="oslo"),
            SystemClock(),
            on_change=follow,
        )
        await node.round()

        async def status():  # type: ignore[no-untyped-def]
            return await read_status(cluster_store, SETTINGS.lease, frozenset({"oslo", "tokyo"}))

        client = await make_client(create_private_app(deps_of(env, cluster=status, member="a:1")))
        await add_password(env.store)
        await login(client)
        text = await (await client.get("/cluster")).text()
    assert '<td class="location">oslo</td>' in text
    assert '<tr class="place"><td>oslo</td>\n        <td>1</td>' in text
    assert '<tr class="place empty"><td>tokyo</td>' in text
