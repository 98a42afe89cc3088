"""The REST API's request and response bodies, as pydantic models.

These models are the one source of truth for the wire format: handlers build responses
from them, requests are validated by them, and the OpenAPI document's JSON Schemas are
generated from them. Inputs forbid unknown fields; free text refuses NUL characters
(PostgreSQL cannot store them) and is bounded in length.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from monitor.config.records import Scope
from monitor.model import CheckState, CheckType, ErrorCode, Impact, IncidentStatus, Level, Verdict
from monitor.store import EventKind, SilenceScope

MAX_LIMIT = 500
DEFAULT_LIMIT = 50

# No NUL and no other C0 control character except tab, newline and carriage return.
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
# The same, with at least one character that is not white space.
_NON_BLANK = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*[^\x00-\x20][^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
_NAME = r"^[^\x00-\x20/]+$"
_ID = r"^[^\x00-\x20]+$"  # ids may hold `/`


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise ValueError("time is out of range") from exc


UtcTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""An RFC 3339 time with an offset, converted to UTC."""

Reason = Annotated[str, Field(max_length=1000, pattern=_TEXT)]
Actor = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=_NAME,
        description="A person id from the config to act as; default: the API token's name.",
    ),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# ------------------------------------------------------------------------------ errors


class ErrorDetail(_Out):
    code: str = Field(description="Stable machine-readable reason, e.g. `not_found`.")
    message: str = Field(description="What went wrong, for people.")


class ErrorBody(_Out):
    error: ErrorDetail


# ------------------------------------------------------------------------------- query


class PageQuery(_In):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.")
    offset: int = Field(0, ge=0, le=1_000_000, description="How many items to skip.")


class SiteQuery(PageQuery):
    customer: str | None = Field(None, max_length=255, description="Only this customer's.")


class CheckQuery(SiteQuery):
    site: str | None = Field(None, max_length=255, description="Only this site (`customer/site`).")
    state: CheckState | None = Field(None, description="Only checks in this state.")


class IncidentQuery(_In):
    status: IncidentStatus | None = None
    customer: str | None = Field(None, max_length=255)
    site: str | None = Field(None, max_length=255, description="A site id, `customer/site`.")
    level: Level | None = None
    since: UtcTime | None = Field(None, description="Opened at or after this time.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.")
    cursor: str | None = Field(
        None, max_length=200, description="`next_cursor` of the previous page."
    )


# ------------------------------------------------------------------------ sites, checks


class LocationState(_Out):
    location: str
    state: CheckState
    since: datetime
    last_probe_at: datetime | None
    last_verdict: Verdict | None
    last_error: ErrorCode | None
    latency_seconds: float | None


class CheckOut(_Out):
    id: str = Field(description="`customer/site/check`, stable across reloads.")
    customer: str
    site: str
    name: str
    label: str
    type: CheckType
    impact: Impact
    interval_seconds: float
    state: CheckState = Field(description="Combined over the site's locations by its quorum.")
    locations: list[LocationState]


class RecentOut(_Out):
    started_at: datetime
    location: str
    verdict: Verdict
    latency_seconds: float
    error: ErrorCode | None
    status_code: int | None
    detail: str


class CheckDetail(CheckOut):
    recent: list[RecentOut] = Field(description="The newest results, newest first.")


class SiteOut(_Out):
    id: str = Field(description="`customer/site`.")
    customer: str
    customer_name: str
    name: str
    label: str
    url: str | None
    level: Level | None = Field(description="The current level; null when the site is up.")
    since: datetime | None = Field(description="When the current level began.")
    incident: str | None = Field(description="Case number of the incident covering the site.")
    checks: list[CheckOut]


class SitePage(_Out):
    items: list[SiteOut]
    total: int
    next_offset: int | None


class CheckPage(_Out):
    items: list[CheckOut]
    total: int
    next_offset: int | None


# ----------------------------------------------------------------------------- incidents


class EventOut(_Out):
    at: datetime
    actor: str
    kind: EventKind
    text: str
    public: bool
    level: Level | None = None  # level_changed
    previous_level: Level | None = None  # level_changed
    ref: str | None = None  # linked: a case; affected: a site id
    recipient: str | None = None  # paged, customer_emailed
    channel: str | None = None  # paged, customer_emailed


class IncidentOut(_Out):
    case: str
    site: str
    customer: str
    level: Level
    status: IncidentStatus
    opened_at: datetime
    updated_at: datetime
    description: str
    respond_by: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    flapping: bool


class IncidentDetail(IncidentOut):
    timeline: list[EventOut] = Field(description="Oldest first, internal notes included.")


