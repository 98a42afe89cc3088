"""The dispatcher: delivers due outbox rows at least once, and never the same row twice
while its lease runs.

One round (`run_once`):

1. in one short transaction, claim up to `batch` due rows under a lease (`claim`: compare-
   and-set on SQLite, `FOR UPDATE SKIP LOCKED` on PostgreSQL);
2. render and send each one outside any transaction, at most `concurrency` at a time, each
   under `asyncio.timeout`;
3. settle them in short group-commit transactions (`settle_many`: a few statements per
   group, not per row): each attempt (time, duration, outcome, error) is recorded and its
   row marked sent, failed (permanent failure, too many attempts, too old) or due again
   after an exponential backoff with full jitter; a row whose lease was lost is left to
   its new owner.

A dispatcher that crashes mid-send leaves its rows leased; when the lease expires another
round claims them again and sends them with the same dedupe key, so the receiver can drop
the repeat (`Message-ID`, `Idempotency-Key`, PagerDuty `dedup_key`).

When one channel keeps failing (`warn_after` failed attempts in a row), the dispatcher tells
a `TeamWarner` once; it hears again only after that channel delivered something.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from monitor.clock import Clock
from monitor.notify.channels.base import Channel, DeliveryError
from monitor.notify.message import MessageKind, Payload, PayloadError
from monitor.notify.render import Renderer
from monitor.store import (
    Attempt,
    AttemptOutcome,
    Notification,
    OutboxItem,
    OutboxKey,
    Store,
    StoreError,
)
from monitor.store.queries.outbox import Settlement

log = logging.getLogger("vakt.notify")


class TeamWarner(Protocol):
    """Tells the team that a channel keeps failing (the app inserts a team warning)."""

    async def channel_failing(self, channel: str, failures: int, error: str, at: datetime) -> None:
        """Called once when `channel` failed `failures` times in a row; `error` is the last."""
        ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: the n-th retry waits a random time between
    `floor` and min(`cap`, `base` * 2^(n-1)). Give up after `max_attempts` attempts or
    when the notification is older than `max_age`."""

    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(minutes=10)
    floor: timedelta = timedelta(seconds=1)  # never retry in a hot loop
    max_attempts: int = 20
    max_age: timedelta = timedelta(hours=24)

    def delay(self, attempt: int, draw: Callable[[], float]) -> timedelta:
        """The wait after failed attempt number `attempt` (1-based); `draw()` is in [0, 1)."""
        ceiling: timedelta = min(self.cap, self.base * (2 ** min(attempt - 1, 30)))
        jittered: timedelta = ceiling * draw()
        return max(self.floor, jittered)

    def gives_up(self, attempts: int, created_at: datetime, now: datetime) -> bool:
        return attempts >= self.max_attempts or now - created_at >= self.max_age


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one send went (`error` empty when delivered)."""

    item: OutboxItem
    at: datetime
    duration: timedelta
    error: DeliveryError | None


class Dispatcher:
    """Delivers the outbox. Several dispatchers (processes) may share one store.

    - `store`: an open `Store`; `channels`: channel name -> channel (`build_channels`);
    - `renderer`: payload -> message; `clock`: time for claims, attempts and backoff;
    - `owner`: this dispatcher's lease name (unique per process, e.g. `host:pid`);
    - `lease`: how long a claim lasts; longer than `timeout` so a live send keeps it;
    - `timeout`: the bound on one send; `concurrency`: sends in flight at most;
    - `batch`: rows claimed per round; `warner`: told when a channel keeps failing;
    - `draw`: the jitter source (a seeded `random.Random().random` in tests).
    """

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        clock: Clock,
        owner: str,
        *,
        renderer: Renderer | None = None,
        backoff: Backoff | None = None,
        lease: timedelta = timedelta(minutes=2),
        timeout: timedelta = timedelta(seconds=30),
        concurrency: int = 50,
        batch: int = 200,
        poll: timedelta = timedelta(seconds=1),
        warner: TeamWarner | None = None,
        warn_after: int = 5,
        draw: Callable[[], float] = random.random,
    ) -> None:
        if lease <= timeout:
            raise ValueError("the lease must outlast the send timeout")
        self._store = store
        self._channels = channels
        self._clock = clock
        self._owner = owner
        self._renderer = renderer or Renderer()
        self._backoff = backoff or Backoff()
        self._lease = lease
        self._timeout = timeout
        self._limit = asyncio.Semaphore(concurrency)
        self._batch = batch
        self._poll = poll
        self._warner = warner
        self._warn_after = warn_after
        self._draw = draw
        self._wake = asyncio.Event()
        self._failures: dict[str, int] = {}  # consecutive failed attempts per channel
        self._warned: set[str] = set()

    @property
    def owner(self) -> str:
        return self._owner

    def wake(self) -> None:
        """Start the next round now (the engine calls this after inserting notifications)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim due rows, send them, settle them. Returns how many rows were handled.

        Outcomes are settled by one settler task in group commits: each transaction
        settles every outcome that finished while the previous one ran, so a slow send
        never delays the others and the store sees a few transactions, not one per row.
        """
        now = self._clock.now()
        async with self._store.transaction() as tx:
            items = await tx.outbox.claim(self._owner, now, self._lease, limit=self._batch)
        if not items:
            return 0
        outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._settler(outcomes))
            async with asyncio.TaskGroup() as sends:
                for item in items:
                    sends.create_task(self._deliver(item, outcomes))
            outcomes.put_nowait(None)
        return len(items)

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop` is set; waits `poll` (or a `wake()`) when nothing was due.

        A store error is logged and the round retried after `poll`: notifications stay in
        the outbox, nothing is lost.
        """
        try:
            await self.release_orphans()
        except StoreError as exc:
            log.warning("notify.store_error", extra={"error": str(exc)})
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except StoreError as exc:
                log.warning("notify.store_error", extra={"error": str(exc)})
                handled = 0
            if handled:
                continue
            await self._idle(stop)

    async def release_orphans(self) -> list[str]:
        """Free the leases of dead dispatchers on this host; returns their owners.

        Owners are `host:pid`. A dispatcher killed mid-send (SIGKILL, OOM, power) leaves
        its rows leased for up to `lease`; when its host is this host and its process no
        longer exists, nobody can still be sending them, so they are claimable now. Rows
        it may have delivered already go out again with the same dedupe key. Owners on
        other hosts, or whose process is alive, are left to their lease.
        """
        host = self._owner.rpartition(":")[0]
        async with self._store.transaction() as tx:
            owners = await tx.outbox.lease_owners(self._clock.now())
            dead = [o for o in owners if o != self._owner and _gone(o, host)]
            for owner in dead:
                await tx.outbox.release_leases(owner)
        if dead:
            log.info("notify.orphans_released", extra={"owners": dead})
        return dead

    async def _idle(self, stop: asyncio.Event) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(
                waiters, timeout=self._poll.total_seconds(), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _deliver(self, item: OutboxItem, outcomes: asyncio.Queue[Outcome | None]) -> None:
        async with self._limit:
            outcomes.put_nowait(await self._send(item))

    async def _settler(self, outcomes: asyncio.Queue[Outcome | None]) -> None:
        done = False
        while not done:
            batch = [await outcomes.get()]
            while not outcomes.empty():
                batch.append(outcomes.get_nowait())
            done = None in batch
            await self._settle([outcome for outcome in batch if outcome is not None])

    async def _send(self, item: OutboxItem) -> Outcome:
        at = self._clock.now()
        started = self._clock.monotonic()
        error = await self._attempt(item)
        duration = timedelta(seconds=max(0.0, self._clock.monotonic() - started))
        return Outcome(item, at, duration, error)

    async def _attempt(self, item: OutboxItem) -> DeliveryError | None:
        channel = self._channels.get(item.key.channel)
        if channel is None:
            return DeliveryError(f"no channel named {item.key.channel!r}", permanent=True)
        try:
            payload = Payload.from_json(item.payload)
            message = self._renderer.outgoing(str(item.key), payload)
        except PayloadError as exc:
            return DeliveryError(str(exc), permanent=True)
        try:
            async with asyncio.timeout(self._timeout.total_seconds()):
                await channel.send(message)
        except DeliveryError as exc:
            return exc
        except TimeoutError:
            seconds = self._timeout.total_seconds()
            return DeliveryError(f"timed out after {seconds:g} s", permanent=False)
        except Exception as exc:
            # A bug in a channel: report it (Sentry reads the log) and keep the row for a
            # retry, visible in `vakt notifications list`, instead of losing the round.
            log.exception("notify.channel_bug", extra={"channel": item.key.channel})
            return DeliveryError(f"internal error: {type(exc).__name__}: {exc}", permanent=False)
        return None

    def _attempt_of(self, outcome: Outcome, now: datetime) -> tuple[Attempt, datetime | None]:
        item, error = outcome.item, outcome.error
        retry_at: datetime | None = None
        if error is None:
            result = AttemptOutcome.SENT
        elif error.permanent or self._backoff.gives_up(item.attempts + 1, item.created_at, now):
            result = AttemptOutcome.FAILED
        else:
            result = AttemptOutcome.RETRY
            retry_at = now + self._backoff.delay(item.attempts + 1, self._draw)
        attempt = Attempt(
            outbox_id=item.id,
            at=outcome.at,
            duration=outcome.duration,
            outcome=result,
            worker=self._owner,
            error="" if error is None else error.message,
        )
        return attempt, retry_at

    async def _settle(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        now = self._clock.now()
        settlements = [Settlement(*self._attempt_of(outcome, now)) for outcome in outcomes]
        async with self._store.transaction() as tx:
            lost = await tx.outbox.settle_many(self._owner, settlements)
        for item_id in lost:
            log.warning("notify.lease_lost", extra={"outbox_id": item_id})
        for outcome in outcomes:
            await self._track(outcome.item.key.channel, outcome.error, now)

    async def _track(self, channel: str, error: DeliveryError | None, now: datetime) -> None:
        if error is None:
            self._failures.pop(channel, None)
            self._warned.discard(channel)
            return
        failures = self._failures.get(channel, 0) + 1
        self._failures[channel] = failures
        if failures >= self._warn_after and channel not in self._warned:
            self._warned.add(channel)
            if self._warner is not None:
                await self._warner.channel_failing(channel, failures, error.message, now)


class OutboxTeamWarner:
    """A `TeamWarner` that queues a team warning in the outbox (at most one per channel
    per hour: the hour is part of the dedupe key), to `to` through `channel`."""

    __slots__ = ("_channel", "_store", "_to")

    def __init__(self, store: Store, to: str, *, channel: str = "email") -> None:
        self._store = store
        self._to = to
        self._channel = channel

    async def channel_failing(self, channel: str, failures: int, error: str, at: datetime) -> None:
        payload = Payload(
            kind=MessageKind.TEAM_WARNING,
            warning="delivery_failing",
            title=f"Notifications through {channel!r} keep failing",
            note=f"{failures} attempts in a row failed; the last error: {error}. "
            "They are retried; check the channel's settings and `vakt notifications list`.",
            to=self._to,
        )
        key = OutboxKey(
            f"channel:{channel}",
            "delivery_failing",
            at.strftime("%Y-%m-%dT%H"),
            "team",
            self._channel,
        )
        notification = Notification(key, created_at=at, due_at=at, payload=payload.to_json())
        async with self._store.transaction() as tx:
            await tx.outbox.add([notification])


def _gone(owner: str, host: str) -> bool:
    """Whether lease owner `host:pid` is a process of `host` that no longer exists."""
    owner_host, _, pid = owner.rpartition(":")
    if not host or owner_host != host or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but another user's
        return False
    return False
