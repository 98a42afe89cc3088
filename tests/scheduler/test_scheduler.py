"""The probe timing loop, driven by the real event loop with short intervals.

No assertion depends on how fast this machine is: rhythm is checked on the times the
scheduler PLANNED (start - lateness), which are exact whatever the load, counts are
bounded from above by what the plan allows for the time that passed, and a test that
needs some probes to have run waits for them (`until`) instead of sleeping a fixed time
(a loaded machine may run fewer probes in that time).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.clock import SystemClock
from monitor.config.records import Check, HttpSpec
from monitor.model import CheckType, ErrorCode, Impact, ProbeResult, Timings, Verdict
from monitor.scheduler import Scheduler, offset_of


def check(name: str, interval: float = 0.2, retry: float = 0.05, confirm: int = 3) -> Check:
    return Check(
        id=f"acme/shop/{name}",
        customer="acme",
        site="shop",
        name=name,
        label=name,
        type=CheckType.HTTP,
        impact=Impact.OUTAGE,
        interval=timedelta(seconds=interval),
        retry_interval=timedelta(seconds=retry),
        timeout=timedelta(seconds=1),
        confirm=confirm,
        recover=2,
        spec=HttpSpec(url="http://127.0.0.1/"),
    )


class Recorder:
    """A `ResultSink` that keeps everything it is given."""

    def __init__(self) -> None:
        self.results: list[ProbeResult] = []
        self.lateness: list[float] = []

    def submit(self, result: ProbeResult, lateness: float) -> None:
        self.results.append(result)
        self.lateness.append(lateness)

    def times(self, check_id: str) -> int:
        return sum(1 for r in self.results if r.check_id == check_id)


def planned(sink: Recorder, prober: FakeProber, check_id: str) -> list[float]:
    """When the scheduler meant each probe of `check_id` to start (loop time)."""
    late = [lt for r, lt in zip(sink.results, sink.lateness, strict=True) if r.check_id == check_id]
    starts = prober.starts[check_id][: len(late)]
    return [start - lt for start, lt in zip(starts, late, strict=True)]


def on_rhythm(times: list[float], interval: float) -> bool:
    """Every gap is a whole number (>= 1) of intervals: skipped beats are allowed, drift is not."""
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return all(
        round(g / interval) >= 1 and abs(g / interval - round(g / interval)) < 0.02 for g in gaps
    )


async def until(condition: Callable[[], bool], limit: float = 20.0) -> None:
    """Let the scheduler run until `condition` holds; fail after `limit` seconds."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - the scheduler's tasks change the state
            await asyncio.sleep(0.01)


def beats(elapsed: float, interval: float) -> int:
    """The most regular probes a check can have had in `elapsed` seconds."""
    return int(elapsed / interval) + 1


class FakeProber:
    """A real async prober with scripted verdicts and a configurable duration."""

    def __init__(self, duration: float = 0.0, failing: frozenset[str] = frozenset()) -> None:
        self.duration = duration
        self.failing = set(failing)
        self.running: dict[str, int] = {}
        self.max_parallel_per_check = 0
        self.max_parallel = 0
        self.starts: dict[str, list[float]] = {}

    async def __call__(self, c: Check) -> ProbeResult:
        loop = asyncio.get_running_loop()
        self.starts.setdefault(c.id, []).append(loop.time())
        self.running[c.id] = self.running.get(c.id, 0) + 1
        self.max_parallel_per_check = max(self.max_parallel_per_check, self.running[c.id])
        self.max_parallel = max(self.max_parallel, sum(self.running.values()))
        try:
            await asyncio.sleep(self.duration)
        finally:
            self.running[c.id] -= 1
        verdict = Verdict.FAILED if c.id in self.failing else Verdict.OK
        error = ErrorCode.REFUSED if c.id in self.failing else None
        now = datetime.now(UTC)
        return ProbeResult(c.id, verdict, now, Timings(total=self.duration), "oslo", error)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40), st.floats(min_value=1, max_value=86400))
def test_offset_is_stable_and_inside_the_interval(check_id: str, interval: float) -> None:
    offset = offset_of(check_id, interval)
    assert offset == offset_of(check_id, interval)
    assert 0 <= offset < interval


def test_offsets_spread_checks_across_the_interval() -> None:
    offsets = {int(offset_of(f"c/s/{i}", 60)) for i in range(600)}
    assert len(offsets) > 50  # not all in the same second


async def test_runs_every_check_on_its_interval_and_hands_results_to_the_sink() -> None:
    sink, prober = Recorder(), FakeProber()
    scheduler = Scheduler(prober, sink, SystemClock())
    started = asyncio.get_running_loop().time()
    scheduler.start([check("a", 0.1), check("b", 0.25)])
    await asyncio.sleep(1.05)
    await until(lambda: sink.times("acme/shop/a") >= 2 and sink.times("acme/shop/b") >= 1)
    elapsed = asyncio.get_running_loop().time() - started
    await scheduler.stop(1.0)
    assert 2 <= sink.times("acme/shop/a") <= beats(elapsed, 0.1)
    assert 1 <= sink.times("acme/shop/b") <= beats(elapsed, 0.25)
    assert on_rhythm(planned(sink, prober, "acme/shop/a"), 0.1)
    assert on_rhythm(planned(sink, prober, "acme/shop/b"), 0.25)
    assert scheduler.stats.submitted == len(sink.results)
    assert all(late >= 0 for late in sink.lateness)


