"""`Engine`: the unit of work from probe results to one commit, through one writer.

    engine = Engine(store, config, clock, planner=planner, deadlines=policy_respond_by)
    await engine.start()                 # reload memory from the store
    scheduler = Scheduler(prober, engine, clock)   # the engine is its ResultSink
    task = asyncio.create_task(engine.run())       # flush ~every second or 1,000 results
    ...
    await engine.close()                 # last flush, open aggregates, recent rings

Each flush: step every result into its (check, location) state in memory; write only
what matters (state changes with their `CheckChange` rows, counters of streaks, latency
samples, failed/degraded evidence, closed 5-minute aggregates); evaluate only the sites
where something changed; decide incidents against the rows read fresh from the store;
insert or compare-and-set them with their timeline, the planner's outbox rows and the
site memory that changed; all in ONE transaction. So whatever evaluation depends on is
durable with the results that changed it, and a SIGKILL at any instant loses nothing a
restart would re-decide differently (DESIGN.md 8, rule 1). A site slow at its last
evaluation whose short window holds too few samples to judge (after a restart longer
than the window) is not evaluated until fresh samples arrive: its case keeps its level
and status. A store error keeps everything pending for the next flush: it never
crashes the engine and never becomes a probe failure.

Compaction is not the durability, and it is incremental (`compact`, after every flush
of the writer loop): each step writes the baselines and pushes the recent-results rings
of the checks whose first new result since their last compaction has waited
`checkpoint_every` s (a check probed less often than that waits for nothing: its
results would not be written together, only kept in memory), oldest first and at most
`compact_slice` checks, then deletes the journal rows whose every sample is in a
written baseline. So the work of a step follows
the rate of results (about one interval's share of the checks each second), never a
checkpoint of every check that changed in the last 30 s (which, at 100,000 checks, held
SQLite's one writing connection for seconds and made periodic jobs skip their runs).
`checkpoint` compacts everything at once (tests, benches); `close` only pushes the rings.
A flush pushes the recent-results rings of the sites whose case or level it changed at
once (a slow site's checks stay ok and write no status row: its latency must show while
its case is open), and each status row it writes records the latency of the probe that
wrote it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from monitor.clock import Clock
from monitor.config.records import Check, Config, Site
from monitor.engine.connectivity import ConnectivityWatch, Judged
from monitor.engine.context import site_context
from monitor.engine.hooks import EngineObserver, NullObserver, check_level, report_changes
from monitor.engine.mass import mass_outage_step
from monitor.engine.planner import Change, Planner
from monitor.engine.sites import Inputs, SiteOutcome, evaluate_site
from monitor.engine.state import (
    BASELINE,
    SITE,
    VOTE,
    LocationStates,
    Memory,
    SiteMemory,
    baseline_to_json,
    load,
    to_status,
    vote_to_json,
)
from monitor.evaluate import Connectivity, LatencyBaseline, LocationState, ballot, step
from monitor.incidents import RespondBy, Rules
from monitor.model import CheckState, ProbeResult, Verdict
from monitor.notify.recheck import cancel_answered_pages
from monitor.probes.canary import canary_checks
from monitor.store import (
    Aggregate,
    CheckChange,
    CheckStatus,
    Evidence,
    Fence,
    Notification,
    Sample,
    SiteChange,
    SiteStatus,
    Store,
    StoreError,
    Transaction,
    bucket_start,
    fold,
)
from monitor.store.aggregates import BUCKET

log = logging.getLogger(__name__)

_EMPTY = LocationState()


def _at_rest(states: LocationStates | None) -> bool:
    """Every location's state of a check is ok or unknown, with no bad streak begun."""
    return states is None or all(
        s.state in (CheckState.OK, CheckState.UNKNOWN) and not s.bad for s in states.values()
    )


_VOTING = Connectivity()
Deadlines = Callable[[Config], RespondBy]


@dataclass(frozen=True, slots=True)
class FlushReport:
    """What one flush did (for tests, logs and the benchmark)."""

    results: int = 0
    changes: int = 0
    statuses: int = 0
    evidence: int = 0
    sites: int = 0
    incidents: int = 0
    retried: int = 0
    failed: bool = False


@dataclass(slots=True)
class _Pending:
    """Writes not yet committed; kept across a failed flush and retried."""

    statuses: dict[tuple[str, str], CheckStatus] = field(default_factory=dict)
    changes: list[CheckChange] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    sites: set[str] = field(default_factory=set)
    inbox: set[int] = field(default_factory=set)  # probe inbox rows to delete in the commit

    @property
    def rows(self) -> int:
        """Rows waiting to be written (sites are re-evaluated, not written as rows)."""
        written = (self.statuses, self.changes, self.evidence, self.aggregates, self.samples)
        return sum(len(rows) for rows in written)

    def shed(self, limit: int) -> dict[str, int]:
        """Drop the oldest evidence, then the oldest aggregates, until at most `limit` rows
        are left (or none of those two is left); returns what was dropped, by kind. Check
        statuses, state changes and latency samples are never dropped: incidents are
        decided from them."""
        dropped: dict[str, int] = {}
        for what, rows in (("evidence", self.evidence), ("aggregates", self.aggregates)):
            excess = min(self.rows - limit, len(rows))
            if excess > 0:
                del rows[:excess]
                dropped[what] = excess
        return dropped


