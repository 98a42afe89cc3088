"""The month's figures as JSON (scripts, the API, the stored snapshot) and CSV (spreadsheets).

Durations are whole seconds, shares are fractions (0..1), times ISO 8601 in UTC. The
JSON is the one written form of the figures: the API returns it and a frozen snapshot
stores it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from monitor.policy.uptime import Availability
from monitor.reports.figures import CaseFigure, DayFigure, MonthFigures, SiteFigures, WindowFigure

FORMAT_VERSION = 1


def _t(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _s(span: timedelta | None) -> int | None:
    return None if span is None else round(span.total_seconds())


def _availability(a: Availability) -> dict[str, Any]:
    return {
        "uptime": a.uptime,
        "observed_s": _s(a.observed),
        "down_s": _s(a.down),
        "degraded_s": _s(a.degraded),
        "maintenance_s": _s(a.maintenance),
    }


def _day(d: DayFigure) -> dict[str, Any]:
    return {
        "day": d.day.isoformat(),
        **_availability(d.availability),
        "p50_s": d.p50,
        "p95_s": d.p95,
    }


def _window(w: WindowFigure) -> dict[str, Any]:
    return {
        "start": _t(w.window.start),
        "end": _t(w.window.end),
        "reason": w.window.reason,
        "announced_at": _t(w.window.announced_at),
        "notice_s": _s(w.notice),
        "excluded": w.excluded,
    }


def _site(s: SiteFigures) -> dict[str, Any]:
    return {
        "site": s.site_id,
        "label": s.label,
        **_availability(s.availability),
        "p50_s": s.p50,
        "p95_s": s.p95,
        "days": [_day(d) for d in s.days],
        "maintenance": [_window(w) for w in s.windows],
    }


def _case(c: CaseFigure) -> dict[str, Any]:
    return {
        "case": c.case_number,
        "site": c.site_id,
        "level": c.level.value,
        "opened_level": c.opened_level.value,
        "opened_at": _t(c.opened_at),
        "acknowledged_at": _t(c.acknowledged_at),
        "resolved_at": _t(c.resolved_at),
        "respond_from": _t(c.respond_from),
        "respond_by": _t(c.respond_by),
        "status": c.status.value,
        "met": c.met,
        "respond_s": _s(c.respond_wall),
        "respond_business_s": _s(c.respond_business),
        "resolve_s": _s(c.resolve_wall),
        "resolve_business_s": _s(c.resolve_business),
    }


def as_json(figures: MonthFigures, name: str) -> dict[str, Any]:
    """The figures as a JSON-ready dict."""
    return {
        "format": FORMAT_VERSION,
        "customer": figures.customer_id,
        "name": name,
        "month": str(figures.month),
        "period": {"start": _t(figures.period[0]), "end": _t(figures.period[1])},
        "computed_at": _t(figures.now),
        **_availability(figures.availability),
        "mtta_s": _s(figures.mtta),
        "mttr_s": _s(figures.mttr),
        "cases_met": figures.met,
        "cases_missed": figures.missed,
        "unacknowledged": figures.unacknowledged,
        "days": [_day(d) for d in figures.days],
        "sites": [_site(s) for s in figures.sites],
        "cases": [_case(c) for c in figures.cases],
    }


DAY_COLUMNS = (
    "site",
    "day",
    "uptime",
    "observed_s",
    "down_s",
    "degraded_s",
    "maintenance_s",
    "p50_s",
    "p95_s",
)
CASE_COLUMNS = (
    "case",
    "site",
    "level",
    "opened_level",
    "opened_at",
    "acknowledged_at",
    "resolved_at",
    "respond_by",
    "status",
    "respond_s",
    "respond_business_s",
    "resolve_s",
    "resolve_business_s",
)


def _csv(columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def days_csv(figures: Mapping[str, Any]) -> str:
    """One row per site and day, from the figures' JSON (live or frozen alike)."""
    rows = [{"site": s["site"], **d} for s in figures["sites"] for d in s["days"]]
    return _csv(DAY_COLUMNS, rows)


def cases_csv(figures: Mapping[str, Any]) -> str:
    """One row per case opened in the month, from the figures' JSON."""
    return _csv(CASE_COLUMNS, list(figures["cases"]))
