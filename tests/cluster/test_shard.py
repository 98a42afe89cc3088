"""Rendezvous sharding, pure: each check has exactly one owner among a location's live
members, and a member that leaves moves only its own checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.cluster import locations_report, owner, shard
from monitor.cluster.shard import NEVER
from monitor.store import Member

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

check_ids = st.lists(
    st.text("abcdefghij/-0123456789", min_size=1, max_size=20), min_size=1, max_size=60, unique=True
)
member_ids = st.lists(
    st.from_regex(r"host[0-9]{1,2}:[0-9]{2,6}", fullmatch=True), min_size=1, max_size=8, unique=True
)


@given(check_ids, member_ids)
def test_every_check_has_exactly_one_owner(checks: list[str], members: list[str]) -> None:
    wanted = [(c, c, ("oslo",)) for c in checks]
    live = {"oslo": tuple(members)}
    shards = [shard(wanted, m, "oslo", live) for m in members]
    probed = [c for mine in shards for c in mine]
    assert sorted(probed) == sorted(checks)  # every check once, none twice
    for c in checks:
        assert owner(c, members) in members
        assert owner(c, list(reversed(members))) == owner(c, members)  # order does not matter


@given(check_ids, member_ids, st.data())
def test_a_member_leaving_moves_only_its_checks(
    checks: list[str], members: list[str], data: st.DataObject
) -> None:
    gone = data.draw(st.sampled_from(members))
    rest = [m for m in members if m != gone]
    for c in checks:
        before = owner(c, members)
        after = owner(c, rest)
        if before != gone:
            assert after == before  # a check of a member that stayed does not move
        else:
            assert after in rest or not rest


@given(check_ids, member_ids, member_ids)
def test_locations_are_sharded_apart(
    checks: list[str], oslo: list[str], frankfurt: list[str]
) -> None:
    frankfurt = [f"f-{m}" for m in frankfurt]
    wanted = [(c, c, ("oslo", "frankfurt")) for c in checks]
    only_oslo = [(f"o-{c}", f"o-{c}", ("oslo",)) for c in checks]
    canaries = [("canary", "canary", None)]
    live = {"oslo": tuple(oslo), "frankfurt": tuple(frankfurt)}
    everything = [*wanted, *only_oslo, *canaries]
    in_oslo = [c for m in oslo for c in shard(everything, m, "oslo", live)]
    in_frankfurt = [c for m in frankfurt for c in shard(everything, m, "frankfurt", live)]
    assert sorted(in_oslo) == sorted([*checks, *(f"o-{c}" for c in checks), "canary"])
    assert sorted(in_frankfurt) == sorted([*checks, "canary"])


def test_a_member_not_yet_seen_counts_itself() -> None:
    assert shard([("a", "a", ("oslo",))], "me:1", "oslo", {}) == ["a"]


def member(mid: str, location: str, heartbeat: datetime) -> Member:
    return Member(mid, "host", 1, "1", T0, heartbeat, location)


def test_the_report_names_locations_without_members_since_their_last_heartbeat() -> None:
    gone = T0 - timedelta(minutes=5)
    members = [member("a:1", "oslo", T0), member("b:2", "frankfurt", gone)]
    live = members[:1]
    report = locations_report({"oslo", "frankfurt", "tokyo"}, live, members)
    assert [(c.location, c.live, c.since) for c in report] == [
        ("frankfurt", 0, gone),
        ("oslo", 1, None),
        ("tokyo", 0, NEVER),
    ]
