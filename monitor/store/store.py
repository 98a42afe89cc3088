"""`Store`: the durable store on SQLAlchemy Core (async), one code path for SQLite and PostgreSQL.

    store = Store("sqlite:///vakt.db")
    await store.open()
    await store.upgrade()                      # or ensure_schema() in the daemon
    async with store.transaction() as tx:      # one commit for everything inside
        await tx.checks.save(statuses)
        await tx.outbox.add(notifications)
    await store.close()

SQLite: WAL journal, `busy_timeout`, every write transaction starts with `BEGIN IMMEDIATE`
(so two writers queue for the lock instead of failing half-way), and one writing
connection per `Store`: the daemon's writer. Read-only transactions of a database file
use connections of their own (`readers`, a small pool): in WAL mode they read the last
committed state while the writer is in a transaction, so the planner tick, the gauges,
health and the web never queue behind a flush. CLI commands build their own `Store` and write short
transactions beside it. `lock_for_daemon()` keeps a second daemon off the same database.
PostgreSQL: asyncpg with a small pool; several daemons may share one database.

Any database failure leaves the store as a `StoreError`; callers (the engine) decide what
it means. It is never a probe failure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from monitor.store import migrate
from monitor.store.errors import SchemaOutdated, StoreError
from monitor.store.fencing import TERM_OPTION, Fence, Fenced
from monitor.store.lock import DaemonLock, NoLock
from monitor.store.records import Retained
from monitor.store.transaction import Transaction
from monitor.store.url import normalise_url, sqlite_path

DEFAULT_RING_SIZE = 60
# What a database failure looks like: SQLAlchemy wraps driver errors, but a connection
# that cannot be made (refused, unreachable, DNS) may surface as a plain OSError.
_DATABASE_ERRORS = (SQLAlchemyError, OSError)
_READ_ONLY = "vakt_read_only"


class Store:
    """The database behind Vakt. Construct, `open()`, use `transaction()`, `close()`."""

    __slots__ = (
        "_busy_timeout",
        "_engine",
        "_idle_in_transaction",
        "_pool_size",
        "_reader",
        "_readers",
        "_ring_size",
        "_schema",
        "url",
    )

    def __init__(
        self,
        url: str,
        *,
        ring_size: int = DEFAULT_RING_SIZE,
        busy_timeout: timedelta = timedelta(seconds=10),
        pool_size: int = 5,
        schema: str | None = None,
        readers: int = 2,
        idle_in_transaction: timedelta | None = None,
    ) -> None:
        """`url` as in `settings.store`; `ring_size` results kept per check for the UI;
        `busy_timeout` how long a SQLite writer waits for the lock; `pool_size` PostgreSQL
        connections; `schema` a PostgreSQL schema to use instead of the default search path;
        `readers` SQLite connections for read-only transactions of a database file (0: they
        share the writer's one connection). `idle_in_transaction`: PostgreSQL ends a
        session idle inside a transaction for longer (a paused process must not hold the
        leader lease's row lock for ever).
        """
        if ring_size < 1:
            raise ValueError("ring_size must be at least 1")
        self.url: URL = normalise_url(url)
        if schema is not None and self.is_sqlite:
            raise ValueError("a schema applies to PostgreSQL only")
        self._ring_size = ring_size
        self._busy_timeout = busy_timeout
        self._pool_size = pool_size
        self._schema = schema
        self._readers = readers
        self._idle_in_transaction = idle_in_transaction
        self._engine: AsyncEngine | None = None
        self._reader: AsyncEngine | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema this store uses, if one was given."""
        return self._schema

    @property
    def display_url(self) -> str:
        """The URL with any password hidden (for messages and logs)."""
        return self.url.render_as_string(hide_password=True)

    async def open(self) -> None:
        """Create the engine (connections are made lazily). Creates a SQLite file's folder."""
        if self._engine is not None:
            return
        path = sqlite_path(self.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._engine = self._sqlite_engine() if self.is_sqlite else self._postgres_engine()
        if path is not None and self._readers > 0:
            self._reader = self._sqlite_engine(self._readers)

    async def close(self) -> None:
        """Close every connection. The store may be opened again."""
        engine, self._engine = self._engine, None
        reader, self._reader = self._reader, None
        for each in (engine, reader):
            if each is not None:
                await each.dispose()

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(
        self, *, read_only: bool = False, fence: Fence | None = None
    ) -> AsyncIterator[Transaction]:
        """One unit of work: commits when the block ends, rolls back if it raises.

        `read_only` transactions do not take SQLite's write lock (plain `BEGIN`) and, on a
        database file, do not wait for the writer's connection; use them for listings.
        `fence`: a leader transaction (`monitor.store.fencing`): it first checks that the
        fence still holds the lease under its term, raises `Fenced` (a `StoreError`)
        without writing if not, and stamps the term on the incident events and outbox rows
        it writes. Database errors are raised as `StoreError`.
        """
        engine = self._require_engine()
        if read_only and self._reader is not None:
            engine = self._reader
        try:
            async with engine.connect() as conn:
                if read_only:
                    await conn.execution_options(**{_READ_ONLY: True})
                async with conn.begin():
                    tx = Transaction(conn, ring_size=self._ring_size)
                    if fence is not None:
                        await _check_fence(tx, conn, fence)
                    yield tx
        except _DATABASE_ERRORS as exc:
            raise StoreError(f"{self.display_url}: {exc}") from exc

    async def upgrade(self, revision: str = "head") -> str | None:
        """Migrate the schema to `revision` (default: the newest). Returns the revision now."""
        engine = self._require_engine()
        try:
            async with engine.begin() as conn:
                await conn.run_sync(migrate.upgrade, revision)
                current: str | None = await conn.run_sync(migrate.current_revision)
        except _DATABASE_ERRORS as exc:
            raise StoreError(f"{self.display_url}: upgrade failed: {exc}") from exc
        return current

    async def revision(self) -> str | None:
        """The schema revision of the database; None if it was never migrated."""
        engine = self._require_engine()
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(migrate.current_revision)
        except _DATABASE_ERRORS as exc:
            raise StoreError(f"{self.display_url}: {exc}") from exc

    async def ensure_schema(self) -> None:
        """Make the schema current at startup.

        SQLite (the embedded default) is created and migrated on first run. A PostgreSQL
        database is shared and migrated deliberately: if it is behind, `SchemaOutdated`
        asks for `vakt db upgrade`.
        """
        current, head = await self.revision(), migrate.head_revision()
        if self.is_sqlite:
            if current != head:  # Alembic is loaded only when there is something to do
                await self.upgrade()
            return
        if current != head:
            raise SchemaOutdated(
                f"{self.display_url} is at schema {current or 'none'}, this Vakt needs {head}: "
                "run `vakt db upgrade`"
            )

    def lock_for_daemon(self) -> DaemonLock | NoLock:
        """The lock a `vakt run` daemon holds while it runs (`with store.lock_for_daemon():`).

        SQLite: an exclusive lock on `<database>.lock`; taking it while another daemon
        holds it raises `StoreLocked` naming the database and that daemon's PID.
        PostgreSQL and in-memory SQLite: nothing to lock.
        """
        path = sqlite_path(self.url)
        return NoLock() if path is None else DaemonLock(path)

    async def purge(self, what: Retained, before: datetime, *, batch: int = 500) -> int:
        """Delete every row of `what` older than `before`, `batch` rows per transaction.

        Returns how many were deleted. Each batch is its own short transaction so other
        writers (the daemon, CLI commands) get the lock in between.
        """
        deleted = 0
        while True:
            async with self.transaction() as tx:
                count = await tx.retention.delete_batch(what, before, batch)
            deleted += count
            if count < batch:
                return deleted

    def _require_engine(self) -> AsyncEngine:
        if self._engine is None:
            raise StoreError("the store is not open: call `await store.open()` first")
        return self._engine

    def _sqlite_engine(self, connections: int = 1) -> AsyncEngine:
        # The writer: one connection (the daemon has exactly one writer, a CLI command one
        # session); the readers: `connections` of their own.
        engine = create_async_engine(
            self.url,
            pool_size=connections,
            max_overflow=0,
            pool_timeout=self._busy_timeout.total_seconds() * 3,
            connect_args={"timeout": self._busy_timeout.total_seconds()},
        )
        busy_ms = int(self._busy_timeout.total_seconds() * 1000)
        event.listen(engine.sync_engine, "connect", _sqlite_connect_hook(busy_ms))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine

    def _postgres_engine(self) -> AsyncEngine:
        server: dict[str, str] = {}
        if self._schema is not None:
            server["search_path"] = self._schema
        if self._idle_in_transaction is not None:
            ms = int(self._idle_in_transaction.total_seconds() * 1000)
            server["idle_in_transaction_session_timeout"] = str(ms)
        connect_args: dict[str, Any] = {"server_settings": server} if server else {}
        return create_async_engine(
            self.url,
            pool_size=self._pool_size,
            max_overflow=self._pool_size,
            pool_pre_ping=True,
            connect_args=connect_args,
        )


async def _check_fence(tx: Transaction, conn: AsyncConnection, fence: Fence) -> None:
    term = fence.term
    if term is None or not await tx.cluster.holds(fence.holder, term):
        raise Fenced(f"{fence.holder} no longer leads under term {term}")
    await conn.execution_options(**{TERM_OPTION: term})


def _sqlite_connect_hook(busy_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the driver: `_sqlite_begin` emits BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            f"PRAGMA busy_timeout = {busy_ms}",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",  # durable across process crashes; WAL-safe
            "PRAGMA foreign_keys = ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    return on_connect


def _sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front: a writer waits (busy_timeout) for it at BEGIN
    # rather than failing with SQLITE_BUSY when a read turns into a write half-way.
    read_only = conn.get_execution_options().get(_READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
