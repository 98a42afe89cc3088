"""Heartbeat endpoints: pings recorded in the store, unknown tokens 404 and counted."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from monitor.probes.context import Beat
from monitor.web import StoreHeartbeats, create_public_app
from monitor.web.security import Rate
from tests.web.conftest import Client, MakeClient, deps_of
from tests.web.support import HEARTBEAT_TOKEN, T0, Env

CHECK = "acme/shop/backup"


async def test_get_and_post_record_a_beat(env: Env, public: Client) -> None:
    for method in ("GET", "POST"):
        response = await public.request(method, f"/heartbeat/{HEARTBEAT_TOKEN}")
        assert response.status == 200
        assert await response.text() == "OK\n"
    async with env.store.transaction() as tx:
        (ping,) = await tx.web.pings()
    assert (ping.check_id, ping.at, ping.failed) == (CHECK, T0, False)


async def test_fail_and_start_are_recorded_apart(env: Env, public: Client) -> None:
    await public.get(f"/heartbeat/{HEARTBEAT_TOKEN}/start")
    env.clock.advance(60)
    await public.post(f"/heartbeat/{HEARTBEAT_TOKEN}/fail")
    async with env.store.transaction() as tx:
        (ping,) = await tx.web.pings()
    assert ping.started_at == T0
    assert (ping.at, ping.failed) == (T0 + timedelta(seconds=60), True)


async def test_the_recorder_is_the_probes_heartbeat_log(env: Env, make_client: MakeClient) -> None:
    beats = StoreHeartbeats(env.store)
    client = await make_client(create_public_app(deps_of(env, heartbeats=beats)))
    assert beats.last(CHECK) is None
    await client.get(f"/heartbeat/{HEARTBEAT_TOKEN}")
    assert beats.last(CHECK) == Beat(T0)
    # another instance (or a restart) reads the same beat from the store
    fresh = StoreHeartbeats(env.store)
    await fresh.refresh()
    assert fresh.last(CHECK) == Beat(T0)


async def test_unknown_tokens_get_404_and_are_counted(env: Env, make_client: MakeClient) -> None:
    beats = StoreHeartbeats(env.store)
    seen: list[int] = []
    deps = deps_of(env, heartbeats=beats, on_unknown_heartbeat=lambda: seen.append(1))
    client = await make_client(create_public_app(deps))
    for path in ("/heartbeat/no-such-token", "/heartbeat/no-such-token/fail"):
        assert (await client.get(path)).status == 404
    assert beats.unknown == 2
    assert len(seen) == 2
    async with env.store.transaction() as tx:
        assert await tx.web.pings() == []


async def test_pings_are_rate_limited_per_token(env: Env, make_client: MakeClient) -> None:
    deps = deps_of(env, heartbeat_rate=Rate(burst=3, per_second=0.5))
    client = await make_client(create_public_app(deps))
    statuses = [(await client.get(f"/heartbeat/{HEARTBEAT_TOKEN}")).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    env.clock.advance(2)  # one token refilled
    assert (await client.get(f"/heartbeat/{HEARTBEAT_TOKEN}")).status == 200


async def test_heartbeat_answers_carry_security_headers(public: Client) -> None:
    response = await public.get("/heartbeat/unknown")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert isinstance(response.status, int)
    assert response.status == web.HTTPNotFound.status_code
