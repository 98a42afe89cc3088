"""State that survives a crash: exact check streaks and the latency samples journal.

`check_states` keeps the mixed bad streak and the start of the bad episode (`bad`,
`first_bad_at`), so a restart rebuilds each location's state exactly; `baseline_samples`
is the journal of latency samples (one row per flush, holding that flush's samples),
replayed on start over the last baseline checkpoint (`engine_memory`, scope `baseline`).

Revision ID: 0040_state
Revises: 0030_delivery
Create Date: 2026-12-07 11:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0040_state"
down_revision: str | None = "0030_delivery"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("check_states") as batch:
        batch.add_column(sa.Column("bad", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("first_bad_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "baseline_samples",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_baseline_samples")),
    )


def downgrade() -> None:
    op.drop_table("baseline_samples")
    with op.batch_alter_table("check_states") as batch:
        batch.drop_column("first_bad_at")
        batch.drop_column("bad")
