"""The reports as the web layer asks for them (`monitor.web.api.deps.ReportSource`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from monitor.clock import Clock
from monitor.config.records import Config
from monitor.notify.reportlinks import Decision
from monitor.reports.export import as_json
from monitor.reports.figures import Month
from monitor.reports.gather import read_month
from monitor.reports.snapshot import build
from monitor.store import Store


class StoreReports:
    """A customer's month: the newest frozen version when one was sent, else computed now."""

    __slots__ = ("_clock", "_config", "_store")

    def __init__(self, store: Store, config: Callable[[], Config], clock: Clock) -> None:
        self._store, self._config, self._clock = store, config, clock

    async def figures(self, customer_id: str, month: str) -> Mapping[str, Any]:
        """The figures' JSON with `version` (None: computed now). KeyError: no customer;
        ValueError: not a month."""
        config = self._config()
        customer = config.customers[customer_id]
        wanted = Month.parse(month)
        async with self._store.transaction(read_only=True) as tx:
            frozen = await tx.reports.latest(customer_id, str(wanted))
            if frozen is not None:
                return {**json.loads(frozen.figures), "version": frozen.version}
            figures = await read_month(tx, config, customer, wanted, self._clock.now())
        return {**as_json(figures, customer.name), "version": None}

    async def page(self, customer_id: str, month: str) -> str:
        """The report's HTML: the frozen one, else rendered now (in a thread: matplotlib)."""
        config = self._config()
        customer = config.customers[customer_id]
        wanted = Month.parse(month)
        async with self._store.transaction(read_only=True) as tx:
            frozen = await tx.reports.latest(customer_id, str(wanted))
            if frozen is not None:
                return frozen.html
            figures = await read_month(tx, config, customer, wanted, self._clock.now())
        report = await asyncio.to_thread(build, figures, customer, config, False)
        return report.html

    async def overview(self, months: int) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        """Each customer's last `months` months, oldest first, the running month last: the
        frozen figures where a month was sent, else computed now."""
        config = self._config()
        now = self._clock.now()
        found: dict[str, list[Mapping[str, Any]]] = {}
        for customer in config.customers.values():
            last = Month.of(now, customer.timezone)
            wanted = [last]
            while len(wanted) < months:
                wanted.insert(0, wanted[0].previous())
            found[customer.id] = [
                {**await self.figures(customer.id, str(m)), **await self._standing(customer.id, m)}
                for m in wanted
            ]
        return found

    async def _standing(self, customer_id: str, month: Month) -> Mapping[str, Any]:
        """`state` (sent, held, awaiting_approval, unsent) and `held_by`."""
        from monitor.reports.monthly import ReportState, standing

        async with self._store.transaction(read_only=True) as tx:
            found = await standing(tx, customer_id, month)
        held_by = found.by if found.state is ReportState.HELD else None
        return {"state": found.state.value, "held_by": held_by}

    async def decide(self, customer_id: str, month: str, decision: str, by: str) -> bool:
        """Approve or hold a customer's month (`monitor.reports.monthly`)."""
        from monitor.reports.monthly import approve, hold

        config = self._config()
        wanted, now = Month.parse(month), self._clock.now()
        if Decision(decision) is Decision.APPROVE:
            return await approve(self._store, config, customer_id, wanted, by, now)
        return await hold(self._store, customer_id, wanted, by, now)
