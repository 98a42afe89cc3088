"""Every Prometheus metric Vakt exposes, and the hub that the shell updates cheaply.

Metrics, alerts and dashboards are an API (STYLE.md habit 12): every metric is declared
once in `METRICS` below; `alerts/` and `dashboards/` may only name these (a test checks).

The composition root builds one `MetricsHub` and passes it to the engine, scheduler and
dispatcher, which call its small methods (`observe_probe`, `incident_opened`, ...). The hub
owns a private `CollectorRegistry` (never the global default one), pre-binds histogram
and counter children on first use, and keeps the per-check gauges in compact typed
arrays indexed by a check slot, so 100,000 checks cost a few floats each rather than
five prometheus-client objects. `render()` writes the exposition text; call it through
`render_async()` (or `metrics_handler`) so it runs in a worker thread, off the probe loop.
"""

from __future__ import annotations

import asyncio
import math
from array import array
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, cast

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from monitor.config.records import Check, HeartbeatSpec
from monitor.model import NO_EVIDENCE_CODES, Level, ProbeResult, Verdict

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The exposition format `render()` writes (Prometheus text format 0.0.4)."""


class MetricKind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    CHECK_GAUGE = "check_gauge"  # per-check gauge served from the hub's arrays


class NotificationOutcome(StrEnum):
    """`outcome` label of `vakt_notifications_total`."""

    SENT = "sent"
    RETRY = "retry"  # a transient failure; the dispatcher will try again
    FAILED = "failed"  # a permanent failure or retries exhausted


class SlaOutcome(StrEnum):
    """`outcome` label of `vakt_sla_responses_total`: how a case's response came.

    Both `met_*` outcomes count as in time (`monitor.policy.answered_in_time`); they say
    whether someone acknowledged the case by respond-by, or it resolved first unanswered.
    """

    MET_ACKNOWLEDGED = "met_acknowledged"
    MET_RESOLVED_FIRST = "met_resolved_first"
    MISSED = "missed"


PROBE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LATENESS_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ACK_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0)
DELIVERY_BUCKETS = (
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
    10800.0, 21600.0, 43200.0, 86400.0,
)  # fmt: skip
PHASES = ("dns", "connect", "tls", "first_byte")
SHED_KINDS = ("evidence", "aggregates")  # `what` of vakt_engine_shed_total
CHECK_LABELS = ("customer", "site", "check")
LEVEL_VALUE: Mapping[Level | None, float] = {None: 0.0, Level.B: 1.0, Level.A: 2.0}


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric: its full exposed name (with `_total` for counters), kind and labels."""

    name: str
    kind: MetricKind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()


def _counter(name: str, help: str, *labels: str) -> MetricSpec:
    return MetricSpec(name, MetricKind.COUNTER, help, labels)


def _gauge(name: str, help: str, *labels: str) -> MetricSpec:
    return MetricSpec(name, MetricKind.GAUGE, help, labels)


def _check_gauge(name: str, help: str) -> MetricSpec:
    return MetricSpec(name, MetricKind.CHECK_GAUGE, help, CHECK_LABELS)


def _histogram(name: str, help: str, buckets: tuple[float, ...], *labels: str) -> MetricSpec:
    return MetricSpec(name, MetricKind.HISTOGRAM, help, labels, buckets)


CHECK_UP = _check_gauge(
    "vakt_check_up", "1 when the check's last probe did not fail (ok or degraded), else 0."
)
CHECK_LEVEL = _check_gauge(
    "vakt_check_level",
    "The site level this check's state contributes: 2 = Level A, 1 = Level B, 0 = none.",
)
CHECK_DURATION = _check_gauge(
    "vakt_check_duration_seconds", "Total duration of the check's last probe."
)
CHECK_TLS_EXPIRY = _check_gauge(
    "vakt_check_tls_expiry_timestamp_seconds",
    "When the certificate the check last saw expires (Unix time).",
)
CHECK_HEARTBEAT_SEEN = _check_gauge(
    "vakt_check_heartbeat_last_seen_timestamp_seconds",
    "When the heartbeat check last received a ping (Unix time).",
)
CHECK_HEARTBEAT_EXPECTED = _check_gauge(
    "vakt_check_heartbeat_expected_seconds",
    "A heartbeat check's period plus grace: later than this after the last ping is late.",
)
CHECK_GAUGES = (
    CHECK_UP,
    CHECK_LEVEL,
    CHECK_DURATION,
    CHECK_TLS_EXPIRY,
    CHECK_HEARTBEAT_SEEN,
    CHECK_HEARTBEAT_EXPECTED,
)

