"""`vakt oncall` against the shipped Dekode example: who is on call and the next handoffs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_oncall_prints_who_is_on_call_and_the_next_handoffs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["oncall", "-c", str(EXAMPLES / "dekode.yaml"), "--at", "2026-12-22T12:00"])
    out = capsys.readouterr().out
    assert code == 0
    assert "on call at Tue 2026-12-22 12:00 CET: Lars Eide (lars) until Mon 2026-12-28 09:00" in out
    assert "Mon 2026-12-28 09:00 CET  Ingrid Solberg (ingrid)" in out
    assert "weekly rotation, handoff Monday 09:00" in out
    assert "after 30 minutes: page the team via email" in out


def test_oncall_json_lists_the_shifts(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["oncall", "-c", str(EXAMPLES / "dekode.yaml"), "--at", "2026-12-22T12:00+01:00"]
    assert main([*args, "--json", "--next", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    (drift,) = data["schedules"]
    assert drift["on_call"]["person"] == "lars"
    assert [s["person"] for s in drift["next"]] == ["ingrid", "lars"]
    assert drift["next"][0]["start"] == "2026-12-28T08:00:00+00:00"


def test_oncall_with_an_unknown_schedule_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["oncall", "-c", str(EXAMPLES / "dekode.yaml"), "--schedule", "nope"]) == 1
    assert "no schedule called 'nope'" in capsys.readouterr().out


def test_oncall_with_a_broken_config_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "checks.yaml"
    broken.write_text("vakt: 1\nunknown_key: 1\n", encoding="utf-8")
    assert main(["oncall", "-c", str(broken)]) == 1
    assert "error" in capsys.readouterr().err
