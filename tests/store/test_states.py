"""Check and site states: saved in bulk, replaced by key, read back exactly; changes appended."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from monitor.model import CheckState, ErrorCode, Level, Verdict
from monitor.store import CheckChange, CheckStatus, SiteChange, SiteStatus, Store, StoreError
from tests.store.support import T0


def _status(check_id: str, state: CheckState = CheckState.OK, **kw: object) -> CheckStatus:
    return CheckStatus(check_id, "oslo", state, since=T0, updated_at=T0, **kw)  # type: ignore[arg-type]


async def test_check_states_round_trip_and_are_replaced_by_check_and_location(
    store: Store,
) -> None:
    failing = _status(
        "acme/shop/home",
        CheckState.FAILING,
        failures=3,
        bad=4,  # a degraded probe, then three failed ones
        first_bad_at=T0 - timedelta(seconds=40),
        last_verdict=Verdict.FAILED,
        last_error=ErrorCode.TIMEOUT,
        last_probe_at=T0,
        last_total=10.0,
    )
    async with store.transaction() as tx:
        await tx.checks.save([_status("acme/shop/home"), _status("acme/shop/api")])
        await tx.checks.save([failing])
    async with store.transaction(read_only=True) as tx:
        loaded = await tx.checks.load()
    assert loaded == [_status("acme/shop/api"), failing]
    assert all(s.since.tzinfo is not None for s in loaded)


async def test_check_states_of_one_location(store: Store) -> None:
    frankfurt = CheckStatus("acme/shop/home", "frankfurt", CheckState.DEGRADED, T0, T0)
    async with store.transaction() as tx:
        await tx.checks.save([_status("acme/shop/home"), frankfurt])
        assert await tx.checks.load("frankfurt") == [frankfurt]


async def test_times_come_back_in_utc_whatever_zone_went_in(store: Store) -> None:
    oslo = timezone(timedelta(hours=1))
    local = T0.astimezone(oslo)
    async with store.transaction() as tx:
        await tx.checks.save([CheckStatus("a/b/c", "oslo", CheckState.OK, local, local)])
        (loaded,) = await tx.checks.load()
    assert loaded.since == T0
    assert loaded.since.utcoffset() == timedelta(0)


async def test_naive_times_are_refused(store: Store) -> None:
    naive = T0.replace(tzinfo=None)
    with pytest.raises(StoreError, match="naive datetime"):
        async with store.transaction() as tx:
            await tx.checks.save([CheckStatus("a/b/c", "oslo", CheckState.OK, naive, naive)])


async def test_check_changes_are_listed_newest_first(store: Store) -> None:
    changes = [
        CheckChange("acme/shop/home", "oslo", T0, CheckState.OK, CheckState.FAILING,
                    ErrorCode.REFUSED, "connection refused"),
        CheckChange("acme/shop/home", "oslo", T0 + timedelta(minutes=5), CheckState.FAILING,
                    CheckState.OK),
        CheckChange("acme/shop/api", "oslo", T0, CheckState.OK, CheckState.DEGRADED),
    ]  # fmt: skip
    async with store.transaction() as tx:
        await tx.checks.append_changes(changes)
    async with store.transaction() as tx:
        listed = await tx.checks.changes("acme/shop/home")
        recent = await tx.checks.changes("acme/shop/home", since=T0 + timedelta(minutes=1))
    assert [(c.old, c.new, c.error, c.detail) for c in listed] == [
        (CheckState.FAILING, CheckState.OK, None, ""),
        (CheckState.OK, CheckState.FAILING, ErrorCode.REFUSED, "connection refused"),
    ]
    assert [c.new for c in recent] == [CheckState.OK]
    assert all(c.id > 0 for c in listed)


async def test_site_states_and_level_changes(store: Store) -> None:
    down = SiteStatus("acme/shop", Level.A, since=T0, updated_at=T0, incident_id=None)
    up = SiteStatus("acme/shop", None, since=T0 + timedelta(hours=1), updated_at=T0)
    async with store.transaction() as tx:
        await tx.sites.save([down, SiteStatus("acme/blog", Level.B, T0, T0)])
        await tx.sites.save([up])
        await tx.sites.append_changes(
            [SiteChange("acme/shop", T0, None, Level.A), SiteChange("acme/shop", T0, Level.A, None)]
        )
        assert await tx.sites.load() == [SiteStatus("acme/blog", Level.B, T0, T0), up]
        changes = await tx.sites.changes("acme/shop")
    assert {(c.old, c.new) for c in changes} == {(None, Level.A), (Level.A, None)}
