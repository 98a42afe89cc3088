"""In headless Chromium: a customer files "Report a problem" on their Norwegian status
page (no JavaScript involved), and the receipt reaches a real SMTP server (aiosmtpd on
loopback) in Norwegian with the case number the page showed."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import aiohttp
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from monitor.clock import FixedClock
from monitor.config.records import EmailSettings, Mailbox, SmtpSettings
from monitor.intake import Desk
from monitor.notify.channels import ChannelContext, build_channels
from monitor.notify.dispatcher import Dispatcher
from monitor.notify.render import Renderer
from monitor.web import create_public_app
from tests.browser import chrome
from tests.notify.support import SmtpSink
from tests.web.conftest import MakeClient, deps_of
from tests.web.support import STATUS_TOKEN, T0, Env

pytestmark = pytest.mark.browser
T = TypeVar("T")


@pytest.fixture(scope="module")
def needs_chromium() -> None:
    reason = chrome.missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the browser test must run)")
    pytest.skip(reason)


async def run(fn: Callable[..., T], *args: object) -> T:
    return await asyncio.to_thread(fn, *args)  # Selenium blocks; the servers run here


def file_report(browser: webdriver.Chrome, base: str) -> str:
    browser.get(f"{base}/status/acme?token={STATUS_TOKEN}")
    assert "Meld fra om et problem" in browser.page_source
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/status/acme/report']")
    form.find_element(By.ID, "r-name").send_keys("Kari Nordmann")
    form.find_element(By.ID, "r-email").send_keys("kari@acme.example")
    Select(form.find_element(By.ID, "r-site")).select_by_value("shop")
    form.find_element(By.ID, "r-description").send_keys("Betaling med Vipps feiler i kassen.")
    chrome.submit_and_wait(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Takk, vi har mottatt henvendelsen din" in browser.page_source
    return str(browser.find_element(By.CSS_SELECTOR, "strong.case").text)


@pytest.mark.usefixtures("needs_chromium")
async def test_a_report_on_a_norwegian_status_page_gets_a_norwegian_receipt(
    env: Env, make_client: MakeClient, tmp_path: Path
) -> None:
    client = await make_client(create_public_app(deps_of(env, desk=Desk(
        env.store, lambda: env.config, env.clock
    ))))  # fmt: skip
    base = str(client.make_url("")).rstrip("/")
    browser = await run(chrome.driver, tmp_path / "profile", 1280, 900)
    try:
        case = await run(file_report, browser, base)
    finally:
        await run(browser.quit)
    sink = SmtpSink()
    sink.start()
    try:
        async with aiohttp.ClientSession() as session:
            email = EmailSettings(
                sender=Mailbox("support@agency.example", "Support"),
                smtp=SmtpSettings(port=sink.port, timeout=timedelta(seconds=5)),
            )
            channels = build_channels({}, ChannelContext(session, FixedClock(T0), email))
            dispatcher = Dispatcher(
                env.store, channels, env.clock, "w1", renderer=Renderer(),
                timeout=timedelta(seconds=5), draw=random.Random(7).random,
            )  # fmt: skip
            assert await dispatcher.run_once() == 1
            for channel in channels.values():
                await channel.close()
    finally:
        sink.stop()
    (message,) = sink.messages
    assert sink.handler.recipients == [["kari@acme.example"]]
    assert case in str(message["Subject"])
    assert message["Content-Language"] == "nb"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Vi har mottatt henvendelsen din" in text
    assert f"Saksnummeret ditt er {case}" in text
