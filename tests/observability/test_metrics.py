"""The metrics hub: names, exposition, per-check gauges and cheap updates."""

from __future__ import annotations

import math
import subprocess
import threading
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from monitor.config.records import HeartbeatSpec, TlsSpec
from monitor.metrics import (
    METRICS,
    MetricsHub,
    NotificationOutcome,
    SlaOutcome,
    exposed_names,
)
from monitor.model import ErrorCode, Level, Verdict
from tests.observability.support import NOW, make_check, promtool, result

CHECKS = [
    make_check("acme/shop/home"),
    make_check("acme/shop/tls", TlsSpec(host="shop.acme.example")),
    make_check(
        "acme/shop/backup", HeartbeatSpec(every=timedelta(hours=1), grace=timedelta(minutes=5))
    ),
    make_check('we"ird/si\\te/ch\neck'),
]


def samples(hub: MetricsHub) -> list[Sample]:
    text = hub.render().decode()
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(hub: MetricsHub, name: str, **labels: str) -> float | None:
    found = [s.value for s in samples(hub) if s.name == name and s.labels == labels]
    assert len(found) <= 1
    return found[0] if found else None


def test_every_metric_is_prefixed_and_carries_a_unit_suffix_where_it_has_a_unit() -> None:
    for spec in METRICS:
        assert spec.name.startswith("vakt_"), spec.name
        if spec.kind == "counter":
            assert spec.name.endswith("_total"), spec.name
        if "seconds" in spec.name or "timestamp" in spec.name:
            assert spec.name.endswith("_seconds"), spec.name


def test_histograms_are_labelled_only_by_bounded_labels_never_by_a_check() -> None:
    # channel: a configured channel name; kind: an outbox kind (page, digest, ...).
    allowed = {"type", "location", "outcome", "phase", "level", "channel", "kind"}
    for spec in METRICS:
        if spec.kind == "histogram":
            assert set(spec.labels) <= allowed, spec.name


def test_render_parses_and_exposes_every_declared_metric() -> None:
    hub = MetricsHub(version="1.2.3", location="oslo", checks=CHECKS)
    for check in CHECKS:
        hub.observe_probe(result(check.id, cert_not_after=NOW), lateness=0.01)
    hub.heartbeat_seen("acme/shop/backup", NOW)
    hub.notification("pd", NotificationOutcome.SENT)
    hub.sla_response(Level.A, SlaOutcome.MET_ACKNOWLEDGED)
    hub.acknowledged(Level.A, 120.0)
    families = {f.name for f in text_string_to_metric_families(hub.render().decode())}
    for spec in METRICS:
        assert spec.name.removesuffix("_total") in families, spec.name
    names = {s.name for s in samples(hub)}
    assert names <= exposed_names()


def test_a_probe_result_updates_the_check_gauges_and_the_fleet_histograms() -> None:
    hub = MetricsHub(version="1.2.3", location="oslo", checks=CHECKS)
    hub.observe_probe(
        result("acme/shop/home", Verdict.FAILED, total=1.5, error=ErrorCode.TIMEOUT), 0.2
    )
    check = {"customer": "acme", "site": "shop", "check": "home"}
    assert value(hub, "vakt_check_up", **check) == 0.0
    assert value(hub, "vakt_check_duration_seconds", **check) == 1.5
    where = {"type": "http", "location": "oslo"}
    assert value(hub, "vakt_probe_results_total", code="timeout", **where) == 1.0
    assert value(hub, "vakt_probe_duration_seconds_count", outcome="failed", **where) == 1.0
    assert value(hub, "vakt_probe_phase_seconds_count", phase="connect", **where) == 1.0
    assert value(hub, "vakt_scheduler_lateness_seconds_count", location="oslo") == 1.0


