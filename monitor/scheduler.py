"""The lean probe timing loop: a heap of due times driven by one event-loop timer.

Each check runs every `interval` at a stable offset (a hash of its id, aligned to the
wall clock, so a restart keeps the rhythm), sooner (`retry_interval`) while a failure
is being confirmed, never twice at once, and under a global concurrency limit. Results
go to one `ResultSink`; the scheduler never touches storage or metrics.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import logging
from array import array
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Protocol, TypeVar

from monitor.clock import Clock
from monitor.config.records import Check
from monitor.model import ProbeResult, Verdict

log = logging.getLogger(__name__)

T = TypeVar("T")

Prober = Callable[[Check], Awaitable[ProbeResult]]
"""Runs one check's probe; the app passes `lambda check: run_probe(check, ctx)`."""


class ResultSink(Protocol):
    """The one consumer of results (the engine). `submit` must not block."""

    def submit(self, result: ProbeResult, lateness: float) -> None: ...


def offset_of(check_id: str, interval: float) -> float:
    """A stable offset in [0, interval): the same check lands on the same second."""
    digest = hashlib.blake2b(check_id.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") % max(int(interval * 1000), 1)) / 1000


class SchedulerStats:
    """Counters and recent scheduling lateness (actual start - planned start, seconds)."""

    __slots__ = ("_lateness", "_next", "_window", "errors", "skipped", "started", "submitted")

    def __init__(self, window: int = 1 << 16) -> None:
        self._lateness = array("d")
        self._next = 0
        self.started = 0
        self.submitted = 0
        self.skipped = 0  # due while the previous probe of the check still ran
        self.errors = 0  # probes that raised: bugs, logged, no result
        self._window = window

    def note_lateness(self, seconds: float) -> None:
        if len(self._lateness) < self._window:
            self._lateness.append(seconds)
        else:
            self._lateness[self._next] = seconds
            self._next = (self._next + 1) % self._window

    def lateness_quantile(self, q: float) -> float:
        """The q-quantile of the recent lateness window (0.0 when nothing ran yet)."""
        if not self._lateness:
            return 0.0
        ordered = sorted(self._lateness)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)]

    def reset_lateness(self) -> None:
        self._lateness = array("d")
        self._next = 0


class _Slot:
    """One check's scheduling state; replaced entries are recognised by `generation`."""

    __slots__ = ("check", "failures", "generation", "next_due", "running")

    def __init__(self, check: Check) -> None:
        self.check = check
        self.generation = 0
        self.running = False
        self.failures = 0  # consecutive non-ok results
        self.next_due = 0.0  # the regular rhythm (monotonic)


_Entry = tuple[float, int, _Slot, int, bool]
"""(due, seq, slot, generation, regular): a tuple, so the heap compares in C; `seq` is
unique, so the comparison never reaches the slot."""


