"""One unit of work: every query group over one connection, committed (or not) together."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.queries.cluster import ClusterQueries
from monitor.store.queries.inbox import InboxQueries
from monitor.store.queries.incident_search import IncidentSearchQueries
from monitor.store.queries.incidents import IncidentQueries
from monitor.store.queries.intake import IntakeQueries
from monitor.store.queries.memory import MemoryQueries
from monitor.store.queries.outbox import OutboxQueries
from monitor.store.queries.reports import ReportQueries
from monitor.store.queries.results import ResultQueries
from monitor.store.queries.retention import RetentionQueries
from monitor.store.queries.states import CheckQueries, SiteQueries
from monitor.store.queries.web import WebQueries
from monitor.store.queries.windows import MaintenanceQueries, SilenceQueries


class Transaction:
    """The query groups of one open transaction (see `Store.transaction`).

    `checks`, `sites`: current states and change history; `results`: evidence, the recent
    ring and aggregates; `incidents`: incidents, timelines and case numbers;
    `incident_search`: filtered, paged incident listings; `maintenance`, `silences`;
    `outbox`: notifications and delivery attempts; `retention`: batched purges;
    `memory`: the engine's checkpointed memory (baselines, per-site memory); `web`: logins,
    sessions, used ack tokens, heartbeat pings, email approvals, chart series; `reports`:
    frozen monthly reports; `intake`: customer reports, their rate-limit counters,
    support-mailbox messages read; `cluster`: members and the leader lease (PostgreSQL
    high availability); `inbox`: probe results on their way to the leader's engine
    (PostgreSQL cluster mode).
    """

    __slots__ = (
        "checks",
        "cluster",
        "inbox",
        "incident_search",
        "incidents",
        "intake",
        "maintenance",
        "memory",
        "outbox",
        "reports",
        "results",
        "retention",
        "silences",
        "sites",
        "web",
    )

    def __init__(self, conn: AsyncConnection, *, ring_size: int) -> None:
        self.checks = CheckQueries(conn)
        self.sites = SiteQueries(conn)
        self.results = ResultQueries(conn, ring_size)
        self.incidents = IncidentQueries(conn)
        self.incident_search = IncidentSearchQueries(conn)
        self.intake = IntakeQueries(conn)
        self.maintenance = MaintenanceQueries(conn)
        self.silences = SilenceQueries(conn)
        self.outbox = OutboxQueries(conn)
        self.retention = RetentionQueries(conn)
        self.memory = MemoryQueries(conn)
        self.web = WebQueries(conn)
        self.reports = ReportQueries(conn)
        self.cluster = ClusterQueries(conn)
        self.inbox = InboxQueries(conn)
