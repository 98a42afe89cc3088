"""Mass-outage fan-out: 10,000 customer emails through the outbox to a local SMTP server.

    .venv/bin/python bench/fanout.py [--emails 10000] [--store sqlite|URL] [--connections 16]
    .venv/bin/python bench/fanout.py --channel null      # the store's share alone

Inserts the notifications in one transaction (as the engine would), then runs one
dispatcher until every row is settled. The SMTP server (aiosmtpd on 127.0.0.1) runs in
its own process pinned to CPU 1, as a real relay would be, so it does not share Vakt's
interpreter lock; Vakt runs on CPU 0. The server keeps every Message-ID (no dedupe).
Prints the time to deliver all of them, the number of duplicate Message-IDs, Vakt's CPU
per email, and the dispatcher's settle transactions. `--channel null` sends nothing
(renders the message and returns) to isolate the outbox's claim/settle cost.
Goal: <= 60 s, 0 duplicates. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

from monitor.clock import SystemClock
from monitor.config.records import (
    Channel,
    ChannelType,
    EmailSettings,
    Language,
    Mailbox,
    SmtpSettings,
)
from monitor.model import Level
from monitor.notify.channels import ChannelContext
from monitor.notify.channels.email import EmailChannel
from monitor.notify.dispatcher import Dispatcher
from monitor.notify.message import MessageKind, Outgoing, Payload
from monitor.store import Notification, OutboxKey, OutboxStatus, Store, Transaction

VAKT_CPU, SINK_CPU = 0, 1


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


class Sink:
    """aiosmtpd handler: keeps the Message-ID of every message received."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or b""
        for line in content.split(b"\r\n", 40):
            if line.lower().startswith(b"message-id:"):
                self.message_ids.append(line.split(b":", 1)[1].strip().decode())
                break
        return "250 OK"


def _serve_smtp(port: int, control: Connection) -> None:
    """The SMTP server process: serve until asked, then send back the Message-IDs."""
    from aiosmtpd.controller import Controller

    _pin(SINK_CPU)
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    control.send("ready")
    control.recv()  # "stop"
    controller.stop()
    control.send(sink.message_ids)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def notifications(count: int, now: datetime) -> list[Notification]:
    languages = list(Language)
    out = []
    for n in range(count):
        payload = Payload(
            kind=MessageKind.CUSTOMER_OPENED,
            case=f"VAKT-2026-{n:06d}",
            site=f"site{n}.customer{n % 500}.example",
            level=Level.A,
            since=now - timedelta(minutes=5),
            to=Mailbox(f"contact{n}@customer{n % 500}.example"),
            to_name=f"Contact {n}",
            language=languages[n % 3],
            timezone="Europe/Oslo",
            next_update_at=now + timedelta(minutes=30),
        )
        key = OutboxKey(
            payload.case or "",
            "customer_opened",
            "0",
            payload.to.address if payload.to else "",
            "email",
        )
        out.append(Notification(key, now, now, payload.to_json()))
    return out


class NullChannel:
    """Accepts every message and sends nothing (the dispatcher still renders it)."""

    name = "email"

    async def send(self, message: Outgoing) -> None:
        return None

    async def close(self) -> None:
        return None


class MeteredStore(Store):
    """A `Store` that counts its write transactions and the time spent in them (commit
    included): the dispatcher's claims and settles."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.transactions = 0
        self.seconds = 0.0

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[Transaction]:
        started = time.perf_counter()
        async with super().transaction(read_only=read_only) as tx:
            yield tx
        if not read_only:
            self.transactions += 1
            self.seconds += time.perf_counter() - started


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class SmtpServer:
    """The sink process: `start()`, then `stop()` returns every Message-ID received."""

    def __init__(self) -> None:
        self.port = free_port()
        self._control, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(
            target=_serve_smtp, args=(self.port, child), daemon=True
        )

    def start(self) -> None:
        self._process.start()
        if not self._control.poll(30):
            raise RuntimeError("the SMTP server did not start")
        self._control.recv()

    def stop(self) -> list[str]:
        self._control.send("stop")
        ids: list[str] = self._control.recv() if self._control.poll(60) else []
        self._process.join(10)
        return ids


async def deliver(args: argparse.Namespace, url: str, port: int) -> dict[str, float]:
    """Insert the notifications, dispatch until none is due; the figures of the run."""
    clock = SystemClock()
    store = MeteredStore(url)
    async with store, aiohttp.ClientSession() as session:
        await store.upgrade()
        async with store.transaction() as tx:
            await tx.outbox.add(notifications(args.emails, clock.now()))
        store.transactions, store.seconds = 0, 0.0
        email = EmailSettings(
            sender=Mailbox("support@agency.example", "Agency Support"), smtp=SmtpSettings(port=port)
        )
        ctx = ChannelContext(session=session, clock=clock, email=email)
        config = Channel("email", ChannelType.EMAIL)
        channel: EmailChannel | NullChannel = (
            NullChannel()
            if args.channel == "null"
            else EmailChannel(config, ctx, max_connections=args.connections)
        )
        dispatcher = Dispatcher(
            store, {"email": channel}, clock, "bench", concurrency=args.concurrency,
            batch=args.batch,
        )  # fmt: skip
        cpu0, started = _cpu_seconds(), time.perf_counter()
        while await dispatcher.run_once():
            pass
        elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu0
        await channel.close()
        async with store.transaction(read_only=True) as tx:
            sent = len(await tx.outbox.find(status=OutboxStatus.SENT, limit=args.emails * 2))
    return {
        "elapsed": elapsed,
        "cpu": cpu,
        "sent": sent,
        "transactions": store.transactions,
        "store_seconds": store.seconds,
    }


async def run(args: argparse.Namespace) -> int:
    server = SmtpServer()
    server.start()
    _pin(VAKT_CPU)
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{Path(tmp.name) / 'fanout.db'}" if args.store == "sqlite" else args.store
    try:
        figures = await deliver(args, url, server.port)
    finally:
        message_ids = server.stop()
        tmp.cleanup()
    return report(args, figures, message_ids)


def report(args: argparse.Namespace, figures: dict[str, float], message_ids: list[str]) -> int:
    elapsed, sent = figures["elapsed"], int(figures["sent"])
    received = sent if args.channel == "null" else len(message_ids)
    duplicates = len(message_ids) - len(set(message_ids))
    print(f"load average    {Path('/proc/loadavg').read_text().strip()}")
    print(f"emails          {args.emails}  store: {args.store}  channel: {args.channel}")
    print(f"                connections {args.connections}  concurrency {args.concurrency}")
    print(f"                batch {args.batch}")
    print(f"delivered       {received} received, {sent} marked sent, in {elapsed:.1f} s")
    print(f"throughput      {received / elapsed:.0f} emails/s")
    print(f"Vakt CPU        {figures['cpu'] * 1000 / max(sent, 1):.2f} ms per email")
    store_ms = figures["store_seconds"] * 1000
    print(
        f"store           {figures['transactions']:.0f} claim/settle transactions, "
        f"{store_ms / max(sent, 1):.3f} ms wall per email inside them"
    )
    print(f"duplicates      {duplicates}")
    ok = received == args.emails and duplicates == 0 and elapsed <= 60
    print("goal (<= 60 s, 0 duplicates):", "met" if ok else "NOT met")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--store", default="sqlite", help="sqlite (a temp file) or a URL")
    parser.add_argument("--connections", type=int, default=16, help="SMTP connections")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--channel", choices=("smtp", "null"), default="smtp")
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
