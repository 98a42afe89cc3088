"""`vakt demo --fast` as a subprocess: the whole story on loopback (fleet, SMTP sink, Vakt
with SQLite, web UI), checked against the store and the mailbox. It exits 0 only when
every expected outcome happened, and prints the summary. No known gaps: every outcome
must hold.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DEMO_TIMEOUT = 240  # seconds: the fast story takes about 90


def failed_outcomes(out: str) -> set[str]:
    return {
        re.sub(r"  \(.*\)$", "", line.removeprefix("[FAIL] "))
        for line in out.splitlines()
        if line.startswith("[FAIL]")
    }


@pytest.mark.timeout(DEMO_TIMEOUT + 30)
def test_the_fast_demo_shows_every_expected_outcome(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "demo", "--fast", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    out = done.stdout
    assert failed_outcomes(out) == set(), f"{out[-4000:]}\n{done.stderr[-4000:]}"
    assert done.returncode == 0, f"{out[-4000:]}\n{done.stderr[-4000:]}"
    assert "Summary: every expected outcome happened" in out
    assert "[ok  ] portal.acme.example: the team was warned" in out
    assert "[ok  ] klubb.nordlys.example: no flood of customer emails (at most 3)" in out
    assert re.search(r"\d+ customer emails, 2 team warnings,", out)  # certificate, flapping
    assert re.search(r"^VAKT-\d{4}-\d{6} +www\.acme\.example +A +resolved", out, re.M)
    assert re.search(r"^VAKT-\d{4}-\d{6} +booking\.nordlys\.example +B +resolved", out, re.M)
    assert re.search(r"^VAKT-\d{4}-\d{6} +api\.acme\.example +B +resolved", out, re.M)
    assert re.search(r"^VAKT-\d{4}-\d{6} +klubb\.nordlys\.example +\w flapping", out, re.M)
    assert "[ok  ] docs.acme.example: nobody was paged" in out
    assert "\x1b[" not in out  # no progress-line redraws into a pipe
    assert (tmp_path / "checks.yaml").is_file()


def test_failed_outcomes_are_read_without_their_details() -> None:
    out = "[ok  ] a\n[FAIL] b: c  (5 customer email(s))\n[FAIL] d\n"
    assert failed_outcomes(out) == {"b: c", "d"}
