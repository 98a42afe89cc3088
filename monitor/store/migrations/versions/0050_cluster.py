"""High availability: cluster members, the leader lease with its fencing term, and the
term on the rows a leader writes that people see (incident events, outbox rows).

`cluster_members`: one row per running `vakt run` (id `host:pid`), its heartbeat
refreshed every few seconds. `cluster_lease`: at most one row (id 1): the leader, its
term (raised by every takeover) and until when the lease runs. `term` on
`incident_events` and `outbox` is NULL for rows not written by a leader transaction
(SQLite, the web UI, the CLI, the dispatchers) and for rows from before this revision.

Revision ID: 0050_cluster
Revises: 0045_events
Create Date: 2026-12-07 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0050_cluster"
down_revision: str | None = "0046_secret"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "cluster_members",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_members")),
    )
    op.create_table(
        "cluster_lease",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("term", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_lease")),
    )
    for table in ("incident_events", "outbox"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("term", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for table in ("outbox", "incident_events"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("term")
    op.drop_table("cluster_lease")
    op.drop_table("cluster_members")
