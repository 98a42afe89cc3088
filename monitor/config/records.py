"""Compiled runtime configuration: frozen, slotted records (`record` for the ones a
config holds per site and per check).

`load_config` validates `checks.yaml` with the pydantic schema (`schema.py`) and then
compiles it into these records, which the rest of Vakt reads. They hold typed values
only (no strings to parse later): durations are `timedelta`, business durations are
`BusinessDuration`, times of day are `time`, zones are `tzinfo`. Cross-references
(policy, calendar, person, schedule, channel, site) are checked at compile time and kept
as names that index the maps on `Config`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network
from operator import attrgetter
from types import MappingProxyType
from typing import Any, Literal, TypeVar, cast, dataclass_transform

from monitor.model import CheckType, Impact, Level, Priority

R = TypeVar("R")


@dataclass_transform(frozen_default=True)
def record(cls: type[R]) -> type[R]:
    """A slotted dataclass that is frozen for the type checker, not at run time.

    A frozen dataclass sets each field through `object.__setattr__` in `__init__`: a
    `Check` cost ~3 us to build that way against ~0.3 us plain, and a 100,000-check load
    builds ~220,000 of these records (checks, specs, sites), a quarter of
    compiling it. mypy --strict (`make lint`) reports any assignment to a field, so they
    are read-only everywhere Vakt's code is checked; equality and the hash are the frozen
    dataclass's.

    Pickled as the class and its fields in order (`vakt run` gets its config pickled from
    the child that loaded it): unpickling calls the class, with no state mapping per
    record to build and free among the records that stay."""
    made = dataclass(slots=True, unsafe_hash=True)(cls)
    names = [f.name for f in fields(cast(Any, made))]
    assert len(names) > 1, "attrgetter of one name gives the value, not a tuple"
    values = attrgetter(*names)

    def reduce(self: object) -> tuple[type, tuple[Any, ...]]:
        return type(self), values(self)

    setattr(made, "__reduce__", reduce)  # noqa: B010 - a method added to the class
    return made


# ----------------------------------------------------------------------------- durations


class BusinessUnit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


@dataclass(frozen=True, slots=True)
class BusinessDuration:
    """`4 business hours`, `1 business day`: counted on a calendar's business clock.

    A business day is the calendar's business-day length (e.g. 7 h for 09:00-16:00).
    """

    amount: float
    unit: BusinessUnit

    def __str__(self) -> str:
        n = int(self.amount) if self.amount == int(self.amount) else self.amount
        unit = self.unit.value if n != 1 else self.unit.value.rstrip("s")
        return f"{n} business {unit}"


Span = timedelta | BusinessDuration
"""A wall-clock duration or a business duration."""


class ClockKind(StrEnum):
    ALWAYS = "always"  # 24/7 wall clock
    BUSINESS = "business"  # only inside the calendar's hours


class PageWhen(StrEnum):
    ALWAYS = "always"
    BUSINESS_HOURS = "business_hours"  # deferred to the next opening
    NEVER = "never"


class CustomerEmails(StrEnum):
    AUTO = "auto"
    APPROVE = "approve"  # first customer email waits for an engineer's approval
    OFF = "off"


class Language(StrEnum):
    EN = "en"
    NB = "nb"
    NL = "nl"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    REQUESTS_WRITE = "requests:write"  # files customers' reports only (helpdesk integrations)


# ------------------------------------------------------------------------------ settings


@dataclass(frozen=True, slots=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    tls: bool = False  # implicit TLS (port 465)
    username: str | None = None
    password: str | None = None
    timeout: timedelta = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class ImapSettings:
    """The support mailbox Vakt reads (customers' replies and new requests)."""

    host: str
    username: str
    port: int = 993
    tls: bool = True  # implicit TLS (port 993)
    starttls: bool = False
    password: str | None = None
    folder: str = "INBOX"
    poll: timedelta = timedelta(minutes=1)
    timeout: timedelta = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Mailbox:
    """Where an email goes (or comes from): an address and a display name, kept apart from
    the config to the SMTP envelope and headers. Never written as "Name <addr>" and parsed
    back: a name may hold anything but control characters (commas, quotes, `<`, `@`).

    `address`: an addr-spec checked at load (`monitor.config.values.addr_spec`): one `@`,
    a dot-atom local part (UTF-8 allowed), a domain of valid IDNA labels, kept as written.
    `name`: the display name, runs of spaces made one, no control characters; "" for none.
    """

    address: str
    name: str = ""

    def __str__(self) -> str:
        """For people reading logs and listings only; never parsed, never sent."""
        if not self.name:
            return self.address
        name = self.name
        if any(char in _SPECIALS for char in name):  # RFC 5322 specials: quoted
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name} <{self.address}>"


