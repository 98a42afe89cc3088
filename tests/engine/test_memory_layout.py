"""The engine's memory keeps what it must in few bytes: a check's per-location states
behave as a dict whether it has one location or several (`LocationStates` keeps one
location in slots, several in a dict), and a quiet site's memory is not kept at all."""

from __future__ import annotations

import pytest

from monitor.engine.state import LocationStates, Memory, SiteMemory
from monitor.evaluate import LocationState
from monitor.incidents import SiteTrack
from monitor.model import CheckState, Level
from tests.engine.support import T0

OK = LocationState(state=CheckState.OK, good=3)
FAILING = LocationState(state=CheckState.FAILING, failed=3, bad=3)


def test_one_location_reads_like_a_one_entry_dict() -> None:
    states = LocationStates()
    assert states.get("oslo") is None
    assert len(states) == 0
    assert "oslo" not in states
    states["oslo"] = OK
    states["oslo"] = FAILING  # replaced, still one location
    assert states == {"oslo": FAILING}
    assert states["oslo"] is FAILING
    assert states.get("oslo") is FAILING
    assert states.get("bergen", OK) is OK
    with pytest.raises(KeyError):
        states["bergen"]


def test_a_second_location_keeps_the_first_one() -> None:
    states = LocationStates()
    states["oslo"] = OK
    states["bergen"] = FAILING
    assert states == {"oslo": OK, "bergen": FAILING}
    assert list(states) == ["oslo", "bergen"]
    assert len(states) == 2
    del states["oslo"]
    assert states == {"bergen": FAILING}
    assert states.get("oslo") is None


def test_the_only_location_can_be_removed() -> None:
    states = LocationStates()
    states["oslo"] = OK
    del states["oslo"]
    assert states == {}
    assert not states
    with pytest.raises(KeyError):
        del states["oslo"]


def test_a_quiet_site_keeps_no_memory_and_reads_as_blank() -> None:
    memory = Memory()
    memory.adopt("acme/shop", SiteMemory())
    assert "acme/shop" not in memory.sites
    assert memory.site("acme/shop") == SiteMemory()


def test_a_site_with_anything_to_remember_keeps_it() -> None:
    memory = Memory()
    remembered = [
        SiteMemory(level=Level.B, since=T0),
        SiteMemory(since=T0),  # recovered: when its last level ended
        SiteMemory(case="ACME-1"),
        SiteMemory(slow=True),
        SiteMemory(warnings=frozenset({"acme/shop/cert"})),
        SiteMemory(track=SiteTrack(hold_until=T0)),
    ]
    for kept in remembered:
        memory.adopt("acme/shop", kept)
        assert memory.sites["acme/shop"] is kept
    memory.adopt("acme/shop", SiteMemory())  # quiet again: forgotten
    assert memory.sites == {}
