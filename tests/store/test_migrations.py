"""Migrations: from an empty database to head, idempotently, matching the tables module."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from monitor.store import SchemaOutdated, Store
from monitor.store.migrate import head_revision
from monitor.store.tables import metadata
from tests.store.support import Backend


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_empty_database_migrates_to_head(backend: Backend) -> None:
    async with backend.store() as store:
        assert await store.revision() is None
        assert await store.upgrade() == head_revision()
        assert await store.revision() == head_revision()


async def test_upgrade_at_head_changes_nothing(backend: Backend) -> None:
    async with backend.store() as store:
        await store.upgrade()
        assert await store.upgrade() == head_revision()
    async with backend.store() as again:
        assert await again.upgrade() == head_revision()


async def test_migrated_schema_matches_the_tables_module(store: Store) -> None:
    engine = store._require_engine()
    async with engine.connect() as conn:
        diff = await conn.run_sync(_schema_diff)
    assert diff == []


async def test_ensure_schema_creates_sqlite_but_asks_for_upgrade_on_postgresql(
    backend: Backend,
) -> None:
    async with backend.store() as store:
        if backend.name == "sqlite":
            await store.ensure_schema()
            assert await store.revision() == head_revision()
        else:
            with pytest.raises(SchemaOutdated, match="run `vakt db upgrade`"):
                await store.ensure_schema()
            await store.upgrade()
            await store.ensure_schema()