_SPECIALS = frozenset('()<>[]:;@\\,."')


@dataclass(frozen=True, slots=True)
class EmailSettings:
    sender: Mailbox = Mailbox("vakt@localhost", "Vakt")  # `from` in YAML
    support: Mailbox | None = None  # Reply-To of customer emails
    team: Mailbox | None = None  # team warnings; pages when no on-call exists
    templates: str | None = None  # directory overriding the built-in templates
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    imap: ImapSettings | None = None  # None: no support mailbox is read


@dataclass(frozen=True, slots=True)
class MassOutage:
    sites: int
    within: timedelta
    escalation: str | None  # escalation policy name; None: the team email


@dataclass(frozen=True, slots=True)
class PagingSettings:
    group_window: timedelta = timedelta(seconds=30)
    mass_outage: MassOutage | None = None


@dataclass(frozen=True, slots=True)
class FlappingSettings:
    changes: int = 4
    within: timedelta = timedelta(minutes=30)
    reopen_within: timedelta = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class CheckDefaults:
    interval: timedelta = timedelta(seconds=60)
    retry_interval: timedelta = timedelta(seconds=10)
    timeout: timedelta = timedelta(seconds=10)
    confirm: int = 3
    recover: int = 2


@dataclass(frozen=True, slots=True)
class ApiToken:
    name: str
    sha256: str  # hex digest of the bearer token
    scope: Scope


@dataclass(frozen=True, slots=True)
class WebLimits:
    """Each listener's limits: slow clients are cut off (`settings.web.limits`).

    `max_connections` None: (soft descriptor limit − probe concurrency − 64) ÷ 2."""

    header_timeout: timedelta = timedelta(seconds=10)
    body_timeout: timedelta = timedelta(seconds=30)
    idle_timeout: timedelta = timedelta(seconds=60)
    max_connections: int | None = None


@dataclass(frozen=True, slots=True)
class MetricsAuth:
    """`/metrics` asks for `Authorization: Bearer SECRET` or basic auth `username:SECRET`."""

    sha256: str  # hex digest of the secret
    username: str = "prometheus"


Network = IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True)
class WebSettings:
    api_tokens: tuple[ApiToken, ...] = ()
    limits: WebLimits = field(default_factory=WebLimits)
    metrics_auth: MetricsAuth | None = None  # None: /metrics is open (on the private listener)
    trusted_proxies: tuple[Network, ...] = ()  # peers whose X-Forwarded-For is believed


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """Where probes may connect (`settings.probes`): `deny` is refused, `allow` is
    allowed even where the default rule would refuse a redirect; see
    `monitor.probes.targets`."""

    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()


@dataclass(frozen=True, slots=True)
class SentrySettings:
    dsn: str | None = None
    environment: str = "production"
    traces_sample_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class DeadmanSettings:
    url: str | None = None  # None: switched off
    every: timedelta = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """The dispatcher's back-off: exponential from `base` to `cap` with full jitter; a
    notification fails for good after `max_attempts` attempts or at `max_age` old."""

    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(minutes=10)
    max_attempts: int = 20
    max_age: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """The dispatcher: `poll` idle wait, `lease` of a claim (outlasts `timeout`, one
    send's bound), `retry` back-off, `warn_after` failures in a row warn the team."""

    poll: timedelta = timedelta(seconds=1)
    lease: timedelta = timedelta(minutes=2)
    timeout: timedelta = timedelta(seconds=30)
    retry: RetrySettings = field(default_factory=RetrySettings)
    warn_after: int = 5


