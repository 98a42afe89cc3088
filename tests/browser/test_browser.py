"""In headless Chromium: sign in, see the open incident, acknowledge it, open a customer's
status page; no page scrolls sideways at 375 px; axe-core finds no serious or critical
accessibility violations."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from monitor.model import IncidentStatus
from tests.browser import chrome
from tests.browser.demo import CASE, PASSWORD, STATUS_TOKEN, serve

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
    # Selenium blocks; the servers run on this event loop.
    return await asyncio.to_thread(fn, *args)


def sign_in(browser: webdriver.Chrome, base: str) -> None:
    browser.get(f"{base}/")
    browser.find_element(By.ID, "person").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    chrome.submit_and_wait(
        browser, browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button")
    )


def check_page(browser: webdriver.Chrome, axe: str, url: str, problems: list[str]) -> None:
    browser.get(url)
    if chrome.sideways_scroll(browser):
        problems.append(f"{url} scrolls sideways at 375 px")
    for violation in chrome.axe_violations(browser, axe):
        nodes = [n.get("target") for n in violation.get("nodes", [])][:3]
        problems.append(f"{url}: {violation['impact']} {violation['id']}: {nodes}")


@pytest.mark.usefixtures("needs_chromium")
async def test_on_call_flow_on_a_phone(tmp_path: Path) -> None:
    axe = await run(chrome.axe_source, Path.home() / ".cache" / "vakt-tests" / "npm")
    async with serve(tmp_path) as served:
        browser = await run(chrome.driver, tmp_path / "profile", 375, 812)
        try:
            await run(sign_in, browser, served.private_url)
            overview = await run(lambda: browser.page_source)
            assert CASE in overview
            assert "Alice Hansen" in overview

            problems: list[str] = []
            pages = ["/", f"/incidents/{CASE}", "/sites/acme/shop", "/maintenance", "/silences"]
            pages += ["/incidents", "/incidents?status=resolved", "/oncall"]
            for path in pages:
                await run(check_page, browser, axe, served.private_url + path, problems)

            await run(browser.get, f"{served.private_url}/incidents/{CASE}")
            button = await run(
                browser.find_element,
                By.CSS_SELECTOR,
                f"form[action='/incidents/{CASE}/ack'] button",
            )
            await run(chrome.submit_and_wait, browser, button)
            assert "Acknowledged" in await run(lambda: browser.page_source)
            async with served.store.transaction() as tx:
                row = await tx.incidents.by_case(CASE)
            assert row is not None
            assert (row.status, row.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "alice")

            await run(browser.get, f"{served.public_url}/status/acme?token={STATUS_TOKEN}")
            status_page = await run(lambda: browser.page_source)
            assert "ACME AS" in status_page
            assert "Oppetid de siste 90 dagene" in status_page
            assert STATUS_TOKEN not in await run(lambda: browser.current_url)
            for url in (f"{served.public_url}/status/acme", f"{served.public_url}/status/fjord"):
                await run(check_page, browser, axe, url, problems)
            await run(browser.get, f"{served.private_url}/login")
            await run(check_page, browser, axe, f"{served.private_url}/login", problems)
            assert problems == []
        finally:
            await run(browser.quit)


def status_page_problems(browser: webdriver.Chrome, axe: str, base: str) -> list[str]:
    """The status page of ACME during its Level A outage, and the private page."""
    problems: list[str] = []
    browser.get(f"{base}/status/acme")  # no token yet: the private page
    private = browser.page_source
    if "private" not in private.lower() or "?token=" not in private or "ACME" in private:
        problems.append("the private page does not say how to open it, or leaks the name")
    browser.get(f"{base}/status/acme?token={STATUS_TOKEN}")
    page = browser.page_source
    shop = browser.find_elements(By.CSS_SELECTOR, "article.site-public")[0]  # at Level A
    bars = shop.find_elements(By.CSS_SELECTOR, "svg.bars rect")
    today = bars[-1].get_attribute("class") if bars else None
    if today in (None, "up", "none"):
        problems.append(f"during the outage today's bar is {today!r}")
    legend = shop.find_element(By.CSS_SELECTOR, ".bars-legend").text
    if "100.00 %" in legend:
        problems.append(f"the shop's legend says {legend!r} during its outage")
    if not ("CET" in page or "CEST" in page):
        problems.append("times without their zone")
    check_page(browser, axe, browser.current_url, problems)
    return problems


@pytest.mark.usefixtures("needs_chromium")
@pytest.mark.parametrize(("width", "height"), [(1280, 900), (375, 812)], ids=["desktop", "phone"])
async def test_a_status_page_during_an_outage_agrees_with_itself(
    tmp_path: Path, width: int, height: int
) -> None:
    axe = await run(chrome.axe_source, Path.home() / ".cache" / "vakt-tests" / "npm")
    async with serve(tmp_path) as served:
        browser = await run(chrome.driver, tmp_path / "profile", width, height)
        try:
            problems = await run(status_page_problems, browser, axe, served.public_url)
        finally:
            await run(browser.quit)
    assert problems == []
