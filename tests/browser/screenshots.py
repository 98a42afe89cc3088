"""`make screenshots`: seed the demo world, serve both apps on loopback, and save
docs/screenshots/{overview,incident,incidents,oncall,status}.png from headless Chromium.

    .venv/bin/python -m tests.browser.screenshots [OUTPUT_DIR]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser import chrome
from tests.browser.demo import CASE, PASSWORD, STATUS_TOKEN, serve

WIDTH = 1280
MIN_HEIGHT = 800


def _sign_in(browser: webdriver.Chrome, base: str) -> None:
    browser.get(f"{base}/login")
    browser.find_element(By.ID, "person").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    chrome.submit_and_wait(
        browser, browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button")
    )


def _shoot(browser: webdriver.Chrome, url: str, path: Path) -> None:
    browser.get(url)
    height = browser.execute_script("return document.documentElement.scrollHeight;")
    browser.set_window_size(WIDTH, max(MIN_HEIGHT, int(height)))
    browser.save_screenshot(str(path))
    print(f"wrote {path}")


def _capture(private: str, public: str, out: Path, profile: Path) -> None:
    browser = chrome.driver(profile, WIDTH, MIN_HEIGHT)
    try:
        _sign_in(browser, private)
        _shoot(browser, f"{private}/", out / "overview.png")
        _shoot(browser, f"{private}/incidents/{CASE}", out / "incident.png")
        _shoot(browser, f"{private}/incidents", out / "incidents.png")
        _shoot(browser, f"{private}/oncall", out / "oncall.png")
        browser.get(f"{public}/status/acme?token={STATUS_TOKEN}")
        _shoot(browser, f"{public}/status/acme", out / "status.png")
    finally:
        browser.quit()


async def main(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="vakt-screens-") as tmp:
        async with serve(Path(tmp)) as served:
            await asyncio.to_thread(
                _capture, served.private_url, served.public_url, out, Path(tmp) / "profile"
            )


if __name__ == "__main__":
    reason = chrome.missing()
    if reason is not None:
        sys.exit(f"screenshots: {reason}")
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(target))