class IncidentPage(_Out):
    items: list[IncidentOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ActIn(_In):
    person: Actor | None = None


class NoteIn(_In):
    text: Annotated[str, Field(min_length=1, max_length=10_000, pattern=_NON_BLANK)]
    public: bool = Field(False, description="Shown on the status page and in customer emails.")
    person: Actor | None = None


class ActionOut(_Out):
    incident: IncidentOut
    changed: bool = Field(description="False when there was nothing to do.")


class NoteOut(_Out):
    incident: IncidentOut
    event: EventOut


# --------------------------------------------------------------- maintenance, silences


class MaintenanceIn(_In):
    sites: list[Annotated[str, Field(min_length=1, max_length=255, pattern=_ID)]] = Field(
        min_length=1, max_length=100, description="`customer/site`, `customer/*` or `*`."
    )
    start: UtcTime
    end: UtcTime
    reason: Reason = ""


class MaintenanceOut(_Out):
    id: str = Field(description="Numeric for windows added at run time, `config:...` otherwise.")
    source: Literal["runtime", "config"]
    sites: list[str]
    start: datetime | None = Field(description="Null for a recurring config window.")
    end: datetime | None
    every: str | None = Field(description="A recurring config window: `sun 03:00`.")
    duration_seconds: float | None
    reason: str
    created_by: str | None
    created_at: datetime | None
    ended_at: datetime | None


class MaintenancePage(_Out):
    items: list[MaintenanceOut]
    total: int
    next_offset: int | None


class SilenceIn(_In):
    scope: SilenceScope
    target: Annotated[str, Field(min_length=1, max_length=255, pattern=_ID)] = Field(
        description="A customer id, a site id (`customer/site`) or a check id."
    )
    start: UtcTime | None = Field(None, description="Default: now.")
    end: UtcTime
    reason: Reason = ""


class SilenceOut(_Out):
    id: str
    scope: SilenceScope
    target: str
    start: datetime
    end: datetime
    reason: str
    created_by: str
    created_at: datetime
    ended_at: datetime | None


class SilencePage(_Out):
    items: list[SilenceOut]
    total: int
    next_offset: int | None


# -------------------------------------------------------------------------------- oncall


class PersonOut(_Out):
    id: str
    name: str


class OnCallOut(_Out):
    schedule: str
    person: PersonOut | None = Field(description="Null when nobody is on call (the team is).")
    until: datetime | None = Field(description="The next handoff, if one is known.")


class OnCallList(_Out):
    at: datetime
    items: list[OnCallOut]


class WhoAmI(_Out):
    name: str
    scope: Scope


# ------------------------------------------------------------------------------ reports
# The monthly agreement report's figures (`monitor.reports.export.as_json`, the written
# form the CLI's JSON and a frozen report keep): durations in seconds, shares 0..1.


class ReportAvailability(_Out):
    uptime: float | None = Field(description="Time not at Level A over measured time.")
    observed_s: int = Field(description="Measured time, maintenance left out.")
    down_s: int = Field(description="Time at Level A.")
    degraded_s: int = Field(description="Time at Level B.")
    maintenance_s: int = Field(description="Maintenance left out of the figures.")


class ReportDay(ReportAvailability):
    day: str = Field(description="The day in the customer's zone, YYYY-MM-DD.")
    p50_s: float | None = None
    p95_s: float | None = None


class ReportWindow(_Out):
    start: datetime
    end: datetime
    reason: str
    announced_at: datetime | None
    notice_s: int | None = Field(description="How long ahead it was announced.")
    excluded: bool = Field(description="Left out of the figures.")


class ReportSite(ReportAvailability):
    site: str
    label: str
    p50_s: float | None = Field(description="Median latency (histogram bucket bound).")
    p95_s: float | None
    days: list[ReportDay]
    maintenance: list[ReportWindow]


class ReportCase(_Out):
    case: str
    site: str
    level: Level = Field(description="The most severe level it reached.")
    opened_level: Level
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    respond_from: datetime
    respond_by: datetime
    status: str = Field(description="`met`, `breached`, or `pending`/`warning` while open.")
    met: bool | None
    respond_s: int | None = Field(description="Time to respond, wall clock.")
    respond_business_s: int | None = Field(description="Time to respond, business clock.")
    resolve_s: int | None
    resolve_business_s: int | None


class ReportOut(ReportAvailability):
    format: int
    customer: str
    name: str
    month: str = Field(description="YYYY-MM.")
    period: dict[str, datetime]
    computed_at: datetime
    mtta_s: int | None = Field(description="Mean time to acknowledge (acknowledged cases).")
    mttr_s: int | None = Field(description="Mean time to resolve (resolved cases).")
    cases_met: int
    cases_missed: int
    unacknowledged: int
    days: list[ReportDay]
    sites: list[ReportSite]
    cases: list[ReportCase]
    version: int | None = Field(
        None, description="The frozen version shown (sent to the customer); null: computed now."
    )


# ------------------------------------------------------------------- customers' reports


class RequestIn(_In):
    customer: Annotated[str, Field(min_length=1, max_length=255, pattern=_ID)]
    site: Annotated[str, Field(max_length=255)] | None = Field(
        None,
        description="The site's name within the customer (or `customer/site`); none: not sure.",
    )
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=_NON_BLANK)]
    email: Annotated[str, Field(min_length=3, max_length=254)]
    description: Annotated[str, Field(min_length=1, max_length=10_000, pattern=_NON_BLANK)]
    urgent: bool = False


class RequestOut(_Out):
    status: Literal["opened", "joined", "triage"] = Field(
        description="`opened`: a customer-reported case; `joined`: the site's open monitoring "
        "case; `triage`: from someone who is not a contact, the team decides."
    )
    case: str | None = None
    respond_by: datetime | None = None
