"""`vakt run` and the SIGHUP reload check the email templates: a broken template stops
the start (the config exit code, naming the template's file and line) and a reload
with a broken one keeps the old config running (`config.reload_failed`)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.app import EXIT_CONFIG, EXIT_OK, Options, serve
from monitor.demo.targets import HostileFleet
from tests.ports import free_port

WAIT = 30.0  # seconds any one step may take (generous: CI may be busy)
OPTIONS = Options(drain=5.0, tick_every=0.5, planner_every=0.5, gauges_every=0.5)

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "sqlite:///{db}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: inproc
  email: {{templates: "{templates}"}}
  defaults: {{interval: 1s, retry_interval: 500ms, timeout: 2s, confirm: 2, recover: 2}}
customers:
  acme:
    name: ACME AS
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: {shop}
        checks:
          home: {{path: /}}
{extra}"""
EXTRA = "          about: {path: /about}\n"
GOOD = "Level {{ p.level }}: {{ p.site }}\n{% if p.note %}\n{{ p.note }}\n{% endif %}\n"
BROKEN = GOOD.replace("{{ p.note }}", "{{ p.nte }}")  # line 3, only a page with a note


@pytest.fixture(autouse=True)
def no_sentry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENTRY_DSN", raising=False)  # never report from tests


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[HostileFleet]:
    async with HostileFleet(tmp_path) as running:
        yield running


class Files:
    """The config file and its template directory, rewritten by the test."""

    def __init__(self, tmp_path: Path, fleet: HostileFleet) -> None:
        self.templates = tmp_path / "templates"
        self.templates.mkdir()
        self.config = tmp_path / "checks.yaml"
        self.db = tmp_path / "vakt.db"
        self.private = free_port()
        self.values = {
            "db": self.db,
            "private": self.private,
            "public": free_port(),
            "templates": self.templates,
            "shop": fleet.url("/sites/shop/"),
        }

    def write(self, page: str, *, extra: str = "") -> None:
        (self.templates / "page.txt").write_text(page)
        self.config.write_text(CONFIG.format(**self.values, extra=extra))


async def test_vakt_run_refuses_a_broken_template_naming_its_file_and_line(
    tmp_path: Path, fleet: HostileFleet, capsys: pytest.CaptureFixture[str]
) -> None:
    files = Files(tmp_path, fleet)
    files.write(BROKEN)
    async with asyncio.timeout(WAIT):
        code = await serve(files.config, options=replace(OPTIONS, signals=False))
    assert code == EXIT_CONFIG
    err = capsys.readouterr().err
    assert f"{files.templates / 'page.txt'}:3: settings.email.templates: " in err
    assert "Traceback" not in err
    assert not files.db.exists()  # refused before the store was opened


async def test_a_reload_with_a_broken_template_keeps_the_old_config_running(
    tmp_path: Path, fleet: HostileFleet
) -> None:
    files = Files(tmp_path, fleet)
    files.write(GOOD)
    ready, stop = asyncio.Event(), asyncio.Event()
    daemon = asyncio.create_task(serve(files.config, options=OPTIONS, ready=ready, stop=stop))
    async with aiohttp.ClientSession() as http, asyncio.timeout(WAIT):
        await ready.wait()

        async def metrics() -> dict[str, float]:
            async with http.get(f"http://127.0.0.1:{files.private}/metrics") as response:
                text = await response.text()
            families = text_string_to_metric_families(text)
            return {s.name: s.value for f in families for s in f.samples if not s.labels}

        async def reloaded(success: float, checks: float) -> None:
            os.kill(os.getpid(), signal.SIGHUP)
            while True:  # bounded by the test's timeout
                m = await metrics()
                if (m.get("vakt_config_reload_success"), m.get("vakt_checks")) == (success, checks):
                    return
                await asyncio.sleep(0.05)

        assert (await metrics())["vakt_checks"] == 1
        files.write(BROKEN, extra=EXTRA)  # a new check, and a template that fails
        await reloaded(success=0, checks=1)  # refused: still the one check
        files.write(GOOD, extra=EXTRA)
        await reloaded(success=1, checks=2)
        stop.set()
        assert await daemon == EXIT_OK