METRICS: tuple[MetricSpec, ...] = (
    *CHECK_GAUGES,
    _counter(
        "vakt_probe_results_total", "Probe results by error code ('ok' when none).", "type",
        "location", "code",
    ),
    _counter(
        "vakt_probe_local_errors_total",
        "Probes Vakt could not judge for its own reasons, no evidence about the target "
        "(reason: local_resource = out of descriptors, buffers or memory; internal = a bug).",
        "reason",
    ),
    _counter(
        "vakt_web_connections_dropped_total",
        "Connections a listener closed: over_limit (too many), slow_head, slow_body.",
        "listener", "reason",
    ),
    _counter("vakt_incidents_opened_total", "Cases opened (not reopens), by level.", "level"),
    _counter(
        "vakt_incidents_reopened_total", "Resolved cases opened again, by level.", "level"
    ),
    _counter("vakt_incidents_resolved_total", "Incidents resolved, by level.", "level"),
    _counter(
        "vakt_sla_responses_total",
        "Case responses against respond-by: met_acknowledged, met_resolved_first, missed.",
        "level", "outcome",
    ),
    _counter("vakt_sla_warnings_total", "SLA warnings sent (share of respond time used)."),
    _counter("vakt_sla_breaches_total", "Incidents whose respond-by passed unanswered."),
    _counter(
        "vakt_notifications_total", "Notification delivery attempts by channel and outcome.",
        "channel", "outcome",
    ),
    _counter(
        "vakt_notifications_cancelled_total",
        "Notifications cancelled before sending: their case was acknowledged or resolved.",
    ),
    _counter("vakt_deadman_pings_total", "Dead-man's switch pings by outcome.", "outcome"),
    _counter(
        "vakt_task_restarts_total", "Restarts of a supervised task after it failed.", "task"
    ),
    _counter(
        "vakt_engine_shed_total",
        "Pending rows the engine dropped while the store was down (evidence, aggregates).",
        "what",
    ),
    _gauge("vakt_incidents_open", "Open (unresolved) incidents, by level.", "level"),
    _gauge("vakt_outbox_backlog", "Notifications due in the outbox and not delivered yet."),
    _gauge(
        "vakt_outbox_oldest_age_seconds",
        "How long the oldest due notification has waited (since created once retried).",
    ),
    _gauge("vakt_probes_in_flight", "Probes running right now."),
    _gauge("vakt_checks", "Checks configured on this instance."),
    _gauge("vakt_config_reload_success", "1 when the last config (re)load succeeded, else 0."),
    _gauge("vakt_config_reload_timestamp_seconds", "When the config was last (re)loaded."),
    _gauge("vakt_build_info", "Always 1; the running version is a label.", "version"),
    _gauge(
        "vakt_deadman_last_success_timestamp_seconds", "When the dead-man's ping last succeeded."
    ),
    _gauge("vakt_deadman_interval_seconds", "The dead-man's ping interval; 0 when switched off."),
    _gauge(
        "vakt_cluster_leader",
        "1 while this instance holds the leader lease (always 1 on SQLite), else 0.",
    ),
    _gauge("vakt_cluster_term", "The leader lease's fencing term as this instance last saw it."),
    _gauge(
        "vakt_location_voting",
        "1 while the location votes in the quorum of its checks, 0 while it lost its vote "
        "(its canaries and customer checks fail together); set by the leader's engine.",
        "location",
    ),
    _gauge(
        "vakt_cluster_members",
        "Cluster members as this instance last read them, by state (alive or dead).",
        "state",
    ),
    _gauge(
        "vakt_location_members",
        "Live cluster members per probe location, for every location a site lists (0: "
        "its checks are not probed there).",
        "location",
    ),
    _counter(
        "vakt_probe_inbox_dropped_total",
        "Probe results dropped on their way to the leader (the store's inbox was full, "
        "with no leader consuming it, or the store was unreachable too long).",
    ),
    _gauge(
        "vakt_cluster_heartbeat_timestamp_seconds",
        "When this instance last wrote its membership heartbeat (Unix time).",
    ),
    _gauge(
        "vakt_weak_tokens",
        "Configured status-page and heartbeat tokens estimated under 128 bits.",
    ),
    _gauge(
        "vakt_task_last_progress_timestamp_seconds",
        "When a supervised task last made progress (Unix time).",
        "task",
    ),
    _gauge(
        "vakt_health_ok",
        "1 when the component is healthy as /readyz judges it, else 0.",
        "component",
    ),
    _histogram(
        "vakt_probe_duration_seconds", "Total probe duration.", PROBE_BUCKETS, "type",
        "location", "outcome",
    ),
    _histogram(
        "vakt_probe_phase_seconds", "Probe phase durations (dns, connect, tls, first_byte).",
        PROBE_BUCKETS, "type", "location", "phase",
    ),
    _histogram(
        "vakt_scheduler_lateness_seconds", "How late probes start against their plan.",
        LATENESS_BUCKETS, "location",
    ),
    _histogram(
        "vakt_time_to_acknowledge_seconds", "From opening to the first acknowledgement.",
        ACK_BUCKETS, "level",
    ),
    _histogram(
        "vakt_notification_delivery_delay_seconds",
        "From a notification's due time to its delivery (kind: page, digest, customer_update...).",
        DELIVERY_BUCKETS, "channel", "kind",
    ),
)  # fmt: skip

