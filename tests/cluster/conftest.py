"""Fixtures of the cluster tests: a fresh, migrated PostgreSQL database per test (several
`vakt run` processes share it; SQLite has no cluster)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from monitor.store import Store
from tests.store.conftest import PG_DSN, pg_available

__all__ = ["pg_available"]


@pytest.fixture
async def pg_url(pg_available: None) -> AsyncIterator[str]:
    name = f"vakt_cluster_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = PG_DSN.rsplit("/", 1)[0] + f"/{name}"
    async with Store(url) as store:
        await store.upgrade()
    try:
        yield url
    finally:
        admin = await asyncpg.connect(PG_DSN)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()
