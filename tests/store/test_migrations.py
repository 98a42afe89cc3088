"""Migrations: from an empty database to head, idempotently, matching the tables module."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Boolean, Connection, Integer, String, Text, column, insert, select, table

from monitor.model import IncidentStatus, Level
from monitor.store import EventKind, Incident, IncidentEvent, SchemaOutdated, Store
from monitor.store.migrate import alembic_config, head_revision
from monitor.store.tables import UTCDateTime, metadata
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


def _downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


def stored_incident(at: datetime) -> Incident:
    return Incident(
        case_number="VAKT-2026-000001",
        site_id="c00/shop",
        customer_id="c00",
        level=Level.A,
        status=IncidentStatus.OPEN,
        opened_at=at,
        updated_at=at,
        data="{}",
    )


_OLD_EVENTS = table(
    "incident_events",
    column("incident_id", Integer),
    column("at", UTCDateTime),
    column("actor", String),
    column("kind", String),
    column("text", Text),
    column("public", Boolean),
)


async def test_0045_types_the_events_an_older_release_wrote_as_text(backend: Backend) -> None:
    old = [
        ("opened", ""),
        ("level_changed", "level none -> B"),
        ("linked", "depends on c00/db (VAKT-2026-000007)"),
        ("linked", "c00/api is affected (c00/api)"),
        ("maintenance", "maintenance started: paging paused"),
        ("silenced", "silenced: nobody is paged"),
        ("level_changed", "level B -> A"),
        ("maintenance", "maintenance ended: paging resumed"),
        ("level_changed", "recovered: nothing fails any more"),
        ("level_changed", "failing again"),
        ("silenced", "silence ended"),
        ("maintenance", "maintenance started: paging paused"),
    ]
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    async with backend.store() as store:
        await store.upgrade("0030_delivery")
        async with store.transaction() as tx:
            row = await tx.incidents.insert(stored_incident(at))
        rows = [
            {"incident_id": row.id, "at": at + timedelta(minutes=n), "actor": "vakt", "kind": k}
            | {"text": text, "public": False}
            for n, (k, text) in enumerate(old)
        ]
        async with store._require_engine().begin() as conn:
            await conn.execute(insert(_OLD_EVENTS), rows)
        await store.upgrade()
        async with store.transaction(read_only=True) as tx:
            events = await tx.incidents.events(row.id)
    typed = [(e.kind.value, e.level, e.previous_level, e.ref) for e in events]
    assert typed == [
        ("opened", None, None, None),
        ("level_changed", Level.B, None, None),
        ("linked", None, None, "VAKT-2026-000007"),
        ("affected", None, None, "c00/api"),
        ("maintenance_started", None, None, None),
        ("silenced", None, None, None),
        ("level_changed", Level.A, Level.B, None),
        ("maintenance_ended", None, None, None),
        ("recovered", None, None, None),
        ("relapsed", None, None, None),
        ("unsilenced", None, None, None),
        ("maintenance_started", None, None, None),
    ]
    assert [e.text for e in events] == [text for _, text in old]


async def test_0045_downgrades_to_the_older_kinds(backend: Backend) -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    async with backend.store() as store:
        await store.upgrade()
        async with store.transaction() as tx:
            row = await tx.incidents.insert(stored_incident(at))
            kinds = (EventKind.AFFECTED, EventKind.MAINTENANCE_ENDED, EventKind.RECOVERED)
            await tx.incidents.add_events(
                [IncidentEvent(row.id, at, "vakt", kind, ref="x") for kind in kinds]
            )
        async with store._require_engine().begin() as conn:
            await conn.run_sync(_downgrade, "0030_delivery")
        async with store._require_engine().connect() as conn:
            found = (await conn.execute(select(_OLD_EVENTS.c.kind))).scalars().all()
    assert sorted(found) == ["level_changed", "linked", "maintenance"]


def test_head_read_from_the_scripts_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_current_revision_read_with_sql_is_alembics(backend: Backend) -> None:
    async with backend.store() as store:
        await store.upgrade()
        engine = store._require_engine()
        async with engine.connect() as conn:
            alembics = await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
        assert alembics == head_revision() == await store.revision()


def test_a_start_on_a_current_schema_does_not_load_alembic(tmp_path: Path) -> None:
    """`ensure_schema` on a migrated SQLite file, in a fresh interpreter: Alembic (and the
    Mako and Pygments it pulls in) stays out of the daemon's memory."""
    url = f"sqlite:///{tmp_path / 'vakt.db'}"
    script = (
        "import asyncio, sys\n"
        "from monitor.store import Store\n"
        "async def main():\n"
        f"    async with Store({url!r}) as store:\n"
        "        await store.ensure_schema()\n"
        "asyncio.run(main())\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako', 'pygments'}))\n"
    )
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "alembic" in first.stdout  # an empty file: it migrated
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "[]"
