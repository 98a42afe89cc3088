"""Issue 17 item 1: `vakt run` refuses to start (exit 2) only when a configured channel
cannot work at all — email used with no SMTP host, a person paged by email who has no
address, a PagerDuty channel with an empty routing key — naming the file, line, key and
why; `vakt check-config` reports the same as errors. What merely looks local stays a
warning and the daemon starts (the other `vakt run` tests).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main
from tests.ports import free_port

CONFIG = """\
vakt: 1
settings:
  store: "sqlite:///{db}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  email:
    from: "Ops <ops@agency.example>"
    smtp: {{host: "{host}"}}
people:
  alice: {{name: Alice{alice_email}}}
oncall:
  escalation:
    default:
      steps:
        - {{notify: [person:alice], via: [{via}]}}
channels:
  pd: {{type: pagerduty, routing_key: "{key}"}}
customers:
  acme:
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop: {{url: "https://shop.acme.example", checks: {{home: {{path: /}}}}}}
"""

GOOD = {"host": "smtp.agency.example", "alice_email": ", email: alice@agency.example"}
CASES = {
    "no SMTP host": (
        {"host": ""},
        "checks.yaml:8: settings.email.smtp.host",
        "no SMTP server",
    ),
    "a person paged by email without an address": (
        {"alice_email": ""},
        "checks.yaml:15: oncall.escalation.default.steps[0].via",
        "alice has no email address",
    ),
    "an empty PagerDuty routing key": (
        {"key": "", "via": "pd"},
        "checks.yaml:17: channels.pd.routing_key",
        "empty",
    ),
}


def write(tmp_path: Path, **changes: str) -> Path:
    values = {"via": "email", "key": "R0UT1NGKEY", **GOOD, **changes}
    path = tmp_path / "checks.yaml"
    path.write_text(
        CONFIG.format(db=tmp_path / "vakt.db", private=free_port(), public=free_port(), **values)
    )
    return path


@pytest.mark.parametrize("case", CASES)
def test_vakt_run_refuses_a_channel_that_cannot_work_at_all(tmp_path: Path, case: str) -> None:
    changes, where, why = CASES[case]
    path = write(tmp_path, **changes)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "run", "-c", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("vakt run started instead of refusing")
    assert done.returncode == 2, done.stderr
    assert where in done.stderr
    assert why in done.stderr
    assert not (tmp_path / "vakt.db").exists()  # refused before touching the store


@pytest.mark.parametrize("case", CASES)
def test_check_config_reports_a_channel_that_cannot_work_at_all_as_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    changes, where, why = CASES[case]
    assert main(["check-config", "-c", str(write(tmp_path, **changes))]) == 1
    err = capsys.readouterr().err
    assert where in err
    assert why in err


def test_a_config_whose_channels_can_all_work_passes_check_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "-c", str(write(tmp_path))]) == 0