async def test_first_failure_reprobes_at_retry_interval_until_confirmed() -> None:
    sink = Recorder()
    prober = FakeProber(failing=frozenset({"acme/shop/down"}))
    scheduler = Scheduler(prober, sink, SystemClock())
    started = asyncio.get_running_loop().time()
    scheduler.start([check("down", interval=1.0, retry=0.05, confirm=3), check("up", 1.0)])
    await until(lambda: sink.times("acme/shop/down") >= 3 and sink.times("acme/shop/up") >= 1)
    elapsed = asyncio.get_running_loop().time() - started
    await scheduler.stop(1.0)
    plan = planned(sink, prober, "acme/shop/down")
    # the regular probe, then two quick retries (confirm=3), then back to the rhythm
    assert len(plan) >= 3
    assert plan[1] - plan[0] < 0.2  # a retry at retry_interval, not the 1 s interval
    assert plan[2] - plan[1] < 0.2
    # the healthy check keeps its 1 s rhythm meanwhile: no retries of its own
    assert len(prober.starts["acme/shop/up"]) <= beats(elapsed, 1.0)
    assert on_rhythm(planned(sink, prober, "acme/shop/up"), 1.0)


async def test_never_runs_two_probes_of_one_check_at_once() -> None:
    sink, prober = Recorder(), FakeProber(duration=0.25)
    scheduler = Scheduler(prober, sink, SystemClock())
    scheduler.start([check("slow", interval=0.05)])
    await asyncio.sleep(0.8)
    await until(lambda: scheduler.stats.skipped > 0)
    await scheduler.stop(1.0)
    assert prober.max_parallel_per_check == 1
    assert scheduler.stats.skipped > 0


async def test_concurrency_is_bounded_globally() -> None:
    sink, prober = Recorder(), FakeProber(duration=0.1)
    scheduler = Scheduler(prober, sink, SystemClock(), concurrency=3)
    scheduler.start([check(f"c{i}", interval=0.2) for i in range(12)])
    await asyncio.sleep(0.7)
    await until(lambda: len(sink.results) > 6 and prober.max_parallel >= 3)
    await scheduler.stop(1.0)
    assert prober.max_parallel == 3
    assert len(sink.results) > 6


async def test_reload_keeps_unchanged_checks_and_drops_removed_ones() -> None:
    sink, prober = Recorder(), FakeProber()
    scheduler = Scheduler(prober, sink, SystemClock())
    keep, drop = check("keep", 0.1), check("drop", 0.1)
    scheduler.start([keep, drop])
    await asyncio.sleep(0.35)
    scheduler.reload([keep, check("new", 0.1)])
    dropped_count = sink.times("acme/shop/drop")
    await asyncio.sleep(0.35)
    await until(lambda: sink.times("acme/shop/new") >= 1 and sink.times("acme/shop/keep") >= 2)
    await scheduler.stop(1.0)
    assert sink.times("acme/shop/drop") == dropped_count
    assert sink.times("acme/shop/new") >= 1
    # the same rhythm across the reload: planned starts stay on one 0.1 s grid
    assert on_rhythm(planned(sink, prober, "acme/shop/keep"), 0.1)


async def test_changed_interval_takes_effect_on_reload() -> None:
    sink, prober = Recorder(), FakeProber()
    scheduler = Scheduler(prober, sink, SystemClock())
    c = check("c", 1.0)
    scheduler.start([c])
    scheduler.reload([replace(c, interval=timedelta(seconds=0.05))])
    await until(lambda: sink.times(c.id) >= 6)
    await scheduler.stop(1.0)
    plan = planned(sink, prober, c.id)
    assert len(plan) >= 6
    # planned 0.05 s apart (a loaded machine may skip beats, never plan on the old 1 s)
    assert on_rhythm(plan, 0.05)
    assert min(b - a for a, b in itertools.pairwise(plan)) < 0.06


async def test_a_crashing_probe_is_counted_and_the_loop_goes_on() -> None:
    sink = Recorder()

    async def broken(c: Check) -> ProbeResult:
        raise RuntimeError("bug")

    scheduler = Scheduler(broken, sink, SystemClock())
    scheduler.start([check("x", 0.05)])
    await until(lambda: scheduler.stats.errors >= 3)
    await scheduler.stop(1.0)
    assert scheduler.stats.errors >= 3
    assert sink.results == []


async def test_stop_waits_for_running_probes_then_cancels_at_the_deadline() -> None:
    sink, prober = Recorder(), FakeProber(duration=10)
    scheduler = Scheduler(prober, sink, SystemClock())
    scheduler.start([check("x", 0.05)])
    await asyncio.sleep(0.1)
    assert scheduler.in_flight == 1
    await scheduler.stop(0.1)
    assert scheduler.in_flight == 0
    assert sink.results == []


async def test_run_now_probes_at_once_and_retries_a_failure_until_confirmed() -> None:
    """A customer's report asks for the site's checks now: off their hourly rhythm, the
    failing check is probed at once and then every retry_interval up to `confirm`."""
    sink = Recorder()
    prober = FakeProber(failing=frozenset({"acme/shop/down"}))
    scheduler = Scheduler(prober, sink, SystemClock())
    scheduler.start([check("down", interval=3600.0, retry=0.05, confirm=3)])
    assert scheduler.run_now(["acme/shop/down", "acme/shop/unknown"]) == 1
    await until(lambda: sink.times("acme/shop/down") >= 3)
    await scheduler.stop(1.0)
    assert sink.times("acme/shop/down") == 3  # confirmed: no more retries off-rhythm
