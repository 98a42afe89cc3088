"""The demo mailbox pages (`/demo/mail`...), served by aiohttp on loopback: list, one
message, a case's thread, the HTML part in a sandbox; everything escaped."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from monitor.clock import FixedClock
from monitor.demo.mail import Mailbox, Role
from monitor.demo.mailbox import HTML_PART_POLICY, MailboxView

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CASE = "VAKT-2026-000007"
Client = TestClient[web.Request, web.Application]
Fixture = tuple[Client, Mailbox]


def raw(subject: str, text: str, *, case: str = CASE) -> bytes:
    email = EmailMessage()
    email["From"] = "Vakt <vakt@agency.example>"
    email["Subject"] = subject
    email["Message-ID"] = "<1@vakt.agency.example>"
    email["X-Vakt-Case"] = case
    email.set_content(text)
    email.add_alternative("<p style='color:red'>hello</p><script>alert(1)</script>", subtype="html")
    return email.as_bytes()


@pytest.fixture
async def client() -> AsyncIterator[tuple[Client, Mailbox]]:
    mailbox = Mailbox(FixedClock(T0), {"kari@nordlys.example": Role.CUSTOMER})
    await mailbox.deliver(
        raw(f"[{CASE}] shop <b>down</b>", "Hei <Kari>!"), "v", ["kari@nordlys.example"]
    )
    await mailbox.deliver(raw("[Vakt] other", "x", case="VAKT-2026-000008"), "v", ["ops@a.example"])
    app = web.Application()
    app.router.add_routes(MailboxView(mailbox, UTC).routes())
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client, mailbox


async def test_the_list_shows_every_message_newest_first_and_the_threads(client: Fixture) -> None:
    http, _ = client
    response = await http.get("/demo/mail")
    page = await response.text()
    assert response.status == 200
    threads, _, table = page.partition("All messages, newest first")
    assert table.index("[Vakt] other") < table.index("shop &lt;b&gt;down&lt;/b&gt;")
    assert f'href="/demo/mail/case/{CASE}"' in threads
    assert "<b>down</b>" not in page


async def test_one_message_shows_its_text_escaped(client: Fixture) -> None:
    http, _ = client
    page = await (await http.get("/demo/mail/1")).text()
    assert "Hei &lt;Kari&gt;!" in page
    assert "customer" in page
    assert 'href="/demo/mail/1/html"' in page


async def test_a_thread_holds_only_its_cases_messages(client: Fixture) -> None:
    http, _ = client
    page = await (await http.get(f"/demo/mail/case/{CASE}")).text()
    assert "Hei &lt;Kari&gt;!" in page
    assert "[Vakt] other" not in page


async def test_the_html_part_is_served_in_a_sandbox(client: Fixture) -> None:
    http, _ = client
    response = await http.get("/demo/mail/1/html")
    assert response.headers["Content-Security-Policy"] == HTML_PART_POLICY
    assert "sandbox" in HTML_PART_POLICY
    assert "script-src" not in HTML_PART_POLICY


@pytest.mark.parametrize("path", ["/demo/mail/99", "/demo/mail/case/VAKT-2026-000099"])
async def test_unknown_messages_and_cases_are_not_found(client: Fixture, path: str) -> None:
    http, _ = client
    assert (await http.get(path)).status == 404


async def test_problem_6_each_message_is_offered_as_its_raw_eml(client: Fixture) -> None:
    http, _ = client
    page = await (await http.get("/demo/mail/1")).text()
    assert 'href="/demo/mail/1.eml"' in page

    response = await http.get("/demo/mail/1.eml")

    assert response.status == 200
    assert response.content_type == "message/rfc822"
    assert "attachment" in response.headers["Content-Disposition"]
    parsed = email.message_from_bytes(await response.read(), policy=email.policy.default)
    assert parsed["X-Vakt-Case"] == CASE
    assert (await http.get("/demo/mail/99.eml")).status == 404
