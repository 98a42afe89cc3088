"""Customer status pages: access, contents in the customer's language, JSON, Atom, uptime."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree

from monitor.engine.history import probed_buckets
from monitor.model import IncidentStatus, Level
from monitor.policy.uptime import LevelChange
from monitor.store import EventKind, IncidentEvent, MaintenanceWindow, SiteStatus
from monitor.store.queries.web import SeriesPoint
from monitor.web.public.statusdata import SiteHistory
from tests.web.conftest import Client
from tests.web.support import (
    STATUS_TOKEN,
    T0,
    XSS,
    Env,
    add_incident,
    add_results,
    failed_result,
    ok_result,
)

ACME = "/status/acme"
DAY = date(2026, 11, 24)


async def test_a_private_page_is_404_without_its_token(public: Client) -> None:
    for path in (ACME, f"{ACME}.json", f"{ACME}/feed.atom", f"{ACME}?token=wrong"):
        assert (await public.get(path)).status == 404, path


async def test_a_customer_without_a_token_or_public_flag_has_no_page(public: Client) -> None:
    assert (await public.get("/status/secret")).status == 404
    assert (await public.get("/status/nobody")).status == 404


async def test_the_token_sets_a_cookie_and_leaves_the_url(public: Client) -> None:
    response = await public.get(f"{ACME}?token={STATUS_TOKEN}", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == ACME
    cookie = response.cookies["vakt_status_acme"]
    assert cookie["httponly"] is True
    assert cookie["path"] == "/status/"
    page = await public.get(f"{ACME}?token={STATUS_TOKEN}")  # follows to the clean URL
    assert page.status == 200
    assert str(page.url).endswith(ACME)
    assert (await public.get(f"{ACME}.json")).status == 200  # the cookie is enough now


async def test_a_public_page_needs_no_token(public: Client) -> None:
    response = await public.get("/status/open")
    assert response.status == 200
    html = await response.text()
    assert '<html lang="nl">' in html
    assert "Alle systemen operationeel" in html


async def test_the_page_speaks_the_customers_language_and_escapes_names(
    env: Env, public: Client
) -> None:
    async with env.store.transaction() as tx:
        await tx.sites.save([SiteStatus("acme/shop", Level.A, T0, T0)])
    html = await (await public.get(f"{ACME}?token={STATUS_TOKEN}")).text()
    assert '<html lang="nb">' in html
    assert "Større driftsavbrudd" in html
    assert "Oppetid de siste 90 dagene" in html
    assert XSS not in html
    assert "ACME &lt;script&gt;" in html


async def test_only_public_updates_and_no_internals(env: Env, public: Client) -> None:
    stored = await add_incident(env.store, description="home: HTTP 500 from 10.1.2.3 (bob)")
    await add_results(env.store, [failed_result("acme/shop/home", T0, "Fatal error at 10.1.2.3")])
    async with env.store.transaction() as tx:
        await tx.incidents.add_events(
            [
                IncidentEvent(
                    stored.id, T0, "alice", EventKind.NOTE, "We restarted the shop", True
                ),
                IncidentEvent(stored.id, T0, "alice", EventKind.NOTE, "DB password rotated", False),
                IncidentEvent(stored.id, T0, "bob", EventKind.ACKNOWLEDGED),
            ]
        )
    await public.get(f"{ACME}?token={STATUS_TOKEN}")
    html = await (await public.get(ACME)).text()
    doc = await (await public.get(f"{ACME}.json")).text()
    feed = await (await public.get(f"{ACME}/feed.atom")).text()
    for text in (html, doc, feed):
        assert "We restarted the shop" in text
        for secret in ("DB password", "10.1.2.3", "Fatal error", "alice", "Alice", "bob", "Bob"):
            assert secret not in text, secret
        assert STATUS_TOKEN not in text
        assert str(env.config.settings.secret) not in text


async def test_the_json_document(env: Env, public: Client) -> None:
    await add_results(
        env.store,
        [
            ok_result("open/web/home", T0 - timedelta(hours=1)),
            failed_result("open/web/home", T0 - timedelta(minutes=50), "x"),
        ],
    )
    body = json.loads(await (await public.get("/status/open.json")).text())
    assert body["customer"] == "Open Company"
    assert body["status"] == "operational"
    (site,) = body["sites"]
    assert site["name"] == "www.open.example"
    assert len(site["days"]) == 90
    # one failed probe is no outage: uptime counts time at Level A, which never began
    assert site["days"][-1] == {"date": "2026-11-24", "uptime": 100.0, "degraded": 0.0}
    assert site["uptime_90d"] == 100.0


async def test_the_atom_feed_lists_incidents(env: Env, public: Client) -> None:
    await add_incident(env.store, site_id="open/web")
    feed = ElementTree.fromstring(await (await public.get("/status/open/feed.atom")).text())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    (entry,) = feed.findall("a:entry", ns)
    assert entry.findtext("a:id", namespaces=ns) == "urn:vakt:VAKT-2026-000001"
    assert feed.findtext("a:title", namespaces=ns) == "Open Company"


async def test_upcoming_maintenance_is_announced(env: Env, public: Client) -> None:
    window = MaintenanceWindow(
        ("open/*",),
        T0 + timedelta(days=1),
        T0 + timedelta(days=1, hours=1),
        "Server upgrade",
        "alice",
        T0,
    )
    async with env.store.transaction() as tx:
        await tx.maintenance.add(window)
    html = await (await public.get("/status/open")).text()
    assert "Gepland onderhoud" in html
    assert "Server upgrade" in html


async def test_resolved_incidents_move_to_past_incidents_after_a_week(
    env: Env, public: Client
) -> None:
    row = await add_incident(env.store, site_id="open/web", status=IncidentStatus.RESOLVED)
    async with env.store.transaction() as tx:
        await tx.incidents.update(replace(row, resolved_at=T0 - timedelta(days=8)))
    html = await (await public.get("/status/open")).text()
    assert 'id="inc-h"' not in html
    assert "VAKT-2026-000001" in html[html.index('id="past-h"') :]


def test_uptime_leaves_out_maintenance() -> None:
    at = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    points = [
        SeriesPoint(at, ok=10, degraded=0, failed=0, latency_sum=1.0),
        SeriesPoint(at + timedelta(minutes=5), ok=0, degraded=0, failed=10, latency_sum=0.0),
    ]
    down = [LevelChange(at + timedelta(minutes=5), Level.A)]
    windows = [(at + timedelta(minutes=5), at + timedelta(minutes=10))]
    end = at + timedelta(minutes=10)
    (bar,), overall, _ = SiteHistory(probed_buckets(points), windows, down, None).days(
        [DAY], UTC, end
    )
    assert bar.uptime == 1.0
    assert overall == 1.0
    (bar,), overall, _ = SiteHistory(probed_buckets(points), [], down, None).days([DAY], UTC, end)
    assert bar.uptime == 0.5
    assert overall == 0.5


def test_a_day_without_measurements_has_no_uptime() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    (bar,), overall, since = SiteHistory([], [], [], None).days([DAY], UTC, now)
    assert bar.uptime is None
    assert bar.bar == "none"
    assert overall is None
    assert since is None
