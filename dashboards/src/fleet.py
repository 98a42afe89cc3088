"""Fleet overview: how are all customers' sites doing right now?"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from panels import (
    heatmap,
    new_dashboard,
    row,
    series_panel,
    stat_panel,
    table_panel,
    thresholds,
)

UID = "vakt-fleet"


def build() -> dashboard.Dashboard:
    return (
        new_dashboard(UID, "Vakt / Fleet overview", "Every monitored site at a glance.")
        .with_row(row("Now"))
        .with_panel(
            stat_panel(
                "Sites at Level A",
                "How many sites are critically down (all or significant parts) right now?",
                "count(customer_site:vakt_check_level:max == 2) or vector(0)",
            ).thresholds(thresholds((None, "green"), (1, "red")))
        )
        .with_panel(
            stat_panel(
                "Sites at Level B",
                "How many sites have a broken critical function or are much slower than usual?",
                "count(customer_site:vakt_check_level:max == 1) or vector(0)",
            ).thresholds(thresholds((None, "green"), (1, "orange")))
        )
        .with_panel(
            stat_panel(
                "Open incidents",
                "How many incidents are open (not yet resolved), by level?",
                "max by (level) (vakt_incidents_open)",
                legend="Level {{level}}",
            )
        )
        .with_panel(
            stat_panel(
                "Checks failing",
                "How many individual checks fail their latest probe?",
                "count(vakt_check_up == 0) or vector(0)",
            )
        )
        .with_panel(
            table_panel(
                "Sites not OK",
                "Which sites are at Level A (2) or Level B (1) now?",
                "customer_site:vakt_check_level:max > 0",
            )
        )
        .with_panel(
            table_panel(
                "Lowest uptime (24 h)",
                "Which sites were down longest over the last day?",
                "bottomk(10, customer_site:vakt_uptime:ratio_1d)",
            )
        )
        .with_row(row("Probes"))
        .with_panel(
            heatmap(
                "Probe latency",
                "How long do probes take across the fleet, and is that shifting?",
                'sum by (le) (rate(vakt_probe_duration_seconds_bucket{outcome!="failed"}'
                "[$__rate_interval]))",
            )
        )
        .with_panel(
            series_panel(
                "Errors by code",
                "Why do probes fail: timeouts, DNS, TLS, HTTP status...?",
                (
                    'sum by (code) (rate(vakt_probe_results_total{code!="ok"}[$__rate_interval]))',
                    "{{code}}",
                ),
                unit="reqps",
            )
        )
        .with_panel(
            series_panel(
                "Incidents opened",
                "How many cases open per hour, and how many resolved cases open again, by level?",
                ("sum by (level) (increase(vakt_incidents_opened_total[1h]))", "Level {{level}}"),
                (
                    "sum by (level) (increase(vakt_incidents_reopened_total[1h]))",
                    "Level {{level}} reopened",
                ),
            )
        )
    )
