"""Small SQL helpers shared by the query groups (dialect-specific upserts, enum reading)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.fencing import TERM_OPTION

E = TypeVar("E", bound=StrEnum)

Insert = postgresql.Insert | sqlite.Insert


def dialect_insert(conn: AsyncConnection, table: Table) -> Insert:
    """An INSERT that supports ON CONFLICT on this connection's backend."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def fenced_term(conn: AsyncConnection) -> int | None:
    """The leader term of this transaction (`Store.transaction(fence=...)`), or None."""
    sync = conn.sync_connection
    term = None if sync is None else sync.get_execution_options().get(TERM_OPTION)
    return term if isinstance(term, int) else None


def enum_or_none(kind: type[E], value: str | None) -> E | None:
    return None if value is None else kind(value)


def value_or_none(value: StrEnum | None) -> str | None:
    return None if value is None else value.value


def upsert_replacing(conn: AsyncConnection, table: Table, keys: Sequence[str]) -> Insert:
    """INSERT, or on a key conflict overwrite every other column with the new values."""
    stmt = dialect_insert(conn, table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
    )
