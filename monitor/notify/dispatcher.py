"""The dispatcher: delivers due outbox rows at least once, and never the same row twice
while its lease runs.

One round (`run_once`):

1. in one short transaction, claim up to `batch` due rows under a lease (`claim`: compare-
   and-set on SQLite, `FOR UPDATE SKIP LOCKED` on PostgreSQL), and re-check each claimed
   page and digest against its case(s) (`monitor.notify.recheck`): a row no longer wanted
   is cancelled with the reason, a held one deferred, a digest narrowed;
2. render and send each one outside any transaction, at most `concurrency` at a time, each
   under `asyncio.timeout`;
3. settle them in short group-commit transactions (`settle_many`: a few statements per
   group, not per row): each attempt (time, duration, outcome, error) is recorded and its
   row marked sent, failed (permanent failure, too many attempts, too old) or due again
   after an exponential backoff with full jitter; a row whose lease was lost is left to
   its new owner. A page or customer email marked sent adds its `paged` /
   `customer_emailed` timeline event in the same transaction (`monitor.notify.told`).

A dispatcher that crashes mid-send leaves its rows leased; when the lease expires another
round claims them again and sends them with the same dedupe key, so the receiver can drop
the repeat (`Message-ID`, `Idempotency-Key`, PagerDuty `dedup_key`).

When one channel keeps failing (`warn_after` failed attempts in a row), the dispatcher tells
a `TeamWarner` once; it hears again only after that channel delivered something.

Containment (nothing a round meets ends `run`):

- a send's failure is that notification's (retried, or failed for good);
- a template that cannot render one notification (an override with an error in a branch,
  a Babel error) fails that notification for good with the template's file and line, and
  the team is told once (`TeamWarner.template_failing`); the others are delivered;
- a store error while claiming is retried after a back-off; a store error while settling
  keeps the finished outcomes in memory and settles them, with back-off, before anything
  else is claimed: a sent row is never sent again while its lease runs (after the lease
  expired another round may send it again, with the same dedupe key: the crash window);
- any other exception (a bug) is logged with its traceback (`log.exception`, which Sentry
  reads), and the next round starts after the same back-off.

`store_errors` and `bugs` count what was contained. A `DispatchObserver` (the metrics hub,
the health monitor) hears of every settled attempt after its transaction committed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Protocol

from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError
from sqlalchemy.exc import SQLAlchemyError

from monitor.clock import Clock
from monitor.config.records import Config, Mailbox
from monitor.notify.channels.base import Channel, DeliveryError
from monitor.notify.message import MessageKind, Payload, PayloadError
from monitor.notify.recheck import RECHECKED, Action, ConfigSource, Decision, Recheck
from monitor.notify.render import Renderer
from monitor.notify.told import told_events
from monitor.store import (
    Attempt,
    AttemptOutcome,
    Notification,
    OutboxItem,
    OutboxKey,
    Store,
    StoreError,
    Transaction,
)
from monitor.store.queries.outbox import Settlement

log = logging.getLogger("vakt.notify")


class TeamWarner(Protocol):
    """Tells the team that delivery is in trouble (the app inserts a team warning)."""

    async def channel_failing(
        self, channel: str, failures: int, error: str, at: datetime, *, permanent: bool
    ) -> None:
        """Called once when `channel` failed `failures` times in a row; `error` is the last,
        `permanent` whether the receiver refused it for good (not retried)."""
        ...

    async def template_failing(self, template: str, error: str, at: datetime) -> None:
        """Called once per distinct error when `template` could not render a notification
        (which failed for good); `error` names the file and line when known."""
        ...


@dataclass(frozen=True, slots=True)
class SettledAttempt:
    """One delivery attempt, told to observers AFTER its settle transaction committed."""

    outbox_id: int
    channel: str
    kind: str  # the outbox key's kind (page, digest, customer_update, ...)
    outcome: AttemptOutcome  # SENT | RETRY | FAILED
    due_at: datetime  # when the row first fell due (`first_due`: a retry does not reset it)
    at: datetime  # when the attempt started
    duration: timedelta
    error: str  # "" when sent


class DispatchObserver(Protocol):
    """Hears what the dispatcher decided (metrics, health). Called on the event loop;
    must be quick and must not raise (an exception is logged and ignored)."""

    def settled(self, attempts: Sequence[SettledAttempt], now: datetime) -> None: ...

    def cancelled(self, count: int, now: datetime) -> None:
        """`count` rows were cancelled by the send-time re-check."""
        ...


def first_due(item: OutboxItem) -> datetime:
    """When `item` first fell due: a retry moves `due_at` to the next attempt, so a retried
    row's delay counts from when it was planned (the planner inserts rows when they are
    due); a row not tried yet keeps its own `due_at` (which a re-check may have moved to
    the end of a silence: that wait is intended, not a delay)."""
    return item.due_at if item.attempts == 0 else min(item.due_at, item.created_at)


class ObserverSet:
    """Several observers as one (the daemon's: metrics, and health's progress), told in
    order."""

    __slots__ = ("_observers",)

    def __init__(self, *observers: DispatchObserver) -> None:
        self._observers = observers

    def settled(self, attempts: Sequence[SettledAttempt], now: datetime) -> None:
        for observer in self._observers:
            observer.settled(attempts, now)

    def cancelled(self, count: int, now: datetime) -> None:
        for observer in self._observers:
            observer.cancelled(count, now)


class TemplateFailed(DeliveryError):
    """A notification's message could not be rendered: permanent for that notification.

    `template` is the template file (its path when known) and `line` the line in it."""

    def __init__(self, template: str, line: int | None, error: str) -> None:
        where = template or "a template"
        if line is not None:
            where = f"{where}, line {line}"
        super().__init__(f"cannot render the message ({where}): {error}", permanent=True)
        self.template = template
        self.line = line
        self.error = error


def template_failure(exc: Exception) -> TemplateFailed:
    """Where rendering failed and why: Jinja's syntax errors carry their file and line;
    errors raised while rendering (undefined names, Babel errors in a filter) are found
    in the traceback frames Jinja rewrites to point at the template source."""
    error = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TemplateSyntaxError):
        return TemplateFailed(exc.filename or exc.name or "", exc.lineno, error)
    if isinstance(exc, TemplateNotFound):
        return TemplateFailed(str(exc.name or ""), None, error)
    template, line = "", None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            template, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    return TemplateFailed(template, line, error)


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


class _Unsettled(StoreError):
    """Outcomes of sends wait to be settled: the store did not answer."""


class Dispatcher:
    """Delivers the outbox. Several dispatchers (processes) may share one store.

    - `store`: an open `Store`; `channels`: channel name -> channel (`build_channels`);
    - `renderer`: payload -> message; `clock`: time for claims, attempts and backoff;
    - `owner`: this dispatcher's lease name (unique per process, e.g. `host:pid`);
    - `lease`: how long a claim lasts; longer than `timeout` so a live send keeps it;
    - `timeout`: the bound on one send; `concurrency`: sends in flight at most;
    - `batch`: rows claimed per round; `warner`: told when a channel keeps failing;
    - `draw`: the jitter source (a seeded `random.Random().random` in tests);
    - `observer`: told of settled attempts and cancelled rows, after each commit;
    - `pause_cap`: the longest back-off after a store error or a bug (it starts at `poll`
      and doubles);
    - `config`: the current config, for the re-check (config maintenance windows, each
      site's checks); `hold_fallback`: how soon a case flagged silenced or paused, whose
      silence or window is not found, is looked at again;
    - `members`: the ids of the live cluster members (high availability on PostgreSQL):
      at start, leases of owners not among them are released, on any host.
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
        observer: DispatchObserver | None = None,
        pause_cap: timedelta = timedelta(seconds=30),
        config: ConfigSource | None = None,
        hold_fallback: timedelta = timedelta(minutes=1),
        members: Callable[[], Awaitable[Collection[str]]] | None = None,
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
        self._observer = observer
        self._pause_cap = pause_cap
        self._config = config
        self._hold_fallback = hold_fallback
        self._members = members
        self._failures: dict[str, int] = {}  # consecutive failed attempts per channel
        self._warned: set[str] = set()
        self._templates_warned: set[str] = set()
        self._unsettled: list[Outcome] = []  # sent, not yet settled: the store failed
        self.store_errors = 0  # store errors met (claims, settles, warnings)
        self.bugs = 0  # rounds ended by an unexpected exception

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
        Outcomes the store could not settle are kept and settled first next round; while
        any are kept nothing new is claimed, and the round raises `StoreError`.
        """
        if self._unsettled and not await self._settle([]):
            raise _Unsettled(f"{len(self._unsettled)} finished sends wait to be settled")
        now = self._clock.now()
        async with self._store.transaction() as tx:
            claimed = await tx.outbox.claim(self._owner, now, self._lease, limit=self._batch)
            items, cancelled = await self._recheck(tx, claimed, now)
        if cancelled and self._observer is not None:
            try:
                self._observer.cancelled(cancelled, now)
            except Exception:
                log.exception("notify.observer_failed")
        if not items:
            return len(claimed)
        outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._settler(outcomes))
            async with asyncio.TaskGroup() as sends:
                for item in items:
                    sends.create_task(self._deliver(item, outcomes))
            outcomes.put_nowait(None)
        if self._unsettled:
            raise _Unsettled(f"{len(self._unsettled)} finished sends wait to be settled")
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop` is set; waits `poll` (or a `wake()`) when nothing was due.

        Nothing a round meets ends this loop: a store error is logged and the round
        retried after a back-off (notifications stay in the outbox, finished sends are
        kept until they are settled); any other exception is logged with its traceback
        (`log.exception`: Sentry) and counted in `bugs`, with the same back-off.
        """
        try:
            await self.release_orphans()
        except StoreError as exc:
            self.store_errors += 1
            log.warning("notify.store_error", extra={"error": str(exc)})
        failures = 0
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception as exc:  # contained here, by design
                failures += 1
                self._contain(exc)
                await self._pause(stop, failures)
                continue
            failures = 0
            if not handled:
                await self._idle(stop)
        await self._settle_at_stop()

    def _contain(self, exc: Exception) -> None:
        if isinstance(exc, _Unsettled):
            log.warning("notify.settle_pending", extra={"error": str(exc)})
        elif _only_store_errors(exc):
            self.store_errors += 1
            log.warning("notify.store_error", extra={"error": str(exc)})
        else:
            self.bugs += 1
            log.exception("notify.round_failed")

    async def _pause(self, stop: asyncio.Event, failures: int) -> None:
        """Back off after a failed round: `poll`, doubling up to `pause_cap`, jittered."""
        ceiling = min(self._pause_cap, self._poll * (2 ** min(failures - 1, 20)))
        delay = max(self._poll, ceiling * (0.5 + self._draw() / 2))
        try:
            async with asyncio.timeout(delay.total_seconds()):
                await stop.wait()
        except TimeoutError:
            return

    async def _settle_at_stop(self) -> None:
        if self._unsettled and not await self._settle([]):
            ids = [outcome.item.id for outcome in self._unsettled]
            # Their leases expire and another round sends them again, with the same key.
            log.error("notify.unsettled_at_stop", extra={"outbox_ids": ids})

    async def _recheck(
        self, tx: Transaction, claimed: list[OutboxItem], now: datetime
    ) -> tuple[list[OutboxItem], int]:
        """Re-check the claimed rows in the claim's transaction; returns the rows to send
        (a narrowed digest with its new payload) and how many were cancelled."""
        if not any(item.key.kind in RECHECKED for item in claimed):
            return claimed, 0
        check = Recheck(tx, now, self._current_config(), self._hold_fallback)
        send: list[OutboxItem] = []
        cancelled = 0
        for item in claimed:
            try:
                decision = await check.decide(item)
            except (StoreError, SQLAlchemyError, OSError):
                raise  # the database's (raw inside the transaction): the round is retried
            except Exception:  # a bug: send as planned rather than stall the queue
                log.exception("notify.recheck_failed", extra={"outbox_id": item.id})
                decision = Decision(Action.SEND)
            kept = await self._apply(tx, item, decision)
            cancelled += decision.action is Action.CANCEL
            send.extend([kept] if kept else [])
        return send, cancelled

    def _current_config(self) -> Config | None:
        if self._config is None:
            return None
        try:
            return self._config()
        except Exception:  # a bug: re-check with the store's silences and windows only
            log.exception("notify.recheck_failed")
            return None

    async def _apply(
        self, tx: Transaction, item: OutboxItem, decision: Decision
    ) -> OutboxItem | None:
        extra = {"outbox_id": item.id, "key": str(item.key), "reason": decision.reason}
        if decision.action is Action.CANCEL:
            await tx.outbox.cancel(item.id, self._owner, decision.reason)
            log.info("notify.cancelled", extra=extra)
            return None
        if decision.action is Action.DEFER and decision.until is not None:
            await tx.outbox.defer(item.id, self._owner, decision.until)
            log.info("notify.deferred", extra={**extra, "until": decision.until.isoformat()})
            return None
        if decision.payload is not None:
            await tx.outbox.rewrite(item.id, self._owner, decision.payload)
            log.info("notify.digest_narrowed", extra=extra)
            return replace(item, payload=decision.payload)
        return item

    async def release_orphans(self) -> list[str]:
        """Free the leases of dead dispatchers; returns their owners.

        Owners are `host:pid`. A dispatcher killed mid-send (SIGKILL, OOM, power) leaves
        its rows leased for up to `lease`; when nobody can still be sending them they are
        claimable now. Rows it may have delivered already go out again with the same
        dedupe key. With `members` (a cluster) an owner is dead when it is not a live
        member, whatever its host: a live instance's leases are never taken, even when
        its process is not visible from here (another container). Without, an owner is
        dead when its host is this host and its process no longer exists; owners on
        other hosts, or whose process is alive, are left to their lease.
        """
        host = self._owner.rpartition(":")[0]
        live = None if self._members is None else set(await self._members())
        async with self._store.transaction() as tx:
            owners = await tx.outbox.lease_owners(self._clock.now())
            dead = [
                o
                for o in owners
                if o != self._owner and (_gone(o, host) if live is None else o not in live)
            ]
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
        except PayloadError as exc:
            return DeliveryError(str(exc), permanent=True)
        try:
            message = self._renderer.outgoing(str(item.key), payload)
        except Exception as exc:
            # Rendering is the same on every try: this notification fails for good.
            failed = template_failure(exc)
            extra = {"outbox_id": item.id, "template": failed.template, "line": failed.line}
            if isinstance(exc, TemplateError):
                log.warning("notify.template_failed", extra={**extra, "error": failed.error})
            else:  # not Jinja's: a Babel error or a bug, worth a traceback
                log.exception("notify.render_failed", extra=extra)
            return failed
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

    async def _settle(self, outcomes: list[Outcome]) -> bool:
        """Settle `outcomes` and any kept from before in one transaction. On a store error
        keep them all for the next try and return False."""
        batch = [*self._unsettled, *outcomes]
        if not batch:
            return True
        now = self._clock.now()
        decided = [self._attempt_of(outcome, now) for outcome in batch]
        try:
            async with self._store.transaction() as tx:
                lost = await tx.outbox.settle_many(self._owner, [Settlement(*d) for d in decided])
                sent = [(o.item, o.at) for o in batch if o.error is None and o.item.id not in lost]
                await tx.incidents.add_events(await told_events(tx, sent))
        except StoreError as exc:
            self._unsettled = batch
            self.store_errors += 1
            log.warning("notify.settle_failed", extra={"error": str(exc), "outcomes": len(batch)})
            return False
        self._unsettled = []
        for item_id in lost:
            log.warning("notify.lease_lost", extra={"outbox_id": item_id})
        self._tell(batch, [attempt for attempt, _ in decided], now)
        for outcome in batch:
            await self._track(outcome.item.key.channel, outcome.error, now)
        return True

    def _tell(self, outcomes: list[Outcome], attempts: list[Attempt], now: datetime) -> None:
        if self._observer is None:
            return
        settled = [
            SettledAttempt(
                outbox_id=o.item.id,
                channel=o.item.key.channel,
                kind=o.item.key.kind,
                outcome=a.outcome,
                due_at=first_due(o.item),
                at=o.at,
                duration=o.duration,
                error=a.error,
            )
            for o, a in zip(outcomes, attempts, strict=True)
        ]
        try:
            self._observer.settled(settled, now)
        except Exception:
            log.exception("notify.observer_failed")

    async def _track(self, channel: str, error: DeliveryError | None, now: datetime) -> None:
        if isinstance(error, TemplateFailed):  # the template's fault, not the channel's
            await self._template_failed(error, now)
            return
        if error is None:
            if self._failures.pop(channel, None):
                await self._recovered(channel, now)
            self._warned.discard(channel)
            return
        failures = self._failures.get(channel, 0) + 1
        self._failures[channel] = failures
        if failures >= self._warn_after and channel not in self._warned and self._warner:
            warner = self._warner
            warn = warner.channel_failing(
                channel, failures, error.message, now, permanent=error.permanent
            )
            if await self._warn(warn):
                self._warned.add(channel)

    async def _recovered(self, channel: str, now: datetime) -> None:
        """`channel` delivered again after failures: its rows waiting out a back-off are
        due now, so an outage's backlog goes out when the channel is back, not minutes
        later at each row's own retry time."""
        try:
            async with self._store.transaction() as tx:
                moved = await tx.outbox.expedite(channel, now)
        except StoreError as exc:  # the rows keep their retry times: nothing is lost
            self.store_errors += 1
            log.warning("notify.store_error", extra={"error": str(exc)})
            return
        if moved:
            log.info("notify.channel_recovered", extra={"channel": channel, "rows": moved})
            self.wake()

    async def _template_failed(self, error: TemplateFailed, now: datetime) -> None:
        seen = f"{error.template}:{error.line}:{error.error}"
        if self._warner is None or seen in self._templates_warned:
            return
        if await self._warn(self._warner.template_failing(error.template, error.message, now)):
            self._templates_warned.add(seen)

    async def _warn(self, warning: Awaitable[None]) -> bool:
        """Run one team warning; a failure is logged (and the warning tried again later)."""
        try:
            await warning
        except StoreError as exc:
            self.store_errors += 1
            log.warning("notify.warning_failed", extra={"error": str(exc)})
            return False
        except Exception:
            log.exception("notify.warning_failed")
            return False
        return True


class OutboxTeamWarner:
    """A `TeamWarner` that queues a team warning in the outbox (at most one per channel,
    or per template, per hour: the hour is part of the dedupe key), to `to` through
    `channel`."""

    __slots__ = ("_channel", "_store", "_to")

    def __init__(
        self, store: Store, to: Mailbox | Callable[[], Mailbox | None], *, channel: str = "email"
    ) -> None:
        self._store = store
        self._to = to  # a callable: the address now (a reload may change it; None: nobody)
        self._channel = channel

    async def channel_failing(
        self, channel: str, failures: int, error: str, at: datetime, *, permanent: bool
    ) -> None:
        to = self._recipient()
        if to is None:
            return
        if permanent:
            note = (
                f"{failures} attempts in a row failed; the last was refused for good "
                f"(not retried): {error}. Check the addresses and the channel's settings; "
                "`vakt notifications list --failed` shows what was given up, "
                "`vakt notifications retry` sends it again."
            )
        else:
            note = (
                f"{failures} attempts in a row failed; the last error (temporary, retried "
                f"with back-off): {error}. Check that the receiver is up and the channel's "
                "settings; `vakt notifications list` shows what waits."
            )
        payload = Payload(
            kind=MessageKind.TEAM_WARNING,
            warning="delivery_failing",
            title=f"Notifications through {channel!r} keep failing",
            note=note,
            to=to,
        )
        await self._add(f"channel:{channel}", "delivery_failing", payload, at)

    async def template_failing(self, template: str, error: str, at: datetime) -> None:
        to = self._recipient()
        if to is None:
            return
        name = Path(template).name if template else "a template"
        payload = Payload(
            kind=MessageKind.TEAM_WARNING,
            warning="template_failing",
            title=f"A notification could not be rendered with {name}",
            note=f"{error}. That notification failed for good; the others are delivered. "
            "Fix the template (settings.email.templates), reload, then "
            "`vakt notifications retry` it.",
            to=to,
        )
        await self._add(f"template:{name}", "template_failing", payload, at)

    def _recipient(self) -> Mailbox | None:
        return self._to() if callable(self._to) else self._to

    async def _add(self, subject: str, kind: str, payload: Payload, at: datetime) -> None:
        key = OutboxKey(subject, kind, at.strftime("%Y-%m-%dT%H"), "team", self._channel)
        notification = Notification(key, created_at=at, due_at=at, payload=payload.to_json())
        async with self._store.transaction() as tx:
            await tx.outbox.add([notification])


def _only_store_errors(exc: BaseException) -> bool:
    """Whether `exc` is a `StoreError`, or a group (from a task group) of nothing else."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_store_errors(e) for e in exc.exceptions)
    return isinstance(exc, StoreError)


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
