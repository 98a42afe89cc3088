"""Issue 18 item 4: the views an on-call engineer reaches for first — incident history
with filters and case search, who is on call, silences, maintenance and failure reasons
on the overview, and a timeline in words."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from monitor.model import CheckState, ErrorCode, IncidentStatus, Level
from monitor.store import (
    CheckStatus,
    EventKind,
    IncidentEvent,
    MaintenanceWindow,
    Silence,
    SilenceScope,
)
from tests.web.conftest import Client
from tests.web.support import CONFIG, T0, Env, add_incident, add_password, login, write_config

ONCALL = """
oncall:
  schedules:
    primary:
      timezone: Europe/Oslo
      layers: [{rotation: weekly, handoff: "mon 09:00", members: [alice, bob]}]
      overrides: [{person: bob, from: 2026-12-24T00:00, to: 2026-12-27T00:00}]
  escalation:
    default:
      steps: [{notify: [schedule:primary], via: [email]}]
"""


async def signed_in(env: Env, client: Client) -> None:
    await add_password(env.store)
    await login(client)


async def page(client: Client, path: str) -> str:
    response = await client.get(path)
    assert response.status == 200, path
    return await response.text()


async def test_problem_4_incident_history_filters_by_customer_level_status_month_and_case(
    env: Env, private: Client
) -> None:
    await add_incident(env.store, case="VAKT-2026-000001", site_id="acme/shop")
    await add_incident(
        env.store, case="VAKT-2026-000002", site_id="open/web", level=Level.B,
        status=IncidentStatus.RESOLVED,
    )  # fmt: skip
    october = await add_incident(
        env.store, case="VAKT-2026-000003", site_id="acme/shop", level=Level.B,
        status=IncidentStatus.RESOLVED, opened_at=T0 - timedelta(days=40),
    )  # fmt: skip
    async with env.store.transaction() as tx:
        await tx.incidents.update(replace(october, resolved_at=october.opened_at))
    await signed_in(env, private)

    def cases(html: str) -> set[str]:
        return {c for c in ("000001", "000002", "000003") if f"VAKT-2026-{c}" in html}

    assert cases(await page(private, "/incidents")) == {"000001", "000002", "000003"}
    assert cases(await page(private, "/incidents?customer=open")) == {"000002"}
    assert cases(await page(private, "/incidents?site=acme/shop&level=B")) == {"000003"}
    assert cases(await page(private, "/incidents?status=open")) == {"000001"}
    assert cases(await page(private, "/incidents?month=2026-10")) == {"000003"}
    found = await private.get("/incidents?q=000002", allow_redirects=False)
    assert found.status == 303
    assert found.headers["Location"] == "/incidents/VAKT-2026-000002"


async def test_problem_4_the_oncall_page_shows_who_is_on_call_now_and_next_and_overrides(
    env: Env, private: Client, tmp_path: Path
) -> None:
    env.config = write_config(tmp_path, CONFIG + ONCALL)
    await signed_in(env, private)

    html = await page(private, "/oncall")

    now = html[html.index('id="oncall-primary"') :]
    assert "Now: Bob" in now  # T0 (Tuesday 24 Nov) is in bob's week of the rotation
    assert re.search(r"Mon 30 Nov 2026 09:00 CET · Alice Hansen", now)  # the next handoff
    assert "24 Dec" in now  # the override


async def test_problem_4_the_overview_shows_silences_maintenance_and_the_failure_reason(
    env: Env, private: Client
) -> None:
    async with env.store.transaction() as tx:
        await tx.silences.add(
            Silence(
                SilenceScope.CUSTOMER, "open", T0, T0 + timedelta(hours=2), "deploy", "alice", T0
            )
        )
        await tx.maintenance.add(
            MaintenanceWindow(("secret/*",), T0, T0 + timedelta(hours=1), "DB upgrade", "alice", T0)
        )
        failing = CheckStatus(
            "acme/shop/home", "oslo", CheckState.FAILING, T0, T0, last_error=ErrorCode.TIMEOUT
        )
        await tx.checks.save([failing])
    await signed_in(env, private)

    html = await page(private, "/")

    assert "deploy" in html
    assert "DB upgrade" in html
    row = html[html.index('href="/sites/acme/shop"') :][:1500]
    assert "timeout" in row.lower()


async def test_problem_4_the_timeline_says_in_words_who_was_paged_by_which_channel(
    env: Env, private: Client
) -> None:
    row = await add_incident(env.store, level=Level.A)
    async with env.store.transaction() as tx:
        await tx.incidents.add_events(
            [
                IncidentEvent(
                    row.id, T0, "vakt", EventKind.LEVEL_CHANGED,
                    level=Level.A, previous_level=Level.B,
                ),
                IncidentEvent(
                    row.id, T0, "vakt", EventKind.PAGED, recipient="person:alice",
                    channel="email",
                ),
            ]
        )  # fmt: skip
    await signed_in(env, private)

    html = await page(private, f"/incidents/{row.case_number}")

    timeline = html[html.index('id="tl-h"') :]
    assert "level_changed" not in timeline
    assert "Level B to Level A" in timeline
    assert "Paged Alice Hansen by email" in timeline
