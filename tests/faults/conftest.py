"""Fixtures of the fault-injection suite: `backend`, the daemon's store (a SQLite file, or
a fresh PostgreSQL database: skipped with the reason when PostgreSQL is unreachable,
failing when $VAKT_REQUIRE_PG=1). A test that applies to one backend only narrows it with
`@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.faults.harness import Backend, postgres_backend, sqlite_backend
from tests.store.conftest import pg_available

__all__ = ["pg_available"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        async with sqlite_backend(tmp_path) as found:
            yield found
        return
    request.getfixturevalue("pg_available")
    async with postgres_backend() as found:
        yield found
