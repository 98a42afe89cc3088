"""Issue 18 item 5: getting started outside the demo — `vakt check-config FILE` as
promtool takes it, what `vakt run` prints first on a terminal, a warning for a schedule
no escalation policy uses, and a README install that works before the package is
published."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
settings:
  store: sqlite:///state/vakt.db
  listen: 127.0.0.1:18080
  public_listen: 127.0.0.1:18081
people:
  alice: {{name: Alice Hansen, email: alice@agency.example}}
oncall:
  schedules:
    primary:
      layers: [{{rotation: weekly, handoff: "mon 09:00", members: [alice]}}]
{escalation}customers:
  acme:
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites:
      shop:
        url: https://shop.acme.example
        checks:
          home: {{path: /}}
          checkout: {{path: /checkout}}
"""
USING = """\
  escalation:
    default:
      steps: [{notify: [schedule:primary], via: [email]}]
"""


def write(tmp_path: Path, escalation: str = USING) -> Path:
    path = tmp_path / "conf" / "checks.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(CONFIG.format(escalation=escalation))
    return path


def test_problem_5_check_config_takes_the_file_as_a_positional_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path)
    monkeypatch.chdir(tmp_path)  # no ./checks.yaml here: the positional file must be read

    code = main(["check-config", str(config)])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith(f"{config}: OK\n")


def test_problem_5_a_schedule_no_escalation_policy_uses_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, escalation="")

    code = main(["check-config", "-c", str(config)])

    _, err = capsys.readouterr()
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning: oncall.")]
    assert len(warnings) == 1
    assert "oncall.schedules.primary" in warnings[0]


def test_a_schedule_an_escalation_policy_uses_is_no_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "-c", str(write(tmp_path))]) == 0
    assert "warning: oncall." not in capsys.readouterr().err


def test_problem_5_vakt_run_first_says_where_to_look_the_store_the_checks_and_how_to_log_in(
    tmp_path: Path,
) -> None:
    from monitor.cli.run import startup_lines

    path = write(tmp_path)
    text = "\n".join(startup_lines(load_config(str(path)), str(path)))

    assert "http://127.0.0.1:18080/" in text
    assert "127.0.0.1:18081" in text
    assert str(tmp_path / "conf" / "state" / "vakt.db") in text
    assert re.search(r"\b2 checks\b", text)
    assert f"vakt user set-password alice -c {path}" in text


def test_problem_5_the_readme_installs_from_a_clone_until_the_package_is_published() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    use_it = text.split("## Use it", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```", use_it, re.S | re.M)
    installs = [line for b in blocks for line in b.splitlines() if "pip install" in line]
    assert installs
    assert all("pip install vakt-monitor" not in line for line in installs)
    assert "wheel" in use_it