@dataclass(frozen=True, slots=True)
class HealthSettings:
    """When `/readyz` and the dead-man's ping turn red: delivery failing or the
    dispatcher stalled after max(3 x delivery.poll, `delivery_after`); the engine stalled
    after `engine_periods` flush periods without a flush; the planner late after
    `planner_periods` tick periods."""

    delivery_after: timedelta = timedelta(seconds=60)
    engine_periods: int = 3
    planner_periods: int = 3


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """High availability on PostgreSQL: every `heartbeat` a member refreshes its row and
    the leader renews its lease for `lease`; a member silent for `lease` is dead, and a
    lease not renewed within `lease` is taken over by a standby."""

    heartbeat: timedelta = timedelta(seconds=2)
    lease: timedelta = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class Settings:
    timezone: tzinfo
    timezone_name: str
    store: str = "sqlite:///vakt.db"  # a relative SQLite path made absolute (storepath.py)
    store_written: str = "sqlite:///vakt.db"  # `store` as written in the config
    busy_timeout: timedelta = timedelta(seconds=10)  # a SQLite writer's wait for the lock
    listen: HostPort = HostPort("127.0.0.1", 8080)
    public_listen: HostPort = HostPort("127.0.0.1", 8081)
    public_url: str = "http://127.0.0.1:8081"
    web_url: str = "http://127.0.0.1:8080"  # the team UI (private listener): case links
    secret: str | None = None
    heartbeat_key: str | None = None
    location: str = "default"
    case_prefix: str = "VAKT"
    canaries: tuple[str, ...] = ()
    deadman: DeadmanSettings = field(default_factory=DeadmanSettings)
    web: WebSettings = field(default_factory=WebSettings)
    sentry: SentrySettings = field(default_factory=SentrySettings)
    resolver: HostPort | None = None  # None: the system's resolvers
    email: EmailSettings = field(default_factory=EmailSettings)
    paging: PagingSettings = field(default_factory=PagingSettings)
    flapping: FlappingSettings = field(default_factory=FlappingSettings)
    defaults: CheckDefaults = field(default_factory=CheckDefaults)
    log_level: str = "info"
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    probes: ProbeSettings = field(default_factory=ProbeSettings)


# ----------------------------------------------------------------------------- calendars

TimeRange = tuple[time, time]
"""An opening range on one day; `end` may be `time(0, 0)` meaning midnight (24:00)."""


@dataclass(frozen=True, slots=True)
class HolidaySource:
    country: str  # ISO 3166-1 alpha-2, e.g. "NO"
    subdivision: str | None = None  # e.g. "BY"


@dataclass(frozen=True, slots=True)
class Calendar:
    """Business hours in one time zone. `hours[0]` is Monday ... `hours[6]` Sunday."""

    name: str
    timezone: tzinfo
    timezone_name: str
    hours: tuple[tuple[TimeRange, ...], ...]  # 7 entries, Monday first; sorted, non-overlapping
    holidays: HolidaySource | None = None
    closed: frozenset[date] = frozenset()
    open: frozenset[date] = frozenset()  # extra open dates (with that weekday's or Mon's hours)


# ------------------------------------------------------------------------------ policies


@dataclass(frozen=True, slots=True)
class PriorityTarget:
    respond: Span
    resolve: Span | None = None


@dataclass(frozen=True, slots=True)
class LevelPolicy:
    """What a policy promises for one level, with priorities already resolved."""

    respond: Span
    clock: ClockKind
    resolve: Span | None = None
    priority: Priority | None = None  # when the level maps onto a priority matrix
    page: PageWhen = PageWhen.ALWAYS
    customer_emails: CustomerEmails = CustomerEmails.AUTO
    customer_email_after: timedelta = timedelta(minutes=5)
    update_every: tuple[Span, ...] = (timedelta(minutes=30),)


@dataclass(frozen=True, slots=True)
class ReportsPolicy:
    """Monthly agreement reports: sent on the first business day of the month when
    `monthly`, to `to`: `primary` (the customer's primary contact), `all` (every contact)
    or email addresses. `approve`: the team first gets a preview with approve and hold
    links, and nothing goes to `to` until someone approves it."""

    monthly: bool = False
    to: tuple[str, ...] = ("primary",)
    approve: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    calendar: str  # key into Config.calendars
    warn_at: float  # share of the respond time, 0 < warn_at < 1
    levels: MappingProxyType[Level, LevelPolicy]
    priorities: MappingProxyType[Priority, PriorityTarget]
    builtin: bool = False
    technical_details: bool = False  # customer emails may name checks' URLs, HTTP details
    # Reports leave out only maintenance announced at least this long ahead; None: all.
    maintenance_notice: timedelta | None = None
    reports: ReportsPolicy = ReportsPolicy()


# ---------------------------------------------------------------------- people, on-call


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    email: str | None = None
    phone: str | None = None

    @property
    def mailbox(self) -> Mailbox | None:
        return None if self.email is None else Mailbox(self.email, self.name)


class RotationKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    EVERY = "every"  # every `period` (N days or N hours)


@dataclass(frozen=True, slots=True)
class Rotation:
    kind: RotationKind
    period: timedelta  # 1 day, 7 days, or the `every` period
    handoff_weekday: int | None  # 0 = Monday; weekly rotations only
    handoff_time: time  # in the schedule's zone


@dataclass(frozen=True, slots=True)
class Layer:
    """One rotation of members. Later layers override earlier ones where they have someone."""

    rotation: Rotation
    members: tuple[str, ...]  # person ids, in rotation order
    start: datetime  # aware; the first member's first shift begins at this handoff
    hours: tuple[tuple[TimeRange, ...], ...] | None = None  # restriction; None: all day


@dataclass(frozen=True, slots=True)
class Override:
    person: str
    start: datetime  # aware
    end: datetime  # aware


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    timezone: tzinfo
    timezone_name: str
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()


class TargetKind(StrEnum):
    SCHEDULE = "schedule"
    PERSON = "person"
    TEAM = "team"  # settings.email.team


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    name: str  # schedule or person id; "team" for TEAM

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.name}"


@dataclass(frozen=True, slots=True)
class EscalationStep:
    after: timedelta  # from when paging started (absolute offset)
    notify: tuple[Target, ...]
    via: tuple[str, ...]  # channel names; "email" is built in


@dataclass(frozen=True, slots=True)
class Escalation:
    name: str
    steps: tuple[EscalationStep, ...]
    repeat_every: timedelta | None = None
    max_repeats: int = 0


# ------------------------------------------------------------------------------ channels


class ChannelType(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    WEBHOOK = "webhook"
    PAGERDUTY = "pagerduty"
    NTFY = "ntfy"


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    type: ChannelType
    url: str | None = None  # slack/webhook/ntfy target; pagerduty events endpoint
    secret: str | None = None  # webhook HMAC key
    routing_key: str | None = None  # pagerduty
    token: str | None = None  # ntfy access token
    headers: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))


# ------------------------------------------------------------------------ checks (specs)

StatusMatcher = tuple[tuple[int, int], ...]
"""Accepted HTTP status ranges, inclusive: `200` is ((200, 200),), `2xx` is ((200, 299),)."""


@dataclass(frozen=True, slots=True)
class JsonExpectation:
    path: tuple[str | int, ...]  # keys and list indexes from the root
    value: str | None  # compared as text (YAML scalars are strings); None: must exist


@record
class HttpSpec:
    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    follow_redirects: int = 10  # 0: do not follow
    status: StatusMatcher = ((200, 399),)
    body_contains: str | None = None
    body_not_contains: str | None = None
    body_regex: str | None = None
    json: tuple[JsonExpectation, ...] = ()
    max_response_time: timedelta | None = None
    max_body_bytes: int = 1 << 20
    ip_version: int | None = None  # 4, 6 or None for either
    verify_tls: bool = True


@record
class TlsSpec:
    host: str
    port: int = 443
    server_name: str | None = None  # SNI and the name checked; default: host
    valid_for: timedelta = timedelta(days=14)  # less remaining: degraded


@record
class TcpSpec:
    host: str
    port: int
    send: str | None = None
    banner: str | None = None  # expected in what the server sends first


class DnsRecord(StrEnum):
    A = "A"
    AAAA = "AAAA"
    CNAME = "CNAME"
    MX = "MX"
    TXT = "TXT"
    NS = "NS"


@record
class DnsSpec:
    name: str
    record: DnsRecord = DnsRecord.A
    values: tuple[str, ...] = ()  # expected answers (any order); empty: any answer
    server: HostPort | None = None  # default: settings.resolver or the system's


@record
class HeartbeatSpec:
    every: timedelta
    grace: timedelta
    token: str | None = None  # explicit token; None: derived from settings.heartbeat_key


ProbeSpec = HttpSpec | TlsSpec | TcpSpec | DnsSpec | HeartbeatSpec


@record
class Check:
    """One check of one site. `id` (`customer/site/check`) is stable across reloads."""

    id: str
    customer: str
    site: str
    name: str
    label: str  # human name for emails and pages ("Checkout")
    type: CheckType
    impact: Impact
    interval: timedelta
    retry_interval: timedelta
    timeout: timedelta
    confirm: int
    recover: int
    spec: ProbeSpec

    @property
    def site_id(self) -> str:
        return f"{self.customer}/{self.site}"


