"""Level A / Level B exactly as DESIGN.md section 4 states them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.evaluate.baseline import SlowFinding
from monitor.evaluate.checkstate import CheckVerdict
from monitor.evaluate.level import site_level
from monitor.model import CheckState, Impact, Level
from tests.evaluate.builders import check, shop, site

F, D, K, U = CheckState.FAILING, CheckState.DEGRADED, CheckState.OK, CheckState.UNKNOWN


def verdicts(**states: CheckState) -> dict[str, CheckVerdict]:
    return {f"acme/shop/{n}": CheckVerdict(f"acme/shop/{n}", s) for n, s in states.items()}


def slow(name: str) -> SlowFinding:
    return SlowFinding(f"acme/shop/{name}", 2.5, 0.3, timedelta(minutes=10))


ALL_OK = {"home": K, "checkout": K, "search": K, "api": K, "tls": K}


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        pytest.param(ALL_OK, None, id="all_ok_no_level"),
        pytest.param({**ALL_OK, "home": F}, Level.A, id="level_a_when_the_outage_check_fails"),
        pytest.param(
            {**ALL_OK, "checkout": F}, Level.B, id="level_b_when_checkout_fails_but_home_is_up"
        ),
        pytest.param(
            {**ALL_OK, "checkout": F, "search": F},
            Level.B,
            id="level_b_when_two_of_four_fail_half_is_not_more_than_half",
        ),
        pytest.param(
            {**ALL_OK, "checkout": F, "search": F, "api": F},
            Level.A,
            id="level_a_when_three_of_four_outage_and_function_checks_fail",
        ),
        pytest.param(
            {**ALL_OK, "home": D}, Level.B, id="level_b_when_the_outage_check_is_degraded"
        ),
        pytest.param({**ALL_OK, "api": D}, Level.B, id="level_b_when_a_function_check_is_degraded"),
        pytest.param(
            {**ALL_OK, "checkout": D, "search": D, "api": D},
            Level.B,
            id="degraded_checks_never_make_level_a",
        ),
        pytest.param({**ALL_OK, "tls": F}, None, id="failing_warning_check_sets_no_level"),
        pytest.param({**ALL_OK, "tls": D}, None, id="degraded_warning_check_sets_no_level"),
        pytest.param(
            {"home": U, "checkout": U, "search": U, "api": U, "tls": U},
            None,
            id="unknown_checks_set_no_level",
        ),
        pytest.param(
            {**ALL_OK, "home": F, "tls": F}, Level.A, id="warnings_do_not_lower_a_level_a"
        ),
    ],
)
def test_level_of_the_example_shop(states: dict[str, CheckState], expected: Level | None) -> None:
    assert site_level(shop(), verdicts(**states)).level is expected


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        pytest.param({"a": F, "b": K}, Level.B, id="one_of_two_function_checks_is_level_b"),
        pytest.param({"a": F, "b": F}, Level.A, id="both_of_two_function_checks_is_level_a"),
        pytest.param({"a": F, "b": U}, Level.B, id="unknown_does_not_count_as_failing"),
    ],
)
def test_function_only_site(states: dict[str, CheckState], expected: Level) -> None:
    functions = site([check("a", Impact.FUNCTION), check("b", Impact.FUNCTION)])
    assert site_level(functions, verdicts(**states)).level is expected


def test_a_single_failing_function_check_is_never_level_a_even_if_it_is_the_only_one() -> None:
    lone = site([check("a", Impact.FUNCTION), check("tls", Impact.WARNING)])
    assert site_level(lone, verdicts(a=F, tls=F)).level is Level.B


def test_a_check_without_a_verdict_is_unknown() -> None:
    assessment = site_level(shop(), verdicts(checkout=F))
    assert assessment.level is Level.B
    assert assessment.states["acme/shop/home"] is CheckState.UNKNOWN


@pytest.mark.parametrize(
    ("slow_check", "expected"),
    [
        pytest.param("home", Level.B, id="slow_outage_check_is_level_b"),
        pytest.param("checkout", Level.B, id="slow_function_check_is_level_b"),
        pytest.param("tls", None, id="slow_warning_check_is_ignored"),
        pytest.param("gone", None, id="slow_finding_for_an_unknown_check_is_ignored"),
    ],
)
def test_slow_against_baseline(slow_check: str, expected: Level | None) -> None:
    assert site_level(shop(), verdicts(**ALL_OK), [slow(slow_check)]).level is expected


def test_assessment_lists_failing_degraded_slow_and_warnings() -> None:
    states = {**ALL_OK, "checkout": F, "api": D, "tls": D}
    assessment = site_level(shop(), verdicts(**states), [slow("home")])
    assert [v.check_id for v in assessment.failing] == ["acme/shop/checkout"]
    assert [v.check_id for v in assessment.degraded] == ["acme/shop/api"]
    assert [s.check_id for s in assessment.slow] == ["acme/shop/home"]
    assert [v.check_id for v in assessment.warnings] == ["acme/shop/tls"]
    assert assessment.involved == {"acme/shop/checkout", "acme/shop/api", "acme/shop/home"}
    assert not assessment.recovered


def test_recovered_when_nothing_fails_and_nothing_is_slow() -> None:
    assessment = site_level(shop(), verdicts(**{**ALL_OK, "tls": F}))
    assert assessment.recovered
    assert assessment.all_ok(["acme/shop/home", "acme/shop/checkout"])
    assert not assessment.all_ok(["acme/shop/tls"])
