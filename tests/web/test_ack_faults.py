"""`/ack/{token}` under real store faults: the link is spent only with the acknowledgement.

PostgreSQL (skipped with the reason when unreachable, failing when $VAKT_REQUIRE_PG=1): the
test holds a lock the POST's acknowledgement needs, waits until the server's connection
is really blocked on it (`pg_blocking_pids`), then either terminates that backend (a
store error) or commits a concurrent write (a compare-and-set conflict). SQLite: another
connection holds the write lock past the store's `busy_timeout` for the whole POST.
After each fault the same link (same token, same CSRF) acknowledges.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from aiohttp import ClientResponse

from monitor.clock import FixedClock
from monitor.model import IncidentStatus
from monitor.notify.tokens import issue_token
from monitor.store import Store
from monitor.web import create_public_app
from tests.store.conftest import PG_DSN, _drop_pg_schema, _pg_schema, pg_available
from tests.web.conftest import Client, MakeClient, deps_of
from tests.web.support import SECRET, T0, Env, add_incident, csrf_of, write_config

__all__ = ["pg_available"]  # the store suite's fixture, used here

CASE = "VAKT-2026-000001"
SECOND = "VAKT-2026-000002"
POLL = 0.02  # seconds between looks at pg_stat_activity
WAIT = 10.0  # bound on every wait for a condition


@dataclass
class PgEnv:
    env: Env
    schema: str


@pytest.fixture
async def pg(pg_available: None, tmp_path: Path) -> AsyncIterator[PgEnv]:
    schema = await _pg_schema()
    store = Store(PG_DSN, schema=schema)
    await store.open()
    await store.upgrade()
    try:
        yield PgEnv(Env(store, FixedClock(T0), write_config(tmp_path)), schema)
    finally:
        await store.close()
        await _drop_pg_schema(schema)


def token(*cases: str) -> str:
    return issue_token(SECRET, cases or (CASE,), "alice", T0 + timedelta(hours=1))


async def status_of(env: Env, case: str = CASE) -> IncidentStatus:
    async with env.store.transaction(read_only=True) as tx:
        row = await tx.incidents.by_case(case)
    assert row is not None
    return row.status


async def locker(schema: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(PG_DSN)
    await conn.execute(f'SET search_path TO "{schema}"')
    return conn


async def blocked_by(conn: asyncpg.Connection) -> int:
    """The pid of the (first) backend waiting on a lock `conn` holds; a bounded poll."""
    mine = await conn.fetchval("SELECT pg_backend_pid()")
    query = "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))"
    async with asyncio.timeout(WAIT):
        while True:
            pid = await _other(query, mine)
            if pid is not None:
                return pid
            await asyncio.sleep(POLL)


async def _other(query: str, mine: int) -> int | None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        pid: int | None = await conn.fetchval(query, mine)
        return pid
    finally:
        await conn.close()


async def form_of(client: Client, link: str) -> dict[str, str]:
    response = await client.get(link)
    assert response.status == 200
    return {"csrf": csrf_of(await response.text())}


@pytest.mark.pg
async def test_problem_6_a_store_error_during_the_ack_leaves_the_link_usable(
    pg: PgEnv, make_client: MakeClient
) -> None:
    env = pg.env
    await add_incident(env.store)
    client = await make_client(create_public_app(deps_of(env)))
    link = f"/ack/{token()}"
    form = await form_of(client, link)

    conn = await locker(pg.schema)
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
        post = asyncio.create_task(client.post(link, data=form))
        waiting = await blocked_by(conn)
        await _other("SELECT pg_terminate_backend($1)", waiting)
        failed: ClientResponse = await post
        await tx.rollback()
    finally:
        await conn.close()
    after_fault = await status_of(env)

    again = await client.post(link, data=form)
    assert (after_fault, again.status) == (IncidentStatus.OPEN, 200)  # not "already used"
    assert await status_of(env) is IncidentStatus.ACKNOWLEDGED
    assert (failed.status, failed.headers.get("Retry-After")) == (503, "5")


@pytest.mark.pg
async def test_a_digest_link_is_spent_only_when_each_of_its_cases_is_acknowledged(
    pg: PgEnv, make_client: MakeClient
) -> None:
    env = pg.env
    await add_incident(env.store)
    await add_incident(env.store, case=SECOND, site_id="open/web")
    client = await make_client(create_public_app(deps_of(env)))
    link = f"/ack/{token(CASE, SECOND)}"
    form = await form_of(client, link)

    conn = await locker(pg.schema)
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("SELECT 1 FROM incidents WHERE case_number = $1 FOR UPDATE", SECOND)
        post = asyncio.create_task(client.post(link, data=form))
        await _other("SELECT pg_terminate_backend($1)", await blocked_by(conn))
        failed = await post
        await tx.rollback()
    finally:
        await conn.close()
    between = [await status_of(env, CASE), await status_of(env, SECOND)]

    again = await client.post(link, data=form)
    text = await again.text()
    third = await client.post(link, data=form)
    assert failed.status == 503
    assert between == [IncidentStatus.ACKNOWLEDGED, IncidentStatus.OPEN]
    assert again.status == 200
    assert "was already acknowledged" in text  # the first case, from the failed attempt
    assert [await status_of(env, CASE), await status_of(env, SECOND)] == [
        IncidentStatus.ACKNOWLEDGED
    ] * 2
    assert third.status == 410  # now, and only now, the link is used up


@pytest.mark.pg
async def test_a_compare_and_set_conflict_is_retried_not_answered_already_used(
    pg: PgEnv, make_client: MakeClient
) -> None:
    """Another writer bumps the incident's version between the POST's read and its write."""
    env = pg.env
    stored = await add_incident(env.store)
    client = await make_client(create_public_app(deps_of(env)))
    link = f"/ack/{token()}"
    form = await form_of(client, link)

    conn = await locker(pg.schema)
    try:
        tx = conn.transaction()
        await tx.start()
        bump = "UPDATE incidents SET version = version + 1 WHERE case_number = $1"
        await conn.execute(bump, CASE)
        post = asyncio.create_task(client.post(link, data=form))
        await blocked_by(conn)  # the POST read version 1 and waits to write it
        await tx.commit()  # ... which now fails: version 2 is stored
        response = await post
    finally:
        await conn.close()
    async with env.store.transaction(read_only=True) as read:
        row = await read.incidents.by_case(CASE)
    assert response.status == 200
    assert "acknowledged" in await response.text()
    assert row is not None
    assert (row.status, row.version) == (IncidentStatus.ACKNOWLEDGED, stored.version + 2)
    assert (await client.post(link, data=form)).status == 410


async def test_a_sqlite_lock_held_past_busy_timeout_answers_try_again_and_keeps_the_link(
    tmp_path: Path, make_client: MakeClient
) -> None:
    path = tmp_path / "vakt.db"
    store = Store(f"sqlite:///{path}", busy_timeout=timedelta(milliseconds=100))
    await store.open()
    await store.upgrade()
    try:
        env = Env(store, FixedClock(T0), write_config(tmp_path))
        await add_incident(store)
        client = await make_client(create_public_app(deps_of(env)))
        link = f"/ack/{token()}"
        form = await form_of(client, link)
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # the write lock, held through the POST
            failed = await client.post(link, data=form)
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert (failed.status, failed.headers.get("Retry-After")) == (503, "5")
        assert "try again" in (await failed.text()).lower()
        again = await client.post(link, data=form)
        assert again.status == 200
        assert await status_of(env) is IncidentStatus.ACKNOWLEDGED
    finally:
        await store.close()
