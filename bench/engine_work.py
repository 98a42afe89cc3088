"""The engine's work per flush and per checkpoint at N checks, measured in one process.

    .venv/bin/python bench/engine_work.py --checks 100000 --interval 60

No probes and no network: the `--vakt-run` checks.yaml is loaded, an `Engine` on SQLite
(a temporary file) gets synthetic OK results, every check two at start-up (each leaves
`unknown`), then one `--interval` of steady state: `interval` flushes of checks/interval
results each, as the scheduler spreads them, on a clock that advances one second per
flush, with the engine's periodic work run as `Engine.run` runs it (a compaction step
after every flush; before those existed, the checkpoint every 30 s). Printed: CPU
seconds of this process per flush and per compaction (p50 and max), the collector's
passes, the rows written per statement kind (counted with
a SQLAlchemy event listener, executemany rows included), and the longest time the event
loop was held without a turn (a 5 ms ticker task notes the longest gap between its
turns). CPU and rows are measures of work; the loop's longest hold is wall time and moves
with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import re
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from monitor.app import tune_gc
from monitor.clock import FixedClock, SystemClock
from monitor.config import load_config
from monitor.engine.context import policy_respond_by
from monitor.engine.engine import Engine
from monitor.engine.notify import NotifyPlanner
from monitor.model import ProbeResult, Timings, Verdict
from monitor.notify.planner import Planner as CasePlanner
from monitor.store import Store

try:
    from probe_capacity import _e2e_yaml
except ImportError:  # run from the repository root
    from bench.probe_capacity import _e2e_yaml

_TABLE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\s+(?:OR \w+ )?(?:INTO |FROM )?(\w+)", re.I)


class Rows:
    """Rows written, by `VERB table`, from the driver's statements."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        match = _TABLE.match(statement)
        if match is None:
            return
        many = rest[-1] if rest else False
        rows = len(params) if many and params is not None else 1
        self.counts[f"{match.group(1).upper()} {match.group(2)}"] += rows


class Collections:
    """The cyclic collector's passes by generation, and the longest (wall)."""

    def __init__(self) -> None:
        self.count: Counter[int] = Counter()
        self.longest: dict[int, float] = {}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self.count[generation] += 1
        took = time.perf_counter() - self._started
        self.longest[generation] = max(self.longest.get(generation, 0.0), took)


class LoopHold:
    """The longest gap between turns of a task that sleeps 5 ms: the event loop's
    longest synchronous section (plus the 5 ms)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def reset(self) -> None:
        self.longest = 0.0

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - 0.005)
            last = now

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def _results(checks: list[Any], at: Any) -> list[ProbeResult]:
    return [ProbeResult(c.id, Verdict.OK, at, Timings(total=0.01), "bench") for c in checks]


async def _timed(what: Any) -> float:
    started = time.process_time()
    await what
    return time.process_time() - started


def _print(name: str, seconds: list[float]) -> None:
    if not seconds:
        print(f"{name:<22} none")
        return
    ordered = sorted(seconds)
    print(
        f"{name:<22} {len(ordered)}: CPU p50 {ordered[len(ordered) // 2] * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms, total {sum(ordered):.2f} s"
    )


async def _steady(
    args: argparse.Namespace, engine: Engine, clock: FixedClock, checks: list[Any], per: int
) -> tuple[list[float], list[float]]:
    """One interval: a flush a second of `per` results, then the periodic work."""
    flushes: list[float] = []
    checkpoints: list[float] = []
    base = clock.now()
    for second in range(round(args.interval)):
        at = base + timedelta(seconds=second)
        for result in _results(checks[second * per : (second + 1) * per], at):
            engine.submit(result)
        flushes.append(await _timed(engine.flush()))
        clock.advance(1)
        if hasattr(engine, "compact"):
            checkpoints.append(await _timed(engine.compact()))
        elif (second + 1) % round(args.checkpoint_every) == 0:
            checkpoints.append(await _timed(engine.checkpoint()))
        await asyncio.sleep(0)
    return flushes, checkpoints


async def _measure(args: argparse.Namespace, directory: Path) -> None:
    yaml_args = argparse.Namespace(checks=args.checks, interval=args.interval, failing=0.0)
    store_url = f"sqlite:///{directory / 'vakt.db'}"
    path = directory / "checks.yaml"
    path.write_text(_e2e_yaml(yaml_args, "http://127.0.0.1:9/", store_url))
    config = load_config(str(path))
    checks = config.checks()
    clock = FixedClock(SystemClock().now())
    rows = Rows()
    hold = LoopHold()
    async with Store(store_url) as store:
        await store.ensure_schema()
        engine = Engine(
            store,
            config,
            clock,
            planner=NotifyPlanner(CasePlanner(config)),
            deadlines=policy_respond_by,
        )
        await engine.start()
        start = clock.now()
        for step in range(2):  # start-up: every check leaves `unknown`
            for result in _results(checks, start + timedelta(seconds=step)):
                engine.submit(result)
            await engine.flush()
        await engine.checkpoint()
        tune_gc()  # as `vakt run` does once it has loaded the config
        collections = Collections()
        gc.callbacks.append(collections)
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        event.listen(store._require_engine().sync_engine, "before_cursor_execute", rows)
        hold.start()
        await asyncio.sleep(0.05)
        hold.reset()
        per = max(1, round(len(checks) / args.interval))
        clock.advance(2)  # past the start-up results
        flushes, checkpoints = await _steady(args, engine, clock, checks, per)
        hold.stop()
        if profile is not None:
            profile.disable()
        gc.callbacks.remove(collections)
        await engine.close()
    print(f"checks                 {len(checks)} every {args.interval:g} s ({per} results a flush)")
    _print("flushes", flushes)
    _print("compactions", checkpoints)
    print(f"loop held at most      {hold.longest * 1000:.0f} ms (wall)")
    for generation in sorted(collections.count):
        print(
            f"collector gen {generation}        {collections.count[generation]} passes, "
            f"longest {collections.longest[generation] * 1000:.0f} ms (wall)"
        )
    print("rows written in the steady interval, by statement:")
    for what, count in sorted(rows.counts.items()):
        print(f"    {what:<40} {count}")
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10000)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--checkpoint-every", type=float, default=30.0)
    parser.add_argument("--profile", action="store_true", help="cProfile the steady interval")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        asyncio.run(_measure(args, Path(name)))


if __name__ == "__main__":
    main()
