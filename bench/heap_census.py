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

import ctypes
import gc
import json
import os
import signal
import sys
import tempfile
import tracemalloc
from collections import Counter
from types import FrameType


def census() -> dict[str, tuple[int, int]]:
    """Type name -> (instances, bytes) of what is alive now; and "type < holder" -> the
    same, where the holder is the type of the first container found referring to it.
    The daemon froze what it built at start (`gc.freeze()`: the config, the engine's
    maps); unfrozen here, else the collector would not list it."""
    gc.unfreeze()
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
    found = {name: (counts[name], sizes[name]) for name in counts}
    held = [o for o in tracked if type(o) is dict and holder.get(id(o)) == "dict"]
    common = Counter(map(sys.getsizeof, held)).most_common(1)
    samples = [o for o in held if common and sys.getsizeof(o) == common[0][0]]
    found[f"sample size {common}"] = (0, 0)
    for sample in samples[:: max(1, len(samples) // 4)]:  # what the commonest such dict holds
        keys = ",".join(f"{k!r}:{type(v).__name__}" for k, v in list(sample.items())[:6])
        found[f"sample dict < dict: {keys[:160]}"] = (0, 0)
    return found


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


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd",
            "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def allocators() -> dict[str, tuple[int, int]]:
    """What the two allocators hold: glibc malloc (`mallinfo2`: bytes in use, free in its
    arenas, in large mmapped blocks) and CPython's object allocator (`_debugmallocstats`:
    arenas, bytes in allocated and in free blocks). As "allocator:what" -> (0, bytes)."""
    found: dict[str, tuple[int, int]] = {}
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
        found["malloc:in use"] = (0, info.uordblks)
        found["malloc:free in arenas"] = (0, info.fordblks)
        found["malloc:mmapped blocks"] = (0, info.hblkhd)
        found["malloc:rss before trim"] = (0, _rss())
        libc.malloc_trim(0)  # what giving the free pages back would save
        found["malloc:rss after trim"] = (0, _rss())
    except (OSError, AttributeError):
        pass
    with tempfile.TemporaryFile("w+") as text:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(text.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        text.seek(0)
        for line in text:
            if line.startswith("#") and "=" in line:
                what, _, value = line[1:].partition("=")
                found[f"pymalloc:{what.strip()}"] = (0, int(value.strip().replace(",", "")))
    return found


def main() -> None:
    out = sys.argv[1]

    def dump(signum: int, frame: FrameType | None) -> None:
        # The allocators first: the census's own lists, dicts and sets of every object
        # (tens of MB at 20,000 checks) are freed into both allocators' free space.
        found = allocators()
        found.update(traced() if tracemalloc.is_tracing() else census())
        with open(f"{out}.part", "w") as fh:
            json.dump(found, fh)
        os.replace(f"{out}.part", out)  # whole or not at all, for the reader

    def trim(signum: int, frame: FrameType | None) -> None:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # SIGUSR1: only give free pages back

    signal.signal(signal.SIGUSR2, dump)
    signal.signal(signal.SIGUSR1, trim)
    sys.argv = ["vakt", *sys.argv[2:]]
    from monitor.cli import main as vakt

    sys.exit(vakt())


if __name__ == "__main__":
    main()