def test_the_per_probe_histograms_expose_what_prometheus_client_histograms_would() -> None:
    """The hub keeps the histograms observed on every probe as plain counts: their
    samples are prometheus-client's (bucket bounds inclusive, values on a bound, above
    every bound, negative lateness as 0), `_created` aside; a phase a probe never had
    (plain HTTP: no `tls`) has no series."""
    from prometheus_client import CollectorRegistry, Histogram

    from monitor.metrics import LATENESS_BUCKETS, PROBE_BUCKETS
    from monitor.model import ProbeResult, Timings

    hub = MetricsHub(version="1.2.3", location="oslo", checks=CHECKS)
    registry = CollectorRegistry()
    duration = Histogram("d", "d", registry=registry, buckets=PROBE_BUCKETS)
    lateness = Histogram("l", "l", registry=registry, buckets=LATENESS_BUCKETS)
    connect = Histogram("c", "c", registry=registry, buckets=PROBE_BUCKETS)
    values = [0.0, 0.001, 0.005, 0.0051, 0.1, 1.0, 2.4999, 30.0, 31.0, 1e9]
    for n, seconds in enumerate(values):
        timings = Timings(connect=seconds, first_byte=0.1, total=seconds)
        hub.observe_probe(ProbeResult("acme/shop/home", Verdict.OK, NOW, timings, "oslo"), -1.0)
        hub.observe_probe(result("acme/shop/home", total=0.2), seconds * n)
        duration.observe(seconds)
        duration.observe(0.2)
        lateness.observe(0.0)
        lateness.observe(seconds * n)
        connect.observe(seconds)
        connect.observe(0.02)

    def ours(name: str, **labels: str) -> dict[str, float]:
        return {
            s.name.removeprefix(name) + s.labels.get("le", ""): s.value
            for s in samples(hub)
            if s.name.startswith(name + "_")
            and {k: v for k, v in s.labels.items() if k != "le"} == labels
        }

    def theirs(name: str) -> dict[str, float]:
        return {
            s.name.removeprefix(name) + s.labels.get("le", ""): s.value
            for s in samples_of(registry)
            if s.name.startswith(name + "_") and not s.name.endswith("_created")
        }

    where = {"type": "http", "location": "oslo"}
    expected = theirs("d")
    assert len(expected) == len(PROBE_BUCKETS) + 3  # the buckets, +Inf, _count, _sum
    assert ours("vakt_probe_duration_seconds", outcome="ok", **where) == expected
    assert ours("vakt_scheduler_lateness_seconds", location="oslo") == theirs("l")
    assert ours("vakt_probe_phase_seconds", phase="connect", **where) == theirs("c")
    assert value(hub, "vakt_probe_phase_seconds_count", phase="tls", **where) == len(values)
    fresh = MetricsHub(version="1.2.3", location="oslo", checks=CHECKS)
    plain = Timings(connect=0.02, first_byte=0.1, total=0.2)
    fresh.observe_probe(ProbeResult("acme/shop/home", Verdict.OK, NOW, plain, "oslo"), 0.0)
    assert value(fresh, "vakt_probe_phase_seconds_count", phase="connect", **where) == 1.0
    assert value(fresh, "vakt_probe_phase_seconds_count", phase="tls", **where) is None


def samples_of(registry: object) -> list[Sample]:
    from prometheus_client import CollectorRegistry, generate_latest

    assert isinstance(registry, CollectorRegistry)
    text = generate_latest(registry).decode()
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def test_degraded_checks_are_up_and_checks_never_probed_have_no_up_series() -> None:
    hub = MetricsHub(version="1.2.3", location="oslo", checks=CHECKS)
    hub.observe_probe(result("acme/shop/home", Verdict.DEGRADED, error=ErrorCode.SLOW), 0.0)
    assert value(hub, "vakt_check_up", customer="acme", site="shop", check="home") == 1.0
    assert value(hub, "vakt_check_up", customer="acme", site="shop", check="tls") is None


def test_level_contribution_is_two_for_a_one_for_b_zero_otherwise() -> None:
    hub = MetricsHub(version="1.2.3", location="oslo", checks=CHECKS)
    labels = {"customer": "acme", "site": "shop", "check": "home"}
    assert value(hub, "vakt_check_level", **labels) == 0.0
    hub.set_check_level("acme/shop/home", Level.A)
    assert value(hub, "vakt_check_level", **labels) == 2.0
    hub.set_check_level("acme/shop/home", Level.B)
    assert value(hub, "vakt_check_level", **labels) == 1.0
    hub.set_check_level("acme/shop/home", None)
    assert value(hub, "vakt_check_level", **labels) == 0.0


