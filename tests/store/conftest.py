"""One contract suite, two backends.

Every test that takes `backend` (or `store`) runs on SQLite (a file in tmp_path) and on
PostgreSQL at $VAKT_TEST_PG_DSN (default postgresql://postgres@127.0.0.1:5432/test), each
PostgreSQL test in a fresh schema that is dropped afterwards. When PostgreSQL cannot be
reached its tests are skipped with the reason, or fail if $VAKT_REQUIRE_PG=1 (CI).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest

from monitor.store import Store
from tests.store.support import Backend

PG_DSN = os.environ.get("VAKT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_unreachable() -> str | None:
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {PG_DSN} is unreachable: {type(exc).__name__}: {exc}"
    await conn.close()
    return None


@pytest.fixture(scope="session")
def pg_available() -> None:
    # Its own thread and loop: this may be requested from inside a running event loop.
    with ThreadPoolExecutor(1) as pool:
        reason = pool.submit(asyncio.run, _pg_unreachable()).result()
    if reason is None:
        return
    if os.environ.get("VAKT_REQUIRE_PG") == "1":
        pytest.fail(f"{reason} (VAKT_REQUIRE_PG=1)")
    pytest.skip(reason)


async def _pg_schema() -> str:
    schema = f"vakt_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    return schema


async def _drop_pg_schema(schema: str) -> None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "vakt.db"
        yield Backend("sqlite", f"sqlite:///{path}", path=path)
        return
    request.getfixturevalue("pg_available")
    schema = await _pg_schema()
    try:
        yield Backend("postgresql", PG_DSN, schema=schema)
    finally:
        await _drop_pg_schema(schema)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    """A store on a freshly migrated database."""
    s = backend.store()
    await s.open()
    await s.upgrade()
    try:
        yield s
    finally:
        await s.close()
