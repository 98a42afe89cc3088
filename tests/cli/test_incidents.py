"""`vakt incidents list|show|ack|resolve|note` against a real store."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest

from monitor.model import IncidentStatus, Level
from monitor.store import CustomerRequest, Incident, IncidentEvent, RequestStatus, Store
from tests.cli.support import INCIDENT_KEYS, KARI, Env, now, seed_incident


def seed(env: Env, **options: object) -> Incident:
    async def work(store: Store) -> Incident:
        return await seed_incident(store, **options)  # type: ignore[arg-type]

    row: Incident = env.run(work)
    return row


def stored(env: Env, case: str) -> tuple[Incident, list[IncidentEvent]]:
    async def work(store: Store) -> tuple[Incident, list[IncidentEvent]]:
        async with store.transaction(read_only=True) as tx:
            row = await tx.incidents.by_case(case)
            assert row is not None
            return row, await tx.incidents.events(row.id)

    result: tuple[Incident, list[IncidentEvent]] = env.run(work)
    return result


# ---------------------------------------------------------------------------------- list


def test_list_json_has_every_field_the_seeds_require(env: Env) -> None:
    row = seed(env)
    [item] = env.json("incidents", "list")
    assert item.keys() >= INCIDENT_KEYS
    assert item["case"] == row.case_number
    assert (item["customer"], item["site"], item["level"]) == ("acme", "acme/shop", "A")
    assert item["status"] == "open"
    assert item["contact"] == KARI
    assert item["description"].startswith("Home (https://shop.acme.example/) fails")
    assert item["opened_at"] == row.opened_at.isoformat()
    assert item["respond_by"] == (row.opened_at + timedelta(hours=2)).isoformat()
    assert item["opened_at"].endswith("+00:00")
    assert item["acknowledged_at"] is None
    assert item["resolved_at"] is None


def test_list_is_newest_first_and_open_leaves_out_resolved(env: Env) -> None:
    old = seed(env, opened_at=now() - timedelta(hours=3), status=IncidentStatus.RESOLVED)
    new = seed(env, site="globex/web", level=Level.B)
    cases = [i["case"] for i in env.json("incidents", "list")]
    assert cases == [new.case_number, old.case_number]
    assert [i["case"] for i in env.json("incidents", "list", "--open")] == [new.case_number]


def test_list_queue_orders_open_cases_by_respond_by_then_submission(env: Env) -> None:
    """Monitoring and customer-reported cases in one queue, each with its clock."""
    late = seed(env, respond_in=timedelta(hours=9))
    soon = seed(env, site="globex/web", respond_in=timedelta(hours=1))
    seed(env, site="acme/blog", status=IncidentStatus.RESOLVED)  # not in the queue
    reported = CustomerRequest(
        submitted_at=now() - timedelta(minutes=5),
        source="form",
        customer_id="acme",
        site_id="acme/shop",
        name="Kari Nordmann",
        email="kari@acme.example",
        description="Vipps fails",
        urgent=False,
        language="en",
        status=RequestStatus.OPEN,
        case_number="VAKT-2026-000900",
        respond_by=soon.respond_by,  # the same deadline, submitted later
    )

    async def add(store: Store) -> None:
        async with store.transaction() as tx:
            await tx.intake.add(reported)

    env.run(add)
    items = env.json("incidents", "list", "--queue")
    assert [i["case"] for i in items] == [
        soon.case_number,
        "VAKT-2026-000900",
        late.case_number,
    ]
    assert [i["kind"] for i in items] == ["monitoring", "customer_reported", "monitoring"]
    assert items[1]["who"] == "Kari Nordmann <kari@acme.example>"
    assert all(i["clock"] for i in items)
    code, out, _ = env.vakt("incidents", "list", "--queue")
    assert code == 0
    assert out.index(soon.case_number) < out.index("VAKT-2026-000900") < out.index(late.case_number)


def test_ack_and_resolve_answer_a_customer_reported_case(env: Env) -> None:
    reported = CustomerRequest(
        submitted_at=now() - timedelta(minutes=5),
        source="email",
        customer_id="acme",
        site_id=None,
        name="Kari Nordmann",
        email="kari@acme.example",
        description="Invoice page is blank",
        urgent=False,
        language="en",
        status=RequestStatus.OPEN,
        case_number="VAKT-2026-000901",
        respond_by=now() + timedelta(hours=8),
    )

    async def add(store: Store) -> None:
        async with store.transaction() as tx:
            await tx.intake.add(reported)

    async def read(store: Store) -> CustomerRequest:
        async with store.transaction(read_only=True) as tx:
            (row,) = await tx.intake.by_case("VAKT-2026-000901")
        return row

    env.run(add)
    code, out, err = env.vakt("incidents", "ack", "VAKT-2026-000901", "--by", "alice")
    assert code == 0, err
    assert "VAKT-2026-000901" in out
    assert env.run(read).acknowledged_by == "alice"
    code, _, err = env.vakt("incidents", "resolve", "VAKT-2026-000901", "--by", "alice")
    assert code == 0, err
    row = env.run(read)
    assert (row.status, row.resolved_by) == (RequestStatus.RESOLVED, "alice")
    assert env.json("incidents", "list", "--queue") == []


def test_list_by_customer_and_limit(env: Env) -> None:
    first = seed(env, opened_at=now() - timedelta(hours=2))
    second = seed(env, site="acme/blog", opened_at=now() - timedelta(hours=1))
    seed(env, site="globex/web")
    acme = env.json("incidents", "list", "--customer", "acme")
    assert [i["case"] for i in acme] == [second.case_number, first.case_number]
    limited = env.json("incidents", "list", "--customer", "acme", "--limit", "1")
    assert [i["case"] for i in limited] == [second.case_number]
    assert len(env.json("incidents", "list", "--limit", "2")) == 2


def test_list_for_an_unknown_customer_is_a_usage_error(env: Env) -> None:
    code, _, err = env.vakt("incidents", "list", "--customer", "nobody")
    assert code == 2
    assert "no customer 'nobody' in the config" in err


def test_list_as_a_table(env: Env) -> None:
    row = seed(env)
    code, out, _ = env.vakt("incidents", "list")
    assert code == 0
    header, line = out.splitlines()
    assert header.split() == [
        "CASE",
        "LEVEL",
        "STATUS",
        "SITE",
        "OPENED",
        "RESPOND",
        "BY",
        "ACK",
        "BY",
    ]
    assert line.startswith(f"{row.case_number}  A      open    acme/shop")
    assert re.search(r"\(in 1h (49|50)m\)", line)  # respond-by is 1 h 50 min away
    assert "\x1b[" not in out  # not a terminal: no colour


def test_list_says_when_there_are_none(env: Env) -> None:
    assert env.vakt("incidents", "list") == (0, "No incidents.\n", "")


# ---------------------------------------------------------------------------------- show


def test_show_prints_the_case_record_and_timeline(env: Env) -> None:
    row = seed(env)
    assert (
        env.vakt("incidents", "note", row.case_number, "Restarted", "php-fpm", "--by", "bob")[0]
        == 0
    )
    note = ("incidents", "note", row.case_number, "We are on it", "--public", "--by", "alice")
    assert env.vakt(*note)[0] == 0
    code, out, _ = env.vakt("incidents", "show", row.case_number.lower())
    assert code == 0
    for expected in (
        f"Case:         {row.case_number}",
        "Level:        Level A",
        "Status:       open",
        "Customer:     ACME AS (acme)",
        "Site:         acme/shop",
        f"Contact:      {KARI}",
        "Opened at:    ",
        "Respond by:   ",
        "  Home (https://shop.acme.example/) fails: timeout after 10 s.",
        "Timeline (Europe/Oslo):",
    ):
        assert expected in out
    timeline = out.split("Timeline (Europe/Oslo):\n")[1].splitlines()
    assert timeline[1].split()[3:6] == ["vakt", "opened", "[internal]"]
    assert timeline[2].split()[3:] == ["bob", "note", "[internal]", "Restarted", "php-fpm"]
    assert timeline[3].split()[4:6] == ["note", "[public]"]


def test_show_json_has_the_timeline_with_public_notes_marked(env: Env) -> None:
    row = seed(env)
    env.vakt("incidents", "note", row.case_number, "Back soon", "--public", "--by", "alice")
    shown = env.json("incidents", "show", row.case_number)
    assert shown.keys() >= INCIDENT_KEYS
    assert [(e["actor"], e["kind"], e["public"]) for e in shown["timeline"]] == [
        ("vakt", "opened", False),
        ("alice", "note", True),
    ]
    assert shown["timeline"][1]["text"] == "Back soon"
    assert shown["timeline"][0]["at"] == row.opened_at.isoformat()


def test_show_an_unknown_case_fails(env: Env) -> None:
    code, out, err = env.vakt("incidents", "show", "VAKT-2026-999999")
    assert (code, out) == (1, "")
    assert "no incident with case number VAKT-2026-999999" in err


# ------------------------------------------------------------------------- ack, resolve


def test_ack_records_who_and_bumps_the_version_so_a_stale_writer_loses(env: Env) -> None:
    row = seed(env)
    code, out, _ = env.vakt("incidents", "ack", row.case_number, "--by", "alice")
    assert code == 0
    assert f"{row.case_number}: acknowledged by Alice Hansen (alice); now acknowledged" in out
    after, events = stored(env, row.case_number)
    assert (after.status, after.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "alice")
    assert after.version == row.version + 1
    assert [(e.kind.value, e.actor) for e in events][-1] == ("acknowledged", "alice")

    async def stale_write(store: Store) -> Incident | None:
        async with store.transaction() as tx:
            return await tx.incidents.update(dataclasses.replace(row, description="stale"))

    assert env.run(stale_write) is None
    assert stored(env, row.case_number)[0].description == row.description


def test_ack_twice_changes_nothing_the_second_time(env: Env) -> None:
    row = seed(env)
    env.vakt("incidents", "ack", row.case_number, "--by", "alice")
    code, out, _ = env.vakt("incidents", "ack", row.case_number, "--by", "bob")
    assert code == 0
    assert "was already acknowledged by Alice Hansen (alice)" in out
    assert stored(env, row.case_number)[0].version == row.version + 1


@pytest.mark.parametrize(
    ("vakt_user", "recorded"),
    [("alice", "alice"), ("ALICE", "alice"), ("bob.berg", "bob")],
)
def test_the_actor_comes_from_vakt_user_and_matches_people(
    env: Env, monkeypatch: pytest.MonkeyPatch, vakt_user: str, recorded: str
) -> None:
    monkeypatch.setenv("VAKT_USER", vakt_user)
    row = seed(env)
    assert env.vakt("incidents", "ack", row.case_number)[0] == 0
    assert stored(env, row.case_number)[0].acknowledged_by == recorded


def test_resolve_then_resolving_or_acking_again_fails(env: Env) -> None:
    row = seed(env)
    code, out, _ = env.vakt("incidents", "resolve", row.case_number, "--by", "bob")
    assert code == 0
    assert "resolved by Bob Berg (bob); now resolved" in out
    after, _ = stored(env, row.case_number)
    assert (after.status, after.resolved_by) == (IncidentStatus.RESOLVED, "bob")
    for action in ("resolve", "ack"):
        code, _, err = env.vakt("incidents", action, row.case_number, "--by", "bob")
        assert code == 1
        assert f"{row.case_number} is already resolved" in err
    assert stored(env, row.case_number)[0].version == after.version


@pytest.mark.parametrize("action", ["ack", "resolve"])
def test_acting_on_an_unknown_case_fails(env: Env, action: str) -> None:
    code, _, err = env.vakt("incidents", action, "VAKT-2026-424242", "--by", "alice")
    assert code == 1
    assert "no incident with case number VAKT-2026-424242" in err


# ---------------------------------------------------------------------------------- note


def test_note_is_internal_unless_public_and_works_after_resolve(env: Env) -> None:
    row = seed(env, status=IncidentStatus.RESOLVED)
    case = row.case_number
    internal = env.vakt("incidents", "note", case, "root cause: disk full", "--by", "bob")
    assert internal == (0, f"{case}: internal note by Bob Berg (bob); now resolved\n", "")
    public = env.vakt("incidents", "note", row.case_number, "Fixed.", "--public", "--by", "bob")
    assert public[1].startswith(f"{row.case_number}: public note by Bob Berg (bob)")
    _, events = stored(env, row.case_number)
    assert [(e.text, e.public) for e in events[1:]] == [
        ("root cause: disk full", False),
        ("Fixed.", True),
    ]


def test_an_empty_note_is_a_usage_error(env: Env) -> None:
    row = seed(env)
    code, _, err = env.vakt("incidents", "note", row.case_number, "  ")
    assert code == 2
    assert "a note needs text" in err
    assert len(stored(env, row.case_number)[1]) == 1


def test_a_note_on_an_unknown_case_fails(env: Env) -> None:
    code, _, err = env.vakt("incidents", "note", "VAKT-2026-000777", "hello", "--by", "bob")
    assert code == 1
    assert "no incident with case number VAKT-2026-000777" in err


@pytest.mark.parametrize("action", ["ack", "resolve", "note"])
@pytest.mark.parametrize("vakt_user", [None, "root", "night-shift"])
def test_an_action_by_nobody_known_exits_2_naming_the_people(
    env: Env, monkeypatch: pytest.MonkeyPatch, action: str, vakt_user: str | None
) -> None:
    """`vakt incidents ack` run as root once recorded "acknowledged by root": the actor is
    `--by PERSON` or `$VAKT_USER`, and must be a configured person."""
    if vakt_user is None:
        monkeypatch.delenv("VAKT_USER", raising=False)
    else:
        monkeypatch.setenv("VAKT_USER", vakt_user)
    row = seed(env)
    extra = ["looking"] if action == "note" else []
    code, out, err = env.vakt("incidents", action, row.case_number, *extra)
    assert (code, out) == (2, "")
    assert "--by" in err
    for person in ("alice", "bob"):
        assert person in err
    after, events = stored(env, row.case_number)
    assert (after.version, len(events)) == (row.version, 1)