def test_tls_expiry_and_heartbeat_series_exist_only_where_they_apply() -> None:
    hub = MetricsHub(version="1.2.3", location="oslo", checks=CHECKS)
    hub.observe_probe(result("acme/shop/tls", cert_not_after=NOW), 0.0)
    hub.heartbeat_seen("acme/shop/backup", NOW)
    tls = [s for s in samples(hub) if s.name == "vakt_check_tls_expiry_timestamp_seconds"]
    assert [(s.labels["check"], s.value) for s in tls] == [("tls", NOW.timestamp())]
    seen = [s for s in samples(hub) if s.name.startswith("vakt_check_heartbeat")]
    assert {(s.name, s.labels["check"], s.value) for s in seen} == {
        ("vakt_check_heartbeat_last_seen_timestamp_seconds", "backup", NOW.timestamp()),
        ("vakt_check_heartbeat_expected_seconds", "backup", 3900.0),
    }


def test_label_values_are_escaped() -> None:
    hub = MetricsHub(version="1.2.3", location="oslo", checks=CHECKS)
    hub.observe_probe(result('we"ird/si\\te/ch\neck'), 0.0)
    assert value(hub, "vakt_check_up", customer='we"ird', site="si\\te", check="ch\neck") == 1.0


def test_a_reload_keeps_surviving_checks_and_drops_removed_ones() -> None:
    hub = MetricsHub(version="1.2.3", location="oslo", checks=CHECKS)
    hub.observe_probe(result("acme/shop/home", Verdict.FAILED, error=ErrorCode.DNS), 0.0)
    hub.observe_probe(result("acme/shop/tls"), 0.0)
    hub.set_checks([make_check("acme/blog/home"), make_check("acme/shop/home")])
    assert value(hub, "vakt_check_up", customer="acme", site="shop", check="home") == 0.0
    assert value(hub, "vakt_check_up", customer="acme", site="shop", check="tls") is None
    assert value(hub, "vakt_checks") == 2.0
    hub.observe_probe(result("acme/shop/tls"), 0.0)  # a straggler from before the reload
    assert value(hub, "vakt_check_up", customer="acme", site="shop", check="tls") is None


def test_incident_sla_notification_outbox_and_reload_updates() -> None:
    hub = MetricsHub(version="1.2.3", location="oslo")
    hub.incident_opened(Level.A)
    hub.incident_reopened(Level.A)
    hub.incident_resolved(Level.A)
    hub.set_incidents_open({Level.B: 3})
    hub.sla_response(Level.B, SlaOutcome.MISSED)
    hub.sla_warning()
    hub.sla_breach()
    hub.notification("slack-ops", NotificationOutcome.FAILED)
    hub.set_outbox(7, 42.0)
    hub.config_reloaded(success=False, at=NOW)
    hub.deadman_configured(60.0)
    hub.deadman_pinged(True, NOW.timestamp())
    hub.track_in_flight(lambda: 5)
    assert value(hub, "vakt_incidents_opened_total", level="A") == 1.0
    assert value(hub, "vakt_incidents_opened_total", level="B") == 0.0
    assert value(hub, "vakt_incidents_reopened_total", level="A") == 1.0
    assert value(hub, "vakt_incidents_resolved_total", level="A") == 1.0
    assert value(hub, "vakt_incidents_open", level="A") == 0.0
    assert value(hub, "vakt_incidents_open", level="B") == 3.0
    assert value(hub, "vakt_sla_responses_total", level="B", outcome="missed") == 1.0
    assert value(hub, "vakt_sla_warnings_total") == 1.0
    assert value(hub, "vakt_sla_breaches_total") == 1.0
    assert value(hub, "vakt_notifications_total", channel="slack-ops", outcome="failed") == 1.0
    assert value(hub, "vakt_outbox_backlog") == 7.0
    assert value(hub, "vakt_outbox_oldest_age_seconds") == 42.0
    assert value(hub, "vakt_config_reload_success") == 0.0
    assert value(hub, "vakt_deadman_last_success_timestamp_seconds") == NOW.timestamp()
    assert value(hub, "vakt_probes_in_flight") == 5.0
    assert value(hub, "vakt_build_info", version="1.2.3") == 1.0


