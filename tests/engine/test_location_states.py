"""A check's per-location states behave as a dict whether it has one location or several
(`LocationStates` keeps one location in slots, several in a dict)."""

from __future__ import annotations

import pytest

from monitor.engine.state import LocationStates
from monitor.evaluate import LocationState
from monitor.model import CheckState

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
