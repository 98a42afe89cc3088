"""The team UI: overview, incident page and its forms, site page, maintenance, silences."""

from __future__ import annotations

from datetime import timedelta

from monitor.model import CheckState, IncidentStatus, Level
from monitor.store import CheckStatus, EventKind, SiteStatus
from monitor.web.ui.approval import APPROVAL_NOTE
from tests.web.conftest import Client
from tests.web.support import (
    T0,
    XSS,
    Env,
    add_incident,
    add_password,
    add_results,
    failed_result,
    login,
    ok_result,
)

CASE = "VAKT-2026-000001"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def signed_in(env: Env, client: Client) -> str:
    await add_password(env.store)
    return await login(client)


async def test_overview_lists_open_incidents_by_respond_by_with_time_left(
    env: Env, private: Client
) -> None:
    await add_incident(env.store, case="VAKT-2026-000001", respond_by=T0 + timedelta(hours=3))
    await add_incident(
        env.store, case="VAKT-2026-000002", site_id="open/web", respond_by=T0 + timedelta(hours=1)
    )
    await add_incident(
        env.store, case="VAKT-2026-000003", site_id="secret/app", status=IncidentStatus.RESOLVED
    )
    await signed_in(env, private)
    env.clock.advance(30 * 60)
    html = await (await private.get("/")).text()
    assert html.index("VAKT-2026-000002") < html.index("VAKT-2026-000001")
    assert "30m left" in html
    assert "2h 30m left" in html
    assert "VAKT-2026-000003" not in html
    env.clock.advance(60 * 60)
    assert "overdue by 30m" in await (await private.get("/")).text()


async def test_overview_shows_state_level_latency_and_a_sparkline(
    env: Env, private: Client
) -> None:
    check = "open/web/home"
    await add_results(
        env.store, [ok_result(check, T0 - timedelta(hours=h), 0.25) for h in range(5)]
    )
    async with env.store.transaction() as tx:
        await tx.checks.save([CheckStatus(check, "oslo", CheckState.OK, T0, T0, last_total=0.25)])
        await tx.sites.save([SiteStatus("open/web", Level.B, T0, T0)])
    await signed_in(env, private)
    html = await (await private.get("/")).text()
    row = html[html.index("www.open.example") :]
    assert "Level B" in row[:600]
    assert "250 ms" in row[:800]
    assert '<polyline class="line"' in row


async def test_hostile_names_are_escaped_everywhere(env: Env, private: Client) -> None:
    await add_incident(env.store)
    await signed_in(env, private)
    for path in ("/", f"/incidents/{CASE}", "/sites/acme/shop"):
        html = await (await private.get(path)).text()
        assert XSS not in html, path
        assert ESCAPED in html, path


async def test_probe_error_text_is_escaped_on_the_incident_page(env: Env, private: Client) -> None:
    await add_incident(env.store)
    hostile = 'HTTP 500 <img src=x onerror="alert(1)">'
    await add_results(env.store, [failed_result("acme/shop/home", T0, hostile)])
    await signed_in(env, private)
    html = await (await private.get(f"/incidents/{CASE}")).text()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    site_html = await (await private.get("/sites/acme/shop")).text()
    assert "<img src=x" not in site_html


async def test_incident_page_shows_evidence_timeline_and_sla_clock(
    env: Env, private: Client
) -> None:
    await add_incident(env.store, description="Home answers HTTP 500")
    await add_results(env.store, [failed_result("acme/shop/home", T0, "server error")])
    await signed_in(env, private)
    env.clock.advance(45 * 60)
    html = await (await private.get(f"/incidents/{CASE}")).text()
    assert "Home answers HTTP 500" in html
    assert "server error" in html
    assert "HTTP 500" in html
    assert "1h 15m left" in html
    assert '<span class="kind">Opened</span>' in html  # the timeline's first event, in words


async def test_acknowledge_from_the_incident_page(env: Env, private: Client) -> None:
    await add_incident(env.store)
    csrf = await signed_in(env, private)
    response = await private.post(f"/incidents/{CASE}/ack", data={"csrf": csrf})
    assert response.status == 200
    assert "Acknowledged" in await response.text()
    async with env.store.transaction() as tx:
        row = await tx.incidents.by_case(CASE)
    assert row is not None
    assert (row.status, row.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "alice")


async def test_resolve_from_the_incident_page(env: Env, private: Client) -> None:
    await add_incident(env.store)
    csrf = await signed_in(env, private)
    await private.post(f"/incidents/{CASE}/resolve", data={"csrf": csrf})
    async with env.store.transaction() as tx:
        row = await tx.incidents.by_case(CASE)
    assert row is not None
    assert row.status is IncidentStatus.RESOLVED


async def test_notes_are_public_or_internal(env: Env, private: Client) -> None:
    stored = await add_incident(env.store)
    csrf = await signed_in(env, private)
    await private.post(
        f"/incidents/{CASE}/note",
        data={"csrf": csrf, "text": "For customers", "visibility": "public"},
    )
    await private.post(
        f"/incidents/{CASE}/note",
        data={"csrf": csrf, "text": "Team only", "visibility": "internal"},
    )
    async with env.store.transaction() as tx:
        notes = [e for e in await tx.incidents.events(stored.id) if e.kind is EventKind.NOTE]
    assert [(n.text, n.public, n.actor) for n in notes] == [
        ("For customers", True, "alice"),
        ("Team only", False, "alice"),
    ]


async def test_an_empty_note_is_refused_with_a_message(env: Env, private: Client) -> None:
    await add_incident(env.store)
    csrf = await signed_in(env, private)
    response = await private.post(f"/incidents/{CASE}/note", data={"csrf": csrf, "text": "  "})
    assert "a note needs text" in await response.text()


