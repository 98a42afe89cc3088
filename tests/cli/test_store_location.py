"""Issue 18 item 1: every command reads the store the config names, from any working
directory; read-only commands never create a database; `vakt run` and `vakt db upgrade`
refuse when the database is at the old working-directory path; the shipped unit and
config agree on where the database is."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.store import Store
from tests.cli.support import CONFIG, seed_incident

ROOT = Path(__file__).resolve().parents[2]
READ_ONLY = (
    ("status",),
    ("incidents", "list"),
    ("notifications", "list"),
    ("silence", "--list"),
    ("maintenance", "list"),
)


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """`conf/checks.yaml` with the relative `store: sqlite:///vakt.db`; the test runs in
    `elsewhere/`. Returns (config file, working directory)."""
    conf, elsewhere = tmp_path / "conf", tmp_path / "elsewhere"
    conf.mkdir()
    elsewhere.mkdir()
    config = conf / "checks.yaml"
    config.write_text(CONFIG.format(store="sqlite:///vakt.db"))
    monkeypatch.chdir(elsewhere)
    return config, elsewhere


def vakt(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def migrate(path: Path, *, incident: bool = False) -> None:
    import asyncio

    async def work() -> None:
        async with Store(f"sqlite:///{path}") as store:
            await store.ensure_schema()
            if incident:
                await seed_incident(store)

    asyncio.run(work())


def test_problem_1_a_relative_sqlite_store_is_relative_to_the_config_directory(
    layout: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, elsewhere = layout
    migrate(config.parent / "vakt.db", incident=True)

    code, out, err = vakt(capsys, "incidents", "list", "--json", "-c", str(config))

    assert code == 0, err
    assert [i["site"] for i in json.loads(out)] == ["acme/shop"]
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("argv", READ_ONLY, ids=" ".join)
def test_problem_1_read_only_commands_never_create_a_database(
    layout: tuple[Path, Path], capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    config, elsewhere = layout

    code, _, err = vakt(capsys, *argv, "-c", str(config))

    assert code != 0
    assert str(config.parent / "vakt.db") in err
    assert not (config.parent / "vakt.db").exists()
    assert list(elsewhere.iterdir()) == []


def test_problem_1_run_and_db_upgrade_refuse_when_the_database_is_only_at_the_old_path(
    layout: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, elsewhere = layout
    migrate(elsewhere / "vakt.db")

    for argv in (("db", "upgrade"), ("run",)):
        code, _, err = vakt(capsys, *argv, "-c", str(config))
        assert code == 2, argv
        assert str(elsewhere / "vakt.db") in err
        assert str(config.parent / "vakt.db") in err
    assert not (config.parent / "vakt.db").exists()


def test_problem_1_status_names_the_store_it_reads_in_its_header(
    layout: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = layout
    migrate(config.parent / "vakt.db")

    code, out, err = vakt(capsys, "status", "-c", str(config))

    assert code == 0, err
    assert str(config.parent / "vakt.db") in out.splitlines()[0]


def test_problem_1_the_shipped_unit_and_its_config_agree_on_the_database() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "deploy" / "vakt.service")
    service = unit["Service"]
    environment = dict(e.split("=", 1) for e in service["Environment"].split())
    assert environment["VAKT_CONFIG"] == "/etc/vakt/checks.yaml"

    shipped = load_config(str(ROOT / "deploy" / "checks.yaml"))
    written = shipped.settings.store_written
    assert written.startswith("sqlite:////"), "an absolute store: path"
    database = Path(written.removeprefix("sqlite:///"))
    assert database.parent == Path(service["WorkingDirectory"])
    assert database.parent == Path("/var/lib") / service["StateDirectory"]
