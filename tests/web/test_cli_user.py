"""`vakt user set-password PERSON`: stores a scrypt hash that signs the person in."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.store import Store
from monitor.web.auth import PasswordHasher
from tests.web.support import CONFIG


def config_file(tmp_path: Path) -> Path:
    db = tmp_path / "vakt.db"
    text = CONFIG.replace("  location: oslo\n", f"  location: oslo\n  store: sqlite:///{db}\n")
    path = tmp_path / "checks.yaml"
    path.write_text(text)
    return path


async def stored_hash(tmp_path: Path) -> str | None:
    async with Store(f"sqlite:///{tmp_path / 'vakt.db'}") as store, store.transaction() as tx:
        return await tx.web.password_hash("alice")


def test_set_password_from_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    code = main(["user", "set-password", "alice", "--stdin", "-c", str(config_file(tmp_path))])
    assert code == 0
    stored = asyncio.run(stored_hash(tmp_path))
    assert stored is not None
    assert stored.startswith("scrypt$15$8$1$")
    assert PasswordHasher().verify("a long enough password", stored)


def test_a_short_password_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code = main(["user", "set-password", "alice", "--stdin", "-c", str(config_file(tmp_path))])
    assert code == 1
    assert "at least 10 characters" in capsys.readouterr().err


def test_an_unknown_person_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["user", "set-password", "mallory", "--stdin", "-c", str(config_file(tmp_path))])
    assert code == 1
    assert "unknown person 'mallory'" in capsys.readouterr().err


def test_the_two_typed_passwords_must_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["first password 123", "second password 123"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code = main(["user", "set-password", "alice", "-c", str(config_file(tmp_path))])
    assert code == 1
    assert "differ" in capsys.readouterr().err
