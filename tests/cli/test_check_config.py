"""`vakt check-config` checks the email templates too: each broken template is listed as
its file and line under `settings.email.templates`, exit 1, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main

CONFIG = """\
vakt: 1
settings:
  public_url: https://status.agency.example
  web_url: https://vakt.agency.example
  secret: check-config-test-secret-0123456789
  email: {{templates: "{templates}", from: vakt@agency.example, team: ops@agency.example}}
customers:
  acme:
    name: ACME AS
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: https://shop.acme.example
        checks:
          home: {{path: /}}
"""


def setup(tmp_path: Path, **files: str) -> Path:
    templates = tmp_path / "templates"
    templates.mkdir()
    for name, text in files.items():
        (templates / name).write_text(text)
    config = tmp_path / "checks.yaml"
    config.write_text(CONFIG.format(templates=templates))
    return config


def check_config(capsys: pytest.CaptureFixture[str], config: Path) -> tuple[int, str, str]:
    code = main(["check-config", "-c", str(config)])
    out, err = capsys.readouterr()
    return code, out, err


def test_good_override_templates_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = setup(tmp_path, **{"page.txt": "Level {{ p.level }}: {{ p.site }}\n"})
    code, out, err = check_config(capsys, config)
    assert (code, err) == (0, "")
    assert out.startswith(f"{config}: OK\n")


def test_a_syntax_error_in_an_override_is_listed_with_its_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = setup(tmp_path, **{"page.txt": "Level {{ p.level }}\n{% if p.note %}\n{{ p.note }\n"})
    code, out, err = check_config(capsys, config)
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == "1 error in the configuration:"
    assert lines[1].startswith(
        f"  {tmp_path / 'templates' / 'page.txt'}:3: settings.email.templates: "
    )
    assert "Traceback" not in err


def test_an_undefined_name_only_a_note_reaches_is_listed_with_its_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "{{ p.site }}\n{% if p.note %}\n\n{{ p.nte }}\n{% endif %}\n"
    config = setup(tmp_path, **{"customer_update.txt": text})
    code, _, err = check_config(capsys, config)
    assert code == 1
    where = f"  {tmp_path / 'templates' / 'customer_update.txt'}:4: settings.email.templates: "
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[1].startswith(where)
    assert "Traceback" not in err


def test_an_include_of_a_missing_template_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = setup(tmp_path, **{"recovered.txt": 'Resolved.\n{% include "footer.txt" %}\n'})
    code, _, err = check_config(capsys, config)
    assert code == 1
    assert f"{tmp_path / 'templates' / 'recovered.txt'}:2: settings.email.templates: " in err
    assert "footer.txt" in err


def test_a_weak_status_token_is_a_warning_and_check_config_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = setup(tmp_path)
    text = config.read_text().replace(
        "    name: ACME AS\n", "    name: ACME AS\n    status_page: {token: fixedtoken}\n"
    )
    config.write_text(text)
    code, out, err = check_config(capsys, config)
    assert code == 0
    assert out.startswith(f"{config}: OK\n")
    [warning] = err.splitlines()
    assert warning.startswith("warning: customers.acme.status_page.token: ")
