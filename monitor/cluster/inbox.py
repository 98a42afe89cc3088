"""`InboxWriter`: in PostgreSQL cluster mode, the probe scheduler's `ResultSink` on every
instance (leader or standby). Results are written in batches to the store's probe inbox
(`tx.inbox.add`), every `every` seconds or `batch` results; the leader's engine consumes
them in its flush (`Engine(inbox=True)`), deleting what it evaluated in the same
transaction.

Bounded twice: the inbox keeps at most `cap` rows (a period without a leader drops the
oldest), and while the store is unreachable this process keeps at most `cap` results in
memory (the oldest dropped). Every dropped result is counted (`observer.inbox_dropped`,
the metric `vakt_probe_inbox_dropped_total`) and logged once per episode.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from monitor.model import ProbeResult
from monitor.store import Store, StoreError

log = logging.getLogger("monitor.cluster")

DEFAULT_CAP = 100_000
"""Rows the inbox holds at most (about a minute of 100,000 checks at 60 s intervals
times the locations, and many minutes of a smaller cluster)."""


class InboxObserver(Protocol):
    def observe_probe(self, result: ProbeResult, lateness: float) -> None:
        """One probe result of this instance (the metrics hub)."""

    def inbox_dropped(self, rows: int) -> None:
        """`rows` results were dropped (inbox or memory full)."""


class InboxWriter:
    """The `ResultSink` of cluster mode: `submit` never blocks; `run` writes batches."""

    def __init__(
        self,
        store: Store,
        member: str,
        *,
        every: float = 0.5,
        batch: int = 1000,
        cap: int = DEFAULT_CAP,
        observer: InboxObserver | None = None,
    ) -> None:
        self._store = store
        self._member = member
        self._every = every
        self._batch = batch
        self._cap = cap
        self._observer = observer
        self._buffer: list[ProbeResult] = []
        self._wake = asyncio.Event()
        self._dropping = False
        self.written = 0
        self.dropped = 0

    def submit(self, result: ProbeResult, lateness: float = 0.0) -> None:
        if self._observer is not None:
            self._observer.observe_probe(result, lateness)
        self._buffer.append(result)
        if len(self._buffer) >= self._batch:
            self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Write a batch every `every` s (sooner when `batch` results wait) until `stop`;
        then write what is left once."""
        while not stop.is_set():
            try:
                async with asyncio.timeout(self._every):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()
        await self.flush()

    def wake(self) -> None:
        self._wake.set()

    async def flush(self) -> int:
        """Write what waits, `batch` rows per transaction; returns how many were written.
        A store error keeps the results (at most `cap`, the oldest dropped)."""
        written = 0
        while self._buffer:
            rows, self._buffer = self._buffer[: self._batch], self._buffer[self._batch :]
            try:
                async with self._store.transaction() as tx:
                    dropped = await tx.inbox.add(self._member, rows, self._cap)
            except StoreError as exc:
                self._buffer[:0] = rows
                log.warning("inbox.write_failed", extra={"error": str(exc)})
                self._drop(len(self._buffer) - self._cap)
                return written
            written += len(rows)
            self.written += len(rows)
            self._drop(dropped)
        if self._dropping:
            self._dropping = False
            log.info("inbox.dropping_ended", extra={"dropped": self.dropped})
        return written

    def _drop(self, rows: int) -> None:
        """Count `rows` dropped results; drop the oldest of memory beyond `cap`."""
        if rows <= 0:
            return
        if len(self._buffer) > self._cap:
            del self._buffer[: len(self._buffer) - self._cap]
        self.dropped += rows
        if not self._dropping:
            self._dropping = True
            log.warning("inbox.dropping", extra={"cap": self._cap, "rows": rows})
        if self._observer is not None:
            self._observer.inbox_dropped(rows)


__all__ = ["DEFAULT_CAP", "InboxObserver", "InboxWriter"]
