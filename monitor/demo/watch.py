"""What the demo reads back from Vakt's store while the scenario runs.

The daemon writes the store from its own connection; the demo opens a second one (as the
`vakt incidents` CLI does) and polls it, briefly and with a deadline, because a store
has no change notifications.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from monitor.store import Incident, Store

POLL = 0.25  # seconds between reads while waiting


@dataclass(frozen=True, slots=True)
class Urls:
    """Where a person looks; every one on 127.0.0.1."""

    ui: str
    public: str

    @property
    def mail(self) -> str:
        return f"{self.ui}/demo/mail"

    @property
    def metrics(self) -> str:
        return f"{self.ui}/metrics"

    def incident(self, case: str) -> str:
        return f"{self.ui}/incidents/{case}"

    def thread(self, case: str) -> str:
        return f"{self.ui}/demo/mail/case/{case}"

    def status(self, customer: str) -> str:
        return f"{self.public}/status/{customer}"


class Watch:
    """Reads incidents of the demo's sites from `store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def incidents(self, site_id: str) -> list[Incident]:
        """The site's incidents, oldest first."""
        async with self.store.transaction(read_only=True) as tx:
            found = await tx.incidents.find(site_id=site_id, limit=100)
        return found[::-1]

    async def all_incidents(self) -> list[Incident]:
        async with self.store.transaction(read_only=True) as tx:
            found = await tx.incidents.find(limit=1000)
        return found[::-1]

    async def wait(
        self, site_id: str, predicate: Callable[[Incident], bool], within: float
    ) -> Incident | None:
        """The site's latest incident once `predicate` holds for it, or None after
        `within` seconds."""
        try:
            async with asyncio.timeout(within):
                while True:
                    found = await self.incidents(site_id)
                    if found and predicate(found[-1]):
                        return found[-1]
                    await asyncio.sleep(POLL)
        except TimeoutError:
            return None
