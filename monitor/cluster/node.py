"""`ClusterNode`: one `vakt run`'s membership and its part in the leader election.

    node = ClusterNode(store, settings.cluster, identity, clock, on_change=lead_or_follow)
    await node.round()                   # the first heartbeat and election, before serving
    task = asyncio.create_task(node.run(stop))   # a round every `heartbeat`, until `stop`
    store.transaction(fence=node)        # a leader transaction: fenced by the node's term

Every round, in two short transactions on the database's clock: refresh this member's
heartbeat (and forget members silent for a long time); then read the lease and apply
`decide`; when it says to write (a renewal or a takeover), lock the lease row, decide
again on what it holds now and write that. A standby under a live lease takes no lock,
so it never queues behind the leader's fenced transactions. The node leads while the
row names it under the term it took; `term` is None otherwise, so a leader transaction
of a node that does not lead fails before it writes (`Fenced`).

A node that took the lease (a first election, a takeover, or its own lease taken back
after it ran out) calls `on_change(True)`: the daemon rebuilds evaluation state from the
store, exactly as a restart does, and starts probing. A node that finds the lease held
by another (`leader.fenced`), or that could not renew before its lease ran out by its
own clock (`leader.lost`: the store is unreachable or the process was paused; another
may lead by now, and once the store names another holder it logs `leader.fenced` too),
steps down through `on_change(False)`: it stops probing and evaluating, and keeps
serving the web UI and delivering notifications. A clean stop releases the lease so a
standby takes over at its next round. After every round that read the members,
`on_members(now, members)` is called (the daemon recomputes which checks it probes,
`monitor.cluster.shard`, and reports the locations).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from monitor.clock import Clock
from monitor.cluster.lease import alive, decide
from monitor.config.records import ClusterSettings
from monitor.store import LeaseRow, Member, Store, StoreError

log = logging.getLogger("monitor.cluster")

FORGET_AFTER = timedelta(days=1)  # a member silent this long leaves the listing


@dataclass(frozen=True, slots=True)
class Identity:
    """Who this process is: `id` is `host:pid` (also its dispatcher's lease owner)."""

    id: str
    host: str
    pid: int
    version: str
    location: str = "default"  # where it probes from (`vakt run --location`)


class ClusterObserver(Protocol):
    def cluster_seen(self, *, leading: bool, term: int, alive: int, dead: int, at: float) -> None:
        """A round ended (the metrics hub)."""

    def cluster_stepped(self, leading: bool) -> None:
        """This node became leader (True) or stepped down (False)."""


class ClusterNode:
    """Membership and leadership of this process (the `Fence` of leader transactions)."""

    def __init__(
        self,
        store: Store,
        settings: ClusterSettings,
        identity: Identity,
        clock: Clock,
        *,
        on_change: Callable[[bool], Awaitable[None]],
        observer: ClusterObserver | None = None,
        on_members: Callable[[datetime, list[Member]], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._identity = identity
        self._clock = clock
        self._on_change = on_change
        self._observer = observer
        self._on_members = on_members
        self._started = clock.now()
        self._term: int | None = None  # the term this node leads under, None: standby
        self._seen_term = 0
        self._valid_until = 0.0  # monotonic: my lease surely runs until then
        self._lost: int | None = None  # the term given up unrenewed (`leader.lost`)

    @property
    def holder(self) -> str:
        return self._identity.id

    @property
    def term(self) -> int | None:
        """The term this node leads under; None while it is a standby."""
        return self._term

    @property
    def leading(self) -> bool:
        return self._term is not None

    async def run(self, stop: asyncio.Event) -> None:
        """A round every `heartbeat` until `stop`; then release the lease and leave."""
        every = self._settings.heartbeat.total_seconds()
        while not stop.is_set():
            await self.round()
            try:
                async with asyncio.timeout(every):
                    await stop.wait()
            except TimeoutError:
                pass
        await self.leave()

    async def round(self) -> None:
        """One heartbeat and election round (see the module docstring). A store error
        is logged and counted as a missed renewal; it never ends the caller."""
        began = self._clock.monotonic()
        try:
            now, members = await self._beat()
            current, written = await self._elect()
        except StoreError as exc:
            log.warning("cluster.round_failed", extra={"error": str(exc)})
            if self.leading and self._clock.monotonic() >= self._valid_until:
                log.error("leader.lost", extra={"term": self._term, "member": self.holder})
                self._lost = self._term
                await self._step_down()
            return
        if written is not None:
            self._valid_until = began + self._settings.lease.total_seconds()
            await self._lead(current, written)
        elif self.leading:
            self._fenced(self._term, current)
            await self._step_down()
        if self._lost is not None and current is not None and current.holder != self.holder:
            self._fenced(self._lost, current)  # it lost the lease unseen, and learns who took it
        self._lost = None
        self._seen_term = written.term if written else current.term if current else 0
        self._report(now, members)
        if self._on_members is not None:
            await self._on_members(now, members)

    def _fenced(self, term: int | None, current: LeaseRow | None) -> None:
        holder = current.holder if current is not None else None
        log.error("leader.fenced", extra={"term": term, "holder": holder, "member": self.holder})

    async def _beat(self) -> tuple[datetime, list[Member]]:
        async with self._store.transaction() as tx:
            now = await tx.cluster.now()
            me = self._identity
            await tx.cluster.beat(
                Member(me.id, me.host, me.pid, me.version, self._started, now, me.location)
            )
            await tx.cluster.forget(now - FORGET_AFTER)
            return now, await tx.cluster.members()

    async def _elect(self) -> tuple[LeaseRow | None, LeaseRow | None]:
        """(the lease as read, the lease this node wrote or None)."""
        async with self._store.transaction() as tx:
            now = await tx.cluster.now()
            current = await tx.cluster.lease()
            if decide(current, self.holder, now, self._settings.lease) is None:
                return current, None  # a standby under a live lease: no lock taken
            current = await tx.cluster.lease(lock=True)  # it may have moved meanwhile
            wanted = decide(current, self.holder, now, self._settings.lease)
            if wanted is not None:
                await tx.cluster.write_lease(wanted)
            return current, wanted

    async def _lead(self, current: LeaseRow | None, written: LeaseRow) -> None:
        continuing = (
            current is not None and current.holder == self.holder and current.term == self._term
        )
        if continuing:
            return
        if self.leading:  # my term ran out and I took a new one: others may have led
            await self._step_down()
        log.info(
            "leader.elected",
            extra={
                "term": written.term,
                "member": self.holder,
                "previous": current.holder if current else None,
            },
        )
        self._term = written.term
        if self._observer is not None:
            self._observer.cluster_stepped(True)
        try:
            await self._on_change(True)
        except StoreError as exc:  # state not loaded: lead at a later round
            log.error("leader.resume_failed", extra={"term": written.term, "error": str(exc)})
            await self._step_down()

    async def _step_down(self) -> None:
        self._term = None
        if self._observer is not None:
            self._observer.cluster_stepped(False)
        await self._on_change(False)
        log.info("leader.stepped_down", extra={"member": self.holder})

    def _report(self, now: datetime, members: list[Member]) -> None:
        if self._observer is None:
            return
        live = sum(1 for m in members if alive(m, now, self._settings.lease))
        self._observer.cluster_seen(
            leading=self.leading,
            term=self._seen_term,
            alive=live,
            dead=len(members) - live,
            at=now.timestamp(),
        )

    async def leave(self) -> None:
        """A clean stop: release the lease (a standby takes over at its next round) and
        delete this member's row. A store error is logged: the lease then runs out."""
        term, self._term = self._term, None
        try:
            async with self._store.transaction() as tx:
                now = await tx.cluster.now()
                if term is not None:
                    await tx.cluster.release(self.holder, term, now)
                await tx.cluster.leave(self.holder)
        except StoreError as exc:
            log.warning("cluster.leave_failed", extra={"error": str(exc)})
            return
        log.info("cluster.left", extra={"member": self.holder, "released": term})


__all__ = ["FORGET_AFTER", "ClusterNode", "ClusterObserver", "Identity"]
