"""Per-row cost of the engine's write pattern on SQLite: not a test (no timing assertions).

    .venv/bin/python tests/store/measure_batch.py [ROWS] [BATCHES]

Each batch is one transaction, as the engine commits it: ROWS results pushed into the
recent ring, folded into 5-minute aggregates, ROWS check states saved, and a tenth of the
results stored as failures with evidence.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.model import CheckState, ErrorCode, ProbeResult, Timings, Verdict
from monitor.store import CheckStatus, Evidence, Store, fold

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def batch(number: int, rows: int) -> list[ProbeResult]:
    at = T0 + timedelta(seconds=number)
    return [
        ProbeResult(
            check_id=f"customer-{i % 100}/site-{i % 10}/check-{i}",
            verdict=Verdict.FAILED if i % 10 == 0 else Verdict.OK,
            started_at=at,
            timings=Timings(dns=0.001, connect=0.01, total=0.05 + (i % 7) / 10),
            location="oslo",
            error=ErrorCode.TIMEOUT if i % 10 == 0 else None,
            status_code=200,
        )
        for i in range(rows)
    ]


STEPS = ("ring", "aggregates", "check states", "evidence (1 in 10)", "commit")


async def write(store: Store, results: list[ProbeResult], spent: dict[str, float]) -> None:
    now = results[0].started_at
    states = [CheckStatus(r.check_id, r.location, CheckState.OK, now, now) for r in results]
    failures = [Evidence(r, "timeout") for r in results if r.verdict is Verdict.FAILED]
    marks = [time.perf_counter()]
    async with store.transaction() as tx:
        await tx.results.push_recent(results)
        marks.append(time.perf_counter())
        await tx.results.add_aggregates(fold(results))
        marks.append(time.perf_counter())
        await tx.checks.save(states)
        marks.append(time.perf_counter())
        await tx.results.add_evidence(failures)
        marks.append(time.perf_counter())
    marks.append(time.perf_counter())
    for step, start, end in zip(STEPS, marks[:-1], marks[1:], strict=True):
        spent[step] = spent.get(step, 0.0) + end - start


async def main(rows: int, batches: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with Store(f"sqlite:///{Path(tmp) / 'vakt.db'}") as store:
            await store.upgrade()
            await write(store, batch(0, rows), {})  # warm up: first rows of every ring
            spent: dict[str, float] = {}
            for number in range(1, batches + 1):
                await write(store, batch(number, rows), spent)
    print(f"SQLite, {batches} transactions of {rows} results each:")
    for step in (*STEPS, "total"):
        seconds = sum(spent.values()) if step == "total" else spent[step]
        print(f"  {step:<20} {seconds / (rows * batches) * 1e6:7.1f} us per result")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(args + [1000, 20][len(args) :])))
