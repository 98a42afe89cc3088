"""Memory per check, by owner: the objects `vakt run` builds for N checks, measured in one
process with tracemalloc (no switch in the daemon; `probe_capacity.py --vakt-run` gives
the whole process's RSS from outside).

    .venv/bin/python bench/memory_per_check.py --checks 10000
    .venv/bin/python bench/memory_per_check.py --checks 100000
    .venv/bin/python bench/memory_per_check.py --checks 100000 --rss --batch 1000

`--rss`: nothing traced; the process's VmRSS after each stage, the config loaded in a
child process as `vakt run` does (a model of the daemon's RSS, in one process).
`--batch N`: the engine flushes after every N results, as the daemon (batch_size 1000);
by default each round of one result per check is one flush.

Stages, as `serve()` builds them: the config (`load_config` of the `--vakt-run`
checks.yaml), the metrics hub, the engine after `start()`, the engine after two results
per check (each check leaves `unknown`, its site is evaluated; recent rings held until
the next checkpoint), and the scheduler's heap. For each stage: bytes per check and the
five biggest owners (source lines that allocated what is still alive). Latency baselines
grow with time (one hourly histogram per hour of `baseline`): after two results they hold
one slot, so a day-old daemon holds more than this shows.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import tracemalloc
from datetime import timedelta
from pathlib import Path

from monitor.clock import SystemClock
from monitor.config import load_config
from monitor.config.isolated import load_config_isolated
from monitor.engine.context import policy_respond_by
from monitor.engine.engine import Engine
from monitor.engine.notify import NotifyPlanner
from monitor.metrics import MetricsHub
from monitor.model import ProbeResult, Timings, Verdict
from monitor.notify.planner import Planner as CasePlanner
from monitor.scheduler import Scheduler
from monitor.store import Store

try:
    from probe_capacity import _e2e_yaml
except ImportError:  # run from the repository root
    from bench.probe_capacity import _e2e_yaml


TOP = 5
BATCH = 0  # --batch: flush after every BATCH results (0: one flush per round)
RSS = False  # --rss: no tracemalloc; the process's VmRSS after each stage instead


def _vm_rss() -> int:
    """This process's resident set in bytes (/proc/self/status VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _report(name: str, before: tracemalloc.Snapshot, checks: int) -> tracemalloc.Snapshot:
    gc.collect()
    if RSS:
        rss = _vm_rss()
        print(f"{name:<28} VmRSS {rss / 2**20:6.0f} MiB = {rss / checks:6.0f} B per check")
        return before
    after = tracemalloc.take_snapshot()
    stats = after.compare_to(before, "lineno")
    total = sum(s.size_diff for s in stats)
    print(f"{name:<28} {total / checks:8.0f} B per check")
    for stat in sorted(stats, key=lambda s: -s.size_diff)[:TOP]:
        frame = stat.traceback[0]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        print(f"    {stat.size_diff / checks:8.0f} B  {where}")
    return after


async def _measure(checks: int, directory: Path) -> None:
    args = argparse.Namespace(checks=checks, interval=60.0, failing=0.0)
    store_url = f"sqlite:///{directory / 'vakt.db'}"
    path = directory / "checks.yaml"
    path.write_text(_e2e_yaml(args, "http://127.0.0.1:9/", store_url))
    clock = SystemClock()
    if RSS:  # as `vakt run`: the config loaded in a child process, nothing traced
        snap = _report("interpreter", tracemalloc.Snapshot([], 1), checks)
        config = load_config_isolated(str(path))
    else:
        tracemalloc.start(1)
        snap = tracemalloc.take_snapshot()
        config = load_config(str(path))
    snap = _report("config", snap, checks)
    hub = MetricsHub(version="bench", location="bench", checks=config.checks())
    snap = _report("metrics hub", snap, checks)
    async with Store(store_url) as store:
        await store.ensure_schema()
        engine = Engine(
            store,
            config,
            clock,
            planner=NotifyPlanner(CasePlanner(config)),
            deadlines=policy_respond_by,
            observer=hub,
        )
        await engine.start()
        snap = _report("engine (started)", snap, checks)
        for step in range(2):
            now = clock.now()
            for n, check in enumerate(config.checks(), 1):
                result = ProbeResult(
                    check.id,
                    Verdict.OK,
                    now + timedelta(seconds=step),
                    Timings(total=0.01),
                    "bench",
                )
                engine.submit(result, 0.0)
                if BATCH and n % BATCH == 0:  # as the daemon: a flush per batch_size results
                    await engine.flush()
            await engine.flush()
            if not RSS:
                current, peak = tracemalloc.get_traced_memory()
                above = (peak - current) / checks
                print(f"    round {step + 1}: peak {above:.0f} B per check above what stays")
                tracemalloc.reset_peak()
            else:
                _report(f"  after round {step + 1}", snap, checks)
        snap = _report("engine (2 results a check)", snap, checks)

        async def prober(check: object) -> ProbeResult:
            raise NotImplementedError

        scheduler = Scheduler(prober, engine, clock)
        scheduler.start(config.checks())
        snap = _report("scheduler (heap)", snap, checks)
        await scheduler.stop(1)
        await engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10000)
    parser.add_argument("--top", type=int, default=5, help="owners printed per stage")
    parser.add_argument("--rss", action="store_true", help="VmRSS per stage, not tracemalloc")
    parser.add_argument("--batch", type=int, default=0, help="flush every N results (0: once)")
    args = parser.parse_args()
    global TOP, RSS, BATCH
    TOP, RSS, BATCH = args.top, args.rss, args.batch
    with tempfile.TemporaryDirectory() as name:
        asyncio.run(_measure(args.checks, Path(name)))


if __name__ == "__main__":
    main()
