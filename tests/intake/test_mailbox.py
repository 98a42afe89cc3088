"""The support mailbox against a real IMAP server (dovecot on loopback).

A reply to a customer email joins its case; a contact's new, authenticated mail opens a
customer-reported case with a receipt in the customer's language; auto-replies and
bounces open nothing; strangers wait in triage; a SIGKILL between fetch and commit (or
between commit and the IMAP keyword) neither loses nor doubles a message.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from monitor import intake
from monitor.incidents.reports import Filed, ReportSource, make_report
from monitor.intake import Desk
from monitor.notify.channels.email import Composer, message_id, sender_domain
from monitor.notify.message import MessageKind, Outgoing, Payload
from monitor.notify.render import Renderer
from monitor.store import CustomerRequest, OutboxItem, RequestStatus, Store
from tests.intake import dovecot
from tests.web.support import CONFIG, T0, Env, write_config

AUTH_PASS = (
    "mx.agency.example; dkim=pass header.d=acme.example; dmarc=pass header.from=acme.example"
)
_users = itertools.count()


@pytest.fixture(scope="module")
def imap() -> Iterator[dovecot.Dovecot]:
    yield from dovecot.start()


@pytest.fixture
def user() -> str:
    return dovecot.USERS[next(_users) % len(dovecot.USERS)]


def _config_text(imap: dovecot.Dovecot, user: str) -> str:
    email = (
        "  email:\n"
        "    from: Vakt <vakt@agency.example>\n"
        "    support: Support <support@agency.example>\n"
        "    team: Team <team@agency.example>\n"
        f"    imap: {{host: 127.0.0.1, port: {imap.port}, tls: false, username: {user},"
        f" password: {dovecot.PASSWORD}, poll: 1s, timeout: 10s}}\n"
    )
    return CONFIG.replace("  location: oslo\n", "  location: oslo\n" + email, 1)


@pytest.fixture
def mail_env(env: Env, imap: dovecot.Dovecot, user: str, tmp_path: Path) -> Env:
    env.config = write_config(tmp_path, _config_text(imap, user))
    return env


def _poller(env: Env) -> intake.MailboxPoller:
    return intake.MailboxPoller(env.store, lambda: env.config, env.clock, _desk(env))


def _desk(env: Env) -> Desk:
    return Desk(env.store, lambda: env.config, env.clock)


def _mail(
    sender: str = "Kari Nordmann <kari@acme.example>",
    subject: str = "Kassen virker ikke",
    body: str = "Betaling med Vipps feiler.",
    ident: str = "<m1@acme.example>",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@agency.example"
    msg["Subject"] = subject
    msg["Message-ID"] = ident
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return bytes(msg)


async def _requests(store: Store) -> list[CustomerRequest]:
    async with store.transaction(read_only=True) as tx:
        return await tx.intake.with_status(*RequestStatus)


async def _outbox(store: Store) -> list[OutboxItem]:
    async with store.transaction(read_only=True) as tx:
        return await tx.outbox.find(limit=100)


async def test_a_reply_to_a_customer_email_joins_its_case(
    mail_env: Env, imap: dovecot.Dovecot, user: str
) -> None:
    env = mail_env
    customer = env.config.customers["acme"]
    report = make_report(
        customer, site="shop", name="Kari Nordmann", email="kari@acme.example",
        description="Kassen feiler", urgent=False, submitted_at=T0, source=ReportSource.FORM,
    )  # fmt: skip
    receipt = await _desk(env).file(report)
    assert receipt.filed is Filed.OPENED
    (sent,) = await _outbox(env.store)
    ours = message_id(str(sent.key), sender_domain(env.config.settings.email.sender))
    reply = _mail(
        subject=f"Re: [{receipt.case}] Shop",
        body="Det virker fortsatt ikke.",
        ident="<reply1@acme.example>",
        In_Reply_To=ours,
        References=ours,
    )
    imap.append(user, reply)
    (handled,) = await _poller(env).poll_once()
    assert (handled.outcome, handled.case) == ("joined", receipt.case)
    async with env.store.transaction(read_only=True) as tx:
        assert receipt.case is not None
        (message,) = await tx.intake.case_messages(receipt.case)
    assert message.text == "Det virker fortsatt ikke."
    assert message.sender == "kari@acme.example"
    told = [i for i in await _outbox(env.store) if i.key.kind == MessageKind.TEAM_WARNING.value]
    assert [(i.key.subject, i.key.recipient) for i in told] == [(receipt.case, "team")]
    assert len(await _requests(env.store)) == 1  # no new case, no triage
    assert await _poller(env).poll_once() == []  # handled once, marked
    assert b"$VaktDone" in imap.keywords(user)[0]


async def test_a_contacts_new_mail_opens_a_case_with_a_receipt_in_their_language(
    mail_env: Env, imap: dovecot.Dovecot, user: str
) -> None:
    env = mail_env
    imap.append(user, _mail(Authentication_Results=AUTH_PASS))
    (handled,) = await _poller(env).poll_once()
    assert handled.outcome == "opened"
    (request,) = await _requests(env.store)
    assert request.status is RequestStatus.OPEN
    assert request.source == "email"
    assert request.case_number == handled.case
    assert request.site_id == "acme/shop"  # the customer's only site
    (receipt,) = [
        Payload.from_json(i.payload)
        for i in await _outbox(env.store)
        if i.key.kind == MessageKind.CUSTOMER_RECEIPT.value
    ]
    text = Renderer().render(receipt).text
    assert receipt.to is not None
    assert receipt.to.address == "kari@acme.example"
    assert "Vi har mottatt henvendelsen din" in text  # acme's language is Norwegian
    assert str(request.case_number) in text


async def test_a_mail_opened_cases_receipt_replies_to_the_customers_message(
    mail_env: Env, imap: dovecot.Dovecot, user: str
) -> None:
    env = mail_env
    imap.append(user, _mail(ident="<kari.42@acme.example>", Authentication_Results=AUTH_PASS))
    (handled,) = await _poller(env).poll_once()
    assert handled.outcome == "opened"
    (item,) = [
        i for i in await _outbox(env.store) if i.key.kind == MessageKind.CUSTOMER_RECEIPT.value
    ]
    payload = Payload.from_json(item.payload)
    assert payload.to is not None
    outgoing = Outgoing(str(item.key), payload, Renderer().render(payload))
    raw = Composer(env.config.settings.email.sender).compose(outgoing, payload.to, T0)
    sent = email.message_from_bytes(raw, policy=email.policy.default)
    assert sent["In-Reply-To"] == "<kari.42@acme.example>"
    assert "<kari.42@acme.example>" in str(sent["References"]).split()
    assert sent["Message-ID"] != "<kari.42@acme.example>"  # its own, as always


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Return_Path": "<>"},
    ],
    ids=["auto-submitted", "precedence-bulk", "null-sender"],
)
async def test_an_auto_reply_opens_nothing(
    mail_env: Env, imap: dovecot.Dovecot, user: str, headers: dict[str, str]
) -> None:
    env = mail_env
    imap.append(user, _mail(subject="Out of office", Authentication_Results=AUTH_PASS, **headers))
    (handled,) = await _poller(env).poll_once()
    assert handled.outcome == "ignored"
    assert await _requests(env.store) == []
    assert await _outbox(env.store) == []


DSN = b"""From: Mail Delivery System <mailer-daemon@acme.example>\r
To: support@agency.example\r
Subject: Undelivered Mail Returned to Sender\r
Message-ID: <dsn1@acme.example>\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r
\r
--b1\r
Content-Type: text/plain\r
\r
The message could not be delivered.\r
--b1\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx.acme.example\r
\r
Final-Recipient: rfc822; nobody@acme.example\r
Action: failed\r
Status: 5.1.1\r
--b1--\r
"""


async def test_a_bounce_opens_nothing(mail_env: Env, imap: dovecot.Dovecot, user: str) -> None:
    imap.append(user, DSN)
    (handled,) = await _poller(mail_env).poll_once()
    assert handled.outcome == "ignored"
    assert await _requests(mail_env.store) == []


@pytest.mark.parametrize(
    ("sender", "auth"),
    [
        (
            "Someone <someone@elsewhere.example>",
            "mx.agency.example; dkim=pass header.d=elsewhere.example",
        ),
        ("Kari Nordmann <kari@acme.example>", ""),
        ("Kari Nordmann <kari@acme.example>", "mx.agency.example; dkim=fail header.d=acme.example"),
        ("Kari Nordmann <kari@acme.example>", "mx.agency.example; dkim=pass header.d=evil.example"),
    ],
    ids=["stranger", "no-authentication", "dkim-fail", "dkim-other-domain"],
)
async def test_anything_else_waits_in_triage(
    mail_env: Env, imap: dovecot.Dovecot, user: str, sender: str, auth: str
) -> None:
    headers = {"Authentication_Results": auth} if auth else {}
    imap.append(user, _mail(sender=sender, **headers))
    (handled,) = await _poller(mail_env).poll_once()
    assert handled.outcome == "triage"
    (request,) = await _requests(mail_env.store)
    assert request.status is RequestStatus.TRIAGE
    assert request.case_number is None
    assert await _outbox(mail_env.store) == []


async def test_a_case_named_only_in_the_subject_by_an_unauthenticated_sender_is_triage(
    mail_env: Env, imap: dovecot.Dovecot, user: str
) -> None:
    env = mail_env
    customer = env.config.customers["acme"]
    report = make_report(
        customer, site="shop", name="Kari", email="kari@acme.example", description="x",
        urgent=False, submitted_at=T0, source=ReportSource.FORM,
    )  # fmt: skip
    receipt = await _desk(env).file(report)
    imap.append(user, _mail(subject=f"Re: [{receipt.case}] Shop", ident="<s1@acme.example>"))
    (handled,) = await _poller(env).poll_once()
    assert handled.outcome == "triage"


# ------------------------------------------------------------------------------ crashes

_CHILD = r"""
import asyncio, os, sys, time
from monitor.clock import FixedClock
from monitor.config import load_config
from monitor.intake import Desk, ImapFolder, MailboxPoller
from monitor.store import Store
from datetime import datetime

