"""The `checks.yaml` schema: pydantic models, strict (unknown keys are errors).

Scalars arrive as strings and are parsed by `values.py` through `PlainValidator`, so each
field holds a typed value and each error reads like a person wrote it. Checks and
channels are validated per type (`CHECK_MODELS`, `CHANNEL_MODELS`) so that a key of
another type is reported as unknown for this one. `compile.py` turns these models into
the runtime records and checks the cross-references.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, time, timedelta, tzinfo
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, field_validator

from monitor.config import values as v
from monitor.config.records import (
    ChannelType,
    ClockKind,
    CustomerEmails,
    HostPort,
    Language,
    Mailbox,
    Network,
    PageWhen,
    Quorum,
    QuorumKind,
    Scope,
    Span,
    StatusMatcher,
    TimeRange,
)
from monitor.model import CheckType, Impact, Level, Priority

T = TypeVar("T")


def _optional(parse: Callable[[Any], T]) -> Callable[[Any], T | None]:
    def run(value: Any) -> T | None:
        return None if value is None else parse(value)

    return run


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a single value, got {v.got(value)}")
    return value


def _name_list(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(_text(item).strip() for item in items)


def _enum(kind: type[Any]) -> Callable[[Any], Any]:
    choices = tuple(member.value for member in kind)

    def parse(value: Any) -> Any:
        return kind(v.one_of(value, choices))

    return parse


def _regex(value: Any) -> str:
    text = _text(value)
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {v.got(text)}: {exc}") from None
    return text


def _method(value: Any) -> str:
    methods = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    return v.one_of(_text(value).upper(), methods)


def _redirects(value: Any) -> int:
    text = _text(value).strip().lower()
    if text in ("true", "yes", "on"):
        return 10
    if text in ("false", "no", "off"):
        return 0
    return v.integer(value, 0, "a number of redirects to follow, or false")


def _size(value: Any) -> int:
    return v.size(value, v.MAX_BODY)


def _ip_version(value: Any) -> int | None:
    text = v.one_of(value, ("4", "6", "any"))
    return None if text == "any" else int(text)


def _sha256(value: Any) -> str:
    text = _text(value).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise ValueError(
            "expected the SHA-256 hex digest of the token (64 hex digits; "
            "`printf %s TOKEN | sha256sum`), got " + v.got(value)
        )
    return text


def _country(value: Any) -> str:
    text = _text(value).strip()
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise ValueError(f"expected a two-letter country code such as NO, got {v.got(value)}")
    return text


def _version(value: Any) -> int:
    if _text(value).strip() != "1":
        raise ValueError(f"this Vakt reads config version 1, got {v.got(value)}")
    return 1


Text = Annotated[str, PlainValidator(_text)]
OptText = Annotated[str | None, PlainValidator(_optional(_text))]
Names = Annotated[tuple[str, ...], PlainValidator(_name_list)]
Bool = Annotated[bool, PlainValidator(v.boolean)]
Count = Annotated[int, PlainValidator(lambda x: v.integer(x, 1, "a whole number"))]
OptCount = Annotated[int | None, PlainValidator(_optional(lambda x: v.integer(x, 1)))]
Port = Annotated[int, PlainValidator(lambda x: v.integer(x, 1, "a port number"))]
Duration = Annotated[timedelta, PlainValidator(v.duration)]
OptDuration = Annotated[timedelta | None, PlainValidator(_optional(v.duration))]
Delay = Annotated[timedelta, PlainValidator(lambda x: v.duration(x, allow_zero=True))]
SpanT = Annotated[Span, PlainValidator(v.span)]
OptSpan = Annotated[Span | None, PlainValidator(_optional(v.span))]
Spans = Annotated[tuple[Span, ...], PlainValidator(v.spans)]
Share = Annotated[float, PlainValidator(v.share)]
Zone = Annotated[tuple[tzinfo, str], PlainValidator(v.zone)]
OptZone = Annotated[tuple[tzinfo, str] | None, PlainValidator(_optional(v.zone))]
WeekHours = Annotated[tuple[tuple[TimeRange, ...], ...], PlainValidator(v.week_hours)]
OptWeekHours = Annotated[
    tuple[tuple[TimeRange, ...], ...] | None, PlainValidator(_optional(v.week_hours))
]
Dates = Annotated[
    tuple[date, ...], PlainValidator(lambda x: tuple(v.calendar_date(i) for i in _list(x)))
]
Listen = Annotated[HostPort, PlainValidator(v.host_port)]
Resolver = Annotated[HostPort, PlainValidator(lambda x: v.host_port(x, 53))]
OptHostPort = Annotated[HostPort | None, PlainValidator(_optional(v.host_port))]
Url = Annotated[str, PlainValidator(v.url)]
OptUrl = Annotated[str | None, PlainValidator(_optional(v.url))]
Urls = Annotated[tuple[str, ...], PlainValidator(lambda x: tuple(v.url(i) for i in _list(x)))]
Email = Annotated[str, PlainValidator(v.addr_spec)]
OptEmail = Annotated[str | None, PlainValidator(_optional(v.addr_spec))]
OptMailbox = Annotated[Mailbox | None, PlainValidator(_optional(v.mailbox))]
DisplayName = Annotated[str, PlainValidator(v.display_name)]
OptDisplayName = Annotated[str | None, PlainValidator(_optional(v.display_name))]
Statuses = Annotated[StatusMatcher, PlainValidator(v.statuses)]
QuorumT = Annotated[Quorum, PlainValidator(v.quorum)]
Factor = Annotated[float, PlainValidator(lambda x: v.number(x, "a number such as 3"))]
TimeOfDay = Annotated[time, PlainValidator(v.time_of_day)]
Networks = Annotated[
    tuple[Network, ...], PlainValidator(lambda x: tuple(v.network(i) for i in _list(x)))
]


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        arbitrary_types_allowed=True,
        hide_input_in_errors=True,
    )


# ------------------------------------------------------------------------------ settings


class SmtpModel(Strict):
    host: Text = "127.0.0.1"
    port: Port = 25
    starttls: Bool = False
    tls: Bool = False
    username: OptText = None
    password: OptText = None
    timeout: Duration = timedelta(seconds=30)


class ImapModel(Strict):
    host: Text
    port: Port = 993
    tls: Bool = True
    starttls: Bool = False
    username: Text
    password: OptText = None
    folder: Text = "INBOX"
    poll: Duration = timedelta(minutes=1)
    timeout: Duration = timedelta(seconds=30)


class EmailModel(Strict):
    sender: OptMailbox = Field(None, alias="from")
    support: OptMailbox = None
    team: OptMailbox = None
    templates: OptText = None
    smtp: SmtpModel = SmtpModel()
    imap: ImapModel | None = None


class MassOutageModel(Strict):
    sites: Count
    within: Duration = timedelta(minutes=2)
    escalation: OptText = None


class PagingModel(Strict):
    group_window: Delay = timedelta(seconds=30)
    mass_outage: MassOutageModel | None = None


class FlappingModel(Strict):
    changes: Count = 4
    within: Duration = timedelta(minutes=30)
    reopen_within: Delay = timedelta(minutes=30)


class DefaultsModel(Strict):
    interval: Duration = timedelta(seconds=60)
    retry_interval: Duration = timedelta(seconds=10)
    timeout: Duration = timedelta(seconds=10)
    confirm: Count = 3
    recover: Count = 2


class ApiTokenModel(Strict):
    name: Text
    sha256: Annotated[str, PlainValidator(_sha256)]
    scope: Annotated[Scope, PlainValidator(_enum(Scope))] = Scope.READ


class WebLimitsModel(Strict):
    header_timeout: Duration = timedelta(seconds=10)
    body_timeout: Duration = timedelta(seconds=30)
    idle_timeout: Duration = timedelta(seconds=60)
    max_connections: OptCount = None


class MetricsAuthModel(Strict):
    sha256: Annotated[str, PlainValidator(_sha256)]
    username: Text = "prometheus"


class WebModel(Strict):
    api_tokens: tuple[ApiTokenModel, ...] = ()
    limits: WebLimitsModel = WebLimitsModel()
    metrics_auth: MetricsAuthModel | None = None
    trusted_proxies: Networks = ()


class ProbesModel(Strict):
    allow: Networks = ()
    deny: Networks = ()


class SentryModel(Strict):
    dsn: OptText = None
    environment: Text = "production"


class DeadmanModel(Strict):
    url: OptText = None
    every: Duration = timedelta(minutes=1)


class ResolverModel(Strict):
    address: Resolver


class RetryModel(Strict):
    base: Duration = timedelta(seconds=10)
    cap: Duration = timedelta(minutes=10)
    max_attempts: Count = 20
    max_age: Duration = timedelta(hours=24)


class DeliveryModel(Strict):
    poll: Duration = timedelta(seconds=1)
    lease: Duration = timedelta(minutes=2)
    timeout: Duration = timedelta(seconds=30)
    retry: RetryModel = RetryModel()
    warn_after: Count = 5


class ClusterModel(Strict):
    heartbeat: Duration = timedelta(seconds=2)
    lease: Duration = timedelta(seconds=10)


class HealthModel(Strict):
    delivery_after: Duration = timedelta(seconds=60)
    engine_periods: Count = 3
    planner_periods: Count = 3


class SettingsModel(Strict):
    timezone: Zone = (UTC, "UTC")
    store: Annotated[str, PlainValidator(v.store_url)] = "sqlite:///vakt.db"
    busy_timeout: Duration = timedelta(seconds=10)
    listen: Listen = HostPort("127.0.0.1", 8080)
    public_listen: Listen = HostPort("127.0.0.1", 8081)
    public_url: OptUrl = None
    web_url: OptUrl = None
    secret: OptText = None
    heartbeat_key: OptText = None
    location: Text = "default"
    case_prefix: Annotated[str, PlainValidator(lambda x: _prefix(x))] = "VAKT"
    canaries: Urls = ()
    deadman: DeadmanModel = DeadmanModel()
    web: WebModel = WebModel()
    sentry: SentryModel = SentryModel()
    resolver: ResolverModel | None = None
    email: EmailModel = EmailModel()
    paging: PagingModel = PagingModel()
    flapping: FlappingModel = FlappingModel()
    defaults: DefaultsModel = DefaultsModel()
    delivery: DeliveryModel = DeliveryModel()
    health: HealthModel = HealthModel()
    cluster: ClusterModel = ClusterModel()
    probes: ProbesModel = ProbesModel()
    log_level: Annotated[str, PlainValidator(lambda x: _log_level(x))] = "info"


def _prefix(value: Any) -> str:
    text = _text(value).strip()
    if not re.fullmatch(r"[A-Z][A-Z0-9]{0,15}", text):
        raise ValueError(f"expected capital letters and digits such as VAKT, got {v.got(value)}")
    return text


def _log_level(value: Any) -> str:
    return v.one_of(_text(value).lower(), ("debug", "info", "warning", "error"))


# ----------------------------------------------------------------------------- calendars


class HolidaysModel(Strict):
    country: Annotated[str, PlainValidator(_country)]
    subdivision: OptText = None


class CalendarModel(Strict):
    timezone: OptZone = None
    hours: WeekHours
    holidays: HolidaysModel | None = None
    closed: Dates = ()
    open: Dates = ()


# ------------------------------------------------------------------------------ policies


class LevelModel(Strict):
    respond: OptSpan = None
    resolve: OptSpan = None
    clock: Annotated[ClockKind | None, PlainValidator(_optional(_enum(ClockKind)))] = None
    page: Annotated[PageWhen | None, PlainValidator(_optional(_enum(PageWhen)))] = None
    customer_emails: Annotated[
        CustomerEmails | None, PlainValidator(_optional(_enum(CustomerEmails)))
    ] = None
    customer_email_after: Annotated[
        timedelta | None, PlainValidator(_optional(lambda x: v.duration(x, allow_zero=True)))
    ] = None
    update_every: Annotated[tuple[Span, ...] | None, PlainValidator(_optional(v.spans))] = None
    priority: Annotated[Priority | None, PlainValidator(_optional(_enum(Priority)))] = None


class PriorityModel(Strict):
    respond: SpanT
    resolve: OptSpan = None


LevelKey = Annotated[Level, PlainValidator(_enum(Level))]
PriorityKey = Annotated[Priority, PlainValidator(_enum(Priority))]


class ReportsModel(Strict):
    monthly: Bool = False
    to: tuple[Text, ...] = ("primary",)
    approve: Bool = False


class PolicyModel(Strict):
    calendar: OptText = None
    warn_at: Share = 0.75
    technical_details: bool = False
    maintenance_notice: OptDuration = None
    reports: ReportsModel = ReportsModel()
    levels: dict[LevelKey, LevelModel] = {}
    priorities: dict[PriorityKey, PriorityModel] = {}


# ---------------------------------------------------------------------- people, on-call


class PersonModel(Strict):
    name: OptDisplayName = None
    email: OptEmail = None
    phone: OptText = None


class LayerModel(Strict):
    rotation: Text
    handoff: OptText = None
    start: OptText = None
    members: Names
    hours: OptWeekHours = None


class OverrideModel(Strict):
    person: Text
    start: Text = Field(alias="from")
    end: Text = Field(alias="to")


class ScheduleModel(Strict):
    timezone: OptZone = None
    layers: tuple[LayerModel, ...] = Field(min_length=1)
    overrides: tuple[OverrideModel, ...] = ()


class StepModel(Strict):
    after: Delay = timedelta(0)
    notify: Names
    via: Names = ("email",)


class EscalationModel(Strict):
    steps: tuple[StepModel, ...] = Field(min_length=1)
    repeat_every: OptDuration = None
    max_repeats: Annotated[int, PlainValidator(lambda x: v.integer(x, 0))] = 0


class OncallModel(Strict):
    schedules: dict[str, ScheduleModel] = {}
    escalation: dict[str, EscalationModel] = {}


# ------------------------------------------------------------------------------ channels


class ChannelBase(Strict):
    type: Text


class SlackModel(ChannelBase):
    url: Url


class WebhookModel(ChannelBase):
    url: Url
    secret: OptText = None
    headers: dict[str, Text] = {}


class PagerDutyModel(ChannelBase):
    routing_key: Text
    url: Url = "https://events.pagerduty.com/v2/enqueue"
    secret: OptText = None  # verifies PagerDuty's v3 webhooks (acknowledge/resolve in Vakt)


class NtfyModel(ChannelBase):
    url: Url
    token: OptText = None


CHANNEL_MODELS: dict[ChannelType, type[ChannelBase]] = {
    ChannelType.SLACK: SlackModel,
    ChannelType.WEBHOOK: WebhookModel,
    ChannelType.PAGERDUTY: PagerDutyModel,
    ChannelType.NTFY: NtfyModel,
}


# -------------------------------------------------------------------------------- checks

ImpactT = Annotated[Impact, PlainValidator(_enum(Impact))]


class CheckBase(Strict):
    type: Text = "http"
    title: OptText = None
    impact: ImpactT = Impact.OUTAGE
    interval: OptDuration = None
    retry_interval: OptDuration = None
    timeout: OptDuration = None
    confirm: OptCount = None
    recover: OptCount = None


class HttpExpectModel(Strict):
    status: Statuses = ((200, 399),)
    body_contains: OptText = None
    body_not_contains: OptText = None
    body_regex: Annotated[str | None, PlainValidator(_optional(_regex))] = None
    json_: dict[str, Any] | None = Field(None, alias="json")
    max_response_time: OptDuration = None


class HttpCheckModel(CheckBase):
    path: OptText = None
    url: OptUrl = None
    method: Annotated[str, PlainValidator(_method)] = "GET"
    headers: dict[str, Text] = {}
    body: OptText = None
    follow_redirects: Annotated[int, PlainValidator(_redirects)] = 10
    max_body: Annotated[int, PlainValidator(_size)] = 1 << 20
    ip: Annotated[int | None, PlainValidator(_ip_version)] = None
    verify_tls: Bool = True
    expect: HttpExpectModel = HttpExpectModel()


class TlsExpectModel(Strict):
    valid_for: Duration = timedelta(days=14)


class TlsCheckModel(CheckBase):
    target: Annotated[HostPort | None, PlainValidator(_optional(lambda x: v.host_port(x, 443)))] = (
        None
    )
    server_name: OptText = None
    expect: TlsExpectModel = TlsExpectModel()


class TcpExpectModel(Strict):
    banner: OptText = None


class TcpCheckModel(CheckBase):
    target: Annotated[HostPort, PlainValidator(v.host_port)]
    send: OptText = None
    expect: TcpExpectModel = TcpExpectModel()


class DnsExpectModel(Strict):
    values: Names = ()


class DnsCheckModel(CheckBase):
    name: OptText = None
    record: Annotated[str, PlainValidator(lambda x: v.one_of(_text(x).upper(), _RECORDS))] = "A"
    server: Annotated[HostPort | None, PlainValidator(_optional(lambda x: v.host_port(x, 53)))] = (
        None
    )
    expect: DnsExpectModel = DnsExpectModel()


_RECORDS = ("A", "AAAA", "CNAME", "MX", "TXT", "NS")


class HeartbeatCheckModel(CheckBase):
    every: Duration
    grace: OptDuration = None
    token: OptText = None


CHECK_MODELS: dict[CheckType, type[CheckBase]] = {
    CheckType.HTTP: HttpCheckModel,
    CheckType.TLS: TlsCheckModel,
    CheckType.TCP: TcpCheckModel,
    CheckType.DNS: DnsCheckModel,
    CheckType.HEARTBEAT: HeartbeatCheckModel,
}


# ----------------------------------------------------------------------------- customers


class ContactModel(Strict):
    name: DisplayName
    email: Email
    primary: Bool = False


class StatusPageModel(Strict):
    public: Bool = False
    token: OptText = None


class SlowModel(Strict):
    factor: Factor = 3.0
    over: Duration = timedelta(minutes=10)
    min: Duration = timedelta(seconds=1)
    baseline: Duration = timedelta(days=7)


class SiteModel(Strict):
    url: OptUrl = None
    title: OptText = None
    locations: Names | None = None
    quorum: QuorumT = Quorum(QuorumKind.MAJORITY)
    depends_on: Names = ()
    slow: SlowModel | None = SlowModel()
    checks: dict[str, Any] = Field(min_length=1)

    @field_validator("slow", mode="before")
    @classmethod
    def _slow_off(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("off", "false", "no"):
            return None
        if value is None:
            raise ValueError("expected slow-site settings such as {factor: 3} or off, got nothing")
        return value


class CustomerModel(Strict):
    name: OptText = None
    language: Annotated[Language, PlainValidator(_enum(Language))] = Language.EN
    timezone: OptZone = None
    policy: OptText = None
    escalation: OptText = None
    contacts: tuple[ContactModel, ...] = Field(min_length=1)
    report_domains: Names = ()
    status_page: StatusPageModel = StatusPageModel()
    sites: dict[str, SiteModel] = Field(min_length=1)


# --------------------------------------------------------------------------- maintenance


class MaintenanceModel(Strict):
    sites: Names
    start: OptText = Field(None, alias="from")
    end: OptText = Field(None, alias="to")
    every: OptText = None
    duration: OptDuration = None
    timezone: OptZone = None
    announce: OptDuration = None
    reason: Text = "Scheduled maintenance"


# -------------------------------------------------------------------------------- config


class ConfigModel(Strict):
    vakt: Annotated[int, PlainValidator(_version)] = 1
    settings: SettingsModel = SettingsModel()
    calendars: dict[str, CalendarModel] = {}
    policies: dict[str, PolicyModel] = {}
    people: dict[str, PersonModel] = {}
    oncall: OncallModel = OncallModel()
    channels: dict[str, Any] = {}
    customers: dict[str, CustomerModel] = Field(min_length=1)
    maintenance: tuple[MaintenanceModel, ...] = ()


ALL_MODELS: tuple[type[Strict], ...] = (
    ConfigModel,
    SettingsModel,
    SmtpModel,
    EmailModel,
    MassOutageModel,
    PagingModel,
    FlappingModel,
    DefaultsModel,
    ApiTokenModel,
    WebModel,
    SentryModel,
    ClusterModel,
    DeadmanModel,
    ResolverModel,
    RetryModel,
    DeliveryModel,
    HealthModel,
    HolidaysModel,
    CalendarModel,
    LevelModel,
    PriorityModel,
    PolicyModel,
    PersonModel,
    LayerModel,
    OverrideModel,
    ScheduleModel,
    StepModel,
    EscalationModel,
    OncallModel,
    *CHANNEL_MODELS.values(),
    *CHECK_MODELS.values(),
    HttpExpectModel,
    TlsExpectModel,
    TcpExpectModel,
    DnsExpectModel,
    ContactModel,
    StatusPageModel,
    SlowModel,
    SiteModel,
    CustomerModel,
    MaintenanceModel,
)
"""Every model, for the documentation test (each field must appear in docs/configuration.md)."""
