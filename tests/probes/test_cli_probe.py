"""`vakt probe URL` against a local server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.demo.targets import HostileFleet


@pytest.fixture
def running_fleet(tmp_path: Path) -> Iterator[HostileFleet]:
    """The fleet on its own loop in a thread: `vakt probe` runs its own event loop."""
    loop = asyncio.new_event_loop()
    fleet = HostileFleet(tmp_path)
    started = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        async with fleet:
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    assert started.wait(10)
    yield fleet
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


def test_probe_url_prints_a_table_and_exits_0_when_ok(
    running_fleet: HostileFleet, capsys: pytest.CaptureFixture[str]
) -> None:
    url = running_fleet.tls_url(path="/")
    code = main(["probe", url, "--ca-file", running_fleet.ca_file])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "verdict      OK" in out
    assert "status       200" in out
    assert "certificate  valid until" in out
    assert "first byte" in out
    assert " ms" in out


def test_probe_url_exits_1_with_the_reason_when_failed(
    running_fleet: HostileFleet, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["probe", running_fleet.url("/status/500")])
    out = capsys.readouterr().out
    assert code == 1
    assert "verdict      FAILED" in out
    assert "expected status 200-399, got 500" in out


def test_probe_unknown_check_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["probe", "acme/shop/home", "-c", str(tmp_path / "missing.yaml")]) == 2
