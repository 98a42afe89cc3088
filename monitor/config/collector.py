"""`collector_paused`: the cyclic garbage collector off while a config is built or
unpickled (the loader, and the daemon reading what its loading child sent back)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Loading builds millions of objects that all stay alive until it ends (YAML nodes,
    values, models, records): each of the cyclic collector's passes meanwhile scans the
    growing heap and frees nothing, and they were over half the load time of a
    100,000-check file. Paused while loading; what is garbage after it is collected at
    the next pass as usual.

    At the end everything made meanwhile (millions of young objects) is moved to the
    oldest generation in one step (freeze, then unfreeze: two list splices): else the
    first allocation after re-enabling runs a young pass over all of them, a tenth of the
    load. Cyclic garbage among them goes at the next full pass instead. Not when objects
    were frozen before (a daemon reloading: `unfreeze` would thaw them too)."""
    enabled = gc.isenabled()
    nothing_frozen = gc.get_freeze_count() == 0
    gc.disable()
    try:
        yield
    finally:
        if nothing_frozen:
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


__all__ = ["collector_paused"]
