"""Vakt's own health: is the monitor itself keeping up?"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from panels import new_dashboard, row, series_panel, stat_panel

UID = "vakt-health"


def build() -> dashboard.Dashboard:
    return (
        new_dashboard(UID, "Vakt / Health", "Vakt watching itself.")
        .with_row(row("Status"))
        .with_panel(
            stat_panel(
                "Instances up",
                "How many Vakt instances does Prometheus reach?",
                'sum(up{job="vakt"})',
            )
        )
        .with_panel(
            stat_panel(
                "Version",
                "Which version is each instance running?",
                "vakt_build_info",
                legend="{{instance}} {{version}}",
            )
        )
        .with_panel(
            stat_panel(
                "Config reload",
                "Did the last config reload succeed (1) or was it rejected (0)?",
                "min(vakt_config_reload_success)",
            )
        )
        .with_panel(
            stat_panel(
                "Checks",
                "How many checks does each instance run?",
                "sum(vakt_checks)",
            )
        )
        .with_row(row("Health"))
        .with_panel(
            series_panel(
                "Health verdict",
                "Which components does /readyz judge red (0) right now, and since when?",
                ("min by (component) (vakt_health_ok)", "{{component}}"),
            )
        )
        .with_panel(
            series_panel(
                "Task progress",
                "How long ago did each supervised task last make progress?",
                (
                    "max by (task) (time() - vakt_task_last_progress_timestamp_seconds)",
                    "{{task}}",
                ),
                ("sum by (task) (increase(vakt_task_restarts_total[1h]))", "restarts {{task}}"),
                unit="s",
            )
        )
        .with_row(row("Probing"))
        .with_panel(
            series_panel(
                "Probe throughput",
                "How many probes per second does Vakt run, by outcome?",
                (
                    "sum by (outcome) (rate(vakt_probe_duration_seconds_count[$__rate_interval]))",
                    "{{outcome}}",
                ),
                unit="reqps",
            )
        )
        .with_panel(
            series_panel(
                "Scheduler lateness",
                "How late do probes start against their plan (p50, p99)?",
                (
                    "histogram_quantile(0.5, sum by (location, le) "
                    "(rate(vakt_scheduler_lateness_seconds_bucket[$__rate_interval])))",
                    "p50 {{location}}",
                ),
                (
                    "histogram_quantile(0.99, sum by (location, le) "
                    "(rate(vakt_scheduler_lateness_seconds_bucket[$__rate_interval])))",
                    "p99 {{location}}",
                ),
                unit="s",
            )
        )
        .with_panel(
            series_panel(
                "Probes in flight",
                "How many probes are running at once (against the concurrency limit)?",
                ("sum by (instance) (vakt_probes_in_flight)", "{{instance}}"),
            )
        )
        .with_row(row("Notifications"))
        .with_panel(
            series_panel(
                "Outbox",
                "Are notifications waiting, and for how long?",
                ("max(vakt_outbox_backlog)", "backlog"),
                ("max(vakt_outbox_oldest_age_seconds)", "oldest age (s)"),
            )
        )
        .with_panel(
            series_panel(
                "Deliveries",
                "Are pages and emails going out, per channel and outcome?",
                (
                    "sum by (channel, outcome) (rate(vakt_notifications_total[$__rate_interval]))",
                    "{{channel}} {{outcome}}",
                ),
                unit="reqps",
            )
        )
        .with_panel(
            series_panel(
                "Dead-man's switch",
                "How long since the outside watcher last heard from Vakt?",
                (
                    "time() - vakt_deadman_last_success_timestamp_seconds "
                    "and vakt_deadman_interval_seconds > 0",
                    "{{instance}}",
                ),
                unit="s",
            )
        )
    )
