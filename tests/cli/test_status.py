"""`vakt status`: one line per configured site, from the config and the store."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.model import CheckState, ErrorCode, Level, ProbeResult, Timings, Verdict
from monitor.store import Store
from tests.cli.support import Env, check_status, now, seed_incident, seed_states, site_status


def test_sites_never_probed_show_unknown(env: Env) -> None:
    status = env.json("status")
    assert [s["site"] for s in status["sites"]] == ["acme/shop", "acme/blog", "globex/web"]
    assert {s["state"] for s in status["sites"]} == {"unknown"}
    assert {c["state"] for s in status["sites"] for c in s["checks"]} == {"unknown"}
    assert status["sites"][0]["level"] is None
    assert status["sites"][0]["latency"] is None


def seed_failing_shop(env: Env) -> str:
    async def work(store: Store) -> str:
        row = await seed_incident(store)
        since = now() - timedelta(minutes=12)
        await seed_states(
            store,
            [site_status("acme/shop", Level.A, since=since), site_status("acme/blog", None)],
            [
                check_status(
                    "acme/shop/home", CheckState.FAILING, latency=10.0, error=ErrorCode.TIMEOUT
                ),
                check_status("acme/shop/checkout", CheckState.OK, latency=0.25),
                check_status("acme/blog/home", CheckState.OK, latency=0.12),
            ],
        )
        return row.case_number

    case: str = env.run(work)
    return case


def test_a_failing_site_shows_its_level_failing_checks_latency_and_case(env: Env) -> None:
    case = seed_failing_shop(env)
    code, out, _ = env.vakt("status")
    assert code == 0
    store, *lines = out.splitlines()
    assert store == f"Store: {env.url.replace('sqlite:', 'sqlite+aiosqlite:')}"
    assert lines[0].split() == ["SITE", "STATE", "LATENCY", "SINCE", "CASE", "CHECKS"]
    shop, blog, web = lines[1:4]
    assert shop.startswith("acme/shop   Level A  10.0 s")
    assert re.search(r" \(12m( \d+s)?\) ", shop)  # since 12 minutes ago
    assert shop.endswith(f"{case}  failing: home (timeout)")
    assert blog.startswith("acme/blog   ok       120 ms")
    assert blog.endswith("1 ok")
    assert web.split()[:2] == ["globex/web", "unknown"]
    assert lines[-1] == "Times in Europe/Oslo."
    assert "\x1b[" not in out


def test_status_json(env: Env) -> None:
    case = seed_failing_shop(env)
    shop, blog, _ = env.json("status")["sites"]
    assert (shop["state"], shop["level"], shop["case"], shop["latency"]) == ("A", "A", case, 10.0)
    home = shop["checks"][0]
    assert (home["check"], home["state"], home["error"], home["impact"]) == (
        "acme/shop/home",
        "failing",
        "timeout",
        "outage",
    )
    assert home["since"].endswith("+00:00")
    assert (blog["state"], blog["level"], blog["case"]) == ("ok", None, None)


def test_the_combined_state_wins_over_single_locations(env: Env) -> None:
    async def work(store: Store) -> None:
        await seed_states(
            store,
            [site_status("acme/shop", Level.B)],
            [
                check_status("acme/shop/home", CheckState.FAILING, location="oslo"),
                check_status("acme/shop/home", CheckState.OK, location="*"),
                check_status("acme/shop/checkout", CheckState.OK, location="oslo"),
                check_status("acme/shop/checkout", CheckState.DEGRADED, location="berlin"),
            ],
        )

    env.run(work)
    checks = env.json("status", "--customer", "acme")["sites"][0]["checks"]
    # home: the engine's quorum-combined state; checkout: the worst of its locations.
    assert [c["state"] for c in checks] == ["ok", "degraded"]


def test_maintenance_and_silences_are_flagged(env: Env) -> None:
    assert env.vakt("maintenance", "add", "acme/blog", "--for", "1h")[0] == 0
    assert env.vakt("silence", "globex", "--for", "2h")[0] == 0
    sites = {s["site"]: s for s in env.json("status")["sites"]}
    assert [(s["maintenance"], s["silenced"]) for s in sites.values()] == [
        (False, False),
        (True, False),
        (False, True),
    ]
    out = env.vakt("status")[1]
    assert "[maintenance]" in out.splitlines()[3]
    assert "[silenced]" in out.splitlines()[4]


def test_status_for_one_customer_and_an_unknown_one(env: Env) -> None:
    assert [s["site"] for s in env.json("status", "--customer", "globex")["sites"]] == [
        "globex/web"
    ]
    code, _, err = env.vakt("status", "--customer", "initech")
    assert code == 2
    assert "no customer 'initech'" in err


def test_a_broken_config_is_a_usage_error(env: Env) -> None:
    env.config.write_text("vakt: 1\nsettings: {store: 'mysql://db/vakt'}\n")
    code, out, err = env.vakt("status")
    assert (code, out) == (2, "")
    assert "settings.store" in err


def test_store_overrides_the_configured_database(env: Env, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert env.vakt("db", "upgrade", "--store", other)[0] == 0
    assert env.vakt("silence", "acme", "--for", "1h", "--store", other)[0] == 0
    assert env.json("silence", "--list") == []
    assert len(env.json("silence", "--list", "--store", other)) == 1


def test_an_unreachable_database_fails_with_its_address(env: Env) -> None:
    code, out, err = env.vakt("status", "--store", "postgresql://nobody@127.0.0.1:1/none")
    assert (code, out) == (1, "")
    assert err.startswith("vakt status: postgresql+asyncpg://nobody@127.0.0.1:1/none")


def test_problem_3_a_probed_healthy_site_is_ok_with_its_newest_latency_from_the_first_probe(
    env: Env,
) -> None:
    """The engine writes a check's status at its first state change and the ring at each
    checkpoint; no site row exists until the site's level changes."""

    async def work(store: Store) -> None:
        first = now() - timedelta(minutes=3)
        await seed_states(store, [], [check_status("globex/web/home", CheckState.OK, since=first)])
        async with store.transaction() as tx:
            await tx.results.push_recent(
                [ProbeResult("globex/web/home", Verdict.OK, now(), Timings(total=0.43), "default")]
            )

    env.run(work)
    [web] = env.json("status", "--customer", "globex")["sites"]
    assert web["state"] == "ok"
    assert web["latency"] == pytest.approx(0.43)
    assert web["checks"][0]["last_probe_at"] is not None
