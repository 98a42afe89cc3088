"""The planner tick's index: `incidents.next_plan_at`, when the case's plan can next
change (NULL: plan it on the next tick; every write of the incident sets NULL).

Existing rows: unresolved ones get NULL (planned by the first tick), resolved ones the far
future (`monitor.store.queries.incidents.NEVER`): nothing timed is left of them that the
first tick after the upgrade, which re-plans everything, does not see.

Revision ID: 0081_next_plan
Revises: 0080_locations
Create Date: 2026-12-07 16:00:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0081_next_plan"
down_revision: str | None = "0080_locations"
branch_labels: str | None = None
depends_on: str | None = None

_NEVER = datetime(9999, 12, 31, tzinfo=UTC)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("next_plan_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_incidents_next_plan_at", "incidents", ["next_plan_at"], unique=False)
    never = _NEVER.replace(tzinfo=None) if op.get_bind().dialect.name == "sqlite" else _NEVER
    incidents = sa.table(
        "incidents",
        sa.column("status", sa.String),
        sa.column("next_plan_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        incidents.update().where(incidents.c.status == "resolved").values(next_plan_at=never)
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_next_plan_at", table_name="incidents")
    if op.get_bind().dialect.name == "sqlite":
        # in place (SQLite 3.35+): a batch copy would drop `incidents` and so, through the
        # foreign key's ON DELETE CASCADE, every timeline
        op.execute("ALTER TABLE incidents DROP COLUMN next_plan_at")
    else:
        op.drop_column("incidents", "next_plan_at")
