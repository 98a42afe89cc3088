"""Headless Chromium from Debian through Selenium, and axe-core from the npm registry.

`missing()` says what is not installed; tests skip with that reason, except under `CI`
(then they fail: `.ci/run` installs `chromium`, `chromium-driver` and `npm`).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE_SPEC = "axe-core@4"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--hide-scrollbars",
)


def missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            return f"{path} is missing: apt-get install {package}"
    if shutil.which("npm") is None:
        return "npm is missing (needed to fetch axe-core): apt-get install npm"
    return None


def driver(profile: Path, width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(30)
    browser.set_script_timeout(60)
    return browser


def axe_source(cache: Path) -> str:
    """`axe.min.js` of the newest axe-core 4.x, fetched once into `cache` with `npm pack`."""
    cache.mkdir(parents=True, exist_ok=True)
    tarballs = sorted(cache.glob("axe-core-*.tgz"))
    if not tarballs:
        subprocess.run(
            ["npm", "pack", AXE_SPEC, "--silent", "--pack-destination", str(cache)],
            check=True,
            timeout=180,
            capture_output=True,
        )
        tarballs = sorted(cache.glob("axe-core-*.tgz"))
    with tarfile.open(tarballs[-1]) as archive:
        member = archive.extractfile("package/axe.min.js")
        if member is None:
            raise FileNotFoundError("axe.min.js is not in the axe-core package")
        return member.read().decode("utf-8")


def axe_violations(browser: webdriver.Chrome, source: str) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the current page (WCAG 2.x A/AA)."""
    browser.execute_script(source)
    result: dict[str, Any] = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
        ".then(r => done({violations: r.violations}))"
        ".catch(e => done({error: String(e)}));"
    )
    if "error" in result:
        raise RuntimeError(f"axe-core failed: {result['error']}")
    return [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]


def sideways_scroll(browser: webdriver.Chrome) -> bool:
    """True when the page is wider than the window (it would scroll sideways)."""
    return bool(
        browser.execute_script("return document.documentElement.scrollWidth > window.innerWidth;")
    )


def _replaced(element: WebElement) -> bool:
    """True once `element` no longer belongs to the page shown. While the old document is
    being torn down ChromeDriver may answer a question about its nodes with a generic
    \"unknown error\" (an inspector error) instead of a stale-element error; both mean the
    page was replaced, and the readyState wait that follows still catches a broken one."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if error.msg and "unknown error" in error.msg:
            return True
        raise
    return False


def submit_and_wait(browser: webdriver.Chrome, button: WebElement) -> None:
    """Click a form's button and wait until the page it leads to has replaced this one
    (`click` returns before the navigation it starts has finished)."""
    button.click()
    WebDriverWait(browser, 30).until(lambda _: _replaced(button))
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )
