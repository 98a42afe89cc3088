"""Store URLs: what users write in `settings.store`, turned into async drivers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.store import StoreError
from monitor.store.url import normalise_url, sqlite_path


@pytest.mark.parametrize(
    ("raw", "driver"),
    [
        ("sqlite:///vakt.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:////var/lib/vakt/vakt.db", "sqlite+aiosqlite"),
        ("postgresql://vakt@db/vakt", "postgresql+asyncpg"),
        ("postgres://vakt@db/vakt", "postgresql+asyncpg"),
        ("postgresql+asyncpg://vakt:secret@db:5433/vakt", "postgresql+asyncpg"),
    ],
)
def test_urls_select_the_async_driver(raw: str, driver: str) -> None:
    assert normalise_url(raw).drivername == driver


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("mysql://db/vakt", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://db/vakt", "unsupported driver 'postgresql+psycopg2'"),
        ("not a url", "not a database URL"),
    ],
)
def test_other_databases_are_refused(raw: str, message: str) -> None:
    with pytest.raises(StoreError, match=re.escape(message)):
        normalise_url(raw)


def test_sqlite_paths() -> None:
    assert sqlite_path(normalise_url("sqlite:///data/vakt.db")) == Path("data/vakt.db")
    assert sqlite_path(normalise_url("sqlite:///:memory:")) is None
    assert sqlite_path(normalise_url("postgresql://db/vakt")) is None


def test_libpq_sslmode_becomes_the_asyncpg_ssl_mode() -> None:
    # `sslmode=verify-full` as in libpq's URLs: asyncpg takes it as `ssl` (the CA from
    # PGSSLROOTCERT, as libpq); an explicit `ssl` is kept
    url = normalise_url("postgresql://vakt@db.example/vakt?sslmode=verify-full")
    assert dict(url.query) == {"ssl": "verify-full"}
    kept = normalise_url("postgresql://vakt@db.example/vakt?ssl=require")
    assert dict(kept.query) == {"ssl": "require"}
