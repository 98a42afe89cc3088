"""Probe asks: checks to probe at once, off their rhythm, for a customer's report.

The leader's intake follow-up writes a row per check of the reported site in the same
transaction that marks the report probed; every instance reads the recent rows and probes
the checks of its own shard (in a cluster the leader probes only its shard, so a report
about a check another member owns must reach that member through the store).

Revision ID: 0082_probe_asks
Revises: 0081_next_plan
Create Date: 2026-12-07 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0082_probe_asks"
down_revision: str | None = "0081_next_plan"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "probe_asks",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("check_id", sa.String(255), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probe_asks")),
    )
    op.create_index("ix_probe_asks_asked_at", "probe_asks", ["asked_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_probe_asks_asked_at", table_name="probe_asks")
    op.drop_table("probe_asks")
