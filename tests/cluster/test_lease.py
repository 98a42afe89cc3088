"""The lease and membership rules, pure: who writes what at which moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.cluster import alive, decide
from monitor.store import LeaseRow, Member

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=10)


def held(holder: str, term: int, expires: datetime) -> LeaseRow:
    return LeaseRow(holder, term, expires, acquired=T0 - timedelta(minutes=1))


def test_the_first_member_takes_term_one() -> None:
    assert decide(None, "a:1", T0, LEASE) == LeaseRow("a:1", 1, T0 + LEASE, T0)


def test_the_holder_renews_under_the_same_term() -> None:
    current = held("a:1", 4, T0 + timedelta(seconds=3))
    assert decide(current, "a:1", T0, LEASE) == LeaseRow("a:1", 4, T0 + LEASE, current.acquired)


def test_a_standby_leaves_a_live_lease_alone() -> None:
    assert decide(held("a:1", 4, T0 + timedelta(seconds=1)), "b:2", T0, LEASE) is None


@pytest.mark.parametrize("me", ["b:2", "a:1"])
def test_a_lease_that_ran_out_is_taken_under_a_higher_term(me: str) -> None:
    # even by its former holder: someone may have led in between, so it starts afresh
    current = held("a:1", 4, T0)
    assert decide(current, me, T0, LEASE) == LeaseRow(me, 5, T0 + LEASE, T0)


def test_a_member_is_alive_while_its_heartbeat_is_younger_than_the_lease() -> None:
    member = Member("a:1", "a", 1, "1.0", T0, heartbeat=T0)
    assert alive(member, T0 + LEASE - timedelta(milliseconds=1), LEASE)
    assert not alive(member, T0 + LEASE, LEASE)
