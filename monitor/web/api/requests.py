"""`POST /api/v1/requests`: a helpdesk files a customer's report (scope `requests:write`).

The same desk as the status page's form: a contact's report opens a customer-reported
case (or joins the site's monitoring case) and gets a receipt; anyone else's waits in
triage. Rate-limited per client address and per reporter email like the form.
"""

from __future__ import annotations

from monitor.incidents.reports import Filed, InvalidReport, ReportSource, make_report
from monitor.store import StoreError
from monitor.web.api.deps import ApiDeps
from monitor.web.api.errors import ApiError
from monitor.web.api.operations import Call, Reply
from monitor.web.api.schemas import RequestIn, RequestOut
from monitor.web.security import client_key


async def file_request(deps: ApiDeps, call: Call) -> Reply:
    desk = deps.desk
    if desk is None:
        raise ApiError(404, "this instance does not take customers' reports")
    body = call.body_as(RequestIn)
    customer = call.config.customers.get(body.customer)
    if customer is None:
        raise ApiError(404, f"no customer {body.customer!r}")
    try:
        report = make_report(
            customer,
            site=body.site,
            name=body.name,
            email=body.email,
            description=body.description,
            urgent=body.urgent,
            submitted_at=call.now,
            source=ReportSource.API,
            client=client_key(call.request, call.config.settings.web.trusted_proxies),
        )
    except InvalidReport as exc:
        raise ApiError(400, f"{exc.problem.value}: not valid") from None
    try:
        receipt = await desk.file(report)
    except StoreError:
        raise ApiError(503, "the store is unavailable; try again") from None
    if receipt.filed is Filed.LIMITED:
        raise ApiError(429, "too many reports from this address or reporter; try again later")
    status = receipt.filed.value
    assert status in ("opened", "joined", "triage")  # LIMITED was answered above
    return 201, RequestOut(status=status, case=receipt.case, respond_by=receipt.respond_by)
