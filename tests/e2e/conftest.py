"""Fixtures of the end-to-end tests: a store URL per backend (SQLite always; PostgreSQL
skipped with the reason when unreachable, failing when $VAKT_REQUIRE_PG=1)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from monitor.store import Store
from tests.store.conftest import PG_DSN, pg_available

__all__ = ["pg_available"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vakt.db'}"
        async with Store(url) as store:
            await store.upgrade()  # the daemon would, but the test reads the store at once
        yield url
        return
    request.getfixturevalue("pg_available")
    name = f"vakt_e2e_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = PG_DSN.rsplit("/", 1)[0] + f"/{name}"
    async with Store(url) as store:
        await store.upgrade()  # PostgreSQL is migrated deliberately (`vakt db upgrade`)
    try:
        yield url
    finally:
        admin = await asyncpg.connect(PG_DSN)
        try:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()