class Scheduler:
    """Runs checks on their rhythm. `start`, `reload`, then `await stop(deadline)`."""

    def __init__(
        self,
        prober: Prober,
        sink: ResultSink,
        clock: Clock,
        *,
        concurrency: int = 1000,
        stats: SchedulerStats | None = None,
    ) -> None:
        self._prober = prober
        self._sink = sink
        self._clock = clock
        self._limit = concurrency
        self.stats = stats if stats is not None else SchedulerStats()
        self._slots: dict[str, _Slot] = {}
        self._heap: list[_Entry] = []
        self._ready: deque[tuple[_Slot, float]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = float("inf")
        self._seq = 0
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def start(self, checks: Iterable[Check]) -> None:
        """Begin scheduling (call from the running event loop)."""
        self._loop = asyncio.get_running_loop()
        self.reload(checks)

    def reload(self, checks: Iterable[Check]) -> None:
        """Adopt a new set of checks; unchanged checks keep their rhythm and state."""
        wanted = {check.id: check for check in checks}
        for check_id in self._slots.keys() - wanted.keys():
            self._slots.pop(check_id).generation += 1  # its heap entries go stale
        for check_id, check in wanted.items():
            slot = self._slots.get(check_id)
            if slot is None:
                slot = self._slots[check_id] = _Slot(check)
            elif slot.check == check:
                continue
            else:
                slot.check = check
                slot.generation += 1
            slot.next_due = self._first_due(check)
            self._push(slot, slot.next_due, regular=True)
        self._arm()

    def run_now(self, check_ids: Iterable[str]) -> int:
        """Probe these checks at once, off their rhythm (a customer's report); a failure
        is then re-probed every `retry_interval` up to `confirm` as usual. Unknown ids are
        left out; returns how many were queued."""
        now = self._clock.monotonic()
        queued = 0
        for check_id in dict.fromkeys(check_ids):
            slot = self._slots.get(check_id)
            if slot is not None:
                self._push(slot, now, regular=False)
                queued += 1
        self._arm()
        return queued

    def _first_due(self, check: Check) -> float:
        interval = check.interval.total_seconds()
        wall = self._clock.now().timestamp()
        phase = offset_of(check.id, interval)
        wait = (phase - wall) % interval
        return self._clock.monotonic() + wait

    def _push(self, slot: _Slot, due: float, *, regular: bool) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, slot, slot.generation, regular))

    def _arm(self) -> None:
        """Keep one timer, set for the earliest due entry."""
        if self._stopping or self._loop is None or not self._heap:
            return
        due = self._heap[0][0]
        if self._timer is not None:
            if due >= self._timer_due:
                return
            self._timer.cancel()
        delay = max(due - self._clock.monotonic(), 0.0)
        self._timer_due = due
        self._timer = self._loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_due = float("inf")
        now = self._clock.monotonic()
        heap, slots, ready = self._heap, self._slots, self._ready
        while heap and heap[0][0] <= now:
            due, _, slot, generation, regular = heapq.heappop(heap)
            if generation != slot.generation or slot.check.id not in slots:
                continue
            if regular:
                slot.next_due = due + slot.check.interval.total_seconds()
                self._push(slot, slot.next_due, regular=True)
            if slot.running:
                self.stats.skipped += 1
                continue
            slot.running = True
            ready.append((slot, due))
        self._pump()
        self._arm()

    def _pump(self) -> None:
        """Start ready probes while under the concurrency limit."""
        loop = self._loop
        assert loop is not None
        ready, tasks, done = self._ready, self._tasks, self._done
        while ready and len(tasks) < self._limit and not self._stopping:
            slot, planned = ready.popleft()
            if self._slots.get(slot.check.id) is not slot:  # removed by a reload
                slot.running = False
                continue
            task = loop.create_task(self._probe(slot, planned))
            tasks.add(task)
            task.add_done_callback(done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._pump()

    async def _probe(self, slot: _Slot, planned: float) -> None:
        check = slot.check
        lateness = self._clock.monotonic() - planned
        self.stats.started += 1
        self.stats.note_lateness(lateness)
        try:
            result = await self._prober(check)
        except Exception:  # a bug in a probe: report it, keep the loop alive
            self.stats.errors += 1
            log.exception("probe.crashed", extra={"check": check.id})
            return
        finally:
            slot.running = False
        if self._slots.get(check.id) is not slot:
            return  # removed by a reload while it ran: nobody wants its result
        self._after(slot, check, result)
        self.stats.submitted += 1
        self._sink.submit(result, lateness)

    def _after(self, slot: _Slot, check: Check, result: ProbeResult) -> None:
        """Re-probe sooner while a failure is still being confirmed."""
        if result.verdict is Verdict.OK:
            slot.failures = 0
            return
        slot.failures += 1
        if slot.failures >= check.confirm or self._stopping:
            return
        retry = self._clock.monotonic() + check.retry_interval.total_seconds()
        if retry < slot.next_due:
            self._push(slot, retry, regular=False)
            self._arm()

    async def stop(self, deadline: float) -> None:
        """Stop scheduling; let running probes finish for `deadline` seconds, then cancel."""
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._ready.clear()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=deadline)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`asyncio.run(main())` on uvloop when it is installed (faster sockets and timers)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.run(main())
    result: T = uvloop.run(main())
    return result