def test_two_hubs_do_not_share_state() -> None:
    first = MetricsHub(version="1", location="oslo")
    second = MetricsHub(version="2", location="oslo")
    first.sla_breach()
    assert value(second, "vakt_sla_breaches_total") == 0.0


async def test_render_async_runs_in_a_worker_thread() -> None:
    hub = MetricsHub(version="1", location="oslo", checks=CHECKS)
    threads: list[str] = []

    def in_flight() -> int:
        threads.append(threading.current_thread().name)
        return 0

    hub.track_in_flight(in_flight)
    body = await hub.render_async()
    hub.close()
    assert b"vakt_probes_in_flight 0.0" in body
    assert threads
    assert threads[0] != threading.current_thread().name


@pytest.mark.parametrize("checks", [0, 1, 1000])
def test_the_per_check_section_grows_with_checks_but_skips_unknown_values(checks: int) -> None:
    fleet = [make_check(f"c/s/k{i}") for i in range(checks)]
    hub = MetricsHub(version="1", location="oslo", checks=fleet)
    for check in fleet[::2]:
        hub.observe_probe(result(check.id), 0.0)
    up = [s for s in samples(hub) if s.name == "vakt_check_up"]
    assert len(up) == math.ceil(checks / 2)


def test_engine_shedding_is_counted_by_kind_from_zero() -> None:
    hub = MetricsHub(version="test", location="oslo")
    try:
        assert hub.registry.get_sample_value("vakt_engine_shed_total", {"what": "evidence"}) == 0
        hub.engine_shed("evidence", 40)
        hub.engine_shed("evidence", 2)
        hub.engine_shed("aggregates", 3)
        values = {
            what: hub.registry.get_sample_value("vakt_engine_shed_total", {"what": what})
            for what in ("evidence", "aggregates")
        }
    finally:
        hub.close()
    assert values == {"evidence": 42, "aggregates": 3}


def test_the_exposition_passes_promtool_check_metrics() -> None:
    """Both halves of the text (prometheus-client's and the hand-written per-check
    writer's, hostile label values included) are valid and lint-clean for promtool."""
    hub = MetricsHub(version="1.2.3", location="oslo", checks=CHECKS)
    for check in CHECKS:
        hub.observe_probe(result(check.id, cert_not_after=NOW), lateness=0.01)
    hub.heartbeat_seen("acme/shop/backup", NOW)
    hub.set_check_level("acme/shop/home", Level.A)
    done = subprocess.run(
        [promtool(), "check", "metrics"],
        input=hub.render().decode(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    hub.close()
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_a_standby_counts_the_probes_of_its_shard_without_per_check_gauges() -> None:
    """Cluster mode: a standby's per-check table is empty (only the leader exports
    per-check gauges), but the probes it makes for its shard are counted."""
    hub = MetricsHub(version="1.2.3", location="oslo", checks=[])
    hub.set_probed(CHECKS[:1])
    hub.observe_probe(result("acme/shop/home", Verdict.FAILED, error=ErrorCode.TIMEOUT), 0.2)
    hub.observe_probe(result("acme/shop/tls"), 0.1)  # not in its shard: not counted
    where = {"type": "http", "location": "oslo"}
    assert value(hub, "vakt_probe_results_total", code="timeout", **where) == 1.0
    assert value(hub, "vakt_scheduler_lateness_seconds_count", location="oslo") == 1.0
    assert value(hub, "vakt_check_up", customer="acme", site="shop", check="home") is None
    tls = {"type": "tls", "location": "oslo"}
    assert value(hub, "vakt_probe_results_total", code="ok", **tls) is None
