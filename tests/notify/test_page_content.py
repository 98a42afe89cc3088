"""Pages that are not dead ends (issue 17 item 1): a page says what fails and how, links to
the case in the team UI and carries an acknowledge link; `check-config` warns about what a
page or a customer email lacks. The page is planned by the real planner, rendered and
composed by the real renderer and composer and read back with Python's `email` package."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config.records import Mailbox
from monitor.notify.channels.email import Composer
from monitor.notify.message import EvidenceLine, MessageKind
from monitor.notify.planner import CaseView, Planner
from monitor.notify.render import Renderer
from tests.notify.test_planner import T0, config, incident

EVIDENCE = (EvidenceLine("Checkout", "http_status", "expected status 200-399, got 404", "oslo"),)


def page_text(view: CaseView, web_url: str) -> str:
    cfg = config()
    cfg = replace(cfg, settings=replace(cfg.settings, web_url=web_url))
    [page] = [p for p in Planner(cfg).plan([view], T0) if p.kind is MessageKind.PAGE]
    outgoing = Renderer().outgoing(str(page.key), page.payload)
    assert page.payload.to is not None
    data = Composer(Mailbox("vakt@agency.example")).compose(
        outgoing, page.payload.to, datetime.now(UTC)
    )
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_problem_1_a_page_says_what_fails_links_to_the_case_and_can_be_acknowledged() -> None:
    text = page_text(CaseView(incident(), evidence=EVIDENCE), "https://vakt.agency.example/")
    assert "https://vakt.agency.example/incidents/VAKT-2026-000001" in text
    assert "https://status.example/ack/" in text
    assert "Checkout" in text
    assert "expected status 200-399, got 404" in text
    assert "oslo" in text


def test_problem_1_a_page_without_evidence_lines_still_says_what_fails() -> None:
    described = incident(description="Checkout (https://shop0.example/kasse) fails: HTTP 404")
    text = page_text(CaseView(described), "https://vakt.agency.example")
    assert "Checkout (https://shop0.example/kasse) fails: HTTP 404" in text


MINIMAL = """\
vakt: 1
customers:
  acme:
    contacts: [{name: Kari, email: kari@acme.example}]
    sites:
      shop:
        url: https://shop.acme.example
        checks:
          home: {path: /}
"""


@pytest.mark.parametrize(("strict", "code"), [(False, 0), (True, 1)])
def test_problem_1_check_config_warns_about_what_pages_and_customer_emails_lack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], strict: bool, code: int
) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(MINIMAL)
    assert main(["check-config", "-c", str(path), *(["--strict"] if strict else [])]) == code
    err = capsys.readouterr().err
    warned = {line.split(":")[1].strip() for line in err.splitlines() if line.startswith("warning")}
    assert "settings.email.from" in warned


def test_check_config_does_not_say_a_missing_secret_leaves_pages_without_ack_links(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(MINIMAL)
    main(["check-config", "-c", str(path)])
    err = capsys.readouterr().err
    assert "settings.secret" not in {
        line.split(":")[1].strip() for line in err.splitlines() if line.startswith("warning")
    }
    assert "no acknowledge link" not in err
