"""Fencing of leader transactions (PostgreSQL high availability).

A transaction opened with `Store.transaction(fence=...)` first checks, inside itself,
that `fence.holder` still holds the leader lease under `fence.term` (and keeps the lease
row locked FOR SHARE until it commits); otherwise it raises `Fenced` and writes nothing.
The incident events and outbox rows it writes carry the term, so a reader can tell
which leader wrote them. `monitor.cluster` implements `Fence`; SQLite runs unfenced.
"""

from __future__ import annotations

from typing import Protocol

from monitor.store.errors import StoreError

TERM_OPTION = "vakt_term"  # the fenced transaction's term, an execution option


class Fence(Protocol):
    """Who this process is and the term it leads under (None: it does not lead)."""

    @property
    def holder(self) -> str: ...

    @property
    def term(self) -> int | None: ...


class Fenced(StoreError):
    """A leader transaction found that this process no longer holds the lease: it
    wrote nothing (the process must step down)."""
