"""The REST API `/api/v1` against a real SQLite store, through aiohttp's test client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from monitor.clock import FixedClock
from monitor.model import CheckState, IncidentStatus, Level
from monitor.store import CheckStatus, EventKind, SiteStatus, Store
from tests.web.api_support import (
    READ,
    READ_TOKEN,
    T0,
    WRITE,
    WRITE_TOKEN,
    Deps,
    add_incidents,
    config,
    incident,
    open_store,
    serve,
)

Client = TestClient[web.Request, web.Application]


@dataclass
class Api:
    client: Client
    store: Store
    clock: FixedClock

    async def get(
        self, path: str, headers: dict[str, str] = READ, *, params: dict[str, str] | None = None
    ) -> Any:
        resp = await self.client.get(f"/api/v1{path}", headers=headers, params=params)
        return resp.status, await resp.json()

    async def post(self, path: str, body: Any = None, headers: dict[str, str] = WRITE) -> Any:
        resp = await self.client.post(f"/api/v1{path}", headers=headers, json=body)
        return resp.status, await resp.json()

    async def delete(self, path: str, headers: dict[str, str] = WRITE) -> Any:
        resp = await self.client.delete(f"/api/v1{path}", headers=headers)
        return resp.status, await resp.json()

    async def stored(self, case: str) -> Any:
        async with self.store.transaction(read_only=True) as tx:
            return await tx.incidents.by_case(case)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_store(f"sqlite:///{tmp_path / 'vakt.db'}") as store:
        clock = FixedClock(T0 + timedelta(minutes=30))
        cfg = config()
        async with serve(Deps(store, lambda: cfg, clock)) as client:
            yield Api(client, store, clock)


def error_code(body: Any) -> str:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    code: str = body["error"]["code"]
    return code


# --------------------------------------------------------------------------- auth


async def test_a_request_without_a_token_is_refused_with_401_and_a_bearer_challenge(
    api: Api,
) -> None:
    resp = await api.client.get("/api/v1/sites")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert error_code(await resp.json()) == "unauthorized"


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", f"Basic {READ_TOKEN}", f"Bearer {READ_TOKEN}x", "Bearer ", "Bearer"],
)
async def test_a_wrong_token_is_refused_with_401(api: Api, header: str) -> None:
    status, body = await api.get("/sites", headers={"Authorization": header})
    assert status == 401
    assert error_code(body) == "unauthorized"


async def test_the_bearer_scheme_is_case_insensitive(api: Api) -> None:
    status, body = await api.get("/token", headers={"Authorization": f"bearer {READ_TOKEN}"})
    assert (status, body) == (200, {"name": "grafana", "scope": "read"})


async def test_a_read_token_cannot_write_and_nothing_changes(api: Api) -> None:
    await add_incidents(api.store, incident("VAKT-2026-000001"))
    status, body = await api.post("/incidents/VAKT-2026-000001/acknowledge", {}, headers=READ)
    assert status == 403
    assert error_code(body) == "forbidden"
    assert (await api.stored("VAKT-2026-000001")).status is IncidentStatus.OPEN


async def test_a_write_token_may_also_read(api: Api) -> None:
    status, body = await api.get("/token", headers=WRITE)
    assert (status, body) == (200, {"name": "bot", "scope": "write"})


async def test_the_openapi_document_needs_no_token_and_holds_no_secret(api: Api) -> None:
    resp = await api.client.get("/api/v1/openapi.json")
    assert resp.status == 200
    text = await resp.text()
    assert text.startswith('{"openapi": "3.1.0"')
    for secret in (READ_TOKEN, WRITE_TOKEN, "s3cret-for-signing", "read-token"):
        assert secret not in text


async def test_responses_never_carry_token_digests_or_the_signing_secret(api: Api) -> None:
    await add_incidents(api.store, incident("VAKT-2026-000001"))
    cfg = config()
    secrets = [t.sha256 for t in cfg.settings.web.api_tokens] + ["s3cret-for-signing"]
    for path in ("/sites", "/checks", "/incidents", "/oncall", "/maintenance", "/token"):
        resp = await api.client.get(f"/api/v1{path}", headers=WRITE)
        text = await resp.text()
        assert resp.status == 200, path
        assert not [s for s in secrets if s in text], path


# ------------------------------------------------------------------ errors, routing


async def test_an_unknown_api_path_is_a_json_404(api: Api) -> None:
    status, body = await api.get("/nothing/here")
    assert status == 404
    assert error_code(body) == "not_found"


async def test_a_wrong_method_on_a_known_path_is_a_json_405_naming_the_allowed_ones(
    api: Api,
) -> None:
    resp = await api.client.put("/api/v1/incidents/VAKT-2026-000001/resolve", headers=WRITE)
    assert resp.status == 405
    assert resp.headers["Allow"] == "POST"
    assert error_code(await resp.json()) == "method_not_allowed"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"limit": "0"}, "query.limit"),
        ({"limit": "501"}, "query.limit"),
        ({"limit": "ten"}, "query.limit"),
        ({"status": "sleeping"}, "query.status"),
        ({"level": "C"}, "query.level"),
        ({"since": "yesterday"}, "query.since"),
        ({"since": "2026-03-02T09:00:00"}, "query.since"),  # no offset: ambiguous
        ({"since": "0001-01-01T00:00:00+01:00"}, "query.since"),  # before year 1 in UTC
        ({"cursor": "garbage"}, "cursor"),
        ({"cursor": "WzEsMl0"}, "cursor"),  # base64 of [1,2]: not one of ours
    ],
)
async def test_invalid_query_parameters_are_400_naming_the_parameter(
    api: Api, params: dict[str, str], fragment: str
) -> None:
    status, body = await api.get("/incidents", params=params)
    assert status == 400
    assert error_code(body) == "invalid_request"
    assert fragment in body["error"]["message"]


async def test_a_malformed_json_body_is_400(api: Api) -> None:
    await add_incidents(api.store, incident("VAKT-2026-000001"))
    resp = await api.client.post(
        "/api/v1/incidents/VAKT-2026-000001/notes",
        data=b'{"text": ',
        headers={**WRITE, "Content-Type": "application/json"},
    )
    assert resp.status == 400
    assert error_code(await resp.json()) == "invalid_request"


async def test_a_body_that_is_not_json_is_415(api: Api) -> None:
    await add_incidents(api.store, incident("VAKT-2026-000001"))
    resp = await api.client.post(
        "/api/v1/incidents/VAKT-2026-000001/notes",
        data=b"text=hello",
        headers={**WRITE, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 415
    assert error_code(await resp.json()) == "unsupported_media_type"
    async with api.store.transaction(read_only=True) as tx:
        assert await tx.incidents.events(1) == []


async def test_unknown_body_fields_are_400(api: Api) -> None:
    await add_incidents(api.store, incident("VAKT-2026-000001"))
    status, body = await api.post("/incidents/VAKT-2026-000001/notes", {"text": "x", "pin": 1})
    assert status == 400
    assert "body.pin" in body["error"]["message"]


# ------------------------------------------------------------------- sites, checks


async def save_states(store: Store, *rows: CheckStatus, sites: tuple[SiteStatus, ...] = ()) -> None:
    async with store.transaction() as tx:
        await tx.checks.save(rows)
        await tx.sites.save(sites)


def state(check_id: str, location: str, value: CheckState) -> CheckStatus:
    return CheckStatus(check_id, location, value, since=T0, updated_at=T0, last_probe_at=T0)


async def test_sites_list_every_configured_site_with_its_level_and_open_case(api: Api) -> None:
    [row] = await add_incidents(api.store, incident("VAKT-2026-000001"))
    await save_states(api.store, sites=(SiteStatus("acme/shop", Level.A, T0, T0, row.id),))
    status, body = await api.get("/sites")
    assert status == 200
    assert [s["id"] for s in body["items"]] == ["acme/shop", "beta/web"]
    shop = body["items"][0]
    assert (shop["level"], shop["incident"], shop["customer_name"]) == (
        "A",
        "VAKT-2026-000001",
        "ACME <b>AS</b>",
    )
    assert body["items"][1]["level"] is None
    assert (body["total"], body["next_offset"]) == (2, None)


async def test_sites_page_with_limit_and_offset_and_filter_by_customer(api: Api) -> None:
    status, body = await api.get("/sites", params={"limit": "1"})
    assert (status, [s["id"] for s in body["items"]], body["next_offset"]) == (
        200,
        ["acme/shop"],
        1,
    )
    _, body = await api.get("/sites", params={"limit": "1", "offset": "1"})
    assert ([s["id"] for s in body["items"]], body["next_offset"]) == (["beta/web"], None)
    _, body = await api.get("/sites", params={"customer": "beta"})
    assert [s["id"] for s in body["items"]] == ["beta/web"]


async def test_a_check_is_failing_only_when_a_majority_of_its_locations_say_so(api: Api) -> None:
    # acme/shop is probed from oslo and bergen: a majority of two is both.
    await save_states(
        api.store,
        state("acme/shop/home", "oslo", CheckState.FAILING),
        state("acme/shop/home", "bergen", CheckState.OK),
        state("acme/shop/checkout", "oslo", CheckState.FAILING),
        state("acme/shop/checkout", "bergen", CheckState.FAILING),
    )
    status, body = await api.get("/sites/acme/shop")
    assert status == 200
    states = {c["name"]: c["state"] for c in body["checks"]}
    assert states == {"home": "ok", "checkout": "failing"}
    home = next(c for c in body["checks"] if c["name"] == "home")
    assert {loc["location"]: loc["state"] for loc in home["locations"]} == {
        "bergen": "ok",
        "oslo": "failing",
    }


async def test_a_check_never_probed_is_unknown(api: Api) -> None:
    _, body = await api.get("/checks", params={"site": "beta/web"})
    assert {c["id"]: c["state"] for c in body["items"]} == {
        "beta/web/home": "unknown",
        "beta/web/checkout": "unknown",
    }


async def test_checks_filter_by_state(api: Api) -> None:
    await save_states(api.store, state("beta/web/home", "oslo", CheckState.FAILING))
    status, body = await api.get("/checks", params={"state": "failing"})
    assert status == 200
    assert [c["id"] for c in body["items"]] == ["beta/web/home"]
    assert body["total"] == 1


async def test_one_check_carries_its_recent_results(api: Api) -> None:
    from tests.engine.support import result

    async with api.store.transaction() as tx:
        await tx.results.push_recent([result("beta/web/home", T0)])
    status, body = await api.get("/checks/beta/web/home")
    assert status == 200
    assert body["id"] == "beta/web/home"
    assert [r["verdict"] for r in body["recent"]] == ["ok"]


@pytest.mark.parametrize(
    "path", ["/sites/acme/nope", "/sites/nobody/shop", "/checks/acme/shop/nope"]
)
async def test_unknown_sites_and_checks_are_404(api: Api, path: str) -> None:
    status, body = await api.get(path)
    assert status == 404
    assert error_code(body) == "not_found"


# ------------------------------------------------------------------------ incidents


async def seed_incidents(api: Api) -> None:
    await add_incidents(
        api.store,
        incident(
            "VAKT-2026-000001", opened_at=T0 - timedelta(days=3), status=IncidentStatus.RESOLVED
        ),
        incident("VAKT-2026-000002", "beta/web", opened_at=T0 - timedelta(days=2), level=Level.B),
        incident("VAKT-2026-000003", opened_at=T0 - timedelta(days=1)),
        incident("VAKT-2026-000004", "beta/web", opened_at=T0),
    )


@pytest.mark.parametrize(
    ("params", "cases"),
    [
        ({}, [4, 3, 2, 1]),
        ({"status": "open"}, [4, 3, 2]),
        ({"status": "resolved"}, [1]),
        ({"customer": "beta"}, [4, 2]),
        ({"site": "acme/shop"}, [3, 1]),
        ({"level": "B"}, [2]),
        ({"since": (T0 - timedelta(days=1)).isoformat()}, [4, 3]),
        ({"since": "2026-03-01T10:00:00+01:00"}, [4, 3]),
        ({"customer": "beta", "level": "A"}, [4]),
        ({"customer": "nobody"}, []),
    ],
)
async def test_incidents_filter_newest_first(
    api: Api, params: dict[str, str], cases: list[int]
) -> None:
    await seed_incidents(api)
    status, body = await api.get("/incidents", params=params)
    assert status == 200
    assert [i["case"] for i in body["items"]] == [f"VAKT-2026-00000{n}" for n in cases]
    assert body["next_cursor"] is None


async def test_incident_pages_follow_the_cursor_and_cover_each_incident_once(api: Api) -> None:
    await seed_incidents(api)
    # Two opened at the same moment: the id breaks the tie.
    await add_incidents(api.store, incident("VAKT-2026-000005", "beta/web", opened_at=T0))
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, body = await api.get("/incidents", params=params)
        assert status == 200
        seen += [i["case"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"VAKT-2026-00000{n}" for n in (5, 4, 3, 2, 1)]


async def test_one_incident_with_its_timeline(api: Api) -> None:
    await seed_incidents(api)
    await api.post("/incidents/VAKT-2026-000003/notes", {"text": "<script>x</script> looking"})
    status, body = await api.get("/incidents/VAKT-2026-000003")
    assert status == 200
    assert body["case"] == "VAKT-2026-000003"
    assert body["site"] == "acme/shop"
    assert [(e["kind"], e["text"]) for e in body["timeline"]] == [
        ("note", "<script>x</script> looking")
    ]


async def test_an_unknown_case_is_404(api: Api) -> None:
    status, body = await api.get("/incidents/VAKT-2026-999999")
    assert status == 404
    assert error_code(body) == "not_found"


async def test_acknowledge_records_the_token_as_actor_and_stops_pages(api: Api) -> None:
    await seed_incidents(api)
    status, body = await api.post("/incidents/VAKT-2026-000003/acknowledge")
    assert status == 200
    assert body["changed"] is True
    assert body["incident"]["status"] == "acknowledged"
    stored = await api.stored("VAKT-2026-000003")
    assert stored.status is IncidentStatus.ACKNOWLEDGED
    assert (stored.acknowledged_by, stored.acknowledged_at) == ("api:bot", api.clock.now())


async def test_acknowledge_as_a_person_from_the_config(api: Api) -> None:
    await seed_incidents(api)
    status, _ = await api.post("/incidents/VAKT-2026-000003/acknowledge", {"person": "alice"})
    assert status == 200
    assert (await api.stored("VAKT-2026-000003")).acknowledged_by == "alice"


async def test_acting_as_an_unknown_person_is_400_and_changes_nothing(api: Api) -> None:
    await seed_incidents(api)
    status, body = await api.post("/incidents/VAKT-2026-000003/acknowledge", {"person": "mallory"})
    assert status == 400
    assert "mallory" in body["error"]["message"]
    assert (await api.stored("VAKT-2026-000003")).status is IncidentStatus.OPEN


async def test_acknowledging_twice_changes_nothing_the_second_time(api: Api) -> None:
    await seed_incidents(api)
    await api.post("/incidents/VAKT-2026-000003/acknowledge", {"person": "alice"})
    status, body = await api.post("/incidents/VAKT-2026-000003/acknowledge", {"person": "bob"})
    assert (status, body["changed"]) == (200, False)
    assert (await api.stored("VAKT-2026-000003")).acknowledged_by == "alice"


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
async def test_acting_on_a_resolved_incident_is_a_409_conflict(api: Api, action: str) -> None:
    await seed_incidents(api)
    status, body = await api.post(f"/incidents/VAKT-2026-000001/{action}")
    assert status == 409
    assert error_code(body) == "already_resolved"


@pytest.mark.parametrize("action", ["acknowledge", "resolve", "notes"])
async def test_acting_on_an_unknown_case_is_404(api: Api, action: str) -> None:
    body = {"text": "x"} if action == "notes" else {}
    status, body = await api.post(f"/incidents/VAKT-2026-999999/{action}", body)
    assert status == 404
    assert error_code(body) == "not_found"


async def test_resolve_by_hand(api: Api) -> None:
    await seed_incidents(api)
    status, body = await api.post("/incidents/VAKT-2026-000004/resolve", {"person": "bob"})
    assert status == 200
    assert body["incident"]["status"] == "resolved"
    stored = await api.stored("VAKT-2026-000004")
    assert (stored.status, stored.resolved_by) == (IncidentStatus.RESOLVED, "bob")


async def test_notes_are_internal_unless_marked_public(api: Api) -> None:
    await seed_incidents(api)
    status, body = await api.post("/incidents/VAKT-2026-000004/notes", {"text": "internal"})
    assert status == 201
    assert body["event"] == {
        "at": body["event"]["at"],
        "actor": "api:bot",
        "kind": "note",
        "text": "internal",
        "public": False,
        "level": None,
        "previous_level": None,
        "ref": None,
        "recipient": None,
        "channel": None,
    }
    await api.post("/incidents/VAKT-2026-000004/notes", {"text": "We are on it", "public": True})
    async with api.store.transaction(read_only=True) as tx:
        row = await tx.incidents.by_case("VAKT-2026-000004")
        public = await tx.incidents.events(row.id, public_only=True)  # type: ignore[union-attr]
    assert [(e.kind, e.text) for e in public] == [(EventKind.NOTE, "We are on it")]


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "   \n"}, {}, {"text": "a\x00b"}])
async def test_an_empty_or_unstorable_note_is_400(api: Api, body: dict[str, str]) -> None:
    await seed_incidents(api)
    status, reply = await api.post("/incidents/VAKT-2026-000004/notes", body)
    assert status == 400
    assert error_code(reply) == "invalid_request"


# ---------------------------------------------------------------------- maintenance


async def test_maintenance_lists_config_windows_and_added_ones_and_ends_them(api: Api) -> None:
    now = api.clock.now()
    window = {
        "sites": ["acme/shop", "beta/*"],
        "start": (now + timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=2)).isoformat(),
        "reason": "Server upgrade",
    }
    status, added = await api.post("/maintenance", window)
    assert status == 201
    assert (added["source"], added["created_by"], added["sites"]) == (
        "runtime",
        "api:bot",
        ["acme/shop", "beta/*"],
    )
    status, listed = await api.get("/maintenance")
    assert status == 200
    assert [(w["id"], w["source"], w["every"]) for w in listed["items"]] == [
        ("config:m1", "config", "sun 03:00 UTC"),
        (added["id"], "runtime", None),
    ]
    status, ended = await api.delete(f"/maintenance/{added['id']}")
    assert (status, ended["ended_at"]) == (200, now.isoformat().replace("+00:00", "Z"))
    _, listed = await api.get("/maintenance")
    assert [w["id"] for w in listed["items"]] == ["config:m1"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"sites": ["acme/nope"]}, "acme/nope"),
        ({"sites": ["nobody/*"]}, "nobody/*"),
        ({"sites": []}, "body.sites"),
        ({"end": "2026-03-02T09:00:00+00:00"}, "the end must be after the start"),
        ({"start": "2026-03-01T00:00:00Z", "end": "2026-03-01T01:00:00Z"}, "in the past"),
        ({"start": "2026-03-02T12:00:00"}, "body.start"),
    ],
)
async def test_invalid_maintenance_is_400(api: Api, change: dict[str, Any], fragment: str) -> None:
    window = {
        "sites": ["acme/shop"],
        "start": "2026-03-02T11:00:00Z",
        "end": "2026-03-02T12:00:00Z",
        **change,
    }
    status, body = await api.post("/maintenance", window)
    assert status == 400
    assert fragment in body["error"]["message"]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/maintenance/config:m1", 409, "conflict"),
        ("/maintenance/999", 404, "not_found"),
        ("/maintenance/abc", 404, "not_found"),
        ("/maintenance/99999999999999999999999", 404, "not_found"),
        ("/silences/999", 404, "not_found"),
    ],
)
async def test_ending_what_cannot_be_ended(api: Api, path: str, status: int, code: str) -> None:
    got, body = await api.delete(path)
    assert (got, error_code(body)) == (status, code)


async def test_ending_a_window_twice_is_a_409(api: Api) -> None:
    now = api.clock.now()
    _, added = await api.post(
        "/maintenance",
        {"sites": ["*"], "start": now.isoformat(), "end": (now + timedelta(hours=1)).isoformat()},
    )
    assert (await api.delete(f"/maintenance/{added['id']}"))[0] == 200
    status, body = await api.delete(f"/maintenance/{added['id']}")
    assert (status, error_code(body)) == (409, "conflict")


# -------------------------------------------------------------------------- silences


async def test_silences_add_list_and_end(api: Api) -> None:
    now = api.clock.now()
    end = (now + timedelta(hours=4)).isoformat()
    status, added = await api.post(
        "/silences", {"scope": "check", "target": "acme/shop/checkout", "end": end}
    )
    assert status == 201
    assert (added["start"], added["created_by"]) == (
        now.isoformat().replace("+00:00", "Z"),
        "api:bot",
    )
    _, listed = await api.get("/silences")
    assert [s["target"] for s in listed["items"]] == ["acme/shop/checkout"]
    status, ended = await api.delete(f"/silences/{added['id']}")
    assert status == 200
    assert ended["ended_at"] is not None
    _, listed = await api.get("/silences")
    assert listed["items"] == []
    assert (await api.delete(f"/silences/{added['id']}"))[0] == 409


@pytest.mark.parametrize(
    ("scope", "target"),
    [("customer", "nobody"), ("site", "acme/nope"), ("check", "acme/shop/nope"), ("site", "acme")],
)
async def test_a_silence_must_name_something_configured(api: Api, scope: str, target: str) -> None:
    status, body = await api.post(
        "/silences", {"scope": scope, "target": target, "end": "2026-03-03T00:00:00Z"}
    )
    assert status == 400
    assert target in body["error"]["message"]


async def test_a_read_token_cannot_add_or_end_silences(api: Api) -> None:
    body = {"scope": "customer", "target": "acme", "end": "2026-03-03T00:00:00Z"}
    status, _ = await api.post("/silences", body, headers=READ)
    assert status == 403
    _, listed = await api.get("/silences")
    assert listed["items"] == []


# ---------------------------------------------------------------------------- oncall


async def test_oncall_names_the_person_on_each_schedule_and_the_next_handoff(api: Api) -> None:
    # Weekly from Monday 2026-01-05 09:00, alice then bob: week 8 (from 03-02 09:00) is alice's.
    status, body = await api.get("/oncall")
    assert status == 200
    assert body["items"] == [
        {
            "schedule": "primary",
            "person": {"id": "alice", "name": "Alice Hansen"},
            "until": "2026-03-09T09:00:00Z",
        }
    ]


# ------------------------------------------------------------------ the private app


async def test_the_private_app_serves_the_api_with_security_headers_and_no_csrf_for_bearers(
    tmp_path: Path,
) -> None:
    from aiohttp.test_utils import TestServer

    from monitor.web import WebDeps, create_private_app

    async with open_store(f"sqlite:///{tmp_path / 'vakt.db'}") as store:
        await add_incidents(store, incident("VAKT-2026-000001"))
        cfg = config()
        deps = WebDeps(store=store, config=lambda: cfg, clock=FixedClock(T0))
        async with TestClient(TestServer(create_private_app(deps), host="127.0.0.1")) as client:
            resp = await client.post(
                "/api/v1/incidents/VAKT-2026-000001/acknowledge", headers=WRITE, json={}
            )
            assert resp.status == 200
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
            missing = await client.get("/api/v1/nothing")
            assert missing.status == 404
            assert error_code(await missing.json()) == "not_found"


@pytest.mark.parametrize("path", ["/silences", "/maintenance"])
async def test_a_period_ending_in_9999_is_refused_and_the_lists_still_work(
    api: Api, path: str
) -> None:
    """A silence until 9999-12-31 was stored, then broke the Silences page and
    `vakt silence --list`: every user-given period is bounded (`policy.periods`)."""
    now = api.clock.now().isoformat()
    body: dict[str, object] = {"end": "9999-12-31T23:59:00Z", "start": now}
    if path == "/silences":
        body |= {"scope": "customer", "target": "acme"}
    else:
        body |= {"sites": ["acme/*"]}
    status, answer = await api.post(path, body)
    assert status == 400
    assert "366 days" in answer["error"]["message"]
    status, listed = await api.get(path)
    assert status == 200
    assert all(not (item["end"] or "").startswith("9999") for item in listed["items"])
