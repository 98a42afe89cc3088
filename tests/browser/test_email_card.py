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


def save_screenshots(out: Path) -> list[Path]:
    """docs/screenshots/email-{resolved-nb,page}.png: the HTML part of a Norwegian resolved
    email and of a page, at 600 px in headless Chromium.

        .venv/bin/python -m tests.browser.test_email_card docs/screenshots
    """
    from datetime import timedelta
    from tempfile import TemporaryDirectory

    from monitor.config.records import Language
    from tests.notify.support import customer_payload

    resolved = customer_payload(
        MessageKind.CUSTOMER_RESOLVED,
        Language.NB,
        status="resolved",
        note="Betalingsleverandøren byttet sertifikat; vi har rullet tilbake endringen.",
    )
    assert resolved.since is not None
    resolved = resolved.with_changes(resolved_at=resolved.since + timedelta(minutes=47))
    page = page_payload(ack_url=ACK, incident_url=CASE)
    renderer, saved = Renderer(), []
    with TemporaryDirectory() as tmp:
        browser = chrome.driver(Path(tmp) / "profile", 600, 900)
        try:
            for name, payload in (("email-resolved-nb", resolved), ("email-page", page)):
                html = Path(tmp) / f"{name}.html"
                html.write_text(renderer.render(payload).html)
                browser.get(html.as_uri())
                height = browser.execute_script(
                    "return document.querySelector('div').getBoundingClientRect().bottom + 12;"
                )
                metrics = {"width": 600, "height": int(height), "deviceScaleFactor": 1}
                browser.execute_cdp_cmd(
                    "Emulation.setDeviceMetricsOverride", {**metrics, "mobile": False}
                )
                target = out / f"{name}.png"
                browser.save_screenshot(str(target))
                saved.append(target)
        finally:
            browser.quit()
    return saved


if __name__ == "__main__":
    import sys

    for path in save_screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")):
        print(path)
