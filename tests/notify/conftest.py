"""Fixtures of the notification tests: real SMTP and HTTP receivers on loopback, and the
store's two-backend fixtures (SQLite, PostgreSQL) shared with tests/store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from monitor.demo.targets.certs import CertFactory, CertKind
from tests.notify.support import Receiver, SmtpSink
from tests.store.conftest import backend, pg_available, store

__all__ = ["backend", "pg_available", "store"]


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def certs(tmp_path: Path) -> tuple[str, str]:
    """(server certificate + key PEM, CA file) for 127.0.0.1, made now with `cryptography`."""
    factory = CertFactory(tmp_path)
    return factory.issue(CertKind.VALID), factory.ca_file


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        await r.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s
