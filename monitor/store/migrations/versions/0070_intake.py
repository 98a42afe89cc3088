"""Customer reports: `customer_requests` (triage, joined or customer-reported cases),
`intake_counters` (rate limits shared by instances), `intake_messages` (support mailbox
messages read, by Message-ID and folder UIDVALIDITY/UID), `case_messages` (what customers
wrote to a case by email).

Revision ID: 0070_intake
Revises: 0045_events
Create Date: 2026-12-07 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0070_intake"
down_revision: str | None = "0060_reports"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "customer_requests",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=False),
        sa.Column("site_id", sa.String(255)),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("language", sa.String(64), nullable=False),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("case_number", sa.String(64)),
        sa.Column("priority", sa.String(64)),
        sa.Column("respond_by", sa.DateTime(timezone=True)),
        sa.Column("resolve_by", sa.DateTime(timezone=True)),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.Column("acknowledged_by", sa.String(64)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_by", sa.String(64)),
        sa.Column("message_id", sa.String(255)),
        sa.Column("probe_until", sa.DateTime(timezone=True)),
        sa.Column("probed", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("joined_case", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_customer_requests"),
    )
    op.create_index("ix_customer_requests_status", "customer_requests", ["status", "submitted_at"])
    op.create_index("ix_customer_requests_case", "customer_requests", ["case_number"])
    op.create_table(
        "intake_counters",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name="pk_intake_counters"),
    )
    op.create_table(
        "intake_messages",
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("folder", sa.String(255), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("uid", sa.BigInteger, nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("case_number", sa.String(64)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_intake_messages"),
        sa.UniqueConstraint(
            "folder", "uidvalidity", "uid", name="uq_intake_messages_folder_uidvalidity_uid"
        ),
    )
    op.create_table(
        "case_messages",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("case_number", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(255), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_messages"),
    )
    op.create_index("ix_case_messages_case", "case_messages", ["case_number", "at"])


def downgrade() -> None:
    op.drop_index("ix_case_messages_case", table_name="case_messages")
    op.drop_table("case_messages")
    op.drop_table("intake_messages")
    op.drop_table("intake_counters")
    op.drop_index("ix_customer_requests_case", table_name="customer_requests")
    op.drop_index("ix_customer_requests_status", table_name="customer_requests")
    op.drop_table("customer_requests")
