"""Real local receivers and a `vakt run` subprocess for the end-to-end tests.

- `SmtpInbox`: an aiosmtpd server on 127.0.0.1 (in the test's event loop) that keeps
  every message it is given, duplicates included;
- `HookInbox`: an aiohttp webhook receiver on 127.0.0.1 that keeps every request;
- `Daemon`: one `vakt run` subprocess with its log in a file;
- `until`: a bounded poll that fails with the daemon's log.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.ports import free_port as free_port  # re-exported for the e2e tests

WAIT = 60.0  # seconds: the longest any one step may take (generous: CI may be busy)


@dataclass(frozen=True, slots=True)
class Mail:
    to: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def header(self, name: str) -> str:
        return str(self.message.get(name, ""))

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        if not isinstance(part, EmailMessage):
            return ""
        content = part.get_content()
        return content if isinstance(content, str) else ""


class _Keep:
    def __init__(self, mails: list[Mail]) -> None:
        self.mails = mails

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(Mail(tuple(envelope.rcpt_tos), message))
        return "250 OK"


class SmtpInbox:
    """An SMTP server on 127.0.0.1:`port` that keeps every message (no dedupe)."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> SmtpInbox:
        loop = asyncio.get_running_loop()
        handler = _Keep(self.mails)
        self._server = await loop.create_server(
            lambda: SMTP(handler, hostname="e2e.local", enable_SMTPUTF8=True),
            "127.0.0.1",
            0,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.to]


@dataclass(frozen=True, slots=True)
class Hook:
    headers: dict[str, str]
    body: dict[str, Any]


class HookInbox:
    """A webhook receiver on 127.0.0.1 that answers 200 and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[Hook] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _receive(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"{}")
        self.requests.append(Hook(dict(request.headers), body))
        return web.Response(text="ok")

    async def __aenter__(self) -> HookInbox:
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        for address in self._runner.addresses:
            self.port = int(address[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


class Daemon:
    """One `vakt run` subprocess, its log in a file."""

    def __init__(
        self, config: Path, log: Path, *, drain: float = 3.0, args: Sequence[str] = ()
    ) -> None:
        self.config, self.log, self.drain = config, log, drain
        self.args = tuple(args)  # more `vakt run` options (`--location oslo`)
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "monitor",
                "run",
                "-c",
                str(self.config),
                "--drain",
                str(self.drain),
                *self.args,
                stdout=out,
                stderr=out,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    async def stop(self, sig: signal.Signals) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        async with asyncio.timeout(WAIT):
            return await self.proc.wait()

    async def cli(self, *args: str) -> tuple[int, str]:
        """Run `vakt ARGS -c CONFIG`; returns the exit code and the output."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "monitor",
            *args,
            "-c",
            str(self.config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(WAIT):
            out, _ = await proc.communicate()
        return int(proc.returncode or 0), out.decode()

    async def __aenter__(self) -> Daemon:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


async def until(
    what: str,
    probe: Callable[[], Awaitable[bool] | bool],
    log: Path,
    wait: float = WAIT,
    *,
    poll: float = 0.2,
) -> None:
    """Poll `probe` every `poll` seconds until it holds, at most `wait` seconds; fail with
    the daemon's log."""
    try:
        async with asyncio.timeout(wait):
            while True:
                outcome = probe()
                if not isinstance(outcome, bool):
                    outcome = await outcome
                if outcome:
                    return
                await asyncio.sleep(poll)
    except TimeoutError:
        text = await asyncio.to_thread(_tail, log)
        raise AssertionError(f"timed out waiting for {what}; daemon log:\n{text[-4000:]}") from None
