"""Probe locations across instances: each member's location, and the inbox through which
every instance's probe results reach the leader's evaluation (PostgreSQL cluster mode).

`cluster_members.location`: where the member probes from (`vakt run --location`).
`probe_inbox`: probe results written in batches by every instance and consumed (deleted)
by the leader's engine in the flush transaction that evaluates them.

Revision ID: 0080_locations
Revises: 0070_intake
Create Date: 2026-12-07 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0080_locations"
down_revision: str | None = "0070_intake"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("cluster_members") as batch:
        batch.add_column(
            sa.Column("location", sa.String(64), nullable=False, server_default="default")
        )
    op.create_table(
        "probe_inbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("member", sa.String(255), nullable=False),
        sa.Column("check_id", sa.String(255), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probe_inbox")),
    )


def downgrade() -> None:
    op.drop_table("probe_inbox")
    with op.batch_alter_table("cluster_members") as batch:
        batch.drop_column("location")
