"""Database URLs: what users write in `settings.store`, normalised to the async drivers."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from monitor.store.errors import StoreError

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def normalise_url(raw: str) -> URL:
    """Parse a store URL and select the async driver.

    `sqlite:///vakt.db` (relative to the working directory), `sqlite:////var/lib/vakt.db`,
    `sqlite+aiosqlite:///...`, `postgresql://user@host/db`, `postgres://...` and
    `postgresql+asyncpg://...` are accepted; any other backend or driver is a `StoreError`.
    libpq's `sslmode=` (`verify-full`, `require`, ...) is given to asyncpg as its `ssl=`
    mode; the CA and client certificate come from `PGSSLROOTCERT`, `PGSSLCERT` and
    `PGSSLKEY` as with libpq.
    """
    try:
        url = make_url(raw.replace("postgres://", "postgresql://", 1))
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {raw!r}") from exc
    backend = url.get_backend_name()
    driver = _ASYNC_DRIVERS.get(backend)
    if driver is None:
        raise StoreError(f"unsupported database {backend!r} in {raw!r}: use sqlite or postgresql")
    if url.drivername not in (backend, driver):
        raise StoreError(f"unsupported driver {url.drivername!r} in {raw!r}: use {driver}")
    url = url.set(drivername=driver)
    if backend == "postgresql" and "sslmode" in url.query:
        mode = url.query["sslmode"]
        url = url.difference_update_query(["sslmode"])
        if "ssl" not in url.query:
            url = url.update_query_dict({"ssl": mode})
    return url


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and in-memory databases."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return None
    return Path(database)