METRIC_NAMES = frozenset(spec.name for spec in METRICS)

PER_PROBE_HISTOGRAMS = frozenset(
    {"vakt_probe_duration_seconds", "vakt_probe_phase_seconds", "vakt_scheduler_lateness_seconds"}
)
"""The histograms observed on every probe: kept by `_ProbeHistograms` (plain counts),
not by prometheus-client's `Histogram` (a lock and a scan of the bounds per bucket and
sum: ~1 µs an observation, four of them on every probe)."""


def exposed_names() -> frozenset[str]:
    """Every sample name `render()` can produce (with `_bucket`, `_sum`, `_created`...)."""
    names: set[str] = set()
    for spec in METRICS:
        if spec.kind is MetricKind.COUNTER:
            names |= {spec.name, spec.name.removesuffix("_total") + "_created"}
        elif spec.kind is MetricKind.HISTOGRAM:
            names |= {spec.name + s for s in ("", "_bucket", "_sum", "_count", "_created")}
        else:
            names.add(spec.name)
    return frozenset(names)


# ------------------------------------------------------------------ per-check gauges


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")


def _labels(check: Check) -> str:
    customer, site, name = (_escape(v) for v in (check.customer, check.site, check.name))
    return f'{{customer="{customer}",site="{site}",check="{name}"}}'


def _nan_array(size: int) -> array[float]:
    return array("d", [math.nan]) * size


class CheckTable:
    """Per-check gauge values in typed arrays, one slot per check; NaN means "no series".

    Built once per config (re)load and then only written in place, so the render thread
    can read it while the event loop updates it: each write is one array store.
    """

    __slots__ = ("index", "labels", "types", "values")

    def __init__(self, checks: Sequence[Check]) -> None:
        self.index = {check.id: slot for slot, check in enumerate(checks)}
        self.labels = [_labels(check) for check in checks]
        self.types = [check.type.value for check in checks]
        self.values = {spec.name: _nan_array(len(checks)) for spec in CHECK_GAUGES}
        self.values[CHECK_LEVEL.name] = array("d", [0.0]) * len(checks)
        expected = self.values[CHECK_HEARTBEAT_EXPECTED.name]
        for slot, check in enumerate(checks):
            if isinstance(check.spec, HeartbeatSpec):
                expected[slot] = (check.spec.every + check.spec.grace).total_seconds()

    def carry_over(self, old: CheckTable) -> None:
        """Keep the observed values of checks that survive a reload."""
        keep = [CHECK_UP, CHECK_LEVEL, CHECK_DURATION, CHECK_TLS_EXPIRY, CHECK_HEARTBEAT_SEEN]
        for check_id, slot in self.index.items():
            was = old.index.get(check_id)
            if was is not None:
                for spec in keep:
                    self.values[spec.name][slot] = old.values[spec.name][was]

    def set(self, spec: MetricSpec, check_id: str, value: float) -> None:
        slot = self.index.get(check_id)
        if slot is not None:
            self.values[spec.name][slot] = value

    def expose(self) -> str:
        """The per-check families in Prometheus text format; NaN slots are left out."""
        parts: list[str] = []
        for spec in CHECK_GAUGES:
            name = spec.name
            parts.append(f"# HELP {name} {spec.help}\n# TYPE {name} gauge\n")
            values = self.values[name]
            # `v == v` is False only for NaN: skipped without a function call per sample.
            parts.extend(
                [
                    f"{name}{lab} {v!r}\n"
                    for lab, v in zip(self.labels, values, strict=True)
                    if v == v
                ]
            )
        return "".join(parts)


