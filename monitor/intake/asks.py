"""Probe asks: every instance probes, at once, the checks of its shard that a customer's
report asked about.

    asks = ProbeAsks(store, clock)
    queued = await asks.poll(scheduler.run_now)  # every planner period, on every instance

The leader's intake follow-up (`monitor.intake.desk.Desk.follow_up`) writes one ask per
check of the reported site (`probe_asks`) in the transaction that marks the report
probed. Every instance reads the asks of the last `HORIZON` it has not run yet and hands
their checks to its scheduler's run-now, which leaves out the checks it does not probe
(another member's shard, another location), so in a cluster the members that own the
checks probe them, in every location the site lists. An instance that starts runs the
asks of the last `HORIZON` again: a restart may cost a check one extra probe, never the
probe a report asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from monitor.clock import Clock
from monitor.store import Store

log = logging.getLogger(__name__)

HORIZON = timedelta(minutes=2)  # asks older than this are the checks' rhythm's again
KEEP = timedelta(hours=1)  # the leader forgets asks older than this


class ProbeAsks:
    """Reads the probe asks and runs each once on this instance."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._ran: set[int] = set()  # asks within the horizon already handed to run-now

    async def poll(self, run_now: Callable[[Sequence[str]], int]) -> int:
        """Hand the checks of asks not run yet to `run_now`; returns how many it queued."""
        async with self._store.transaction(read_only=True) as tx:
            asks = await tx.intake.asks_since(self._clock.now() - HORIZON)
        new = [check_id for ask_id, check_id in asks if ask_id not in self._ran]
        self._ran = {ask_id for ask_id, _ in asks}  # older ones left the horizon
        if not new:
            return 0
        queued = run_now(new)
        log.info("intake.probe_asks", extra={"asked": len(new), "queued": queued})
        return queued
