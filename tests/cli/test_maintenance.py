"""`vakt maintenance add|list|end` against a real store and the config's windows."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config import load_config
from monitor.store import MaintenanceWindow, Store
from tests.cli.support import Env, now

OSLO = ZoneInfo("Europe/Oslo")
# A day weeks ahead: run-time windows may start at most 366 days ahead (policy.periods).
SOON = (datetime.now(OSLO) + timedelta(days=40)).date()


def added(env: Env) -> list[MaintenanceWindow]:
    async def work(store: Store) -> list[MaintenanceWindow]:
        async with store.transaction(read_only=True) as tx:
            return await tx.maintenance.upcoming(now() - timedelta(days=1))

    windows: list[MaintenanceWindow] = env.run(work)
    return windows


def test_add_for_a_duration_starts_now(env: Env) -> None:
    code, out, _ = env.vakt(
        "maintenance", "add", "acme/shop", "--for", "90m", "--reason", "Upgrade", "--by", "alice"
    )
    assert code == 0
    assert out.startswith("Maintenance window 1 for acme/shop: ")
    assert out.endswith("(1h 30m)\n")
    [window] = added(env)
    assert window.end - window.start == timedelta(minutes=90)
    assert abs(window.start - now()) < timedelta(minutes=1)
    assert (window.sites, window.reason, window.created_by) == (("acme/shop",), "Upgrade", "alice")


def test_naive_times_are_in_the_configured_time_zone(env: Env) -> None:
    argv = ("acme/*", "globex/web", "--from", f"{SOON}T22:00", "--to", f"{SOON}T23:30")
    assert env.vakt("maintenance", "add", *argv)[0] == 0
    [window] = added(env)
    assert window.start == datetime.combine(SOON, time(22, 0), tzinfo=OSLO)
    assert window.end == datetime.combine(SOON, time(23, 30), tzinfo=OSLO)
    assert window.sites == ("acme/*", "globex/web")
    later = SOON + timedelta(days=1)
    utc = ("acme/blog", "--from", f"{later}T10:00Z", "--for", "1h")
    assert env.vakt("maintenance", "add", *utc)[0] == 0
    assert added(env)[1].start.isoformat() == f"{later}T10:00:00+00:00"


@pytest.mark.parametrize("pattern", ["acme/nope", "nope/*", "acme", "acme/shop/home"])
def test_unknown_sites_are_rejected(env: Env, pattern: str) -> None:
    code, out, err = env.vakt("maintenance", "add", "acme/shop", pattern, "--for", "1h")
    assert (code, out) == (2, "")
    assert f"no such site: {pattern} (use customer/site, customer/* or *)" in err
    assert added(env) == []


@pytest.mark.parametrize(
    ("times", "message"),
    [
        (("--from", f"{SOON}T22:00", "--to", f"{SOON}T21:00"), "the end must be after the start"),
        (("--from", "2001-01-01T10:00", "--for", "1h"), "the end is in the past"),
        (("--from", "2099-01-01T10:00", "--for", "1h"), "the start is more than 366 days ahead"),
        (("--for", "400d"), "it lasts more than 366 days"),
        (("--from", "tomorrow", "--for", "1h"), "expected a date and time such as"),
    ],
)
def test_bad_times_are_usage_errors(env: Env, times: tuple[str, ...], message: str) -> None:
    code, _, err = env.vakt("maintenance", "add", "acme/shop", *times)
    assert code == 2
    assert message in err
    assert added(env) == []


def test_add_needs_an_end_or_a_duration_but_not_both(env: Env) -> None:
    with pytest.raises(SystemExit) as neither:
        env.vakt("maintenance", "add", "acme/shop")
    with pytest.raises(SystemExit) as both:
        env.vakt("maintenance", "add", "acme/shop", "--for", "1h", "--to", "2099-01-01T00:00")
    with pytest.raises(SystemExit) as bad:
        env.vakt("maintenance", "add", "acme/shop", "--for", "soon")
    assert neither.value.code == both.value.code == bad.value.code == 2


def test_list_shows_config_and_added_windows_in_order(env: Env) -> None:
    env.vakt("maintenance", "add", "acme/blog", "--for", "1h", "--by", "bob")
    listed = env.json("maintenance", "list")
    config = load_config(str(env.config))
    weekly, one_off = config.maintenance[1], config.maintenance[0]
    assert [(w["id"], w["source"]) for w in listed] == [
        ("1", "store"),
        (weekly.id, "config"),
        (one_off.id, "config"),
    ]
    mine, patching, upgrade = listed
    assert (mine["active"], mine["sites"], mine["created_by"]) == (True, ["acme/blog"], "bob")
    assert patching["every"] == "sun 03:00 Europe/Oslo"
    start = datetime.fromisoformat(patching["start"]).astimezone(OSLO)
    assert (start.weekday(), start.hour, start.minute) == (6, 3, 0)
    assert datetime.fromisoformat(patching["end"]) - start == timedelta(minutes=30)
    assert datetime.fromisoformat(patching["end"]) > now()
    assert upgrade["start"] == "2099-12-01T21:00:00+00:00"
    assert (upgrade["reason"], upgrade["active"]) == ("Server upgrade", False)


def test_list_as_a_table(env: Env) -> None:
    env.vakt("maintenance", "add", "acme/blog", "--for", "1h", "--reason", "Disk swap")
    code, out, _ = env.vakt("maintenance", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATE", "SITES", "FROM", "TO", "SOURCE", "REASON"]
    assert lines[1].split()[:3] == ["1", "active", "acme/blog"]
    assert lines[1].endswith("store                  Disk swap")
    assert "sun 03:00 Europe/Oslo" in lines[2]
    assert lines[3].endswith("Server upgrade")


def test_end_a_window_then_again(env: Env) -> None:
    env.vakt("maintenance", "add", "acme/blog", "--for", "1h")
    assert env.vakt("maintenance", "end", "1") == (
        0,
        "Maintenance window 1 for acme/blog ended.\n",
        "",
    )
    assert [w["source"] for w in env.json("maintenance", "list")] == ["config", "config"]
    code, _, err = env.vakt("maintenance", "end", "1")
    assert code == 1
    assert "window 1 already ended" in err


def test_end_a_future_window_cancels_it(env: Env) -> None:
    env.vakt("maintenance", "add", "acme/blog", "--from", f"{SOON}T00:00", "--for", "1h")
    code, out, _ = env.vakt("maintenance", "end", "1")
    assert (code, out) == (0, "Maintenance window 1 for acme/blog cancelled.\n")


@pytest.mark.parametrize("window_id", ["7", "x"])
def test_end_an_unknown_window_fails(env: Env, window_id: str) -> None:
    code, _, err = env.vakt("maintenance", "end", window_id)
    assert code == 1
    assert f"no maintenance window {window_id}" in err


def test_config_windows_are_ended_in_the_config(env: Env) -> None:
    window = load_config(str(env.config)).maintenance[0]
    code, _, err = env.vakt("maintenance", "end", window.id)
    assert code == 1
    assert f"window {window.id} is in {env.config}: remove it there" in err
