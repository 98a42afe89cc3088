"""Shared building blocks for Vakt's dashboards (grafana-foundation-sdk builders).

Every panel carries its question as its description: docs/observability.md lists them.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders import heatmap as heatmap_builder
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import prometheus as prom_model

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
"""Every query goes to the data source chosen in the `datasource` variable."""


def query(
    expr: str, legend: str = "", *, instant: bool = False, ref: str = "A"
) -> prometheus.Dataquery:
    built = prometheus.Dataquery().expr(expr).datasource(DATASOURCE).ref_id(ref)
    if legend:
        built = built.legend_format(legend)
    return built.instant() if instant else built.range()


def datasource_variable() -> dashboard.DatasourceVariable:
    return dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")


def new_dashboard(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["vakt"])
        .editable()
        .time("now-24h", "now")
        .refresh("1m")
        .timezone("browser")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .with_variable(datasource_variable())
    )


def thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for value, color in steps])
    )


def stat_panel(
    title: str, question: str, expr: str, *, unit: str = "short", legend: str = ""
) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(question)
        .datasource(DATASOURCE)
        .with_target(query(expr, legend, instant=True))
        .unit(unit)
        .height(5)
        .span(6)
    )


def series_panel(
    title: str, question: str, *targets: tuple[str, str], unit: str = "short", span: int = 12
) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).description(question).datasource(DATASOURCE)
    for ref, (expr, legend) in zip("ABCDEFGH", targets, strict=False):
        panel = panel.with_target(query(expr, legend, ref=ref))
    return panel.unit(unit).height(8).span(span)


def table_panel(title: str, question: str, expr: str, *, span: int = 12) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .description(question)
        .datasource(DATASOURCE)
        .with_target(query(expr, instant=True).format(prom_model.PromQueryFormat.TABLE))
        .height(8)
        .span(span)
    )


def heatmap(title: str, question: str, expr: str) -> heatmap_builder.Panel:
    target = query(expr, "{{le}}").format(prom_model.PromQueryFormat.HEATMAP)
    return (
        heatmap_builder.Panel()
        .title(title)
        .description(question)
        .datasource(DATASOURCE)
        .with_target(target)
        .unit("s")
        .height(8)
        .span(12)
    )


def row(title: str) -> dashboard.Row:
    return dashboard.Row(title)