@record
class SlowRule:
    """Level B when the median latency over `over` exceeds `factor` x baseline and `min`."""

    factor: float = 3.0
    over: timedelta = timedelta(minutes=10)
    min: timedelta = timedelta(seconds=1)
    baseline: timedelta = timedelta(days=7)


class QuorumKind(StrEnum):
    MAJORITY = "majority"
    ALL = "all"
    ANY = "any"
    COUNT = "count"


@dataclass(frozen=True, slots=True)
class Quorum:
    kind: QuorumKind
    count: int = 0  # for COUNT

    def needed(self, locations: int) -> int:
        """How many of `locations` must agree that a check is failing."""
        if self.kind is QuorumKind.MAJORITY:
            return locations // 2 + 1
        if self.kind is QuorumKind.ALL:
            return locations
        if self.kind is QuorumKind.ANY:
            return 1
        return self.count


@record
class Site:
    id: str  # customer/site
    customer: str
    name: str  # key in YAML
    label: str  # display name, default the URL's host
    url: str | None
    locations: tuple[str, ...]
    quorum: Quorum
    depends_on: tuple[str, ...]  # site ids
    slow: SlowRule | None
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    email: str
    primary: bool = False

    @property
    def mailbox(self) -> Mailbox:
        return Mailbox(self.email, self.name)


@dataclass(frozen=True, slots=True)
class StatusPage:
    public: bool = False
    token: str | None = None


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    language: Language
    timezone: tzinfo
    timezone_name: str
    policy: str  # key into Config.policies
    escalation: str | None  # key into Config.escalations; None: page settings.email.team
    contacts: tuple[Contact, ...]  # primary first
    status_page: StatusPage
    sites: tuple[Site, ...]
    # reports from addresses at these domains take effect at once, like a contact's
    report_domains: tuple[str, ...] = ()

    @property
    def primary_contact(self) -> Contact | None:
        return self.contacts[0] if self.contacts else None


# --------------------------------------------------------------------------- maintenance


def covers(patterns: Iterable[str], site_id: str) -> bool:
    """Whether site patterns (`customer/site`, `customer/*`, `*`) cover `site_id`: the one
    rule for config windows, windows added at run time, and every reader of them."""
    customer = site_id.split("/", 1)[0]
    return any(p in (site_id, f"{customer}/*", "*") for p in patterns)


@dataclass(frozen=True, slots=True)
class Recurrence:
    weekday: int | None  # 0 = Monday; None: every day
    at: time


@dataclass(frozen=True, slots=True)
class Maintenance:
    """A maintenance window. One-off (`start`/`end`) or recurring (`recurrence`/`duration`)."""

    id: str  # stable: derived from its content
    sites: tuple[str, ...]  # patterns: `customer/site` or `customer/*`
    timezone: tzinfo
    timezone_name: str
    reason: str
    start: datetime | None = None  # aware
    end: datetime | None = None  # aware
    recurrence: Recurrence | None = None
    duration: timedelta | None = None
    announce: timedelta | None = None  # tell customers this long before the start

    def covers(self, site_id: str) -> bool:
        return covers(self.sites, site_id)


# -------------------------------------------------------------------------------- config

ConfigSource = Literal["file", "directory", "builtin"]


@dataclass(frozen=True, slots=True)
class Config:
    """The whole compiled configuration. Immutable; a reload builds a new one."""

    path: str
    settings: Settings
    calendars: MappingProxyType[str, Calendar]
    policies: MappingProxyType[str, Policy]
    people: MappingProxyType[str, Person]
    schedules: MappingProxyType[str, Schedule]
    escalations: MappingProxyType[str, Escalation]
    channels: MappingProxyType[str, Channel]
    customers: MappingProxyType[str, Customer]
    maintenance: tuple[Maintenance, ...]

    def sites(self) -> list[Site]:
        return [site for customer in self.customers.values() for site in customer.sites]

    def checks(self) -> list[Check]:
        return [check for site in self.sites() for check in site.checks]

    def site(self, site_id: str) -> Site | None:
        customer_id, _, name = site_id.partition("/")
        customer = self.customers.get(customer_id)
        if customer is None:
            return None
        return next((s for s in customer.sites if s.name == name), None)

    def check(self, check_id: str) -> Check | None:
        site_id, _, name = check_id.rpartition("/")
        site = self.site(site_id)
        if site is None:
            return None
        return next((c for c in site.checks if c.name == name), None)