config_path, store_url, marker, where = sys.argv[1:5]

class Hang:
    def __init__(self):
        open(marker, "w").close()
        time.sleep(3600)

class StuckDesk(Desk):
    async def file_in(self, tx, report, config, now):
        Hang()  # inside the transaction, after the fetch: before the commit

class StuckFolder(ImapFolder):
    def mark(self, uid):
        Hang()  # after the commit, before the keyword

async def main():
    config = load_config(config_path)
    store = Store(store_url)
    await store.open()
    clock = FixedClock(datetime.fromisoformat("2026-11-24T10:00:00+00:00"))
    current = lambda: config
    if where == "before-commit":
        poller = MailboxPoller(store, current, clock, StuckDesk(store, current, clock))
    else:
        poller = MailboxPoller(store, current, clock, Desk(store, current, clock), StuckFolder)
    await poller.poll_once()

asyncio.run(main())
"""


def _kill_child_at(where: str, tmp_path: Path, env: Env) -> None:
    marker = tmp_path / f"{where}.marker"
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    store_url = f"sqlite:///{tmp_path / 'vakt.db'}"
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "checks.yaml"), store_url, str(marker), where],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the child ended before reaching the crash point"
            assert time.monotonic() < deadline, "the child never reached the crash point"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("where", ["before-commit", "before-keyword"])
async def test_a_sigkill_while_handling_a_mail_loses_and_doubles_nothing(
    mail_env: Env, imap: dovecot.Dovecot, user: str, tmp_path: Path, where: str
) -> None:
    env = mail_env
    imap.append(user, _mail(Authentication_Results=AUTH_PASS))
    _kill_child_at(where, tmp_path, env)
    handled = await _poller(env).poll_once()
    expected = "opened" if where == "before-commit" else "known"
    assert [h.outcome for h in handled] == [expected]
    (request,) = await _requests(env.store)  # one case, not two, not none
    assert request.status is RequestStatus.OPEN
    receipts = [
        i for i in await _outbox(env.store) if i.key.kind == MessageKind.CUSTOMER_RECEIPT.value
    ]
    assert len(receipts) == 1
    assert await _poller(env).poll_once() == []
    assert b"$VaktDone" in imap.keywords(user)[0]


ONCALL = """oncall:
  escalation:
    default:
      steps:
        - {notify: [person:bob], via: [email]}
"""


async def test_a_reply_to_an_unacknowledged_case_tells_the_on_call(
    env: Env, imap: dovecot.Dovecot, user: str, tmp_path: Path
) -> None:
    env.config = write_config(tmp_path, _config_text(imap, user) + ONCALL)
    report = make_report(
        env.config.customers["acme"], site="shop", name="Kari", email="kari@acme.example",
        description="x", urgent=False, submitted_at=T0, source=ReportSource.FORM,
    )  # fmt: skip
    receipt = await _desk(env).file(report)
    (sent,) = await _outbox(env.store)
    ours = message_id(str(sent.key), sender_domain(env.config.settings.email.sender))
    imap.append(user, _mail(ident="<r2@acme.example>", In_Reply_To=ours))
    (handled,) = await _poller(env).poll_once()
    assert handled.outcome == "joined"
    told = [i for i in await _outbox(env.store) if i.key.kind == MessageKind.TEAM_WARNING.value]
    assert [(i.key.subject, i.key.recipient) for i in told] == [(receipt.case, "person:bob")]
