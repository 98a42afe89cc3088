"""Errors the store raises. Callers catch these narrowly; SQL errors never leak past the store."""

from __future__ import annotations


class StoreError(Exception):
    """The database could not do what was asked (unreachable, locked, constraint broken)."""


class SchemaOutdated(StoreError):
    """The database schema is older than this version of Vakt: run `vakt db upgrade`."""


class StoreLocked(StoreError):
    """Another `vakt run` daemon already uses this SQLite database."""

    def __init__(self, database: str, pid: int | None) -> None:
        self.database = database
        self.pid = pid
        who = f"process {pid}" if pid is not None else "another process"
        super().__init__(
            f"the database {database} is already used by a running `vakt run` ({who}); "
            "stop that daemon first, or point this one at another database. "
            "CLI commands such as `vakt incidents ack` work beside the running daemon."
        )
