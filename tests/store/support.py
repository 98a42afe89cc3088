"""Shared values of the store's contract tests (the fixtures live in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.store import Attempt, Store, Transaction
from monitor.store.queries.outbox import Settlement

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Backend:
    """Where a contract test's database lives; `store()` builds another client of it."""

    name: str
    url: str
    schema: str | None = None
    path: Path | None = None

    def store(self, **options: Any) -> Store:
        if self.schema is not None:
            options.setdefault("schema", self.schema)
        return Store(self.url, **options)

    def subprocess_args(self) -> list[str]:
        """`url [schema]` for helper scripts run in another process."""
        return [self.url, *([self.schema] if self.schema else [])]


async def settle(
    tx: Transaction, owner: str, attempt: Attempt, retry_at: datetime | None = None
) -> bool:
    """Settle one attempt as the dispatcher does (`settle_many`); False if `owner` had
    lost the row's lease."""
    return not await tx.outbox.settle_many(owner, [Settlement(attempt, retry_at)])
