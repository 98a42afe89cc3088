"""The schema, as SQLAlchemy Core tables. Alembic migrations (in `migrations/`) create it.

A test compares a freshly migrated database with this metadata, so the two cannot drift.
Enumerations are stored as their plain string values; times as `UTCDateTime`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from monitor.store.aggregates import BUCKET_COUNT
from monitor.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")

ID = 255  # check, site and customer ids
NAME = 64  # enumerations, locations, actors
HISTOGRAM = tuple(f"b{i}" for i in range(BUCKET_COUNT))

check_states = Table(
    "check_states",
    metadata,
    Column("check_id", String(ID), primary_key=True),
    Column("location", String(NAME), primary_key=True),
    Column("state", String(NAME), nullable=False),
    Column("since", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("degraded", Integer, nullable=False),
    Column("successes", Integer, nullable=False),
    Column("last_verdict", String(NAME)),
    Column("last_error", String(NAME)),
    Column("last_probe_at", UTCDateTime),
    Column("last_total", Float),
    # migration 0040_state: the mixed bad streak and when the bad episode began
    Column("bad", Integer, nullable=False, server_default="0"),
    Column("first_bad_at", UTCDateTime),
)

check_changes = Table(
    "check_changes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("check_id", String(ID), nullable=False),
    Column("location", String(NAME), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("old", String(NAME), nullable=False),
    Column("new", String(NAME), nullable=False),
    Column("error", String(NAME)),
    Column("detail", Text, nullable=False),
    Index("ix_check_changes_check_at", "check_id", "at"),
    Index("ix_check_changes_at", "at"),
)

site_states = Table(
    "site_states",
    metadata,
    Column("site_id", String(ID), primary_key=True),
    Column("level", String(NAME)),
    Column("since", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("incident_id", Id),
)

site_changes = Table(
    "site_changes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", String(ID), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("old", String(NAME)),
    Column("new", String(NAME)),
    Index("ix_site_changes_site_at", "site_id", "at"),
    Index("ix_site_changes_at", "at"),
)

# Failed and degraded results only, with their evidence.
results = Table(
    "results",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("check_id", String(ID), nullable=False),
    Column("location", String(NAME), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("verdict", String(NAME), nullable=False),
    Column("error", String(NAME)),
    Column("detail", Text, nullable=False),
    Column("status_code", Integer),
    Column("total", Float, nullable=False),
    Column("dns", Float),
    Column("connect", Float),
    Column("tls", Float),
    Column("first_byte", Float),
    Column("response_bytes", Integer),
    Column("cert_not_after", UTCDateTime),
    Column("address", String(NAME)),
    Column("evidence", Text, nullable=False),
    Index("ix_results_check_started", "check_id", "started_at"),
    Index("ix_results_started", "started_at"),
)

# The ring of recent results: slot = seq % ring size; ring_heads holds the next seq.
recent_results = Table(
    "recent_results",
    metadata,
    Column("check_id", String(ID), primary_key=True),
    Column("slot", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("location", String(NAME), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("verdict", String(NAME), nullable=False),
    Column("error", String(NAME)),
    Column("total", Float, nullable=False),
    Column("status_code", Integer),
    Column("detail", Text, nullable=False),
)

ring_heads = Table(
    "ring_heads",
    metadata,
    Column("check_id", String(ID), primary_key=True),
    Column("next_seq", BigInteger, nullable=False),
)

aggregates = Table(
    "aggregates",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("check_id", String(ID), nullable=False),
    Column("location", String(NAME), nullable=False),
    Column("start", UTCDateTime, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("degraded", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("latency_sum", Float, nullable=False),
    *(Column(name, Integer, nullable=False) for name in HISTOGRAM),
    UniqueConstraint("check_id", "location", "start"),
    Index("ix_aggregates_start", "start"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_number", String(NAME), nullable=False, unique=True),
    Column("site_id", String(ID), nullable=False),
    Column("customer_id", String(ID), nullable=False),
    Column("level", String(NAME), nullable=False),
    Column("status", String(NAME), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("description", Text, nullable=False),
    Column("respond_by", UTCDateTime),
    Column("paging_started_at", UTCDateTime),
    Column("acknowledged_at", UTCDateTime),
    Column("acknowledged_by", String(NAME)),
    Column("resolved_at", UTCDateTime),
    Column("resolved_by", String(NAME)),
    Column("parent_id", Id, ForeignKey("incidents.id")),
    Column("flapping", Boolean, nullable=False),
    Column("data", Text, nullable=False),
    Column("version", Integer, nullable=False),
    # When the case's plan can next change; NULL: plan it on the next tick. Every write
    # of the row sets NULL (`monitor.store.queries.incidents`). Migration 0081_next_plan.
    Column("next_plan_at", UTCDateTime, nullable=True),
    Index("ix_incidents_status", "status"),
    Index("ix_incidents_site_opened", "site_id", "opened_at"),
    Index("ix_incidents_resolved_at", "resolved_at"),  # migration 0030_delivery
    Index("ix_incidents_next_plan_at", "next_plan_at"),  # migration 0081_next_plan
)

incident_events = Table(
    "incident_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", Id, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(NAME), nullable=False),
    Column("kind", String(NAME), nullable=False),
    Column("text", Text, nullable=False),
    Column("public", Boolean, nullable=False),
    # What the kind is about, typed (None where the kind has no such field): read by the
    # planner and shown to people; `text` is for people only.
    Column("level", String(NAME), nullable=True),
    Column("previous_level", String(NAME), nullable=True),
    Column("ref", String(ID), nullable=True),
    Column("recipient", String(ID), nullable=True),
    Column("channel", String(NAME), nullable=True),
    # the leader's fencing term when a leader transaction wrote it (migration 0050_cluster)
    Column("term", BigInteger, nullable=True),
    Index("ix_incident_events_incident", "incident_id", "at"),
)

# One counter per (prefix, year), incremented in the transaction that opens the incident.
case_sequences = Table(
    "case_sequences",
    metadata,
    Column("prefix", String(NAME), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", Integer, nullable=False),
)

maintenance = Table(
    "maintenance",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sites", Text, nullable=False),  # newline-separated patterns
    Column("start", UTCDateTime, nullable=False),
    Column("end", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", String(NAME), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Index("ix_maintenance_end", "end"),
)

silences = Table(
    "silences",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("scope", String(NAME), nullable=False),
    Column("target", String(ID), nullable=False),
    Column("start", UTCDateTime, nullable=False),
    Column("end", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", String(NAME), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Index("ix_silences_end", "end"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subject", String(ID), nullable=False),
    Column("kind", String(NAME), nullable=False),
    Column("slot", String(NAME), nullable=False),
    Column("recipient", String(ID), nullable=False),
    Column("channel", String(NAME), nullable=False),
    Column("incident_id", Id, ForeignKey("incidents.id")),
    Column("payload", Text, nullable=False),
    Column("status", String(NAME), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("lease_owner", String(NAME)),
    Column("lease_until", UTCDateTime),
    Column("sent_at", UTCDateTime),
    Column("last_error", Text, nullable=False),
    # why a pending row was cancelled (status "cancelled"): its case was acknowledged,
    # resolved, ... (migration 0030_delivery)
    Column("cancel_reason", Text),
    Column("term", BigInteger, nullable=True),  # as on incident_events (0050_cluster)
    UniqueConstraint("subject", "kind", "slot", "recipient", "channel"),
    Index("ix_outbox_status_due", "status", "due_at"),
    Index("ix_outbox_incident", "incident_id"),
    Index("ix_outbox_created", "created_at"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("outbox_id", Id, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("duration", Float, nullable=False),  # seconds
    Column("outcome", String(NAME), nullable=False),
    Column("worker", String(NAME), nullable=False),
    Column("error", Text, nullable=False),
    Index("ix_delivery_attempts_outbox", "outbox_id"),
)

# What the engine keeps in memory and checkpoints (latency baselines, per-site memory):
# opaque JSON owned by `monitor.engine`, one row per (scope, key).
engine_memory = Table(
    "engine_memory",
    metadata,
    Column("scope", String(NAME), primary_key=True),
    Column("key", String(ID), primary_key=True),
    Column("data", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The journal of latency samples (migration 0040_state): one row per flush, holding that
# flush's samples (JSON owned by `queries/memory.py`), replayed on start over the baselines
# checkpointed in `engine_memory` (whose `seq` says which samples each holds); emptied by
# the checkpoint that covers it.
baseline_samples = Table(
    "baseline_samples",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("data", Text, nullable=False),
)

# ------------------------------------------------------------------ web (migration 0020_web)

# Per-person logins of the team UI: a KDF hash string (algorithm and cost inside it).
web_users = Table(
    "web_users",
    metadata,
    Column("person", String(NAME), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Sessions by the SHA-256 of their cookie value (a stolen database yields no live cookie),
# with the session's CSRF token.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(NAME), primary_key=True),
    Column("person", String(NAME), nullable=False),
    Column("csrf", String(NAME), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_web_sessions_expires", "expires_at"),
)

# Acknowledge tokens that were used: a token works once.
used_ack_tokens = Table(
    "used_ack_tokens",
    metadata,
    Column("nonce", String(NAME), primary_key=True),
    Column("person", String(NAME), nullable=False),
    Column("used_at", UTCDateTime, nullable=False),
)

# The last ping of each heartbeat check (the probe reads it through a cache).
heartbeats = Table(
    "heartbeats",
    metadata,
    Column("check_id", String(ID), primary_key=True),
    Column("at", UTCDateTime),  # last success or failure ping; None: only /start so far
    Column("failed", Boolean, nullable=False),
    Column("started_at", UTCDateTime),  # last /start
    Column("updated_at", UTCDateTime, nullable=False),
)

# Approvals of the first customer email (`customer_emails: approve`), one per incident.
email_approvals = Table(
    "email_approvals",
    metadata,
    Column("incident_id", Id, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    Column("approved_by", String(NAME), nullable=False),
    Column("approved_at", UTCDateTime, nullable=False),
)

# Monthly agreement reports as sent (frozen): one row per (customer, month, version).
report_snapshots = Table(
    "report_snapshots",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_id", String(ID), nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM
    Column("version", Integer, nullable=False),
    Column("figures", Text, nullable=False),  # the report's JSON
    Column("html", Text, nullable=False),
    Column("pdf", LargeBinary),
    Column("config_version", String(NAME), nullable=False),
    Column("created_by", String(NAME), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("customer_id", "month", "version"),
)

# ------------------------------------------------------------ intake (migration 0070_intake)

# Problems customers report (status-page form, API, support mailbox). A report waits in
# triage, joins a monitoring case (`case_number` is that case's), or is itself a
# customer-reported case (`case_number` from the same sequence as incidents).
customer_requests = Table(
    "customer_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("source", String(NAME), nullable=False),
    Column("customer_id", String(ID), nullable=False),
    Column("site_id", String(ID)),
    Column("name", Text, nullable=False),
    Column("email", String(ID), nullable=False),
    Column("description", Text, nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("language", String(NAME), nullable=False),
    Column("status", String(NAME), nullable=False),
    Column("case_number", String(NAME)),
    Column("priority", String(NAME)),
    Column("respond_by", UTCDateTime),
    Column("resolve_by", UTCDateTime),
    Column("acknowledged_at", UTCDateTime),
    Column("acknowledged_by", String(NAME)),
    Column("resolved_at", UTCDateTime),
    Column("resolved_by", String(NAME)),
    Column("message_id", String(ID)),
    # While set, the site's checks are being probed for this report (until then): a
    # confirmed failure makes the report join the monitoring case (`joined_case`).
    Column("probe_until", UTCDateTime),
    Column("probed", Boolean, nullable=False, server_default="0"),
    Column("joined_case", String(NAME)),
    Index("ix_customer_requests_status", "status", "submitted_at"),
    Index("ix_customer_requests_case", "case_number"),
)

# Rate-limit counters of the intake, per key (client address, reporter email) and window:
# in the store, so a limit holds across instances.
intake_counters = Table(
    "intake_counters",
    metadata,
    Column("key", String(ID), primary_key=True),
    Column("window_start", UTCDateTime, primary_key=True),
    Column("count", Integer, nullable=False),
)

# Messages read from the support mailbox: each one once (by Message-ID, and by its
# folder's UIDVALIDITY/UID), written in the transaction of the case change it made.
intake_messages = Table(
    "intake_messages",
    metadata,
    Column("message_id", String(ID), primary_key=True),
    Column("folder", String(ID), nullable=False),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("outcome", String(NAME), nullable=False),
    Column("case_number", String(NAME)),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("folder", "uidvalidity", "uid"),
)

# What customers wrote to a case by email (the support mailbox): the team reads it in the
# case's timeline; it is never sent on to the customer.
case_messages = Table(
    "case_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_number", String(NAME), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("sender", String(ID), nullable=False),
    Column("subject", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("message_id", String(ID), nullable=False),
    Index("ix_case_messages_case", "case_number", "at"),
)

# Secrets every process on this database shares (migration 0046_secret): e.g. the
# acknowledge-link signing secret generated when `settings.secret` is not set.
instance_secrets = Table(
    "instance_secrets",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# High availability (migration 0050_cluster): every running `vakt run` on PostgreSQL and
# its heartbeat; the one leader lease (id 1) with its fencing term.
cluster_members = Table(
    "cluster_members",
    metadata,
    Column("id", String(ID), primary_key=True),  # host:pid, the dispatcher's lease owner
    Column("host", String(ID), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("version", String(NAME), nullable=False),
    Column("started", UTCDateTime, nullable=False),
    Column("heartbeat", UTCDateTime, nullable=False),
    Column("location", String(NAME), nullable=False, server_default="default"),
)

probe_inbox = Table(
    "probe_inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member", String(ID), nullable=False),  # who probed (host:pid)
    Column("check_id", String(ID), nullable=False),
    Column("location", String(NAME), nullable=False),
    Column("result", Text, nullable=False),  # the ProbeResult as JSON
)

# Checks asked to be probed at once, off their rhythm (a customer's report): written by
# the leader's intake follow-up, read by every instance, which probes those of its shard
# (`monitor.intake.asks`); forgotten after an hour.
probe_asks = Table(
    "probe_asks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("check_id", String(ID), nullable=False),
    Column("asked_at", UTCDateTime, nullable=False),
    Index("ix_probe_asks_asked_at", "asked_at"),
)

cluster_lease = Table(
    "cluster_lease",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(ID), nullable=False),
    Column("term", BigInteger, nullable=False),
    Column("expires", UTCDateTime, nullable=False),
    Column("acquired", UTCDateTime, nullable=False),
)
