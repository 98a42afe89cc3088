"""README.md's commands work as written.

Every ```sh block is run, in order, with bash (`set -euo pipefail`) in an empty directory,
except the lines in `EXEMPT` (each with its reason). Two rewrites make the install offline
and exact, and nothing else is changed:
- `pip install ./vakt` (from a clone) installs the wheel built from this checkout
  (`pip wheel`, into the test's own `dist/`) with `--no-index --no-deps`, so the test
  needs no clone beside it and no index;
- `python3 -m venv vakt-env` creates the environment from the running interpreter; after
  the install a `.pth` line adds the test environment's site-packages, so the
  dependencies the `--no-deps` install skipped are importable. The test then checks that
  `vakt-env` runs the wheel's code, not this checkout's.
The systemd unit in `deploy/` is checked with `systemd-analyze verify` where it exists.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
UNIT = ROOT / "deploy" / "vakt.service"

# line prefix -> why the test does not run it
EXEMPT = {
    "make demo": "runs until Ctrl-C; tests/demo/test_demo_fast.py plays the same story",
    "make test": "it is this test suite",
    "sudo ": "installs system-wide (a user, /opt, /etc, systemd); not on a test machine",
}
INSTALL = "pip install ./vakt"
VENV = "python3 -m venv vakt-env"
FENCE = re.compile(r"^```(?:sh|bash)\n(.*?)^```", re.S | re.M)


def shell_blocks(text: str) -> list[str]:
    return FENCE.findall(text)


def exemption(line: str) -> str | None:
    return next((p for p in EXEMPT if line.strip().startswith(p)), None)


def runnable(block: str, dist: Path) -> str:
    """The block with exempt lines dropped and the two install lines rewritten."""
    deps = sysconfig.get_paths()["purelib"]
    add_deps = (
        f"echo {deps} > \"$(vakt-env/bin/python -c 'import sysconfig; "
        'print(sysconfig.get_paths()["purelib"])\')/test-dependencies.pth"'
    )
    offline = f"pip install -q --no-index --no-deps --find-links {dist} vakt-monitor"
    lines = []
    for line in block.splitlines():
        if exemption(line) is not None:
            continue
        if line.strip() == VENV:
            line = f"{sys.executable} -m venv vakt-env"
        elif INSTALL in line:
            # the dependencies become importable only after the install, so pip cannot
            # mistake this checkout's editable install for the package to install
            line = f"{line.replace(INSTALL, offline)} && {add_deps}"
        lines.append(line)
    return "\n".join(lines)


def test_every_exemption_is_used_and_every_block_has_a_command() -> None:
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    used = {exemption(line) for block in blocks for line in block.splitlines()}
    assert set(EXEMPT) <= used, f"unused exemptions: {set(EXEMPT) - used}"
    assert all(block.strip() for block in blocks)
    assert any(INSTALL in block for block in blocks)
    assert any(VENV in block for block in blocks)


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=110,
    )
    assert list(dist.glob("vakt_monitor-*.whl"))
    return dist


@pytest.mark.timeout(240)
def test_the_readme_commands_run_as_written(wheel_dir: Path, tmp_path: Path) -> None:
    for block in shell_blocks(README.read_text(encoding="utf-8")):
        script = runnable(block, wheel_dir)
        if not script.strip():
            continue
        done = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, (
            f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    where = subprocess.run(
        ["vakt-env/bin/python", "-c", "import monitor; print(monitor.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "vakt-env")
    assert (tmp_path / "vakt.db").is_file()  # `vakt db upgrade` made the SQLite store


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    vakt = Path(sys.executable).with_name("vakt")
    unit = tmp_path / "vakt.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/vakt/bin/vakt", str(vakt)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "ExecStart=/opt/vakt/bin/vakt run" in UNIT.read_text(encoding="utf-8")


DOCS = (README, ROOT / "docs" / "architecture.md", ROOT / "docs" / "operations.md")
PATH_IN_CODE = re.compile(r"`((?:monitor|tests|deploy|alerts|dashboards|docs|examples)/[^`\s]*)`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_path_and_link_in_the_docs_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    named = {m for m in PATH_IN_CODE.findall(text) if "<" not in m}
    linked = {m for m in LINK.findall(text) if "://" not in m}
    missing = sorted(m for m in named if not (ROOT / m).exists())
    missing += sorted(m for m in linked if not (doc.parent / m).exists())
    assert missing == []
