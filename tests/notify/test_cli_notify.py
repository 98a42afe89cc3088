"""`vakt notify test` and `vakt notifications list|retry`, run in-process against a real SMTP
sink, a webhook receiver and a SQLite store."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.clock import FixedClock
from monitor.config.records import EmailSettings, SmtpSettings
from monitor.notify.channels import ChannelContext, build_channels
from monitor.notify.dispatcher import Dispatcher
from monitor.store import Notification, OutboxKey, Store
from tests.notify.support import T0, Receiver, SmtpSink, free_port, page_payload


def write_config(tmp_path: Path, smtp_port: int, hook_url: str) -> Path:
    path = tmp_path / "checks.yaml"
    path.write_text(
        f"""
vakt: 1
settings:
  timezone: Europe/Oslo
  store: sqlite:///{tmp_path}/vakt.db
  email:
    from: "Support <support@agency.example>"
    team: ops@agency.example
    smtp: {{host: 127.0.0.1, port: {smtp_port}, timeout: 5s}}
people:
  alice: {{name: Alice Hansen, email: alice@agency.example}}
channels:
  ops-hook: {{type: webhook, url: "{hook_url}", secret: abc}}
customers:
  acme:
    name: ACME AS
    language: nb
    timezone: Europe/Oslo
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites:
      shop:
        url: http://127.0.0.1:9/
        checks:
          home: {{path: /}}
"""
    )
    return path


async def test_notify_test_emails_a_person_and_reports_delivery(
    tmp_path: Path, smtp: SmtpSink, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, smtp.port, receiver.url())
    assert await asyncio.to_thread(main, ["notify", "test", "alice", "-c", str(config)]) == 0
    [message] = smtp.messages
    [to] = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Alice Hansen", "alice@agency.example")
    assert "test message" in message["Subject"].lower()
    assert "delivered" in capsys.readouterr().out


async def test_notify_test_through_a_webhook_channel(
    tmp_path: Path, smtp: SmtpSink, receiver: Receiver
) -> None:
    config = write_config(tmp_path, smtp.port, receiver.url())
    assert await asyncio.to_thread(main, ["notify", "test", "ops-hook", "-c", str(config)]) == 0
    [request] = receiver.requests
    assert request.json()["kind"] == "test"
    assert request.headers["X-Vakt-Signature"].startswith("sha256=")


async def test_notify_test_exits_1_when_delivery_fails_and_2_for_an_unknown_name(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, free_port(), receiver.url())
    assert await asyncio.to_thread(main, ["notify", "test", "alice", "-c", str(config)]) == 1
    assert "FAILED" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["notify", "test", "nobody", "-c", str(config)]) == 2
    assert "no channel or person named 'nobody'" in capsys.readouterr().err


async def _failed_row(url: str, smtp: SmtpSink) -> int:
    import aiohttp

    smtp.handler.reply = "550 5.1.1 no such mailbox"
    async with Store(url) as store, aiohttp.ClientSession() as session:
        await store.upgrade()
        async with store.transaction() as tx:
            key = OutboxKey("VAKT-2026-000042", "page", "0:0", "alice", "email")
            await tx.outbox.add([Notification(key, T0, T0, page_payload().to_json())])
        settings = EmailSettings(smtp=SmtpSettings(port=smtp.port))
        ctx = ChannelContext(session=session, clock=FixedClock(T0), email=settings)
        channels = build_channels({}, ctx)
        await Dispatcher(store, channels, FixedClock(T0), "w1").run_once()
        for channel in channels.values():
            await channel.close()
        async with store.transaction(read_only=True) as tx:
            [item] = await tx.outbox.find()
    return item.id


async def test_notifications_list_shows_failures_and_retry_requeues_them(
    tmp_path: Path, smtp: SmtpSink, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/vakt.db"
    item_id = await _failed_row(url, smtp)

    assert await asyncio.to_thread(main, ["notifications", "list", "--store", url]) == 0
    table = capsys.readouterr().out
    assert "failed" in table
    assert "550" in table

    argv = ["notifications", "list", "--failed", "--json", "--store", url]
    assert await asyncio.to_thread(main, argv) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["id"] == item_id
    assert row["status"] == "failed"
    assert [a["outcome"] for a in row["attempts"]] == ["failed"]
    assert "550" in row["attempts"][0]["error"]

    retry = ["notifications", "retry", str(item_id), "--store", url]
    assert await asyncio.to_thread(main, retry) == 0
    assert await asyncio.to_thread(main, retry) == 1  # no longer failed
    assert await asyncio.to_thread(main, [*argv[:2], "--json", "--store", url]) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(main, argv) == 0
    assert json.loads(capsys.readouterr().out) == []


async def test_notifications_list_shows_cancelled_rows_with_their_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/vakt.db"
    reason = "case VAKT-2026-000042 was acknowledged by alice"
    async with Store(url) as store:
        await store.upgrade()
        async with store.transaction() as tx:
            await tx.outbox.add(
                [
                    Notification(
                        OutboxKey("VAKT-2026-000042", "page", f"0:{n}:0", "person:alice", "email"),
                        T0, T0, page_payload().to_json(),
                    )
                    for n in (1, 2)
                ]
            )  # fmt: skip
            [item, _] = await tx.outbox.claim("w1", T0, timedelta(minutes=1), limit=2)
            assert await tx.outbox.cancel(item.id, "w1", reason)

    assert await asyncio.to_thread(main, ["notifications", "list", "--store", url]) == 0
    table = capsys.readouterr().out
    [line] = [line for line in table.splitlines() if "cancelled" in line]
    assert line.endswith(reason)

    argv = ["notifications", "list", "--cancelled", "--json", "--store", url]
    assert await asyncio.to_thread(main, argv) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["id"], row["status"], row["cancel_reason"]) == (item.id, "cancelled", reason)
