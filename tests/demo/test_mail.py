"""The demo's SMTP sink and mailbox: a real aiosmtpd server on 127.0.0.1, fed by
aiosmtplib, keeps every message with its receive time, recipient role and case."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import aiosmtplib
import pytest

from monitor.clock import FixedClock
from monitor.demo.mail import Mail, Mailbox, Role, SmtpSink, is_page, mentions

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROLES = {"ingrid@agency.example": Role.PAGE, "Kari@Nordlys.example": Role.CUSTOMER}


def message(subject: str, to: str, *, case: str = "", reply_to: str = "") -> EmailMessage:
    email = EmailMessage()
    email["From"] = "Vakt <vakt@agency.example>"
    email["To"] = to
    email["Subject"] = subject
    email["Message-ID"] = f"<{abs(hash((subject, to)))}@vakt.agency.example>"
    if case:
        email["X-Vakt-Case"] = case
    if reply_to:
        email["In-Reply-To"] = reply_to
    email.set_content(f"Hei!\n\n{subject}\n")
    email.add_alternative(f"<p>{subject}</p>", subtype="html")
    return email


async def send(port: int, email: EmailMessage, *recipients: str) -> None:
    await aiosmtplib.send(
        email, hostname="127.0.0.1", port=port, recipients=list(recipients), timeout=10
    )


async def test_every_message_is_kept_once_per_recipient_with_its_role_and_case() -> None:
    mailbox = Mailbox(FixedClock(T0), ROLES)
    async with SmtpSink(mailbox) as sink:
        page = message("[VAKT-2026-000001] www.acme.example - Level A", "ingrid@agency.example")
        await send(sink.port, page, "ingrid@agency.example")
        update = message("[VAKT-2026-000001] www.acme.example", "x", case="VAKT-2026-000001")
        await send(sink.port, update, "kari@nordlys.example", "someone@else.example")

    first, second, third = mailbox.mails
    assert (first.id, first.role, first.case) == (1, Role.PAGE, "VAKT-2026-000001")
    assert (second.to, second.role) == ("kari@nordlys.example", Role.CUSTOMER)
    assert (third.to, third.role) == ("someone@else.example", Role.OTHER)
    assert second.text.startswith("Hei!")
    assert second.html == "<p>[VAKT-2026-000001] www.acme.example</p>\n"
    assert first.received_at == T0


async def test_a_repeat_is_not_deduplicated() -> None:
    mailbox = Mailbox(FixedClock(T0), ROLES)
    async with SmtpSink(mailbox) as sink:
        email = message("[VAKT-2026-000002] shop - Level B", "ingrid@agency.example")
        await send(sink.port, email, "ingrid@agency.example")
        await send(sink.port, email, "ingrid@agency.example")
    assert [m.message_id for m in mailbox.mails] == [str(email["Message-ID"])] * 2


async def test_threads_group_a_cases_messages_in_arrival_order() -> None:
    mailbox = Mailbox(FixedClock(T0), ROLES)
    async with SmtpSink(mailbox) as sink:
        for subject, case in (("one", "VAKT-2026-000001"), ("two", "VAKT-2026-000002")):
            await send(sink.port, message(subject, "k", case=case), "kari@nordlys.example")
        await send(
            sink.port, message("three", "k", case="VAKT-2026-000001"), "kari@nordlys.example"
        )
    assert mailbox.cases() == ["VAKT-2026-000001", "VAKT-2026-000002"]
    assert [m.subject for m in mailbox.thread("VAKT-2026-000001")] == ["one", "three"]


async def test_waiting_returns_a_message_that_arrives_later() -> None:
    mailbox = Mailbox(FixedClock(T0), ROLES)
    async with SmtpSink(mailbox) as sink:
        import asyncio

        waiter = asyncio.create_task(mailbox.wait_for(lambda m: m.subject == "late", within=10))
        await asyncio.sleep(0)
        assert not waiter.done()
        await send(sink.port, message("late", "i"), "ingrid@agency.example")
        found = await waiter
    assert found is not None
    assert found.subject == "late"


async def test_waiting_gives_up_after_its_deadline() -> None:
    mailbox = Mailbox(FixedClock(T0), ROLES)
    assert await mailbox.wait_for(lambda m: True, within=0.05) is None


def mail(subject: str, role: Role, *, case: str = "", text: str = "") -> Mail:
    return Mail(1, T0, "vakt", "x@example", role, subject, "<id>", "", case, text, "")


PAGE_TEXT = "Level A: www.acme.example (ACME) needs a response.\n"


@pytest.mark.parametrize(
    ("subject", "role", "text", "expected"),
    [
        ("[VAKT-2026-000001] www.acme.example", Role.PAGE, PAGE_TEXT, True),
        (
            "[VAKT-2026-000001, VAKT-2026-000002] 2 incidents need a response",
            Role.PAGE,
            "2 incidents need a response:\n",
            True,
        ),
        ("[VAKT-2026-000001] www.acme.example - resolved", Role.PAGE, "is resolved", False),
        ("[VAKT-2026-000001] www.acme.example - acknowledged", Role.PAGE, "acknowledged", False),
        ("[VAKT-2026-000001] www.acme.example", Role.CUSTOMER, PAGE_TEXT, False),
    ],
)
def test_a_page_is_told_apart_from_follow_ups_and_customer_email(
    subject: str, role: Role, text: str, expected: bool
) -> None:
    assert is_page(mail(subject, role, text=text)) is expected


def test_a_digest_mentions_every_case_it_lists() -> None:
    digest = mail(
        "[Vakt] 2 incidents need a response",
        Role.PAGE,
        text="- [VAKT-2026-000002] Level B: booking\n- [VAKT-2026-000003] Level B: api\n",
    )
    assert mentions(digest, "VAKT-2026-000003")
    assert not mentions(digest, "VAKT-2026-000001")
