"""The durable store: SQLAlchemy Core (async) tables and queries, Alembic migrations.

One code path for SQLite (the embedded default) and PostgreSQL (asyncpg). It keeps check
and site state, state changes, failed and degraded results with evidence, a short ring of
recent results per check, 5-minute aggregates, incidents and their timelines, case
numbers, maintenance, silences and the notification outbox. It stores; it does not decide.
"""

from monitor.store.aggregates import LATENCY_BOUNDS, Aggregate, bucket_start, fold
from monitor.store.errors import SchemaOutdated, StoreError, StoreLocked
from monitor.store.fencing import Fence, Fenced
from monitor.store.lock import DaemonLock, NoLock
from monitor.store.queries.cluster import LeaseRow, Member
from monitor.store.queries.inbox import InboxRow
from monitor.store.queries.incidents import NEVER
from monitor.store.records import (
    Attempt,
    AttemptOutcome,
    CaseMessage,
    CheckChange,
    CheckStatus,
    CustomerRequest,
    EventKind,
    Evidence,
    Incident,
    IncidentEvent,
    MaintenanceWindow,
    Notification,
    OutboxItem,
    OutboxKey,
    OutboxStatus,
    RecentResult,
    RequestStatus,
    Retained,
    Sample,
    Silence,
    SilenceScope,
    SiteChange,
    SiteStatus,
)
from monitor.store.store import Store
from monitor.store.transaction import Transaction

__all__ = [
    "LATENCY_BOUNDS",
    "NEVER",
    "Aggregate",
    "Attempt",
    "AttemptOutcome",
    "CaseMessage",
    "CheckChange",
    "CheckStatus",
    "CustomerRequest",
    "DaemonLock",
    "EventKind",
    "Evidence",
    "Fence",
    "Fenced",
    "InboxRow",
    "Incident",
    "IncidentEvent",
    "LeaseRow",
    "MaintenanceWindow",
    "Member",
    "NoLock",
    "Notification",
    "OutboxItem",
    "OutboxKey",
    "OutboxStatus",
    "RecentResult",
    "RequestStatus",
    "Retained",
    "Sample",
    "SchemaOutdated",
    "Silence",
    "SilenceScope",
    "SiteChange",
    "SiteStatus",
    "Store",
    "StoreError",
    "StoreLocked",
    "Transaction",
    "bucket_start",
    "fold",
]