# ----------------------------------------------------------------------------- the hub


class Settled(Protocol):
    """What the hub reads of a settled delivery attempt (the dispatcher's
    `SettledAttempt`; this layer cannot import it, so it names what it needs)."""

    @property
    def channel(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def outcome(self) -> str: ...  # "sent", "retry" or "failed"
    @property
    def due_at(self) -> datetime: ...
    @property
    def at(self) -> datetime: ...
    @property
    def duration(self) -> timedelta: ...


_go_float = cast(Callable[[float], str], floatToGoString)  # how the client writes `le`


class _Counts:
    """One label set of a per-probe histogram: a count per bucket (the last: above every
    bound) and the sum. Written by the event loop only; `collect` reads a copy."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # `le`: value <= bound
        self.sum += value


class _ProbeHistograms:
    """The `PER_PROBE_HISTOGRAMS` as a registry collector over `_Counts`: the same
    exposition as prometheus-client's histograms (`_bucket` by `le`, `_count`, `_sum`),
    without `_created`. A label set is exposed from its first observation on (a probe's
    phase children are bound together, but a plain HTTP probe has no `tls` phase)."""

    def __init__(self, specs: Sequence[MetricSpec]) -> None:
        self._specs = tuple(specs)
        self._children: dict[str, dict[tuple[str, ...], _Counts]] = {s.name: {} for s in specs}
        self._bounds = {s.name: tuple(sorted(s.buckets)) for s in specs}

    def child(self, name: str, *labels: str) -> _Counts:
        children = self._children[name]
        child = children.get(labels)
        if child is None:
            child = children[labels] = _Counts(self._bounds[name])
        return child

    def describe(self) -> Iterator[Metric]:
        for spec in self._specs:
            yield HistogramMetricFamily(spec.name, spec.help, labels=spec.labels)

    def collect(self) -> Iterator[Metric]:
        for spec in self._specs:
            family = HistogramMetricFamily(spec.name, spec.help, labels=spec.labels)
            les = [_go_float(b) for b in self._bounds[spec.name]] + ["+Inf"]
            for labels, child in list(self._children[spec.name].items()):
                total, counts = child.sum, list(child.counts)
                cumulative, seen = [], 0
                for le, count in zip(les, counts, strict=True):
                    seen += count
                    cumulative.append((le, float(seen)))
                if seen:
                    family.add_metric(list(labels), cumulative, total)
            yield family


_ProbeSeries = tuple[_Counts, Counter, _Counts, tuple[_Counts, ...]]
"""What one probe result updates: its duration, its result counter, its lateness and
its phases' histograms (in `PHASES` order)."""


class _Children:
    """Pre-bound children of one registry's metrics, bound on first use and then cached."""

    __slots__ = ("_counters", "_gauges", "_histograms", "_parents")

    def __init__(self, registry: CollectorRegistry) -> None:
        self._parents: dict[str, Counter | Gauge | Histogram] = {}
        for spec in METRICS:
            if spec.kind is MetricKind.COUNTER:
                self._parents[spec.name] = Counter(
                    spec.name, spec.help, spec.labels, registry=registry
                )
            elif spec.kind is MetricKind.GAUGE:
                self._parents[spec.name] = Gauge(
                    spec.name, spec.help, spec.labels, registry=registry
                )
            elif spec.kind is MetricKind.HISTOGRAM and spec.name not in PER_PROBE_HISTOGRAMS:
                self._parents[spec.name] = Histogram(
                    spec.name, spec.help, spec.labels, registry=registry, buckets=spec.buckets
                )
        self._counters: dict[tuple[str, ...], Counter] = {}
        self._gauges: dict[tuple[str, ...], Gauge] = {}
        self._histograms: dict[tuple[str, ...], Histogram] = {}

    def _bind(self, key: tuple[str, ...]) -> Counter | Gauge | Histogram:
        parent = self._parents[key[0]]
        return parent.labels(*key[1:]) if len(key) > 1 else parent

    def counter(self, *key: str) -> Counter:
        child = self._counters.get(key)
        if child is None:
            bound = self._bind(key)
            assert isinstance(bound, Counter)
            child = self._counters[key] = bound
        return child

    def gauge(self, *key: str) -> Gauge:
        child = self._gauges.get(key)
        if child is None:
            bound = self._bind(key)
            assert isinstance(bound, Gauge)
            child = self._gauges[key] = bound
        return child

    def histogram(self, *key: str) -> Histogram:
        child = self._histograms.get(key)
        if child is None:
            bound = self._bind(key)
            assert isinstance(bound, Histogram)
            child = self._histograms[key] = bound
        return child


class MetricsHub:
    """All of Vakt's metrics behind cheap update methods; one per process, built by app.py.

    Update methods are called on the event loop; `render()` may run in another thread.
    """

    def __init__(self, *, version: str, location: str, checks: Sequence[Check] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.location = location
        self._c = _Children(self.registry)
        self._histograms = _ProbeHistograms([s for s in METRICS if s.name in PER_PROBE_HISTOGRAMS])
        self.registry.register(self._histograms)
        # (type, location, verdict, code) -> what one probe result updates, bound once
        self._per_probe: dict[tuple[str, str, Verdict, str], _ProbeSeries] = {}
        self._table = CheckTable(())
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vakt-metrics")
        self._c.gauge("vakt_build_info", version).set(1)
        # Series that dashboards and alerts compare exist from the start, at zero.
        for level in Level:
            self._c.counter("vakt_incidents_opened_total", level.value)
            self._c.counter("vakt_incidents_reopened_total", level.value)
            for outcome in SlaOutcome:
                self._c.counter("vakt_sla_responses_total", level.value, outcome.value)
            self._c.counter("vakt_incidents_resolved_total", level.value)
            self._c.gauge("vakt_incidents_open", level.value)
        for what in SHED_KINDS:
            self._c.counter("vakt_engine_shed_total", what)
        self._c.counter("vakt_notifications_cancelled_total")
        self._c.counter("vakt_probe_inbox_dropped_total")
        for code in sorted(NO_EVIDENCE_CODES):
            self._c.counter("vakt_probe_local_errors_total", code.value)
        self._probed: dict[str, str] = {}  # cluster mode: check id -> type (`set_probed`)
        self.set_checks(checks)

    # -- config -----------------------------------------------------------------------

    def set_probed(self, checks: Sequence[Check]) -> None:
        """Cluster mode: the checks this instance probes (its shard), so the probe counters
        and histograms count them on a standby too, whose per-check table is empty (only
        the leader exports per-check gauges). Unused on a single instance, whose table
        holds every check it probes."""
        self._probed = {check.id: check.type.value for check in checks}

    def set_checks(self, checks: Sequence[Check]) -> None:
        """Adopt the checks of a (re)loaded config; surviving checks keep their values."""
        table = CheckTable(checks)
        table.carry_over(self._table)
        self._table = table  # one reference swap: the render thread sees old or new
        self._c.gauge("vakt_checks").set(len(checks))

    def config_reloaded(self, *, success: bool, at: datetime) -> None:
        """A config load or reload finished (a failed reload keeps the old config)."""
        self._c.gauge("vakt_config_reload_success").set(1 if success else 0)
        if success:
            self._c.gauge("vakt_config_reload_timestamp_seconds").set(at.timestamp())

    # -- probes -----------------------------------------------------------------------

    def observe_probe(self, result: ProbeResult, lateness: float) -> None:
        """One probe result (the scheduler's `ResultSink.submit` signature).

        Results for checks that are no longer configured are ignored.
        """
        table = self._table
        slot = table.index.get(result.check_id)
        kind = table.types[slot] if slot is not None else self._probed.get(result.check_id)
        if kind is None:
            return
        timings = result.timings
        code = result.error.value if result.error is not None else "ok"
        key = (kind, result.location, result.verdict, code)
        series = self._per_probe.get(key)
        if series is None:
            series = self._per_probe[key] = self._bind_probe(*key)
        duration, results, late, phases = series
        duration.observe(timings.total)
        results.inc()
        late.observe(max(lateness, 0.0))
        for phase, seconds in zip(
            phases, (timings.dns, timings.connect, timings.tls, timings.first_byte), strict=True
        ):
            if seconds is not None:
                phase.observe(seconds)
        if not result.is_evidence:  # Vakt's own trouble: the check's gauges stay as they were
            self._c.counter("vakt_probe_local_errors_total", code).inc()
            return
        if slot is not None:
            self._check_values(slot, result)

    def _bind_probe(self, kind: str, where: str, verdict: Verdict, code: str) -> _ProbeSeries:
        histogram = self._histograms.child
        return (
            histogram("vakt_probe_duration_seconds", kind, where, verdict.value),
            self._c.counter("vakt_probe_results_total", kind, where, code),
            histogram("vakt_scheduler_lateness_seconds", where),
            tuple(histogram("vakt_probe_phase_seconds", kind, where, p) for p in PHASES),
        )

    def observe_check(self, result: ProbeResult) -> None:
        """A result another instance probed, as the cluster leader's engine evaluates it:
        the check's own gauges (up, duration, certificate expiry); the probe counters
        are the prober's."""
        slot = self._table.index.get(result.check_id)
        if slot is not None and result.is_evidence:
            self._check_values(slot, result)

    def _check_values(self, slot: int, result: ProbeResult) -> None:
        table, timings = self._table, result.timings
        values = table.values
        values[CHECK_UP.name][slot] = 0.0 if result.verdict is Verdict.FAILED else 1.0
        values[CHECK_DURATION.name][slot] = timings.total
        if result.cert_not_after is not None:
            values[CHECK_TLS_EXPIRY.name][slot] = result.cert_not_after.timestamp()

    def connection_dropped(self, listener: str, reason: str) -> None:
        """A listener closed a connection: too many, or a client too slow."""
        self._c.counter("vakt_web_connections_dropped_total", listener, reason).inc()

    def set_check_level(self, check_id: str, level: Level | None) -> None:
        """The level this check's state puts its site at (None: contributes nothing)."""
        self._table.set(CHECK_LEVEL, check_id, LEVEL_VALUE[level])

    def set_location_voting(self, location: str, voting: bool) -> None:
        """Whether `location` votes (the engine's judgement of its connectivity)."""
        self._c.gauge("vakt_location_voting", location).set(1 if voting else 0)

    def heartbeat_seen(self, check_id: str, at: datetime) -> None:
        self._table.set(CHECK_HEARTBEAT_SEEN, check_id, at.timestamp())

    def track_in_flight(self, source: Callable[[], int]) -> None:
        """Read probes in flight from `source` at each scrape (e.g. the scheduler's count)."""
        self._c.gauge("vakt_probes_in_flight").set_function(lambda: float(source()))

    # -- incidents and SLA ------------------------------------------------------------

    def incident_opened(self, level: Level) -> None:
        """A new case opened (a reopen is `incident_reopened`)."""
        self._c.counter("vakt_incidents_opened_total", level.value).inc()

    def incident_reopened(self, level: Level) -> None:
        """A resolved case opened again (the same case number)."""
        self._c.counter("vakt_incidents_reopened_total", level.value).inc()

    def incident_resolved(self, level: Level) -> None:
        self._c.counter("vakt_incidents_resolved_total", level.value).inc()

    def set_incidents_open(self, counts: Mapping[Level, int]) -> None:
        """Open incidents per level (levels missing from `counts` have none)."""
        for level in Level:
            self._c.gauge("vakt_incidents_open", level.value).set(counts.get(level, 0))

    def acknowledged(self, level: Level, seconds: float) -> None:
        """The first acknowledgement, `seconds` after the incident opened."""
        self._c.histogram("vakt_time_to_acknowledge_seconds", level.value).observe(seconds)

    def sla_response(self, level: Level, outcome: SlaOutcome) -> None:
        """A case's response, once per case: how it met respond-by, or that it missed."""
        self._c.counter("vakt_sla_responses_total", level.value, outcome.value).inc()

    def sla_warning(self) -> None:
        self._c.counter("vakt_sla_warnings_total").inc()

    def sla_breach(self) -> None:
        self._c.counter("vakt_sla_breaches_total").inc()

    # -- notifications, outbox, dead-man ----------------------------------------------

    def notification(self, channel: str, outcome: NotificationOutcome) -> None:
        """One delivery attempt; `channel` is a configured channel name (bounded)."""
        self._c.counter("vakt_notifications_total", channel, outcome.value).inc()

    def settled(self, attempts: Sequence[Settled], now: datetime) -> None:
        """Delivery attempts the dispatcher settled (its `DispatchObserver` hook, called
        after the commit): each counts with the outcome the dispatcher decided (a
        transient error is `retry` while retries remain, `failed` once they ran out), and
        each delivered one observes the time from its due time to its delivery."""
        for a in attempts:
            self._c.counter("vakt_notifications_total", a.channel, a.outcome).inc()
            if a.outcome == NotificationOutcome.SENT:
                delay = (a.at + a.duration - a.due_at).total_seconds()
                self._c.histogram(
                    "vakt_notification_delivery_delay_seconds", a.channel, a.kind
                ).observe(max(delay, 0.0))

    def cancelled(self, count: int, now: datetime) -> None:
        """Rows the dispatcher's send-time re-check cancelled (`DispatchObserver`)."""
        self._c.counter("vakt_notifications_cancelled_total").inc(count)

    def set_outbox(self, backlog: int, oldest_age: float) -> None:
        self._c.gauge("vakt_outbox_backlog").set(backlog)
        self._c.gauge("vakt_outbox_oldest_age_seconds").set(oldest_age)

    def weak_tokens(self, count: int) -> None:
        """How many configured tokens are weak (`monitor.config.tokens`)."""
        self._c.gauge("vakt_weak_tokens").set(count)

    def cluster_seen(self, *, leading: bool, term: int, alive: int, dead: int, at: float) -> None:
        """A cluster round ended (the `ClusterObserver` protocol): this instance leads or
        not under `term`, with `alive` and `dead` members; its heartbeat was written at
        Unix time `at`."""
        self._c.gauge("vakt_cluster_leader").set(1 if leading else 0)
        self._c.gauge("vakt_cluster_term").set(term)
        self._c.gauge("vakt_cluster_members", "alive").set(alive)
        self._c.gauge("vakt_cluster_members", "dead").set(dead)
        self._c.gauge("vakt_cluster_heartbeat_timestamp_seconds").set(at)

    def locations_seen(self, members: Mapping[str, int]) -> None:
        """The live members of each probe location (every location a site lists)."""
        for location, live in members.items():
            self._c.gauge("vakt_location_members", location).set(live)

    def inbox_dropped(self, rows: int) -> None:
        """`rows` probe results were dropped on their way to the leader's engine."""
        self._c.counter("vakt_probe_inbox_dropped_total").inc(rows)

    def cluster_stepped(self, leading: bool) -> None:
        """This instance became leader (True) or stepped down (False)."""
        self._c.gauge("vakt_cluster_leader").set(1 if leading else 0)

    def deadman_configured(self, every: float) -> None:
        """The dead-man's ping interval in seconds (0: switched off)."""
        self._c.gauge("vakt_deadman_interval_seconds").set(every)

    def deadman_pinged(self, ok: bool, at: float) -> None:
        """A dead-man's ping finished at Unix time `at` (the `DeadmanObserver` protocol)."""
        self._c.counter("vakt_deadman_pings_total", "ok" if ok else "failed").inc()
        if ok:
            self._c.gauge("vakt_deadman_last_success_timestamp_seconds").set(at)

    # -- supervised tasks, health, engine ---------------------------------------------

    def task_progress(self, task: str, at: datetime) -> None:
        """A supervised task made progress at `at` (`task` is a fixed task name)."""
        self._c.gauge("vakt_task_last_progress_timestamp_seconds", task).set(at.timestamp())

    def task_restarted(self, task: str) -> None:
        """A supervised task failed and is started again."""
        self._c.counter("vakt_task_restarts_total", task).inc()

    def health_judged(self, verdicts: Mapping[str, bool]) -> None:
        """The last health verdict per component (`/readyz`'s and the dead-man's)."""
        for component, ok in verdicts.items():
            self._c.gauge("vakt_health_ok", component).set(1 if ok else 0)

    def engine_shed(self, what: str, rows: int) -> None:
        """The engine dropped `rows` pending rows of kind `what` (the store was down)."""
        self._c.counter("vakt_engine_shed_total", what).inc(rows)

    # -- exposition -------------------------------------------------------------------

    def render(self) -> bytes:
        """The whole exposition (text format 0.0.4). Blocking: call via `render_async`."""
        return generate_latest(self.registry) + self._table.expose().encode()

    async def render_async(self) -> bytes:
        """`render()` in the hub's worker thread, so a scrape never stalls the probe loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.render)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def metrics_handler(hub: MetricsHub) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler serving `hub` at `/metrics` (the web app mounts it)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await hub.render_async()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    return handle
