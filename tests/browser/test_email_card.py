"""The HTML part of a page fits a 375 px phone (issue 17 item 5): the long acknowledge and
case links are buttons, not text running out of the card; the plain-text part keeps the
full URLs. Rendered by the real renderer, shown in headless Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monitor.notify.message import DigestEntry, MessageKind
from monitor.notify.render import Renderer
from tests.browser import chrome
from tests.notify.support import page_payload
from tests.notify.test_planner import T0

pytestmark = pytest.mark.browser

ACK = "https://status.agency.example/ack/" + "eyJ2IjoxLCJpIjpbIlZBS1QtMjAyNi0wMDAwNDIiXX0" * 4
CASE = "https://vakt.agency.example/incidents/VAKT-2026-000042"


@pytest.fixture(scope="module")
def needs_chromium() -> None:
    for path, package in ((chrome.CHROMIUM, "chromium"), (chrome.CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            reason = f"{path} is missing: apt-get install {package}"
            if os.environ.get("CI"):
                pytest.fail(f"{reason} (CI is set: the browser test must run)")
            pytest.skip(reason)


OVERFLOW = """
const doc = document.documentElement;
const wide = [...document.querySelectorAll('body *')].filter(
  (e) => e.getBoundingClientRect().right > window.innerWidth + 0.5
    || e.scrollWidth > e.clientWidth + 0.5);
return [doc.scrollWidth, window.innerWidth, wide.map((e) => e.tagName)];
"""


def payloads() -> list[tuple[str, object]]:
    page = page_payload(ack_url=ACK, incident_url=CASE)
    digest = page_payload(
        kind=MessageKind.DIGEST,
        ack_url=ACK,
        incidents=tuple(
            DigestEntry(f"VAKT-2026-00004{n}", "shop.acme.example", page.level, T0, ACK)  # type: ignore[arg-type]
            for n in range(3)
        ),
    )
    return [("page", page), ("digest", digest)]


@pytest.mark.usefixtures("needs_chromium")
def test_problem_5_the_page_card_fits_375_px_and_the_text_keeps_the_full_urls(
    tmp_path: Path,
) -> None:
    renderer = Renderer()
    browser = chrome.driver(tmp_path / "profile", 375, 800)
    metrics = {"width": 375, "height": 800, "deviceScaleFactor": 1, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        for name, payload in payloads():
            rendered = renderer.render(payload)  # type: ignore[arg-type]
            assert ACK in rendered.text
            assert f'href="{ACK}"' in rendered.html
            html = tmp_path / f"{name}.html"
            html.write_text(rendered.html)
            browser.get(html.as_uri())
            width, viewport, wide = browser.execute_script(OVERFLOW)
            assert width <= viewport, (name, width, viewport, wide)
            assert wide == [], (name, wide)
    finally:
        browser.quit()
