"""Descriptions in plain words, from the evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config.records import (
    DnsSpec,
    HeartbeatSpec,
    HostPort,
    ProbeSpec,
    TcpSpec,
    TlsSpec,
)
from monitor.evaluate.baseline import SlowFinding
from monitor.evaluate.checkstate import CheckVerdict
from monitor.evaluate.level import site_level
from monitor.incidents.describe import describe, duration, latency, target
from monitor.model import CheckState, ErrorCode, Impact, Verdict
from tests.evaluate.builders import T0, check, result, shop
from tests.incidents.harness import assess

UTC_ZONE = ZoneInfo("UTC")


def test_a_failing_check_is_described_with_target_time_location_and_evidence() -> None:
    assessment = assess(shop(), T0, checkout=CheckState.FAILING)
    assert describe(shop(), assessment, UTC_ZONE) == (
        "Checkout (https://shop.acme.example/checkout) fails since 14:02 UTC from oslo: "
        "expected status 200, got 500."
    )


def test_times_are_in_the_given_zone() -> None:
    assessment = assess(shop(), T0, checkout=CheckState.FAILING)
    assert "since 15:02 CET" in describe(shop(), assessment, ZoneInfo("Europe/Oslo"))


def test_failing_checks_come_first_then_degraded_then_slow() -> None:
    finding = SlowFinding("acme/shop/search", 2.4, 0.31, timedelta(minutes=10))
    base = assess(shop(), T0, home=CheckState.DEGRADED, checkout=CheckState.FAILING)
    with_slow = site_level(
        shop(),
        {v.check_id: v for v in (*base.failing, *base.degraded)},
        [finding],
    )
    assert describe(shop(), with_slow, UTC_ZONE) == (
        "Checkout (https://shop.acme.example/checkout) fails since 14:02 UTC from oslo: "
        "expected status 200, got 500. "
        "Home (https://shop.acme.example/) is degraded since 14:02 UTC from oslo: slow. "
        "Search (https://shop.acme.example/search) is slow: median 2.4 s over the last "
        "10 min, against a usual 310 ms."
    )


def test_without_a_detail_the_error_code_is_said_in_words() -> None:
    evidence = result("acme/shop/home", Verdict.FAILED, T0, error=ErrorCode.HTTP_STATUS)
    verdict = CheckVerdict(
        "acme/shop/home", CheckState.FAILING, ("oslo", "frankfurt"), T0, evidence
    )
    text = describe(shop(), site_level(shop(), {verdict.check_id: verdict}), UTC_ZONE)
    assert text.endswith("from oslo, frankfurt: http status.")


def test_a_recovered_site_says_so() -> None:
    assert describe(shop(), assess(shop(), T0, home=CheckState.OK), UTC_ZONE) == (
        "shop.acme.example has recovered."
    )


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (TlsSpec(host="shop.acme.example"), "certificate of shop.acme.example:443"),
        (TcpSpec(host="db.acme.example", port=5432), "db.acme.example:5432"),
        (
            DnsSpec(name="shop.acme.example", server=HostPort("127.0.0.1", 53)),
            "A record of shop.acme.example",
        ),
        (HeartbeatSpec(every=timedelta(days=1), grace=timedelta(hours=1)), "heartbeat every 1 d"),
    ],
)
def test_targets_in_plain_words(spec: ProbeSpec, text: str) -> None:
    assert target(replace(check("x", Impact.FUNCTION), spec=spec)) == text


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(minutes=10), "10 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(days=7), "7 d"),
        (timedelta(seconds=90), "90 s"),
    ],
)
def test_durations(span: timedelta, text: str) -> None:
    assert duration(span) == text


@pytest.mark.parametrize(("seconds", "text"), [(0.31, "310 ms"), (2.44, "2.4 s"), (1.0, "1.0 s")])
def test_latencies(seconds: float, text: str) -> None:
    assert latency(seconds) == text
