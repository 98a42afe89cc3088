"""`vakt silence TARGET --for D`, `--list`, `--end ID`."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.cli.support import Env, now


@pytest.mark.parametrize(
    ("target", "scope"),
    [("acme", "customer"), ("acme/shop", "site"), ("acme/shop/checkout", "check")],
)
def test_the_scope_follows_the_shape_of_the_target(env: Env, target: str, scope: str) -> None:
    code, out, _ = env.vakt("silence", target, "--for", "2h", "--reason", "deploy", "--by", "bob")
    assert code == 0
    assert out.startswith(f"Silence 1: {scope} {target} until ")
    assert "nobody is paged and no customer email goes out" in out
    [silence] = env.json("silence", "--list")
    assert (silence["scope"], silence["target"], silence["active"]) == (scope, target, True)
    assert (silence["reason"], silence["created_by"]) == ("deploy", "bob")
    start, end = (datetime.fromisoformat(silence[k]) for k in ("start", "end"))
    assert end - start == timedelta(hours=2)
    assert abs(start - now()) < timedelta(minutes=1)


@pytest.mark.parametrize("target", ["initech", "acme/nope", "acme/shop/nope", "a/b/c/d", "acme/*"])
def test_unknown_targets_are_rejected(env: Env, target: str) -> None:
    code, _, err = env.vakt("silence", target, "--for", "2h")
    assert code == 2
    assert f"no customer, site or check {target!r} in the config" in err
    assert env.json("silence", "--list") == []


def test_a_silence_needs_a_duration(env: Env) -> None:
    code, _, err = env.vakt("silence", "acme")
    assert code == 2
    assert "say for how long: --for 2h" in err


def test_list_end_and_end_again(env: Env) -> None:
    env.vakt("silence", "acme/shop", "--for", "30m", "--by", "alice")
    env.vakt("silence", "globex", "--for", "1d")
    code, out, _ = env.vakt("silence", "--list")
    assert code == 0
    header, first, second = out.splitlines()
    assert header.split() == ["ID", "SCOPE", "TARGET", "UNTIL", "LEFT", "BY", "REASON"]
    assert first.split()[:3] == ["1", "site", "acme/shop"]
    assert "left" in first
    assert "alice" in first
    assert second.split()[:3] == ["2", "customer", "globex"]
    assert env.vakt("silence", "--end", "1") == (0, "Silence 1 on site acme/shop ended.\n", "")
    assert [s["id"] for s in env.json("silence", "--list")] == [2]
    code, _, err = env.vakt("silence", "--end", "1")
    assert code == 1
    assert "silence 1 already ended" in err
    code, _, err = env.vakt("silence", "--end", "9")
    assert code == 1
    assert "no silence 9" in err


def test_list_when_there_are_none(env: Env) -> None:
    assert env.vakt("silence", "--list") == (0, "No active or upcoming silences.\n", "")


def test_target_list_and_end_exclude_each_other(env: Env) -> None:
    with pytest.raises(SystemExit) as both:
        env.vakt("silence", "acme", "--list")
    with pytest.raises(SystemExit) as none:
        env.vakt("silence")
    assert both.value.code == none.value.code == 2


def test_a_silence_longer_than_a_year_is_a_usage_error(env: Env) -> None:
    code, _, err = env.vakt("silence", "acme", "--for", "400d", "--by", "bob")
    assert code == 2
    assert "it lasts more than 366 days" in err
    assert env.json("silence", "--list") == []
