"""A customer's monthly agreement report: the frozen version when one was sent, else the
month computed now (`ReportSource`, injected by `monitor.app`)."""

from __future__ import annotations

import re

from monitor.web.api.deps import ApiDeps
from monitor.web.api.errors import ApiError
from monitor.web.api.operations import Call, Reply
from monitor.web.api.schemas import ReportOut

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


async def get_report(deps: ApiDeps, call: Call) -> Reply:
    customer, month = call.path["customer"], call.path["month"]
    if customer not in call.config.customers:
        raise ApiError(404, f"no customer {customer!r}")
    if not _MONTH.match(month) or not "1970-01" <= month <= "9998-12":
        raise ApiError(404, f"no month {month!r} (YYYY-MM)")
    source = deps.reports
    if source is None:
        raise ApiError(404, "reports are not available here")
    figures = await source.figures(customer, month)
    return 200, ReportOut.model_validate(figures)
