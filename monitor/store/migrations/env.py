"""Alembic environment: runs on the connection `monitor.store.migrate` shares with it.

SQLite gets batch mode (`render_as_batch`): it cannot ALTER most things, so later
migrations copy and swap tables instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from monitor.store.tables import metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("Vakt's migrations run through `vakt db upgrade` (monitor.store)")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
