"""`vakt db upgrade` and `vakt db status`, through the real command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.store import Store
from monitor.store.migrate import head_revision

CONFIG = """\
vakt: 1
settings:
  timezone: Europe/Oslo
  store: sqlite:///{database}
customers:
  acme:
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: https://shop.acme.example
        checks:
          home: {{path: /}}
"""


def revision(url: str) -> str | None:
    async def read() -> str | None:
        async with Store(url) as store:
            return await store.revision()

    return asyncio.run(read())


def test_upgrade_with_a_store_url_then_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'vakt.db'}"
    assert main(["db", "status", "--store", url]) == 1
    assert str(tmp_path / "vakt.db") in capsys.readouterr().err  # named, not created
    assert not (tmp_path / "vakt.db").exists()
    assert main(["db", "upgrade", "--store", url]) == 0
    assert f"upgraded schema (empty) -> {head_revision()}" in capsys.readouterr().out
    assert main(["db", "upgrade", "--store", url]) == 0
    assert f"already at schema {head_revision()}" in capsys.readouterr().out
    assert main(["db", "status", "--store", url]) == 0


def test_upgrade_uses_the_configured_store_unless_overridden(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configured, other = tmp_path / "configured.db", tmp_path / "other.db"
    config = tmp_path / "checks.yaml"
    config.write_text(CONFIG.format(database=configured))
    assert main(["db", "upgrade", "-c", str(config)]) == 0
    assert main(["db", "upgrade", "-c", str(config), "--store", f"sqlite:///{other}"]) == 0
    assert revision(f"sqlite:///{configured}") == head_revision()
    assert revision(f"sqlite:///{other}") == head_revision()
    assert str(other) in capsys.readouterr().out


def test_unreachable_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none"
    assert main(["db", "upgrade", "--store", url]) == 1
    assert capsys.readouterr().err.startswith("vakt db upgrade: postgresql+asyncpg://nobody@")


def test_a_bad_config_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "checks.yaml"
    config.write_text("vakt: 1\nsettings: {store: 'mysql://db/vakt'}\n")
    assert main(["db", "upgrade", "-c", str(config)]) == 2
    assert "settings.store" in capsys.readouterr().err