async def test_approving_the_customer_email_is_recorded_once(env: Env, private: Client) -> None:
    stored = await add_incident(env.store)
    csrf = await signed_in(env, private)
    html = await (await private.get(f"/incidents/{CASE}")).text()
    assert "Approve customer email" in html
    first = await private.post(f"/incidents/{CASE}/approve", data={"csrf": csrf})
    assert "Customer email approved" in await first.text()
    again = await private.post(f"/incidents/{CASE}/approve", data={"csrf": csrf})
    assert "Already approved" in await again.text()
    async with env.store.transaction() as tx:
        approvals = await tx.web.approvals([stored.id])
        row = await tx.incidents.by_case(CASE)
        events = await tx.incidents.events(stored.id)
    assert approvals == {stored.id: ("alice", T0)}
    assert row is not None
    assert row.version == stored.version + 1
    assert [e.text for e in events if e.kind is EventKind.NOTE] == [APPROVAL_NOTE]


async def test_no_approve_button_where_the_policy_sends_emails_itself(
    env: Env, private: Client
) -> None:
    await add_incident(env.store, site_id="open/web")
    await signed_in(env, private)
    assert "Approve customer email" not in await (await private.get(f"/incidents/{CASE}")).text()


async def test_unknown_incident_and_site_are_404(env: Env, private: Client) -> None:
    await signed_in(env, private)
    assert (await private.get("/incidents/VAKT-2026-999999")).status == 404
    assert (await private.get("/sites/acme/nope")).status == 404


async def test_site_page_shows_recent_results_and_a_latency_chart(
    env: Env, private: Client
) -> None:
    results = [
        ok_result("acme/shop/home", T0 - timedelta(minutes=5 * i), 0.1 + i / 100) for i in range(6)
    ]
    await add_results(env.store, results)
    await signed_in(env, private)
    html = await (await private.get("/sites/acme/shop")).text()
    assert '<svg class="chart"' in html
    assert html.count('<tr class="v-ok">') == 6
    assert "150 ms" in html


async def test_maintenance_add_list_and_end(env: Env, private: Client) -> None:
    csrf = await signed_in(env, private)
    form = {
        "csrf": csrf,
        "sites": "acme/shop",
        "start": "2026-11-25T22:00",
        "end": "2026-11-25T23:00",
        "reason": "Server upgrade",
    }
    response = await private.post("/maintenance", data=form)
    html = await response.text()
    assert "Maintenance window added" in html
    assert "2026-11-25 22:00" in html
    assert "Server upgrade" in html
    async with env.store.transaction() as tx:
        (window,) = await tx.maintenance.upcoming(T0)
    assert window.start.isoformat() == "2026-11-25T21:00:00+00:00"  # Oslo is UTC+1
    ended = await private.post(f"/maintenance/{window.id}/end", data={"csrf": csrf})
    assert "Window ended" in await ended.text()
    async with env.store.transaction() as tx:
        assert await tx.maintenance.upcoming(T0) == []


async def test_maintenance_for_an_unknown_site_is_refused(env: Env, private: Client) -> None:
    csrf = await signed_in(env, private)
    form = {
        "csrf": csrf,
        "sites": "acme/nope",
        "start": "2026-11-25T22:00",
        "end": "2026-11-25T23:00",
        "reason": "x",
    }
    response = await private.post("/maintenance", data=form)
    assert "unknown site" in await response.text()
    async with env.store.transaction() as tx:
        assert await tx.maintenance.upcoming(T0) == []


async def test_silence_add_list_and_end(env: Env, private: Client) -> None:
    csrf = await signed_in(env, private)
    form = {
        "csrf": csrf,
        "scope": "site",
        "target": "acme/shop",
        "duration": "2h",
        "reason": "deploy",
    }
    html = await (await private.post("/silences", data=form)).text()
    assert "Silence added" in html
    assert "acme/shop" in html
    async with env.store.transaction() as tx:
        (silence,) = await tx.silences.active(T0)
    assert (silence.end - silence.start, silence.created_by) == (timedelta(hours=2), "alice")
    await private.post(f"/silences/{silence.id}/end", data={"csrf": csrf})
    async with env.store.transaction() as tx:
        assert await tx.silences.active(T0) == []


async def test_every_page_sends_the_security_headers(env: Env, private: Client) -> None:
    await signed_in(env, private)
    for path in ("/", "/login", "/maintenance", "/silences", "/nope"):
        response = await private.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp, path
        assert "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


async def test_no_page_holds_the_secret(env: Env, private: Client) -> None:
    await add_incident(env.store)
    await signed_in(env, private)
    for path in ("/", f"/incidents/{CASE}", "/sites/acme/shop"):
        html = await (await private.get(path)).text()
        assert str(env.config.settings.secret) not in html
        assert "acme-status-token" not in html
        assert "backup-token" not in html


async def test_a_page_cancelled_by_the_acknowledgement_shows_in_the_timeline_with_its_reason(
    env: Env, private: Client
) -> None:
    from monitor.store import Notification, OutboxKey

    incident = await add_incident(env.store)
    later = T0 + timedelta(minutes=10)
    key = OutboxKey(CASE, "page", "0:2:0", "person:alice", "email")
    async with env.store.transaction() as tx:
        await tx.outbox.add([Notification(key, T0, later, "{}", incident_id=incident.id)])
    csrf = await signed_in(env, private)
    await private.post(f"/incidents/{CASE}/ack", data={"csrf": csrf})
    html = await (await private.get(f"/incidents/{CASE}")).text()
    assert "Not sent: paged Alice Hansen by email" in html
    assert f"case {CASE} was acknowledged by alice" in html
