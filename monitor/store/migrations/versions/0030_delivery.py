"""Delivery you can trust: cancelled notifications keep their reason; resolved cases are
read by their resolution time.

Revision ID: 0030_delivery
Revises: 0020_web
Create Date: 2026-12-07 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0030_delivery"
down_revision: str | None = "0020_web"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
    op.create_index("ix_incidents_resolved_at", "incidents", ["resolved_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_incidents_resolved_at", table_name="incidents")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("cancel_reason")
