"""The support mailbox's settings take effect on a SIGHUP reload (issue 22), against a
real IMAP server (dovecot on loopback) and the daemon in process: a changed user, folder
and poll interval are read from the next poll on; a mailbox added by a reload is read; a
bad change is refused like any reload and the old settings go on being read."""

from __future__ import annotations

import asyncio
import imaplib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.app import EXIT_OK, serve
from tests.app.test_reload import OPTIONS, WAIT, Records, no_sentry, records, until
from tests.intake import dovecot
from tests.intake.test_mailbox import AUTH_PASS, _mail
from tests.ports import free_port

__all__ = ["no_sentry", "records"]

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "sqlite:///{db}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: inproc
  email:
    from: Vakt <vakt@agency.example>
    support: Support <support@agency.example>
    team: ops@agency.example
{imap}
customers:
  acme:
    name: ACME AS
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites:
      shop:
        url: http://127.0.0.1:{private}/
        checks:
          home: {{path: /healthz}}
"""


def _imap(
    port: int, user: str, *, folder: str = "INBOX", poll: str = "1s", tls: str = "tls: false"
) -> str:
    return (
        f"    imap: {{host: 127.0.0.1, port: {port}, {tls}, username: {user},"
        f" password: {dovecot.PASSWORD}, folder: {folder}, poll: {poll}, timeout: 10s}}"
    )


@pytest.fixture(scope="module")
def imap() -> Iterator[dovecot.Dovecot]:
    yield from dovecot.start()


def _done(server: dovecot.Dovecot, user: str, folder: str = "INBOX") -> int:
    """How many messages in the folder Vakt has handled (keyword `$VaktDone`)."""
    return sum(b"$VaktDone" in flags for flags in server.keywords(user, folder))


def _create(server: dovecot.Dovecot, user: str, folder: str) -> None:
    with imaplib.IMAP4("127.0.0.1", server.port, timeout=10) as conn:
        conn.login(user, dovecot.PASSWORD)
        conn.create(folder)


async def _handled(server: dovecot.Dovecot, user: str, count: int, folder: str = "INBOX") -> None:
    while True:  # bounded by the caller's timeout
        if await asyncio.to_thread(_done, server, user, folder) >= count:
            return
        await asyncio.sleep(0.2)


def _message(n: int) -> bytes:
    return _mail(ident=f"<reload{n}@acme.example>", Authentication_Results=AUTH_PASS)


async def test_a_reload_moves_the_poller_to_a_new_user_folder_and_interval(
    tmp_path: Path, imap: dovecot.Dovecot, records: Records
) -> None:
    old, new = dovecot.USERS[30], dovecot.USERS[31]
    config = tmp_path / "checks.yaml"
    values = {"db": tmp_path / "vakt.db", "private": free_port(), "public": free_port()}
    config.write_text(CONFIG.format(**values, imap=_imap(imap.port, old, poll="1h")))
    await asyncio.to_thread(imap.append, old, _message(1))
    await asyncio.to_thread(_create, imap, new, "Support")
    ready, stop = asyncio.Event(), asyncio.Event()
    daemon = asyncio.create_task(serve(config, options=OPTIONS, ready=ready, stop=stop))
    async with asyncio.timeout(WAIT):
        await ready.wait()
        await _handled(imap, old, 1)  # the first poll, with the settings of the start
        await asyncio.to_thread(imap.append, new, _message(2), "Support")
        text = CONFIG.format(**values, imap=_imap(imap.port, new, folder="Support", poll="1s"))
        config.write_text(text)
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: records.events("config.reloaded"))
        await _handled(imap, new, 1, "Support")  # long before the old hour is over
        assert not records.events("config.needs_restart")
        stop.set()
        assert await daemon == EXIT_OK


async def test_a_mailbox_added_by_a_reload_is_read_and_a_bad_change_is_refused(
    tmp_path: Path, imap: dovecot.Dovecot, records: Records
) -> None:
    user = dovecot.USERS[32]
    config = tmp_path / "checks.yaml"
    values = {"db": tmp_path / "vakt.db", "private": free_port(), "public": free_port()}
    config.write_text(CONFIG.format(**values, imap=""))
    await asyncio.to_thread(imap.append, user, _message(3))
    ready, stop = asyncio.Event(), asyncio.Event()
    daemon = asyncio.create_task(serve(config, options=OPTIONS, ready=ready, stop=stop))
    async with asyncio.timeout(WAIT):
        await ready.wait()
        config.write_text(CONFIG.format(**values, imap=_imap(imap.port, user)))
        os.kill(os.getpid(), signal.SIGHUP)
        await _handled(imap, user, 1)
        bad = _imap(imap.port, dovecot.USERS[33], tls="tls: true, starttls: true")
        config.write_text(CONFIG.format(**values, imap=bad))
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: records.events("config.reload_failed"))
        [failed] = records.events("config.reload_failed")
        assert "imap" in str(failed.__dict__.get("errors"))
        await asyncio.to_thread(imap.append, user, _message(4))
        await _handled(imap, user, 2)  # the old mailbox is still read
        assert not daemon.done()
        stop.set()
        assert await daemon == EXIT_OK
