"""The planner tick alone at N open cases, in one process, on SQLite (a temporary file).

    .venv/bin/python bench/planner_tick.py --cases 1000 10000

It measures the tick only: no engine, no probes, no dispatcher. `examples/generic.yaml`
is loaded; N open Level A cases of its one site are inserted, opened one second apart
within an hour and acknowledged a minute after opening (the steady state of many open
cases: nobody is paged, customer updates hourly and slower). The first tick plans every
case; then `--ticks` ticks one second apart are timed. Printed per tick: the incident rows
read (counted by the tick) and the CPU seconds of this process (p50 and max). With `--full`
every tick re-plans every case, as the tick did before the `next_plan_at` index.

`--unanswered`: the cases are not acknowledged, so their escalation slots (every 15 min,
then the second step at 1 h) fall due somewhere in the fleet almost every second; each
such slot needs every case that pages for grouping (digests), so such a tick re-plans
every case: the worst case of the index.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import load_config
from monitor.model import IncidentStatus, Level
from monitor.notify.planner import Planner
from monitor.notify.tick import planner_tick
from monitor.store import EventKind, Incident, IncidentEvent, Store

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "generic.yaml"
PERIOD = timedelta(seconds=2)


async def _cases(store: Store, count: int, start: datetime, unanswered: bool) -> None:
    batch = 1000
    for first in range(0, count, batch):
        async with store.transaction() as tx:
            for n in range(first, min(count, first + batch)):
                at = start + timedelta(seconds=n % 3600)
                acked = None if unanswered else at + timedelta(minutes=1)
                row = Incident(
                    case_number=f"TKT-2026-{n + 1:06d}",
                    site_id="northwind/shop",
                    customer_id="northwind",
                    level=Level.A,
                    status=IncidentStatus.OPEN if unanswered else IncidentStatus.ACKNOWLEDGED,
                    acknowledged_at=acked,
                    acknowledged_by=None if acked is None else "sam",
                    opened_at=at,
                    updated_at=at,
                    description="home: HTTP 500",
                    respond_by=at + timedelta(hours=4),
                    data=json.dumps({"v": 1, "kind": "site", "policy": "generic"}),
                )
                stored = await tx.incidents.insert(row)
                events = [IncidentEvent(stored.id, at, "vakt", EventKind.OPENED, level=Level.A)]
                if acked is not None:
                    events.append(IncidentEvent(stored.id, acked, "sam", EventKind.ACKNOWLEDGED))
                await tx.incidents.add_events(events)


async def run(count: int, ticks: int, full: bool, unanswered: bool) -> None:
    config = load_config(str(EXAMPLE), {"VAKT_SECRET": "bench-secret-bench-secret"})
    planner = Planner(config)
    start = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # a Tuesday, office open
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'vakt.db'}")
        await store.open()
        await store.upgrade()
        try:
            await _cases(store, count, start, unanswered)
            now = start + timedelta(hours=1, seconds=30)  # every case open, none just now
            kwargs = {"full": True} if full else {}
            if full and "full" not in inspect.signature(planner_tick).parameters:
                kwargs = {}  # a release before the index: every tick is a full re-plan
            first = await planner_tick(store, config, planner, now, period=PERIOD, **kwargs)
            cpu: list[float] = []
            read: list[int] = []
            for n in range(1, ticks + 1):
                began = time.process_time()
                result = await planner_tick(
                    store, config, planner, now + n * timedelta(seconds=1), period=PERIOD, **kwargs
                )
                cpu.append(time.process_time() - began)
                read.append(getattr(result, "read", -1))
        finally:
            await store.close()
    mode = "full re-plan every tick" if full else "index (next_plan_at)"
    mode += ", unanswered" if unanswered else ", acknowledged"
    print(
        f"cases={count} mode={mode} first tick read={getattr(first, 'read', -1)} | "
        f"ticks={ticks}: rows read p50={statistics.median(read):g} max={max(read)}, "
        f"CPU s p50={statistics.median(cpu):.4f} max={max(cpu):.4f} (the tick alone)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--full", action="store_true", help="re-plan every case every tick")
    parser.add_argument("--unanswered", action="store_true", help="cases nobody acknowledged")
    args = parser.parse_args()
    for count in args.cases:
        asyncio.run(run(count, args.ticks, args.full, args.unanswered))


if __name__ == "__main__":
    main()
