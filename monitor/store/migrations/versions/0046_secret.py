"""Instance secrets: values every Vakt process on one database must share, such as the
acknowledge-link signing secret generated when `settings.secret` is not set (the first
process to start keeps one; every later one, and the CLI, reads it).

Revision ID: 0046_secret
Revises: 0045_events
Create Date: 2026-12-07 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0046_secret"
down_revision: str | None = "0045_events"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "instance_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_instance_secrets")),
    )


def downgrade() -> None:
    op.drop_table("instance_secrets")
