"""Run `vakt` with a heap census on SIGUSR2: what the daemon's Python objects are, by type.

    python bench/heap_census.py OUT.json run -c checks.yaml    # as `python -m monitor run ...`
    kill -USR2 PID                                             # writes OUT.json

`probe_capacity.py --vakt-run --heap OUT.json` launches the daemon through this and sends
the signal at the end of its window (the census itself takes a few seconds and allocates:
read the RSS before it). The census walks every object the cyclic collector tracks and the
untracked objects they refer to directly (strings, numbers, datetimes), each once, and
sums `sys.getsizeof` per type; a type's share of the heap is what its instances take
themselves, not what they hold. Not part of Vakt: nothing in `monitor/` knows of it.
"""

from __future__ import annotations

import gc
import json
import signal
import sys
import tracemalloc
from collections import Counter
from types import FrameType


def census() -> dict[str, tuple[int, int]]:
    """Type name -> (instances, bytes) of what is alive now; and "type < holder" -> the
    same, where the holder is the type of the first container found referring to it."""
    gc.collect()
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    seen: set[int] = set()
    tracked = gc.get_objects()
    holder: dict[int, str] = {}
    for obj in tracked:
        parent = type(obj).__qualname__
        for ref in gc.get_referents(obj):
            holder.setdefault(id(ref), parent)
    for obj in tracked:
        seen.add(id(obj))
        _count(obj, holder, counts, sizes)
    for obj in tracked:
        for ref in gc.get_referents(obj):
            if gc.is_tracked(ref) or id(ref) in seen:
                continue
            seen.add(id(ref))
            _count(ref, holder, counts, sizes)
    return {name: (counts[name], sizes[name]) for name in counts}


def _count(obj: object, holder: dict[int, str], counts: Counter[str], sizes: Counter[str]) -> None:
    name, size = type(obj).__qualname__, sys.getsizeof(obj)
    held = f"{name} < {holder.get(id(obj), '-')}"
    for key in (name, held):
        counts[key] += 1
        sizes[key] += size


def traced() -> dict[str, tuple[int, int]]:
    """With PYTHONTRACEMALLOC=N (N frames): what is alive now by the source line in Vakt
    that allocated it (the innermost frame under monitor/, else the innermost frame), as
    "line" -> (blocks, bytes); and the total under "traced"."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for trace in snapshot.traces:
        frames = trace.traceback
        ours = next((f for f in frames if "/monitor/" in f.filename), frames[0])
        folder, name = ours.filename.rsplit("/", 2)[-2:]
        where = f"{folder}/{name}:{ours.lineno}"
        counts[where] += 1
        sizes[where] += trace.size
        counts["traced"] += 1
        sizes["traced"] += trace.size
    return {name: (counts[name], sizes[name]) for name in counts}


def main() -> None:
    out = sys.argv[1]

    def dump(signum: int, frame: FrameType | None) -> None:
        found = traced() if tracemalloc.is_tracing() else census()
        with open(out, "w") as fh:
            json.dump(found, fh)

    signal.signal(signal.SIGUSR2, dump)
    sys.argv = ["vakt", *sys.argv[2:]]
    from monitor.cli import main as vakt

    sys.exit(vakt())


if __name__ == "__main__":
    main()
