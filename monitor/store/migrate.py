"""Alembic, driven from code: the migrations ship inside the package (no alembic.ini needed).

These functions run on a synchronous connection: `Store` calls them through
`AsyncConnection.run_sync`, inside its own transaction.

Alembic is imported only to migrate. Knowing the newest revision (`head_revision`, read
from the migration scripts' `revision` / `down_revision` assignments with `ast`) and the
database's (`current_revision`, one SELECT of `alembic_version`) needs none of it, so a
`vakt run` on a current schema never loads Alembic, Mako and Pygments (~26 MiB of a
daemon's resident memory). `tests/store/test_migrations.py` checks both readings against
Alembic's own.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """An Alembic config pointing at the packaged migrations, sharing `connection`."""
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision this version of Vakt knows: the one no script revises."""
    revisions: dict[str, str | None] = {}
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        names = _assignments(script)
        if "revision" in names:
            revisions[str(names["revision"])] = names.get("down_revision")
    heads = set(revisions) - {down for down in revisions.values() if down is not None}
    if len(heads) != 1:
        raise RuntimeError(f"expected one head in {MIGRATIONS}, found {sorted(heads) or 'none'}")
    return heads.pop()


def _assignments(script: Path) -> dict[str, str | None]:
    """The module-level `name = "literal"` (or `name: type = ...`) string assignments."""
    found: dict[str, str | None] = {}
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            target, value = node.target.id, node.value
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            target, value = node.targets[0].id, node.value
        else:
            continue
        if isinstance(value, ast.Constant) and isinstance(value.value, str | None):
            found[target] = value.value
    return found


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None for an empty database."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise RuntimeError(f"{VERSION_TABLE} names {len(rows)} revisions; Vakt keeps one")
    return rows[0] if rows else None


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Migrate the database to `revision` (idempotent: at head it does nothing)."""
    from alembic import command

    command.upgrade(alembic_config(connection), revision)