DEFAULT_COMPACT_SLICE = 5_000
"""Checks a compaction step writes at most (their baselines and rings): a step stays a
short transaction however many checks are due at once (after a start-up, or a stall)."""

DEFAULT_MAX_PENDING = 100_000
"""Rows the engine keeps for the next flush while the store is down (about 100,000 failed
results' evidence): beyond it the oldest evidence and aggregates are shed."""


class Engine:
    """Consumes results (`submit`, never blocks), commits them in batches (`flush`)."""

    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Clock,
        *,
        planner: Planner,
        deadlines: Deadlines,
        batch_size: int = 1000,
        flush_every: float = 1.0,
        checkpoint_every: float = 30.0,
        compact_slice: int = DEFAULT_COMPACT_SLICE,
        ring_size: int = 60,
        observer: EngineObserver | None = None,
        on_notifications: Callable[[], None] | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
        on_shed: Callable[[str, int], None] | None = None,
        on_flushed: Callable[[], None] | None = None,
        fence: Fence | None = None,
        inbox: bool = False,
    ) -> None:
        """`planner` plans the notifications of what a flush decided (`NotifyPlanner`);
        `deadlines(config)` gives the respond-by seam for a config (`policy_respond_by`);
        `checkpoint_every` seconds a check's new results wait before a compaction step
        writes its baseline and ring, `compact_slice` checks at most per step;
        `observer` is told about every result, check level and incident (the metrics hub);
        `on_notifications()` is called after a commit that planned notifications (the
        dispatcher's `wake`); `max_pending` rows are kept across failed flushes at most
        (the oldest evidence and aggregates beyond it are dropped, and `on_shed(what,
        rows)` is told: `what` is `evidence` or `aggregates`); `on_flushed()` is called
        after each committed flush (the supervisor's progress); `fence`: high
        availability (`monitor.cluster`): every flush and checkpoint is a leader
        transaction fenced by it, and while it does not lead the engine is a standby
        (results are dropped, nothing is written; see `standby` and `resume`); `inbox`:
        PostgreSQL cluster mode: every instance's results arrive through the store's probe
        inbox (`monitor.cluster.inbox`), which the leading engine reads at each flush and
        whose rows it deletes in the flush's transaction (so a crash neither loses nor
        doubles a result)."""
        self._store = store
        self._clock = clock
        self._planner = planner
        self._deadlines = deadlines
        self._batch_size = batch_size
        self._flush_every = flush_every
        self._checkpoint_every = checkpoint_every
        self._compact_slice = compact_slice
        self._ring_size = ring_size
        self._observer: EngineObserver = observer if observer is not None else NullObserver()
        self._on_notifications = on_notifications
        self._max_pending = max_pending
        self._on_shed = on_shed
        self._on_flushed = on_flushed
        self._fence = fence
        self._from_inbox = inbox
        self._shed_since_commit = 0
        self._shed_from: datetime | None = None  # the first failed flush that shed rows
        self._inbox: list[ProbeResult] = []
        self._pending = _Pending()
        # (bucket start, location) -> check id -> its open aggregate: a few groups, not a
        # (check, location, start) tuple for every check's key
        self._open_aggregates: dict[tuple[datetime, str], dict[str, Aggregate]] = {}
        self._closed: deque[Aggregate] = deque()  # closed buckets not yet pending
        self._oldest_open: datetime | None = None  # the earliest open bucket's start
        # check id -> its results since the last checkpoint: the result itself while it
        # is the only one (the common case at a long interval), then a list of them
        self._ring: dict[str, ProbeResult | list[ProbeResult]] = {}
        self._ring_changed: set[str] = set()
        # check id -> monotonic time of its first result not yet compacted (oldest first):
        # the checks probed more often than every `checkpoint_every` s, whose results a
        # step compacts together once the first has waited that long
        self._due: dict[str, float] = {}
        # the same for the other checks, compacted by the next step: they get one result
        # per wait at most, so waiting would save no write and only keep their rings (at
        # 100,000 checks a minute, half of them: ~20 MB of results)
        self._due_next: dict[str, float] = {}
        self._mono = clock.monotonic()  # taken once per flush
        # check id -> the first journal row holding a sample its stored baseline lacks
        # (0: a row from before the start); in insertion order, so the first is the least
        self._baselines_dirty: dict[str, int] = {}
        self._memory = Memory()
        self._timed: set[str] = set()  # sites with a level, a case or a hold (see `tick`)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tick_due = False  # `request_tick`: the next flush re-evaluates `_timed`
        self._settle = True  # the next flush evaluates the sites not at rest (`_restless`)
        self._stopping = False
        self.flush_failures = 0
        self._connectivity = ConnectivityWatch(())
        self._votes_saved: dict[str, datetime | None] = {}  # location -> as stored
        self.reload(config)

    # ------------------------------------------------------------------ lifecycle

    @property
    def config(self) -> Config:
        return self._config

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def memory(self) -> Memory:
        """The in-memory state (read-only use: tests, status)."""
        return self._memory

    def reload(self, config: Config) -> None:
        """Adopt a new config; memory of unchanged checks and sites is kept."""
        self._config = config
        self._rules = Rules(
            flapping=config.settings.flapping,
            respond_by=self._deadlines(config),
            timezone=config.settings.timezone,
        )
        # Values are the records themselves, not tuples with their customer or site (56
        # bytes a site and a check): a check's record is found in its site's few checks.
        self._sites: dict[str, Site] = {s.id: s for c in config.customers.values() for s in c.sites}
        self._checks: dict[str, Site] = {
            check.id: site for site in self._sites.values() for check in site.checks
        }
        self._settle = True  # levels may change with the checks
        self._canaries = {c.id: c for c in canary_checks(config.settings)}
        sites = list(self._sites.values())
        self._connectivity.reload(self._canaries.values(), sites)
        # location -> the sites listing it: evaluated again when its vote changes
        self._by_location: dict[str, list[str]] = {}
        for s in sites:
            for name in s.locations:
                self._by_location.setdefault(name, []).append(s.id)
        # several locations: a lost vote's warning names its location
        self._several = len(self._connectivity.locations | {config.settings.location}) > 1

    @property
    def connectivity(self) -> Connectivity:
        """Vakt's own connectivity as last judged from the canaries."""
        return self._connectivity.current

    @property
    def votes(self) -> Mapping[str, Connectivity]:
        """Each location's connectivity as last judged: no vote while `lost_since` is set."""
        return self._connectivity.by_location

    @property
    def leading(self) -> bool:
        """Whether this engine evaluates and writes (always, without a fence)."""
        return self._fence is None or self._fence.term is not None

    async def standby(self) -> None:
        """Step down: forget everything not committed and the memory loaded from the
        store (a leader that took over since has moved it on). Nothing is written."""
        async with self._lock:
            self._inbox = []
            self._pending = _Pending()
            self._open_aggregates.clear()
            self._closed.clear()
            self._ring.clear()
            self._ring_changed.clear()
            self._baselines_dirty.clear()
            self._due.clear()
            self._due_next.clear()
            self._memory = Memory()
            self._connectivity.restore({})
            self._votes_saved = {}
            self._timed.clear()
            self._shed_since_commit = 0
            self._shed_from = None
        log.info("engine.standby")

    async def resume(self) -> None:
        """Take over: rebuild memory from the store exactly as a restart does (`start`),
        and evaluate the sites not at rest at the next flush, as after a start."""
        async with self._lock:
            self._pending = _Pending()
            await self.start()

    async def start(self) -> None:
        """Reload state, baselines, site memory and open incidents from the store."""
        slow = {cid: site.slow for cid, site in self._checks.items() if site.slow}
        async with self._store.transaction(read_only=True) as tx:
            self._memory = await load(tx, slow)
        self._timed.clear()
        for site_id, memory in self._memory.sites.items():
            self._note_timed(site_id, memory)
        self._connectivity.restore(self._memory.votes)
        self._votes_saved = dict(self._memory.votes)
        self._settle = True
        # the journal is emptied by compaction: it must write what was replayed
        mono = self._clock.monotonic()
        for check_id in self._memory.replayed:
            self._baselines_dirty.setdefault(check_id, 0)
            self._to_compact(check_id, mono)
        log.info(
            "engine.loaded",
            extra={
                "checks": len(self._memory.locations),
                "open_incidents": sum(1 for s in self._memory.sites.values() if s.case),
            },
        )

    def submit(self, result: ProbeResult, lateness: float = 0.0) -> None:
        """Take one result (the scheduler's `ResultSink`); never blocks, never raises."""
        self._observer.observe_probe(result, lateness)
        self._inbox.append(result)
        if len(self._inbox) >= self._batch_size:
            self._wake.set()

    async def run(self) -> None:
        """The writer loop: flush every `flush_every` s or `batch_size` results, and a
        compaction step after each flush, until `close()`."""
        while True:
            await self._sleep()
            if self._stopping:
                return
            await self.flush()
            await self.compact()

    async def _sleep(self) -> None:
        try:
            async with asyncio.timeout(self._flush_every):
                await self._wake.wait()
        except TimeoutError:
            pass
        self._wake.clear()

    async def close(self) -> None:
        """Stop the writer loop; flush, write the open aggregates, push the recent rings.
        The baselines are not compacted (the journal holds them, and a start replays it):
        at 100,000 checks that would be seconds of a SIGTERM's drain for nothing durable."""
        self._stopping = True
        self._wake.set()
        await self.flush()
        self._pending.aggregates.extend(self._closed)
        self._closed.clear()
        for group in self._open_aggregates.values():
            self._pending.aggregates.extend(group.values())
        self._open_aggregates.clear()
        self._oldest_open = None
        await self.flush()
        await self._push_rings()

    # ---------------------------------------------------------------------- flush

    async def flush(self) -> FlushReport:
        """Process the results submitted so far and commit everything in one transaction."""
        async with self._lock:
            batch, self._inbox = self._inbox, []
            if self._tick_due:
                self._tick_due = False
                self._pending.sites.update(self._timed)
            if not self.leading:  # a standby: the leader evaluates; nothing is stale
                if self._on_flushed is not None:
                    self._on_flushed()
                return FlushReport(results=len(batch))
            if self._settle:
                self._settle = False
                self._pending.sites.update(self._restless())
            if self._from_inbox:
                batch += await self._take_inbox()
            now = self._clock.now()
            self._mono = self._clock.monotonic()
            await self._absorb(batch, now)
            self._close_buckets(now)
            try:
                report = await self._commit(now)
            except StoreError as exc:
                self.flush_failures += 1
                log.error("engine.flush_failed", extra={"error": str(exc), "results": len(batch)})
                self._bound()
                return FlushReport(results=len(batch), failed=True)
            self._committed()
            return replace(report, results=len(batch))

    async def _take_inbox(self) -> list[ProbeResult]:
        """The probe inbox's next rows (cluster mode), left out those read already whose
        deletion is not committed yet; their ids are deleted by the next commit. A full
        read wakes the writer loop again at once."""
        limit = self._batch_size * INBOX_BATCHES
        try:
            async with self._store.transaction(read_only=True) as tx:
                rows = await tx.inbox.take(limit, skip=self._pending.inbox)
        except StoreError as exc:
            log.warning("engine.inbox_failed", extra={"error": str(exc)})
            return []
        self._pending.inbox.update(row.id for row in rows)
        if len(rows) >= limit:
            self._wake.set()
        results = [row.result for row in rows]
        for result in results:
            self._observer.observe_check(result)
        return results

    @property
    def pending_rows(self) -> int:
        """Rows kept for the next flush (at most `max_pending` after a failed flush)."""
        return self._pending.rows

    def _bound(self) -> None:
        """After a failed flush: keep at most `max_pending` rows for the next one."""
        dropped = self._pending.shed(self._max_pending)
        if not dropped:
            return
        if not self._shed_since_commit:
            self._shed_from = self._clock.now()
            log.warning(
                "engine.shedding",
                extra={"max_pending": self._max_pending, "dropped": dropped},
            )
        self._shed_since_commit += sum(dropped.values())
        if self._on_shed is not None:
            for what, rows in dropped.items():
                self._on_shed(what, rows)

    def _committed(self) -> None:
        if self._shed_since_commit:
            log.warning("engine.shed_ended", extra={"dropped": self._shed_since_commit})
            self._shed_since_commit = 0
            self._shed_from = None
        if self._on_flushed is not None:
            self._on_flushed()

    async def tick(self) -> FlushReport:
        """Re-evaluate sites for time-based transitions with no new results (maintenance
        start and end, dependency holds, silences ending, recovery bookkeeping):
        every site with a level, an open incident or a hold (kept as a set when site
        memory is adopted, so a tick walks those sites only, not every site). Idempotent."""
        self._pending.sites.update(self._timed)
        return await self.flush()

    def request_tick(self) -> None:
        """`tick` without waiting for it: the writer loop (`run`) is woken and its next
        flush, at once or right after the one under way, re-evaluates the same sites.
        The daemon's periodic job calls this, so the job never queues behind a flush or a
        compaction step: at 100,000 checks a start-up flush takes seconds, and a job that
        awaited `tick` outlasted its 2 s period (APScheduler skipped its runs)."""
        self._tick_due = True
        self._wake.set()

    def _restless(self) -> list[str]:
        """The sites the first flush after a start, a takeover or a reload evaluates: those
        whose memory is kept (a level, a case, a hold, a slow finding, a flapping track) or
        with a check not at rest somewhere. The others are at rest, quiet with every check
        ok or not probed yet, and evaluating them decides nothing: no level without a bad
        or slow check, and a restart alone never opens a case (a result that changes a
        check's state or slow finding marks its site, `_step` and `_note_slow`). At
        100,000 sites evaluating all of them held the event loop for 9 s in that flush."""
        kept, locations = self._memory.sites, self._memory.locations
        return [
            site_id
            for site_id, site in self._sites.items()
            if site_id in kept or any(not _at_rest(locations.get(c.id)) for c in site.checks)
        ]

    def _note_timed(self, site_id: str, memory: SiteMemory) -> None:
        """Keep `_timed`: the sites a tick re-evaluates (a level, a case or a hold)."""
        if memory.level is not None or memory.case is not None or memory.track.hold_until:
            self._timed.add(site_id)
        else:
            self._timed.discard(site_id)

    async def _absorb(self, batch: Sequence[ProbeResult], now: datetime) -> None:
        """Step the batch into memory, `_YIELD_EVERY` results at a time, letting the
        event loop turn in between (1,667 results a second at 100,000 checks / 60 s
        took ~100 ms of CPU in one piece: every probe timer due meanwhile was late)."""
        for first in range(0, len(batch), _YIELD_EVERY):
            if first:
                await asyncio.sleep(0)
            chunk = batch[first : first + _YIELD_EVERY]
            for result in chunk:
                site = self._checks.get(result.check_id)
                if site is not None:
                    self._step(result, _check_of(site, result.check_id), site)
                elif (canary := self._canaries.get(result.check_id)) is not None:
                    states = self._states(canary.id)
                    old = states.get(result.location, _EMPTY)
                    states[result.location] = step(old, result, canary)
            for aggregate in fold(chunk):
                group = self._open_aggregates.get((aggregate.start, aggregate.location))
                if group is None:
                    group = self._open_aggregates[(aggregate.start, aggregate.location)] = {}
                seen = group.get(aggregate.check_id)
                group[aggregate.check_id] = aggregate if seen is None else seen.merge(aggregate)
                if self._oldest_open is None or aggregate.start < self._oldest_open:
                    self._oldest_open = aggregate.start
            self._note_slow(chunk, now)

    def _states(self, check_id: str) -> LocationStates:
        states = self._memory.locations.get(check_id)
        if states is None:
            states = self._memory.locations[check_id] = LocationStates()
        return states

    def _step(self, result: ProbeResult, check: Check, site: Site) -> None:
        states = self._states(check.id)
        old = states.get(result.location, _EMPTY)
        new = states[result.location] = step(old, result, check)
        pending = self._pending
        changed = new.state is not old.state
        if changed:
            pending.changes.append(
                CheckChange(
                    check.id,
                    result.location,
                    result.started_at,
                    old.state,
                    new.state,
                    result.error,
                    result.detail,
                )
            )
            pending.sites.add(site.id)
            self._observer.set_check_level(check.id, check_level(check, new.state))
        bad = result.verdict is not Verdict.OK
        # The steady state (ok after ok) writes nothing; a bad streak's counters are kept.
        if changed or bad or old.bad or (new.state is not CheckState.OK and new.good):
            pending.statuses[(check.id, result.location)] = to_status(
                check.id, result.location, new, result.started_at, result
            )
        if bad:
            pending.evidence.append(Evidence(result))
        if changed or bad:
            self._ring_changed.add(check.id)
        if check.id not in self._due and check.id not in self._due_next:
            self._to_compact(check.id, self._mono, check)
        # Not a deque(maxlen): one result per check between checkpoints is the common
        # case, and an empty deque alone costs ~600 bytes (60 MB at 100,000); nor a list
        # of one (64 bytes more a check).
        ring = self._ring.get(check.id)
        if ring is None:
            self._ring[check.id] = result
        elif isinstance(ring, list):
            ring.append(result)
            if len(ring) >= 2 * self._ring_size:
                del ring[: -self._ring_size]
        else:
            self._ring[check.id] = [ring, result]
        if site.slow is not None and not bad:
            memory = self._memory
            previous = memory.baselines.get(check.id)
            kept = memory.sites.get(site.id)  # none kept: a quiet site, no case
            in_incident = kept is not None and kept.case is not None
            at, seconds = result.started_at, result.timings.total
            memory.baselines[check.id] = (previous or _new_baseline()).observe(
                at, seconds, site.slow, in_incident=in_incident
            )
            seq = memory.seq[check.id] = memory.seq.get(check.id, 0) + 1
            pending.samples.append(Sample(check.id, seq, at, seconds, in_incident))

    def _note_slow(self, batch: Sequence[ProbeResult], now: datetime) -> None:
        """Mark a site for evaluation when its slow finding appeared or went away."""
        touched = {self._checks[r.check_id].id for r in batch if r.check_id in self._checks}
        for site_id in touched:
            site = self._sites[site_id]
            if site.slow is None:
                continue
            slow = any(
                b.assess(c.id, now, site.slow) is not None
                for c in site.checks
                if (b := self._memory.baselines.get(c.id)) is not None
            )
            kept = self._memory.sites.get(site_id)  # none kept: quiet, not slow
            if slow != (kept is not None and kept.slow):
                self._pending.sites.add(site_id)

    def _close_buckets(self, now: datetime) -> None:
        """Closed buckets become rows to write, at most `compact_slice` per flush: at a
        5-minute boundary every check's bucket closes at once, and converting 100,000
        rows in one flush held the event loop for a second."""
        current = bucket_start(now)
        oldest = self._oldest_open
        if oldest is not None and oldest + BUCKET <= current:  # else none closed: no scan
            closed = [key for key in self._open_aggregates if key[0] + BUCKET <= current]
            for key in closed:
                self._closed.extend(self._open_aggregates.pop(key).values())
            self._oldest_open = min((key[0] for key in self._open_aggregates), default=None)
        for _ in range(min(self._compact_slice, len(self._closed))):
            self._pending.aggregates.append(self._closed.popleft())

    async def _commit(self, now: datetime) -> FlushReport:
        pending = self._pending
        judged = self._judge_connectivity(now)
        lost = self._connectivity.lost(judged)
        votes = self._changed_votes(judged)
        sites = sorted(s for s in pending.sites if s in self._sites)
        async with self._store.transaction(fence=self._fence) as tx:
            await tx.inbox.consume(pending.inbox)
            await tx.checks.save(list(pending.statuses.values()))
            await tx.checks.append_changes(pending.changes)
            await tx.results.add_evidence(pending.evidence)
            await tx.results.add_aggregates(pending.aggregates)
            journal = await tx.memory.add_samples(pending.samples, now)
            held = {s for s in sites if self._unknown(s, now)}
            sites = [s for s in sites if s not in held]
            outcomes = await self._evaluate(tx, sites, now, lost) if sites else []
            changes = [c for o in outcomes for c in (*([o.change] if o.change else []), *o.extra)]
            await self._save_sites(tx, outcomes)
            await self._save_memory(tx, outcomes, now)
            await tx.memory.save(VOTE, {n: vote_to_json(v) for n, v in votes.items()}, now)
            gone = self._votes_saved.keys() - judged.keys()  # no site lists them any more
            await tx.memory.delete(VOTE, gone)
            if sites and self._config.settings.paging.mass_outage is not None:
                changes += await mass_outage_step(
                    tx,
                    self._config.settings.paging.mass_outage,
                    now,
                    case_prefix=self._config.settings.case_prefix,
                    timezone=self._rules.timezone,
                )
            planned = [
                *(await self._planner.plan(tx, changes, now, self._config) if changes else ()),
                *self._warnings(outcomes, now),
                *self._connectivity_warnings(judged, now),
                *self._shed_warning(now),
            ]
            if planned:
                await tx.outbox.add(planned)
            for change in changes:  # a resolved case's pending pages are cancelled now
                await cancel_answered_pages(tx, change.incident, now)
            # A site whose case changed shows its checks' latest probes now, not at the
            # next checkpoint: a slow site's case opens while its checks stay ok (no
            # status row is written), and the latency the team reads is the slow one.
            shown = self._check_ids(
                o.site_id for o in outcomes if (o.change or o.site_change) and not o.retry
            )
            await tx.results.push_recent(self._ring_entries(shown))
        self._ring_pushed(shown)
        report_changes(self._observer, changes)
        if planned and self._on_notifications is not None:
            self._on_notifications()
        report = FlushReport(
            changes=len(pending.changes),
            statuses=len(pending.statuses),
            evidence=len(pending.evidence),
            sites=len(sites),
            incidents=len(changes),
            retried=sum(1 for o in outcomes if o.retry),
        )
        if journal is not None:
            for sample in pending.samples:  # durable now: its baseline is to be written
                if sample.check_id not in self._baselines_dirty:
                    self._baselines_dirty[sample.check_id] = journal
                    self._to_compact(sample.check_id, self._mono)
        self._pending = _Pending(sites={o.site_id for o in outcomes if o.retry} | held)
        self._adopt(outcomes)
        self._connectivity.adopt(judged)
        self._votes_saved = {n: self._votes_saved.get(n) for n in judged} | votes
        for name, judgement in judged.items():
            self._observer.set_location_voting(name, judgement.lost_since is None)
        return report

    def _shed_warning(self, now: datetime) -> Sequence[Notification]:
        """The team warning of rows shed since the store went away, in the first flush
        that commits again (written with that flush, so it is never lost)."""
        if self._shed_from is None:
            return ()
        return self._planner.shed(self._shed_from, self._shed_since_commit, now, self._config)

    def _unknown(self, site_id: str, now: datetime) -> bool:
        """The site was slow at its last evaluation, with a case open, and a check's short
        window now holds too few samples to judge (the daemon was down for longer than the
        window): its recent history is unknown, so it keeps its case as it is until fresh
        samples arrive (DESIGN.md 8, rule 1)."""
        site = self._sites[site_id]
        memory = self._memory.sites.get(site_id)
        rule = site.slow
        if rule is None or memory is None or not memory.slow or memory.case is None:
            return False
        baselines = self._memory.baselines
        return any(
            b.baseline_median() is not None and b.short_median(now, rule) is None
            for c in site.checks
            if (b := baselines.get(c.id)) is not None
        )

    async def _save_memory(
        self, tx: Transaction, outcomes: Sequence[SiteOutcome], now: datetime
    ) -> None:
        """In the flush's transaction: each site's memory that changed, and the reset
        states of the checks a manual resolve re-armed."""
        memory = self._memory
        changed = {
            o.site_id: o.memory.to_json()
            for o in outcomes
            if not o.retry and _persisted(memory.site(o.site_id)) != _persisted(o.memory)
        }
        await tx.memory.save(SITE, changed, now)
        rearmed = [
            to_status(check_id, location, _EMPTY, now)
            for o in outcomes
            if not o.retry
            for check_id in o.rearm
            for location in self._memory.locations.get(check_id, {})
        ]
        await tx.checks.save(rearmed)

    async def _evaluate(
        self, tx: Transaction, site_ids: Sequence[str], now: datetime, lost: Mapping[str, datetime]
    ) -> list[SiteOutcome]:
        """`lost`: the locations without a vote, since when (`evaluate.vote`): a site none
        of whose locations votes is held (no incident opens or resolves), at most 30 min."""
        windows = await tx.maintenance.active(now)
        silences = await tx.silences.active(now)
        # One read for every site of this flush, not one per site (a start-up flush
        # evaluates every site not at rest). Read inside the transaction: the writes stay
        # CAS-checked.
        latest = await tx.incidents.latest_by_site(site_ids)
        outcomes: list[SiteOutcome] = []
        # No yield to the loop in here: this runs inside the write transaction, and on an
        # overloaded machine (a start-up flush evaluated every site) yielding kept SQLite's
        # one writer for 30 s+ while probes took the CPU: every other writer timed out.
        for site_id in site_ids:
            site = self._sites[site_id]
            customer = self._config.customers[site.customer]
            memory = self._memory.site(site_id)
            context = site_context(
                self._config,
                site,
                customer,
                windows,
                silences,
                self._memory.sites,
                now,
                connectivity_lost=ballot(site.locations, lost, now).held,
            )
            inputs = Inputs(
                site=site,
                customer=customer,
                context=context,
                memory=memory,
                locations=self._memory.locations,
                baselines=self._memory.baselines,
                rules=self._rules,
                case_prefix=self._config.settings.case_prefix,
                incidents=latest.get(site_id, ()),
                lost=lost,
            )
            outcomes.append(await evaluate_site(tx, inputs, now))
        return outcomes

    def _judge_connectivity(self, now: datetime) -> Judged:
        """Judge each location's connectivity at `now`. When a location loses or gets back
        its vote, or its 30 minutes of holding end, the sites listing it are evaluated
        again: those with several locations (their quorum is over other voters now) and
        those with a level or a case (a held incident opens now)."""
        before = self._connectivity.by_location
        judged = self._connectivity.assess(self._memory.locations, now)
        for name in judged.keys() | before.keys():
            old, new = before.get(name, _VOTING), judged.get(name, _VOTING)
            if (old.lost_since is None, old.suppressing) == (
                new.lost_since is None,
                new.suppressing,
            ):
                continue
            self._pending.sites.update(
                site_id
                for site_id in self._by_location.get(name, ())
                if site_id in self._timed or len(self._sites[site_id].locations) > 1
            )
        return judged

    def _changed_votes(self, judged: Judged) -> dict[str, datetime | None]:
        """The locations whose stored vote is not `judged`'s (written with the flush)."""
        saved = self._votes_saved
        return {
            name: c.lost_since
            for name, c in judged.items()
            if name not in saved or saved[name] != c.lost_since
        }

    def _connectivity_warnings(self, judged: Judged, now: datetime) -> Sequence[Notification]:
        """One team warning per location that lost its vote in this judgement."""
        planned: list[Notification] = []
        for name, judgement in sorted(judged.items()):
            if judgement.restored:
                log.info("engine.connectivity_restored", extra={"location": name})
            if not judgement.alert or judgement.lost_since is None:
                continue
            since = judgement.lost_since
            log.warning(
                "engine.connectivity_lost", extra={"since": since.isoformat(), "location": name}
            )
            if not self._several:
                detail = (
                    "The canaries and many customer checks fail together: probably Vakt's "
                    "own network. Customer incidents are held for at most 30 minutes."
                )
                planned += self._planner.connectivity_lost(since, detail, now, self._config)
                continue
            detail = (
                f"The canaries and many customer checks fail together as probed from {name}: "
                f"probably that location's own network. {name} has no vote while it lasts: "
                "its results open and resolve no incident; a check none of whose locations "
                "votes is held for at most 30 minutes."
            )
            planned += self._planner.connectivity_lost(
                since, detail, now, self._config, location=name
            )
        return planned

    def _warnings(self, outcomes: Sequence[SiteOutcome], now: datetime) -> Sequence[Notification]:
        starts = [w for o in outcomes if not o.retry for w in o.warnings]
        return self._planner.warnings(starts, now, self._config) if starts else ()

    @staticmethod
    async def _save_sites(tx: Transaction, outcomes: Sequence[SiteOutcome]) -> None:
        statuses: list[SiteStatus] = [o.status for o in outcomes if o.status is not None]
        site_changes: list[SiteChange] = [o.site_change for o in outcomes if o.site_change]
        await tx.sites.save(statuses)
        await tx.sites.append_changes(site_changes)

    def _adopt(self, outcomes: Sequence[SiteOutcome]) -> None:
        """After the commit: the decided site memory becomes the engine's; re-arm checks."""
        for outcome in outcomes:
            if outcome.retry:
                continue
            self._memory.adopt(outcome.site_id, outcome.memory)
            self._note_timed(outcome.site_id, outcome.memory)
            for check_id in outcome.rearm:
                self._memory.locations.pop(check_id, None)
                self._ring_changed.add(check_id)
                self._to_compact(check_id, self._mono)
            if outcome.rearm:
                log.info("incident.rearmed", extra={"site": outcome.site_id})

    # ----------------------------------------------------------------- checkpoint

    def _check_ids(self, site_ids: Iterable[str]) -> list[str]:
        return [c.id for s in site_ids if s in self._sites for c in self._sites[s].checks]

    def _ring_entries(self, check_ids: Iterable[str]) -> list[ProbeResult]:
        """What the store's rings get of the results kept since they were last pushed: a
        check that changed its whole kept ring, the others their newest result."""
        size, rings, changed = self._ring_size, self._ring, self._ring_changed
        entries: list[ProbeResult] = []
        for cid in check_ids:
            ring = rings.get(cid)
            if ring is None:
                continue
            if isinstance(ring, list):
                entries += ring[-size:] if cid in changed else ring[-1:]
            else:
                entries.append(ring)
        return entries

    def _ring_pushed(self, check_ids: Iterable[str]) -> None:
        """The rings of `check_ids` are in the store (committed): forget what was kept."""
        for cid in check_ids:
            self._ring.pop(cid, None)
            self._ring_changed.discard(cid)

    def _to_compact(self, check_id: str, since: float, check: Check | None = None) -> None:
        """Mark a check for compaction (nothing if it is marked): in `_due` when it is
        probed more often than every `checkpoint_every` s, else in `_due_next`."""
        if check_id in self._due or check_id in self._due_next:
            return
        if check is None and (site := self._checks.get(check_id)) is not None:
            check = _check_of(site, check_id)
        soon = check is not None and check.interval.total_seconds() >= self._checkpoint_every
        (self._due_next if soon else self._due)[check_id] = since

    async def compact(self) -> None:
        """One compaction step (the writer loop runs one after every flush): the checks
        whose first result not yet compacted has waited `checkpoint_every` s, oldest
        first, then those probed at most that often (`_due_next`), at most
        `compact_slice` checks in all: their changed baselines are written, their
        recent rings pushed (those that changed get their whole ring, the others their
        newest result), and the journal rows no longer needed are deleted. Not needed
        for durability: what evaluation depends on is committed by each flush."""
        before = self._clock.monotonic() - self._checkpoint_every
        await self._compact(before, self._compact_slice)

    async def _push_rings(self) -> None:
        """Push every kept recent ring to the store (at `close`), nothing else."""
        async with self._lock:
            if not self.leading or not self._ring:
                return
            kept = list(self._ring)
            try:
                async with self._store.transaction(fence=self._fence) as tx:
                    await tx.results.push_recent(self._ring_entries(kept))
            except StoreError as exc:
                log.error("engine.checkpoint_failed", extra={"error": str(exc)})
                return
            self._ring_pushed(kept)

    async def checkpoint(self) -> None:
        """Compact every check now, in one transaction (for tests and benches)."""
        await self._compact(math.inf, None)

    async def _compact(self, before: float, limit: int | None) -> None:
        async with self._lock:
            if not self.leading:
                return
            picked: list[str] = []
            for check_id, since in self._due.items():
                if since > before or (limit is not None and len(picked) >= limit):
                    break
                picked.append(check_id)
            for check_id in self._due_next:
                if limit is not None and len(picked) >= limit:
                    break
                picked.append(check_id)
            if not picked:
                return
            now = self._clock.now()
            kept, seqs, dirty = self._memory.baselines, self._memory.seq, self._baselines_dirty
            written = [c for c in picked if c in dirty and c in kept]
            baselines = {
                cid: baseline_to_json(seqs.get(cid, 0), kept[cid])
                async for cid in _in_slices(written)
            }
            recent = self._ring_entries(picked)
            done = set(picked)
            # the journal rows before the first one a baseline not written still needs
            keep_from = next((row for cid, row in dirty.items() if cid not in done), None)
            try:
                async with self._store.transaction(fence=self._fence) as tx:
                    await tx.memory.save(BASELINE, baselines, now)
                    await tx.memory.forget_samples(before=keep_from)
                    await tx.results.push_recent(recent)
            except StoreError as exc:
                log.error("engine.checkpoint_failed", extra={"error": str(exc)})
                return
            for cid in picked:
                if self._due.pop(cid, None) is None:
                    del self._due_next[cid]
                dirty.pop(cid, None)
            self._ring_pushed(picked)


