"""One customer: uptime, incidents, response times and SLA compliance."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as model
from panels import DATASOURCE, new_dashboard, row, series_panel, stat_panel, table_panel

UID = "vakt-customer"


def customer_variable() -> dashboard.QueryVariable:
    return (
        dashboard.QueryVariable("customer")
        .label("Customer")
        .datasource(DATASOURCE)
        .query("label_values(vakt_check_up, customer)")
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )


def build() -> dashboard.Dashboard:
    return (
        new_dashboard(UID, "Vakt / Customer", "One customer's sites against their agreement.")
        .with_variable(customer_variable())
        .with_row(row("Uptime"))
        .with_panel(
            stat_panel(
                "Uptime (30 days)",
                "What share of the last 30 days were this customer's sites up?",
                'customer:vakt_uptime:ratio_30d{customer="$customer"}',
                unit="percentunit",
            )
        )
        .with_panel(
            stat_panel(
                "Sites not OK",
                "How many of this customer's sites are at Level A or B now?",
                'count(customer_site:vakt_check_level:max{customer="$customer"} > 0) or vector(0)',
            )
        )
        .with_panel(
            table_panel(
                "Uptime per site",
                "Which of this customer's sites were up least over the last 30 days?",
                'customer_site:vakt_uptime:ratio_30d{customer="$customer"}',
            )
        )
        .with_panel(
            series_panel(
                "Site state",
                "When was each site down (0) or up (1)?",
                ('customer_site:vakt_check_up:min{customer="$customer"}', "{{site}}"),
            )
        )
        .with_row(row("Response times"))
        .with_panel(
            series_panel(
                "Response time per check",
                "How fast does each check answer, probe by probe?",
                ('vakt_check_duration_seconds{customer="$customer"}', "{{site}}/{{check}}"),
                unit="s",
            )
        )
        .with_panel(
            table_panel(
                "Certificates",
                "When does each certificate of this customer expire?",
                'vakt_check_tls_expiry_timestamp_seconds{customer="$customer"} * 1000',
            )
        )
        .with_row(row("SLA"))
        .with_panel(
            series_panel(
                "Responses in time (fleet, by level)",
                "What share of cases were answered by respond-by (the contract rule: "
                "acknowledged, or resolved before anyone acknowledged), and what share did a "
                "person acknowledge in time?",
                ("level:vakt_sla_responses:met_ratio_30d", "Level {{level}} in time"),
                ("level:vakt_sla_responses:acknowledged_ratio_30d", "Level {{level}} acknowledged"),
                unit="percentunit",
            )
        )
        .with_panel(
            series_panel(
                "Time to acknowledge (p90, by level)",
                "How long does it take the on-call engineer to acknowledge an incident?",
                (
                    "histogram_quantile(0.9, sum by (level, le) "
                    "(rate(vakt_time_to_acknowledge_seconds_bucket[$__range])))",
                    "Level {{level}}",
                ),
                unit="s",
            )
        )
    )
