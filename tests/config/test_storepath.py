"""A relative SQLite `settings.store` is relative to the config's directory (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.config.storepath import anchored_store, sqlite_file

MINIMAL = """\
settings: {{store: "{store}"}}
customers:
  acme:
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites: {{shop: {{url: https://shop.acme.example, checks: {{home: {{path: /}}}}}}}}
"""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///vakt.db", "sqlite:////etc/vakt/vakt.db"),
        ("sqlite:///data/../vakt.db", "sqlite:////etc/vakt/vakt.db"),
        (
            "sqlite+aiosqlite:///vakt.db?timeout=5",
            "sqlite+aiosqlite:////etc/vakt/vakt.db?timeout=5",
        ),
        ("sqlite:////var/lib/vakt/vakt.db", "sqlite:////var/lib/vakt/vakt.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql://vakt@db/vakt", "postgresql://vakt@db/vakt"),
    ],
)
def test_only_a_relative_sqlite_path_is_anchored(url: str, expected: str) -> None:
    assert anchored_store(url, Path("/etc/vakt")) == expected


def test_sqlite_file_is_none_for_postgresql_and_memory() -> None:
    assert sqlite_file("postgresql://vakt@db/vakt") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("sqlite:///vakt.db") == Path("vakt.db")


@pytest.mark.parametrize("as_directory", [False, True], ids=["file", "directory"])
def test_a_loaded_config_anchors_its_store_at_its_own_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_directory: bool
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "checks.yaml").write_text(MINIMAL.format(store="sqlite:///state/vakt.db"))
    monkeypatch.chdir(tmp_path)

    config = load_config(str(conf if as_directory else conf / "checks.yaml"))

    assert config.settings.store == f"sqlite:///{conf / 'state' / 'vakt.db'}"
    assert config.settings.store_written == "sqlite:///state/vakt.db"