# Stepping results and serialising baselines run in the event loop's thread (tens of
# microseconds each), before their transaction opens: the engine yields to the loop
# after each slice of this many, so the scheduler's timers are not held up behind them.
_YIELD_EVERY = 200
INBOX_BATCHES = 5  # a flush reads at most this many batches of the probe inbox
T = TypeVar("T")


async def _in_slices(items: Sequence[T]) -> AsyncIterator[T]:
    """`items`, yielding to the event loop after every `_YIELD_EVERY` of them."""
    for n, item in enumerate(items, 1):
        yield item
        if n % _YIELD_EVERY == 0:
            await asyncio.sleep(0)  # let probes start meanwhile


def _persisted(memory: SiteMemory | None) -> tuple[object, ...] | None:
    """What the store keeps of a site's memory (its case is read from the incidents)."""
    if memory is None:
        return None
    return (memory.track, memory.level, memory.since, memory.slow, memory.warnings)


def _new_baseline() -> LatencyBaseline:
    return LatencyBaseline()


def _check_of(site: Site, check_id: str) -> Check:
    """The record of one of `site`'s checks (a site has a few)."""
    for check in site.checks:
        if check.id == check_id:
            return check
    raise KeyError(check_id)


__all__ = [
    "DEFAULT_COMPACT_SLICE",
    "DEFAULT_MAX_PENDING",
    "Change",
    "Deadlines",
    "Engine",
    "FlushReport",
]
