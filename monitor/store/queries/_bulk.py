"""Bulk writes of pre-built row tuples, skipping SQLAlchemy's per-row parameter handling.

The engine's hot writes (check states, changes, evidence, aggregates, the recent ring)
send hundreds to thousands of rows per transaction. Executing a Core statement with a
list of dicts costs ~30-70 µs of Python per row (key matching, type processing of every
value); here the statement is compiled once per call to the dialect's SQL, the rows are
given as tuples in a known column order, and only the columns whose type needs a bind
processor (the UTC datetimes, floats) are converted, with SQLAlchemy's own processors,
so the stored values are exactly those of the Core path. The driver's executemany then
runs them in one call (one hop to aiosqlite's thread; asyncpg's pipelined executemany).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Dialect, Table
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

Row = tuple[Any, ...]


async def insert_rows(
    conn: AsyncConnection,
    stmt: Insert,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Row],
) -> None:
    """Execute the INSERT (or upsert) `stmt` on `table` once per row of `rows`, each a
    tuple of the values of `columns` in that order. Nothing is executed for no rows."""
    if not rows:
        return
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(columns))
    order = list(compiled.positiontup or ())
    if sorted(order) != sorted(columns):
        raise ValueError(f"{table.name}: the statement binds {order}, the rows give {columns}")
    sql = str(compiled)
    convert = _converter(table, conn, columns, order)
    try:
        params = list(rows) if convert is None else [convert(row) for row in rows]
    except (ValueError, TypeError) as exc:
        # As the Core path reports a value its type refuses (a naive datetime): a
        # StatementError, which the store raises as a StoreError.
        raise StatementError(f"({type(exc).__name__}) {exc}", sql, None, exc) from exc
    await conn.exec_driver_sql(sql, params)


def _converter(
    table: Table, conn: AsyncConnection, columns: Sequence[str], order: Sequence[str]
) -> Callable[[Row], Row] | None:
    """Reorders a row into the statement's parameter order and applies bind processors;
    None when neither is needed."""
    dialect = conn.dialect
    index = [columns.index(name) for name in order]
    processors: list[tuple[int, Callable[[Any], Any]]] = [
        (position, processor)
        for position, name in enumerate(order)
        if (processor := _bind_processor(table, name, dialect)) is not None
    ]
    if not processors and index == list(range(len(order))):
        return None

    def convert(row: Row) -> Row:
        values = [row[i] for i in index]
        for position, processor in processors:
            values[position] = processor(values[position])
        return tuple(values)

    return convert


def _bind_processor(table: Table, name: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    # The dialect's own variant of the type (SQLite's DATETIME formats the text it stores),
    # behind any TypeDecorator: what SQLAlchemy applies when it executes the statement.
    processor: Callable[[Any], Any] | None = (
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
    )
    return processor
