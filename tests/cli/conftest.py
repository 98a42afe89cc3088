"""The operator CLI's tests run `monitor.cli.main` against a real SQLite file in tmp_path;
a few also against PostgreSQL, each in a fresh database that is dropped afterwards
(skipped with the reason when PostgreSQL is unreachable, failed if $VAKT_REQUIRE_PG=1).

The CLI is given the database as a plain `--store` URL, so PostgreSQL tests use a whole
database rather than the store suite's per-test schema.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url

from tests.cli.support import Env, write_config
from tests.store.conftest import PG_DSN, pg_available

__all__ = ["pg_available"]


@pytest.fixture
def env(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Env:
    """A migrated SQLite database (as `vakt run` leaves it) and a config naming it."""
    url = f"sqlite:///{tmp_path / 'vakt.db'}"
    made = Env(write_config(tmp_path / "checks.yaml", url), url, capsys)
    made.run(lambda store: asyncio.sleep(0))
    return made


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def pg_url(pg_available: None) -> AsyncIterator[str]:
    """The URL of a new, empty PostgreSQL database."""
    name = f"vakt_cli_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_DSN).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def pg_env(pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Env:
    return Env(write_config(tmp_path / "checks.yaml", pg_url), pg_url, capsys)
