"""Frozen monthly agreement reports: `report_snapshots`, one row per (customer, month,
version) with the figures (JSON), the rendered HTML and PDF and the config version.

Revision ID: 0060_reports
Revises: 0045_events
Create Date: 2026-12-07 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0060_reports"
down_revision: str | None = "0050_cluster"
branch_labels: str | None = None
depends_on: str | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "report_snapshots",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary()),
        sa.Column("config_version", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshots")),
        sa.UniqueConstraint(
            "customer_id",
            "month",
            "version",
            name=op.f("uq_report_snapshots_customer_id_month_version"),
        ),
    )


def downgrade() -> None:
    op.drop_table("report_snapshots")
