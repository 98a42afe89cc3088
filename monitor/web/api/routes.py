"""Every operation of `/api/v1`, in the order the OpenAPI document lists them."""

from __future__ import annotations

from monitor.config.records import Scope
from monitor.web.api import incidents, oncall, reports, requests, sites, windows
from monitor.web.api.operations import Operation, PathParam
from monitor.web.api.schemas import (
    ActIn,
    ActionOut,
    CheckDetail,
    CheckPage,
    CheckQuery,
    IncidentDetail,
    IncidentPage,
    IncidentQuery,
    MaintenanceIn,
    MaintenanceOut,
    MaintenancePage,
    NoteIn,
    NoteOut,
    OnCallList,
    PageQuery,
    ReportOut,
    RequestIn,
    RequestOut,
    SilenceIn,
    SilenceOut,
    SilencePage,
    SiteOut,
    SitePage,
    SiteQuery,
    WhoAmI,
)

_CUSTOMER = PathParam("customer", "Customer id from the config.")
_SITE = PathParam("site", "Site name within the customer.")
_CHECK = PathParam("check", "Check name within the site.")
_CASE = PathParam("case", "Case number, e.g. VAKT-2026-000042.")

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET", "/sites", "listSites", "Sites with their level and checks", "sites",
        sites.list_sites, {200: SitePage}, query=SiteQuery,
    ),
    Operation(
        "GET", "/sites/{customer}/{site}", "getSite", "One site with its checks", "sites",
        sites.get_site, {200: SiteOut}, path_params=(_CUSTOMER, _SITE), errors=(404,),
    ),
    Operation(
        "GET", "/checks", "listChecks", "Checks with their combined and per-location state",
        "sites", sites.list_checks, {200: CheckPage}, query=CheckQuery,
    ),
    Operation(
        "GET", "/checks/{customer}/{site}/{check}", "getCheck",
        "One check with its recent results", "sites", sites.get_check, {200: CheckDetail},
        path_params=(_CUSTOMER, _SITE, _CHECK), errors=(404,),
    ),
    Operation(
        "GET", "/incidents", "listIncidents", "Incidents, newest first", "incidents",
        incidents.list_incidents, {200: IncidentPage}, query=IncidentQuery,
    ),
    Operation(
        "GET", "/incidents/{case}", "getIncident", "One incident with its timeline",
        "incidents", incidents.get_incident, {200: IncidentDetail}, path_params=(_CASE,),
        errors=(404,),
    ),
    Operation(
        "POST", "/incidents/{case}/acknowledge", "acknowledgeIncident",
        "Acknowledge an incident (stops its pages)", "incidents", incidents.acknowledge,
        {200: ActionOut}, scope=Scope.WRITE, path_params=(_CASE,), body=ActIn,
        body_required=False, errors=(404, 409),
    ),
    Operation(
        "POST", "/incidents/{case}/resolve", "resolveIncident", "Resolve an incident by hand",
        "incidents", incidents.resolve, {200: ActionOut}, scope=Scope.WRITE,
        path_params=(_CASE,), body=ActIn, body_required=False, errors=(404, 409),
    ),
    Operation(
        "POST", "/incidents/{case}/notes", "addIncidentNote", "Add a note to the timeline",
        "incidents", incidents.add_note, {201: NoteOut}, scope=Scope.WRITE,
        path_params=(_CASE,), body=NoteIn, errors=(404, 409),
    ),
    Operation(
        "GET", "/maintenance", "listMaintenance", "Maintenance windows now and to come",
        "maintenance", windows.list_maintenance, {200: MaintenancePage}, query=PageQuery,
    ),
    Operation(
        "POST", "/maintenance", "addMaintenance", "Add a maintenance window", "maintenance",
        windows.add_maintenance, {201: MaintenanceOut}, scope=Scope.WRITE, body=MaintenanceIn,
    ),
    Operation(
        "DELETE", "/maintenance/{id}", "endMaintenance", "End a maintenance window now",
        "maintenance", windows.end_maintenance, {200: MaintenanceOut}, scope=Scope.WRITE,
        path_params=(PathParam("id", "Window id."),), errors=(404, 409),
    ),
    Operation(
        "GET", "/silences", "listSilences", "Silences now and to come", "silences",
        windows.list_silences, {200: SilencePage}, query=PageQuery,
    ),
    Operation(
        "POST", "/silences", "addSilence", "Silence a customer, site or check", "silences",
        windows.add_silence, {201: SilenceOut}, scope=Scope.WRITE, body=SilenceIn,
    ),
    Operation(
        "DELETE", "/silences/{id}", "endSilence", "End a silence now", "silences",
        windows.end_silence, {200: SilenceOut}, scope=Scope.WRITE,
        path_params=(PathParam("id", "Silence id."),), errors=(404, 409),
    ),
    Operation(
        "GET", "/reports/{customer}/{month}", "getReport",
        "A customer's monthly agreement report (the version sent, else computed now)",
        "reports", reports.get_report, {200: ReportOut},
        path_params=(_CUSTOMER, PathParam("month", "The month, YYYY-MM.")), errors=(404,),
    ),
    Operation(
        "POST", "/requests", "fileRequest", "File a customer's report (helpdesk integrations)",
        "requests", requests.file_request, {201: RequestOut}, scope=Scope.REQUESTS_WRITE,
        body=RequestIn, errors=(404, 429, 503),
    ),
    Operation(
        "GET", "/oncall", "onCallNow", "Who is on call now, per schedule", "oncall",
        oncall.oncall_now, {200: OnCallList},
    ),
    Operation(
        "GET", "/token", "whoAmI", "The name and scope of the token in use", "oncall",
        oncall.whoami, {200: WhoAmI},
    ),
)  # fmt: skip
