"""`WebDeps`: everything the web apps need, built by the composition root (`monitor.app`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp.typedefs import Handler, Middleware

from monitor.clock import Clock
from monitor.config.records import Config
from monitor.health import Health
from monitor.incidents.reports import ReportDesk
from monitor.store import LeaseRow, Member, Store
from monitor.web.auth import PasswordHasher
from monitor.web.security import Rate

LOGIN_RATE = Rate(burst=10, per_second=1 / 30)  # per client address: 10, then 2 a minute
HEARTBEAT_RATE = Rate(burst=30, per_second=1.0)  # per token (and per address for unknown ones)


class Readiness(Protocol):
    """What `/readyz` asks the daemon (injected by `monitor.app`): its health verdict,
    judged by `monitor.health.judge` like the dead-man's ping."""

    async def health(self) -> Health: ...


class ReportSource(Protocol):
    """A customer's month as the report's figures (JSON-ready), frozen or computed now."""

    async def figures(self, customer_id: str, month: str) -> Mapping[str, Any]: ...

    async def page(self, customer_id: str, month: str) -> str:
        """The report as the customer reads it (HTML), frozen or rendered now."""
        ...

    async def overview(self, months: int) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        """Each customer's last `months` months (the running one last), as figures."""
        ...

    async def decide(self, customer_id: str, month: str, decision: str, by: str) -> bool:
        """`approve` (freeze and send, as the monthly job does) or `hold` (record `by`,
        send nothing) a customer's month (`reports: {approve: true}`); False when nothing
        changed (decided before). Raises StoreError; ValueError when approving a month
        that is not over."""
        ...


class ClusterMemberView(Protocol):
    """One member as `/cluster` shows it (`monitor.cluster.MemberView`)."""

    @property
    def member(self) -> Member: ...

    @property
    def alive(self) -> bool: ...

    @property
    def leader(self) -> bool: ...


class LocationVoteView(Protocol):
    """A location's vote as `/cluster` shows it (`monitor.cluster.LocationVote`)."""

    @property
    def location(self) -> str: ...

    @property
    def lost_since(self) -> datetime | None: ...

    @property
    def voting(self) -> bool: ...


class ClusterView(Protocol):
    """The cluster as `/cluster` shows it (`monitor.cluster.ClusterStatus`): judged by
    the cluster layer, shown here."""

    @property
    def now(self) -> datetime: ...

    @property
    def lease(self) -> LeaseRow | None: ...

    @property
    def members(self) -> Sequence[ClusterMemberView]: ...

    @property
    def votes(self) -> Sequence[LocationVoteView]: ...

    @property
    def leader(self) -> str | None: ...

    @property
    def term(self) -> int: ...


class HeartbeatRecorder(Protocol):
    """Records a heartbeat ping (`kind`: "success", "fail" or "start")."""

    async def record(self, check_id: str, at: datetime, kind: str) -> None: ...


@dataclass(frozen=True, slots=True)
class WebDeps:
    """The web layer's dependencies.

    - `store`, `clock`; `config`: returns the current config (a SIGHUP reload swaps it).
    - `heartbeats`: records pings (`StoreHeartbeats`, which is also the probes'
      `HeartbeatLog`); None builds a `StoreHeartbeats` on `store`.
    - `secret`: signs ack tokens; None: `settings.secret` of the current config.
    - `readiness`, `metrics`: for the ops routes (`/readyz`, `/metrics`); may be None.
    - `middlewares`: extra outermost middlewares (e.g. Sentry's), both apps.
    - `on_unknown_heartbeat`: called for every ping to an unknown token (a metric).
    - `pagerduty_webhook_secret`: verifies PagerDuty v3 webhook signatures.
    - `reports`: the monthly agreement reports (`monitor.reports.source`); None: none.
    - `desk`: files customers' reports (status-page form, `POST /api/v1/requests`);
      None: no form and no such API operation.
    - `cluster`: reads the cluster's members and leader for `/cluster` (PostgreSQL high
      availability); None: a single instance (SQLite).
    - `member`: this instance's member id (`host:pid`), shown on `/cluster`.
    """

    store: Store
    config: Callable[[], Config]
    clock: Clock
    heartbeats: HeartbeatRecorder | None = None
    secret: str | None = None
    readiness: Readiness | None = None
    metrics: Handler | None = None
    middlewares: Sequence[Middleware] = ()
    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    session_ttl: timedelta = timedelta(hours=12)
    login_rate: Rate = LOGIN_RATE
    heartbeat_rate: Rate = HEARTBEAT_RATE
    status_cache: timedelta = timedelta(seconds=30)
    on_unknown_heartbeat: Callable[[], None] | None = None
    pagerduty_webhook_secret: str | None = None
    reports: ReportSource | None = None
    desk: ReportDesk | None = None
    cluster: Callable[[], Awaitable[ClusterView]] | None = None
    member: str | None = None

    def signing_secret(self) -> str | None:
        return self.secret or self.config().settings.secret
