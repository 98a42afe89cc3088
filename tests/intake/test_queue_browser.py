"""In headless Chromium (issue 22): the team's queue page lists an urgent customer-reported
case before a monitoring case and a later-due customer-reported case (respond-by order,
whatever the order of submission), links to the case's own page, and a person
acknowledges the customer-reported case from that page."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from monitor.incidents.reports import Receipt, ReportSource, make_report
from monitor.intake import Desk
from monitor.store import RequestStatus
from monitor.web import create_private_app
from tests.browser import chrome
from tests.intake.test_report_browser import needs_chromium, run
from tests.web.conftest import MakeClient, deps_of
from tests.web.support import PASSWORD, T0, Env, add_incident, add_password

pytestmark = pytest.mark.browser
__all__ = ["needs_chromium"]


async def _report(env: Env, desk: Desk, urgent: bool, text: str) -> Receipt:
    report = make_report(
        env.config.customers["acme"], site="shop", name="Kari Nordmann",
        email="kari@acme.example", description=text, urgent=urgent,
        submitted_at=env.clock.now(), source=ReportSource.FORM,
    )  # fmt: skip
    receipt = await desk.file(report)
    assert receipt.case is not None
    return receipt


def sign_in(browser: webdriver.Chrome, base: str) -> None:
    browser.get(f"{base}/login")
    browser.find_element(By.ID, "person").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    chrome.submit_and_wait(
        browser, browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button")
    )


def queue_order(browser: webdriver.Chrome, base: str) -> list[str]:
    browser.get(f"{base}/queue")
    rows = browser.find_elements(By.CSS_SELECTOR, "tr[data-case]")
    return [str(row.get_attribute("data-case")) for row in rows]


def acknowledge_from_case_page(browser: webdriver.Chrome, base: str, case: str) -> str:
    browser.get(f"{base}/queue")
    chrome.submit_and_wait(browser, browser.find_element(By.LINK_TEXT, case))
    assert browser.current_url.endswith(f"/queue/{case}")
    assert "Kassen er nede" in browser.page_source
    button = browser.find_element(By.CSS_SELECTOR, f"form[action='/queue/{case}/ack'] button")
    chrome.submit_and_wait(browser, button)
    browser.get(f"{base}/queue/{case}")
    return str(browser.find_element(By.TAG_NAME, "h1").text)


@pytest.mark.usefixtures("needs_chromium")
async def test_the_queue_in_respond_by_order_and_a_case_acknowledged_from_its_page(
    env: Env, make_client: MakeClient, tmp_path: Path
) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    later = await _report(env, desk, urgent=False, text="Bildene lastes sakte")  # due T0 + 8 h
    monitoring = await add_incident(  # due T0 + 3 h
        env.store, case="VAKT-2026-000900", site_id="open/web", respond_by=T0.replace(hour=13)
    )
    env.clock.advance(600)
    urgent = await _report(env, desk, urgent=True, text="Kassen er nede")  # due 10:10 + 2 h
    await add_password(env.store)
    client = await make_client(create_private_app(deps_of(env, desk=desk)))
    base = str(client.make_url("")).rstrip("/")
    browser = await run(chrome.driver, tmp_path / "profile", 1280, 900)
    try:
        await run(sign_in, browser, base)
        order = await run(queue_order, browser, base)
        assert order == [urgent.case, monitoring.case_number, later.case]
        heading = await run(acknowledge_from_case_page, browser, base, urgent.case)
    finally:
        await run(browser.quit)
    assert "acknowledged" in heading
    async with env.store.transaction(read_only=True) as tx:
        (row,) = await tx.intake.by_case(urgent.case or "")
    assert (row.status, row.acknowledged_by) == (RequestStatus.OPEN, "alice")
