"""Issue 18 item 2: a status page that does not contradict itself. Uptime is time not at
Level A over time with data (maintenance left out), Level B shown apart as degraded;
today's bar is today so far; the label names its period; times carry their zone; each
level has the right words; past incidents and upcoming maintenance are listed; a private
page says so and how to open it, and nothing else."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.model import CheckState, IncidentStatus, Level
from monitor.store import CheckStatus, EventKind, IncidentEvent, SiteChange, SiteStatus
from tests.web.conftest import Client
from tests.web.support import T0, Env, add_incident, add_results, ok_result, write_config

PAGE = "/status/shopco"
CONFIG = """
vakt: 1
settings: {timezone: Europe/Oslo, location: oslo}
customers:
  shopco:
    name: Shop Co
    language: en
    timezone: Europe/Oslo
    contacts: [{name: Ann, email: ann@shopco.example}]
    status_page: {public: true}
    sites:
      web:
        url: https://www.shopco.example
        checks:
          home: {path: /}
          checkout: {path: /checkout, impact: function}
"""


@pytest.fixture
def shopco(env: Env, tmp_path: Path) -> Env:
    env.config = write_config(tmp_path, CONFIG)
    return env


async def twenty_minutes(env: Env, level: Level | None, since_minutes: int = 6) -> None:
    """Probes every minute for the last 20 minutes; the site at `level` for the last
    `since_minutes`."""
    await add_results(
        env.store,
        [ok_result("shopco/web/home", T0 - timedelta(minutes=m)) for m in range(20, 0, -1)],
    )
    if level is None:
        return
    since = T0 - timedelta(minutes=since_minutes)
    async with env.store.transaction() as tx:
        await tx.sites.save([SiteStatus("shopco/web", level, since, since)])
        await tx.sites.append_changes([SiteChange("shopco/web", since, None, level)])


def bars(html: str) -> list[str]:
    return re.findall(r'<rect class="([^"]+)"', html)


async def test_problem_2_a_six_minute_outage_in_twenty_minutes_is_70_percent_and_a_red_bar(
    shopco: Env, public: Client
) -> None:
    await twenty_minutes(shopco, Level.A)

    doc = json.loads(await (await public.get(f"{PAGE}.json")).text())
    html = await (await public.get(PAGE)).text()

    [site] = doc["sites"]
    assert doc["status"] == "outage"
    assert site["days"][-1]["uptime"] == pytest.approx(70.0)
    assert site["uptime_90d"] == pytest.approx(70.0)
    assert bars(html)[-1] == "down"
    assert set(bars(html)[:-1]) == {"none"}  # 89 days without data


async def test_problem_2_level_b_counts_as_up_and_is_shown_apart_as_degraded(
    shopco: Env, public: Client
) -> None:
    await twenty_minutes(shopco, Level.B)

    doc = json.loads(await (await public.get(f"{PAGE}.json")).text())

    today = doc["sites"][0]["days"][-1]
    assert today["uptime"] == pytest.approx(100.0)
    assert today["degraded"] == pytest.approx(30.0)
    assert bars(await (await public.get(PAGE)).text())[-1] == "degraded"


async def test_problem_2_a_broken_function_is_a_partial_outage_not_degraded_performance(
    shopco: Env, public: Client
) -> None:
    await twenty_minutes(shopco, Level.B)
    async with shopco.store.transaction() as tx:
        failing = CheckStatus("shopco/web/checkout", "oslo", CheckState.FAILING, T0, T0)
        await tx.checks.save([failing])

    html = await (await public.get(PAGE)).text()

    assert "Partial outage" in html
    assert "Degraded performance" not in html


async def test_problem_2_the_uptime_label_names_its_period_and_times_carry_their_zone(
    shopco: Env, public: Client
) -> None:
    await twenty_minutes(shopco, None)

    html = await (await public.get(PAGE)).text()

    legend = html[html.index('class="bars-legend"') :][:400]
    assert "since 24 Nov 2026" in legend  # data began today, not 90 days ago
    assert re.search(r"24 Nov 2026, 11:00:00 CET", html)  # T0 (10:00 UTC) in Oslo


async def test_problem_2_past_incidents_of_90_days_are_listed_with_their_public_updates(
    shopco: Env, public: Client
) -> None:
    for case, days in (("VAKT-2026-000001", 30), ("VAKT-2026-000002", 100)):
        opened = T0 - timedelta(days=days)
        row = await add_incident(
            shopco.store, case=case, site_id="shopco/web", status=IncidentStatus.RESOLVED,
            opened_at=opened,
        )  # fmt: skip
        async with shopco.store.transaction() as tx:
            await tx.incidents.update(replace(row, resolved_at=opened + timedelta(hours=1)))
            note = IncidentEvent(row.id, opened, "ann", EventKind.NOTE, f"Fixed {case}", True)
            await tx.incidents.add_events([note])

    html = await (await public.get(PAGE)).text()

    past = html[html.index('id="past-h"') :]
    assert "Fixed VAKT-2026-000001" in past
    assert "VAKT-2026-000002" not in html


async def test_problem_2_a_private_page_says_it_is_private_and_how_to_open_it(
    env: Env, public: Client
) -> None:
    private = await public.get("/status/acme")
    unknown = await public.get("/status/nobody")

    text = await private.text()
    assert private.status == unknown.status == 404
    assert "private" in text.lower()
    assert "?token=" in text
    assert "ACME" not in text
    assert text == (await unknown.text()).replace("nobody", "acme")
