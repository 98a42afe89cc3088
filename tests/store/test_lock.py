"""The daemon lock: a second `vakt run` on the same SQLite database is refused, clearly."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.store import DaemonLock, NoLock, Store, StoreLocked

_HOLDER = """
import sys, time
from monitor.store import Store
with Store(sys.argv[1]).lock_for_daemon():
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_a_second_lock_names_the_database_and_the_holder(tmp_path: Path) -> None:
    database = tmp_path / "vakt.db"
    store = Store(f"sqlite:///{database}")
    second = Store(f"sqlite:///{database}").lock_for_daemon()
    with store.lock_for_daemon(), pytest.raises(StoreLocked) as refused:
        second.acquire()
    assert not second.held
    assert refused.value.pid == os.getpid()
    message = str(refused.value)
    assert str(database) in message
    assert f"process {os.getpid()}" in message
    with store.lock_for_daemon() as again:  # released: free to take again
        assert isinstance(again, DaemonLock)
        assert again.held


async def test_a_daemon_in_another_process_holds_the_lock_until_it_exits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vakt.db'}"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLDER, url,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert holder.stdout is not None
    assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"locked\n"
    with pytest.raises(StoreLocked, match=f"process {holder.pid}"):
        Store(url).lock_for_daemon().acquire()
    await asyncio.wait_for(holder.communicate(b""), 30)
    with Store(url).lock_for_daemon() as lock:
        assert lock.held


async def test_cli_writes_beside_a_locked_daemon(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vakt.db'}"
    async with Store(url) as daemon:
        await daemon.upgrade()
        with daemon.lock_for_daemon():
            async with Store(url) as cli, cli.transaction() as tx:
                assert await tx.incidents.next_case_number("VAKT", 2026) == "VAKT-2026-000001"


def test_postgresql_daemons_share_a_database() -> None:
    assert isinstance(Store("postgresql://vakt@db/vakt").lock_for_daemon(), NoLock)
