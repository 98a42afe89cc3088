"""What the API, PagerDuty and operations routes need from the composition root.

Structural Protocols: the web layer's `WebDeps` dataclass (built by `monitor.app`)
satisfies them without importing this module, and tests pass small dataclasses of their
own through the same seam.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from aiohttp import web

from monitor.clock import Clock
from monitor.config.records import Config
from monitor.health import Health
from monitor.incidents.reports import ReportDesk
from monitor.store import Store

ConfigProvider = Callable[[], Config]
"""Returns the config in force now (a SIGHUP reload swaps it)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Readiness(Protocol):
    """What `/readyz` asks the daemon (injected by `monitor.app`): its health verdict,
    judged by `monitor.health.judge` like the dead-man's ping."""

    async def health(self) -> Health: ...


class ReportSource(Protocol):
    """A customer's month as the report's figures (`monitor.reports`, injected by
    `monitor.app`): the frozen version when one was sent, else computed now."""

    async def figures(self, customer_id: str, month: str) -> Mapping[str, Any]: ...

    async def page(self, customer_id: str, month: str) -> str:
        """The report as the customer reads it (HTML), frozen or rendered now."""
        ...

    async def overview(self, months: int) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        """Each customer's last `months` months (the running one last), as figures."""
        ...

    async def decide(self, customer_id: str, month: str, decision: str, by: str) -> bool:
        """`approve` (freeze and send, as the monthly job does) or `hold` (record `by`,
        send nothing) a customer's month; False when nothing changed (decided before).
        Raises StoreError."""
        ...


class ApiDeps(Protocol):
    """The REST API's needs: the store, the current config and the clock; `reports`:
    the monthly reports (None: not available); `desk`: files customers' reports (None: no
    such operation)."""

    @property
    def store(self) -> Store: ...

    @property
    def config(self) -> ConfigProvider: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def reports(self) -> ReportSource | None: ...
    @property
    def desk(self) -> ReportDesk | None: ...
