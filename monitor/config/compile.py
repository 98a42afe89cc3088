"""Compile the validated schema into runtime records and check every cross-reference.

Problems are appended to `issues` with their YAML path, so one run reports all of them.
Defaults that make a ten-line config work live here: the built-in `office` calendar and
the built-in `default` policy with Dekode's Level A/B targets.
"""

from __future__ import annotations

import hashlib
import marshal
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from monitor.config import schema as s
from monitor.config import values as v
from monitor.config.errors import ConfigIssue, Path_
from monitor.config.records import ApiToken as ApiTokenRecord
from monitor.config.records import (
    BusinessDuration,
    BusinessUnit,
    Calendar,
    Channel,
    ChannelType,
    Check,
    CheckDefaults,
    ClockKind,
    ClusterSettings,
    Config,
    Contact,
    Customer,
    CustomerEmails,
    DeadmanSettings,
    DeliverySettings,
    DnsRecord,
    DnsSpec,
    EmailSettings,
    Escalation,
    EscalationStep,
    FlappingSettings,
    HealthSettings,
    HeartbeatSpec,
    HolidaySource,
    HostPort,
    HttpSpec,
    ImapSettings,
    JsonExpectation,
    Layer,
    LevelPolicy,
    Maintenance,
    MassOutage,
    MetricsAuth,
    Override,
    PageWhen,
    PagingSettings,
    Person,
    Policy,
    PriorityTarget,
    ProbeSettings,
    ProbeSpec,
    Recurrence,
    ReportsPolicy,
    RetrySettings,
    Rotation,
    RotationKind,
    Schedule,
    SentrySettings,
    Settings,
    Site,
    SlowRule,
    SmtpSettings,
    Span,
    StatusMatcher,
    StatusPage,
    Target,
    TargetKind,
    TcpSpec,
    TlsSpec,
    WebLimits,
    WebSettings,
)
from monitor.config.source import Locator
from monitor.config.storepath import anchored_store, config_base
from monitor.config.validation import validate
from monitor.model import CheckType, Impact, Level

_SECTIONS = {
    "calendar": "calendars",
    "policy": "policies",
    "person": "people",
    "schedule": "schedules",
    "escalation policy": "escalation",
    "channel": "channels",
    "site": "customers",
}
_CHECK_TYPES = tuple(t.value for t in s.CHECK_MODELS)
BUILTIN_CALENDAR = "office"
BUILTIN_POLICY = "default"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_NAME_HELP = "a name of letters, digits, '.', '-' and '_' (no spaces or '/')"
# Rotations without an explicit `start` count from this Monday, so they are deterministic.
_ROTATION_EPOCH = date(2024, 1, 1)

DEKODE_LEVELS: dict[Level, LevelPolicy] = {
    Level.A: LevelPolicy(
        respond=timedelta(hours=2),
        clock=ClockKind.ALWAYS,
        page=PageWhen.ALWAYS,
        customer_emails=CustomerEmails.AUTO,
        customer_email_after=timedelta(minutes=5),
        update_every=(
            timedelta(minutes=30),
            timedelta(hours=1),
            timedelta(hours=2),
            timedelta(hours=4),
        ),
    ),
    Level.B: LevelPolicy(
        respond=BusinessDuration(1, BusinessUnit.DAYS),
        clock=ClockKind.BUSINESS,
        page=PageWhen.BUSINESS_HOURS,
        customer_emails=CustomerEmails.AUTO,
        customer_email_after=timedelta(minutes=15),
        update_every=(BusinessDuration(1, BusinessUnit.DAYS),),
    ),
}
"""The built-in policy: Dekode's agreement (Level A within 2 hours around the clock,
Level B within 1 business day)."""


T = TypeVar("T")

Broken = dict[str, set[str]]
"""Names per section (`calendars`, `policies`, `customers`...) that failed validation."""


def compile_config(
    path: str,
    model: s.ConfigModel,
    locator: Locator,
    issues: list[ConfigIssue],
    broken: Broken | None = None,
) -> Config | None:
    return _Compiler(model, locator, issues, broken or {}).run(path)


Timing = tuple[Impact, timedelta, timedelta, timedelta, int, int]
"""`Check`'s fields from `impact` to `recover`."""
HttpRequest = tuple[
    str,
    tuple[tuple[str, str], ...],
    str | None,
    int,
    StatusMatcher,
    str | None,
    str | None,
    str | None,
    tuple[JsonExpectation, ...],
    timedelta | None,
    int,
    int | None,
    bool,
]
"""`HttpSpec`'s fields after `url`."""


@dataclass(slots=True)
class _Body:
    """A check's body as written (`key`: its values serialized), validated once for
    every check written the same way, with what it compiles to apart from its site."""

    key: bytes
    kind: CheckType
    model: s.CheckBase
    timing: Timing | None = None  # from `check_timing`
    http: HttpRequest | None = None  # from `http_request`


@dataclass
class _Compiler:
    model: s.ConfigModel
    locator: Locator
    issues: list[ConfigIssue]
    broken: Broken
    settings: Settings = field(init=False)
    calendars: dict[str, Calendar] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    escalations: dict[str, Escalation] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    equal: dict[object, object] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # that passed `check_name`, shared
    bodies: dict[bytes, _Body] = field(default_factory=dict)  # by their values serialized
    labels: dict[str, str] = field(default_factory=dict)  # of checks without a title
    http_specs: dict[tuple[str, bytes], HttpSpec] = field(default_factory=dict)

    def shared(self, value: T) -> T:
        """The first value compiled equal to `value` (the record itself when new): equal
        sub-records of many checks and sites (a spec, a slow rule, the locations, a
        label) are one object, not one per check. Records are frozen, so sharing is safe."""
        try:
            return cast(T, self.equal.setdefault(value, value))
        except TypeError:  # unhashable: kept as it is
            return value

    def error(self, path: Path_, message: str) -> None:
        self.issues.append(self.locator.issue(path, message))

    def run(self, path: str) -> Config | None:
        self.settings = self.compile_settings(self.model.settings, path)
        self.compile_calendars()
        self.compile_policies()
        self.compile_people()
        self.compile_channels()
        self.compile_schedules()
        self.compile_escalations()
        self.compile_customers()
        self.check_dependencies()
        maintenance = self.compile_maintenance()
        self.check_mass_outage()
        if self.issues:
            return None
        return Config(
            path=path,
            settings=self.settings,
            calendars=MappingProxyType(self.calendars),
            policies=MappingProxyType(self.policies),
            people=MappingProxyType(self.people),
            schedules=MappingProxyType(self.schedules),
            escalations=MappingProxyType(self.escalations),
            channels=MappingProxyType(self.channels),
            customers=MappingProxyType(self.customers),
            maintenance=maintenance,
        )

    # -------------------------------------------------------------------------- settings

    def compile_settings(self, m: s.SettingsModel, path: str) -> Settings:
        tz, tz_name = m.timezone
        public_url = m.public_url or f"http://{m.public_listen}"
        return Settings(
            timezone=tz,
            timezone_name=tz_name,
            store=anchored_store(m.store, config_base(path)),
            store_written=m.store,
            busy_timeout=m.busy_timeout,
            listen=m.listen,
            public_listen=m.public_listen,
            public_url=public_url.rstrip("/"),
            web_url=(m.web_url or f"http://{m.listen}").rstrip("/"),
            secret=m.secret or None,
            heartbeat_key=m.heartbeat_key or None,
            location=m.location,
            case_prefix=m.case_prefix,
            canaries=m.canaries,
            deadman=DeadmanSettings(self.optional_url(m.deadman.url, "deadman"), m.deadman.every),
            web=WebSettings(
                tuple(ApiTokenRecord(t.name, t.sha256, t.scope) for t in m.web.api_tokens),
                WebLimits(
                    m.web.limits.header_timeout,
                    m.web.limits.body_timeout,
                    m.web.limits.idle_timeout,
                    m.web.limits.max_connections,
                ),
                metrics_auth=(
                    MetricsAuth(m.web.metrics_auth.sha256, m.web.metrics_auth.username)
                    if m.web.metrics_auth
                    else None
                ),
                trusted_proxies=m.web.trusted_proxies,
            ),
            sentry=SentrySettings(dsn=m.sentry.dsn or None, environment=m.sentry.environment),
            resolver=m.resolver.address if m.resolver else None,
            email=self.compile_email(m.email),
            paging=self.compile_paging(m.paging),
            flapping=FlappingSettings(
                m.flapping.changes, m.flapping.within, m.flapping.reopen_within
            ),
            defaults=CheckDefaults(
                m.defaults.interval,
                m.defaults.retry_interval,
                m.defaults.timeout,
                m.defaults.confirm,
                m.defaults.recover,
            ),
            log_level=m.log_level,
            delivery=self.compile_delivery(m.delivery),
            health=HealthSettings(
                m.health.delivery_after, m.health.engine_periods, m.health.planner_periods
            ),
            cluster=self.compile_cluster(m.cluster),
            probes=ProbeSettings(m.probes.allow, m.probes.deny),
        )

    def compile_cluster(self, m: s.ClusterModel) -> ClusterSettings:
        if m.lease < 2 * m.heartbeat:
            self.error(
                ("settings", "cluster", "lease"),
                f"the lease ({_human(m.lease)}) must be at least twice the heartbeat "
                f"({_human(m.heartbeat)}), or a live leader loses it between two renewals",
            )
        return ClusterSettings(heartbeat=m.heartbeat, lease=m.lease)

    def compile_delivery(self, m: s.DeliveryModel) -> DeliverySettings:
        where = ("settings", "delivery")
        if m.lease <= m.timeout:
            self.error(
                (*where, "lease"),
                f"the lease ({_human(m.lease)}) must be longer than the send timeout "
                f"({_human(m.timeout)}), or a live send loses its claim",
            )
        retry = m.retry
        if retry.cap < retry.base:
            self.error(
                (*where, "retry", "cap"),
                f"the cap ({_human(retry.cap)}) must be at least the base delay "
                f"({_human(retry.base)})",
            )
        return DeliverySettings(
            poll=m.poll,
            lease=m.lease,
            timeout=m.timeout,
            retry=RetrySettings(retry.base, retry.cap, retry.max_attempts, retry.max_age),
            warn_after=m.warn_after,
        )

    def optional_url(self, text: str | None, key: str) -> str | None:
        if not text:
            return None
        try:
            return v.url(text)
        except ValueError as exc:
            self.error(("settings", key, "url"), str(exc))
            return None

    def compile_email(self, m: s.EmailModel) -> EmailSettings:
        smtp = SmtpSettings(
            host=m.smtp.host,
            port=m.smtp.port,
            starttls=m.smtp.starttls,
            tls=m.smtp.tls,
            username=m.smtp.username or None,
            password=m.smtp.password or None,
            timeout=m.smtp.timeout,
        )
        if smtp.starttls and smtp.tls:
            self.error(
                ("settings", "email", "smtp", "tls"),
                "choose starttls (port 587) or tls (port 465), not both",
            )
        return EmailSettings(
            sender=m.sender or EmailSettings().sender,
            support=m.support,
            team=m.team,
            templates=m.templates or None,
            smtp=smtp,
            imap=None if m.imap is None else self.compile_imap(m.imap),
        )

    def compile_imap(self, m: s.ImapModel) -> ImapSettings:
        if m.starttls and m.tls:
            self.error(
                ("settings", "email", "imap", "tls"),
                "choose starttls (port 143) or tls (port 993), not both",
            )
        if m.poll <= timedelta(0):
            self.error(("settings", "email", "imap", "poll"), "expected a positive duration")
        return ImapSettings(
            host=m.host,
            username=m.username,
            port=m.port,
            tls=m.tls,
            starttls=m.starttls,
            password=m.password or None,
            folder=m.folder,
            poll=m.poll,
            timeout=m.timeout,
        )

    def compile_paging(self, m: s.PagingModel) -> PagingSettings:
        mass = None
        if m.mass_outage is not None:
            if m.mass_outage.sites < 2:
                self.error(
                    ("settings", "paging", "mass_outage", "sites"),
                    f"expected at least 2 sites, got '{m.mass_outage.sites}'",
                )
            mass = MassOutage(m.mass_outage.sites, m.mass_outage.within, m.mass_outage.escalation)
        return PagingSettings(m.group_window, mass)

    def check_mass_outage(self) -> None:
        mass = self.settings.paging.mass_outage
        if mass and mass.escalation and mass.escalation not in self.escalations:
            self.unknown(
                ("settings", "paging", "mass_outage", "escalation"),
                "escalation policy",
                mass.escalation,
                self.escalations,
            )

    def unknown(self, path: Path_, what: str, name: str, known: Any) -> None:
        section = _SECTIONS.get(what, "")
        customer = name.partition("/")[0] if what == "site" else None
        if name in self.broken.get(section, ()) or customer in self.broken.get("customers", ()):
            return  # it exists but failed validation: that error is already reported
        names = ", ".join(sorted({*known, *self.broken.get(section, ())})) or "none are defined"
        self.error(path, f"unknown {what} '{name}' (known: {names})")

    # ------------------------------------------------------------------------- calendars

    def compile_calendars(self) -> None:
        for name, m in self.model.calendars.items():
            tz, tz_name = m.timezone or (self.settings.timezone, self.settings.timezone_name)
            if not any(m.hours):
                self.error(
                    ("calendars", name, "hours"), "expected opening hours on at least one day"
                )
            holidays = None
            if m.holidays is not None:
                holidays = HolidaySource(m.holidays.country, m.holidays.subdivision)
                self.check_holidays(("calendars", name, "holidays"), holidays)
            self.calendars[name] = Calendar(
                name, tz, tz_name, m.hours, holidays, frozenset(m.closed), frozenset(m.open)
            )
        if BUILTIN_CALENDAR not in self.calendars:
            office = ((time(9), time(16)),)
            self.calendars[BUILTIN_CALENDAR] = Calendar(
                BUILTIN_CALENDAR,
                self.settings.timezone,
                self.settings.timezone_name,
                (office,) * 5 + ((), ()),
            )

    def check_holidays(self, path: Path_, source: HolidaySource) -> None:
        import holidays

        supported = holidays.list_supported_countries()
        if source.country not in supported:
            self.error((*path, "country"), f"no public holidays are known for '{source.country}'")
            return
        subdivisions = supported[source.country]
        if source.subdivision is not None and source.subdivision not in subdivisions:
            known = ", ".join(subdivisions[:12]) + (" ..." if len(subdivisions) > 12 else "")
            self.error(
                (*path, "subdivision"),
                f"'{source.subdivision}' is not a subdivision of {source.country} (known: {known})",
            )

    # -------------------------------------------------------------------------- policies

    def compile_policies(self) -> None:
        for name, m in self.model.policies.items():
            self.compile_policy(name, m)
        if BUILTIN_POLICY not in self.policies:
            self.policies[BUILTIN_POLICY] = Policy(
                BUILTIN_POLICY,
                BUILTIN_CALENDAR,
                0.75,
                MappingProxyType(dict(DEKODE_LEVELS)),
                MappingProxyType({}),
                builtin=True,
            )

    def compile_policy(self, name: str, m: s.PolicyModel) -> None:
        path: Path_ = ("policies", name)
        calendar = m.calendar or BUILTIN_CALENDAR
        if calendar not in self.calendars:
            self.unknown((*path, "calendar"), "calendar", calendar, self.calendars)
        priorities = {p: PriorityTarget(pm.respond, pm.resolve) for p, pm in m.priorities.items()}
        levels: dict[Level, LevelPolicy] = {}
        for level in Level:
            lm = m.levels.get(level)
            if lm is None:
                levels[level] = DEKODE_LEVELS[level]
                continue
            compiled = self.compile_level((*path, "levels", level.value), lm, priorities, level)
            if compiled is not None:
                levels[level] = compiled
        for index, to in enumerate(m.reports.to):
            if to not in ("primary", "all") and "@" not in to:
                self.error(
                    (*path, "reports", "to", index),
                    f"{to!r} is not 'primary', 'all' or an email address",
                )
        self.policies[name] = Policy(
            name,
            calendar,
            m.warn_at,
            MappingProxyType(levels),
            MappingProxyType(priorities),
            technical_details=m.technical_details,
            maintenance_notice=m.maintenance_notice,
            reports=ReportsPolicy(m.reports.monthly, tuple(m.reports.to), m.reports.approve),
        )

    def compile_level(
        self,
        path: Path_,
        m: s.LevelModel,
        priorities: dict[Any, PriorityTarget],
        level: Level,
    ) -> LevelPolicy | None:
        respond, resolve = m.respond, m.resolve
        if m.priority is not None:
            target = priorities.get(m.priority)
            if target is None:
                self.unknown(
                    (*path, "priority"), "priority", m.priority.value, {p.value for p in priorities}
                )
                return None
            if respond is not None:
                self.error(
                    (*path, "respond"), "a level with a priority takes its respond time from it"
                )
                return None
            respond, resolve = target.respond, resolve or target.resolve
        if respond is None:
            self.error(path, "missing required key 'respond' (or a 'priority' to take it from)")
            return None
        clock = self.level_clock(path, m, (respond, resolve, *(m.update_every or ())))
        base = DEKODE_LEVELS[level]
        return LevelPolicy(
            respond=respond,
            clock=clock,
            resolve=resolve,
            priority=m.priority,
            page=m.page or PageWhen.ALWAYS,
            customer_emails=m.customer_emails or CustomerEmails.AUTO,
            customer_email_after=(
                m.customer_email_after
                if m.customer_email_after is not None
                else base.customer_email_after
            ),
            # An inherited back-off must run on this level's clock.
            update_every=m.update_every
            or (
                base.update_every
                if clock is ClockKind.BUSINESS
                else DEKODE_LEVELS[Level.A].update_every
            ),
        )

    def level_clock(
        self, path: Path_, m: s.LevelModel, spans: tuple[Span | None, ...]
    ) -> ClockKind:
        business = any(isinstance(x, BusinessDuration) for x in spans)
        if m.clock is ClockKind.ALWAYS and business:
            self.error(
                (*path, "clock"),
                "business durations (such as '1 business day') need 'clock: business'; "
                "with 'clock: always' write a plain duration such as 24h",
            )
        if m.clock is not None:
            return m.clock
        return ClockKind.BUSINESS if business else ClockKind.ALWAYS

    # ---------------------------------------------------------------------------- people

    def compile_people(self) -> None:
        for pid, m in self.model.people.items():
            self.check_name(("people", pid), pid)
            self.people[pid] = Person(pid, m.name or pid, m.email, m.phone)

    def check_name(self, path: Path_, name: str) -> bool:
        if _NAME.fullmatch(name):
            self.names.setdefault(name, name)
            return True
        self.error(path, f"expected {_NAME_HELP}, got '{name}'")
        return False

    # -------------------------------------------------------------------------- channels

    def compile_channels(self) -> None:
        for name, raw in self.model.channels.items():
            path: Path_ = ("channels", name)
            if name == "email":
                self.error(
                    path, "the channel 'email' is built in (it sends to each person's address)"
                )
                continue
            kind = self.channel_type(path, raw)
            m = (
                None
                if kind is None
                else validate(s.CHANNEL_MODELS[kind], raw, path, self.locator, self.issues)
            )
            if kind is None or m is None:
                self.broken.setdefault("channels", set()).add(name)
                continue
            self.channels[name] = self.channel_record(name, kind, m)

    def channel_type(self, path: Path_, raw: Any) -> ChannelType | None:
        if not isinstance(raw, dict):
            self.error(path, f"expected a mapping, got {v.got(raw)}")
            return None
        choices = tuple(t.value for t in s.CHANNEL_MODELS)
        if "type" not in raw:
            self.error(path, f"missing required key 'type' (one of {', '.join(choices)})")
            return None
        try:
            return ChannelType(v.one_of(raw["type"], choices))
        except ValueError as exc:
            self.error((*path, "type"), str(exc))
            return None

    @staticmethod
    def channel_record(name: str, kind: ChannelType, m: s.ChannelBase) -> Channel:
        data = m.model_dump()
        headers = data.get("headers") or {}
        return Channel(
            name=name,
            type=kind,
            url=data.get("url"),
            secret=data.get("secret") or None,
            routing_key=data.get("routing_key"),
            token=data.get("token") or None,
            headers=MappingProxyType(dict(headers)),
        )

    # ------------------------------------------------------------------------- schedules

    def compile_schedules(self) -> None:
        for name, m in self.model.oncall.schedules.items():
            path: Path_ = ("oncall", "schedules", name)
            tz, tz_name = m.timezone or (self.settings.timezone, self.settings.timezone_name)
            layers = tuple(
                layer
                for i, lm in enumerate(m.layers)
                if (layer := self.compile_layer((*path, "layers", i), lm, tz)) is not None
            )
            overrides = tuple(
                o
                for i, om in enumerate(m.overrides)
                if (o := self.compile_override((*path, "overrides", i), om, tz)) is not None
            )
            self.schedules[name] = Schedule(name, tz, tz_name, layers, overrides)

    def compile_layer(self, path: Path_, m: s.LayerModel, tz: tzinfo) -> Layer | None:
        self.check_people((*path, "members"), m.members)
        rotation = self.compile_rotation(path, m)
        if rotation is None:
            return None
        if not m.members:
            self.error((*path, "members"), "expected at least one entry, got none")
            return None
        try:
            start = self.layer_start(m.start, rotation, tz)
        except ValueError as exc:
            self.error((*path, "start"), str(exc))
            return None
        return Layer(rotation, m.members, start, m.hours)

    def check_people(self, path: Path_, names: tuple[str, ...]) -> None:
        for i, person in enumerate(names):
            if person not in self.people:
                self.unknown((*path, i), "person", person, self.people)

    def compile_rotation(self, path: Path_, m: s.LayerModel) -> Rotation | None:
        text = m.rotation.strip().lower()
        try:
            if text == "weekly":
                day, at = _weekly_handoff(m.handoff or "mon 09:00")
                return Rotation(RotationKind.WEEKLY, timedelta(days=7), day, at)
            at = v.time_of_day(m.handoff or "09:00")
        except ValueError as exc:
            self.error((*path, "handoff"), str(exc))
            return None
        if text == "daily":
            return Rotation(RotationKind.DAILY, timedelta(days=1), None, at)
        try:
            period = v.duration(text.removeprefix("every").strip())
        except ValueError:
            self.error(
                (*path, "rotation"),
                f"expected daily, weekly or every <duration> (such as 'every 3d' or "
                f"'every 12h'), got '{m.rotation}'",
            )
            return None
        return Rotation(RotationKind.EVERY, period, None, at)

    @staticmethod
    def layer_start(text: str | None, rotation: Rotation, tz: tzinfo) -> datetime:
        if text is not None and "T" not in text and " " not in text.strip():
            day = v.calendar_date(text)
            return datetime.combine(day, rotation.handoff_time, tz)
        if text is not None:
            return v.moment(text, tz)
        day = _ROTATION_EPOCH
        if rotation.handoff_weekday is not None:
            day += timedelta(days=rotation.handoff_weekday)
        return datetime.combine(day, rotation.handoff_time, tz)

    def compile_override(self, path: Path_, m: s.OverrideModel, tz: tzinfo) -> Override | None:
        if m.person not in self.people:
            self.unknown((*path, "person"), "person", m.person, self.people)
        try:
            start = v.moment(m.start, tz)
        except ValueError as exc:
            self.error((*path, "from"), str(exc))
            return None
        try:
            end = v.moment(m.end, tz)
        except ValueError as exc:
            self.error((*path, "to"), str(exc))
            return None
        if end <= start:
            self.error((*path, "to"), f"must be after 'from' ({m.start}), got '{m.end}'")
            return None
        return Override(m.person, start, end)

    # ----------------------------------------------------------------------- escalations

    def compile_escalations(self) -> None:
        for name, m in self.model.oncall.escalation.items():
            path: Path_ = ("oncall", "escalation", name)
            steps = tuple(
                self.compile_step((*path, "steps", i), sm) for i, sm in enumerate(m.steps)
            )
            for i in range(1, len(steps)):
                if steps[i].after < steps[i - 1].after:
                    self.error(
                        (*path, "steps", i, "after"),
                        "steps' 'after' are measured from when paging started and must not "
                        "decrease",
                    )
            if m.max_repeats and m.repeat_every is None:
                self.error((*path, "repeat_every"), "max_repeats needs repeat_every")
            if m.repeat_every is not None and not m.max_repeats:
                self.error(
                    (*path, "max_repeats"),
                    "repeat_every needs max_repeats (how often each step is repeated)",
                )
            self.escalations[name] = Escalation(name, steps, m.repeat_every, m.max_repeats)

    def compile_step(self, path: Path_, m: s.StepModel) -> EscalationStep:
        targets = []
        for i, text in enumerate(m.notify):
            target = self.compile_target((*path, "notify", i), text)
            if target is not None:
                targets.append(target)
        for i, channel in enumerate(m.via):
            if channel != "email" and channel not in self.channels:
                self.unknown((*path, "via", i), "channel", channel, {"email", *self.channels})
        return EscalationStep(m.after, tuple(targets), m.via)

    def compile_target(self, path: Path_, text: str) -> Target | None:
        if text == "team":
            if self.settings.email.team is None:
                self.error(path, "'team' needs settings.email.team")
            return Target(TargetKind.TEAM, "team")
        kind, _, name = text.partition(":")
        if kind == "schedule" and name in self.schedules:
            return Target(TargetKind.SCHEDULE, name)
        if kind == "person" and name in self.people:
            return Target(TargetKind.PERSON, name)
        if kind == "schedule":
            self.unknown(path, "schedule", name, self.schedules)
        elif kind == "person":
            self.unknown(path, "person", name, self.people)
        else:
            self.error(path, f"expected schedule:NAME, person:NAME or team, got '{text}'")
        return None

    # ------------------------------------------------------------------------- customers

    def compile_customers(self) -> None:
        for cid, m in self.model.customers.items():
            path: Path_ = ("customers", cid)
            if not self.check_name(path, cid):
                continue
            policy = m.policy or BUILTIN_POLICY
            if policy not in self.policies:
                self.unknown((*path, "policy"), "policy", policy, self.policies)
            escalation = self.customer_escalation(path, m)
            tz, tz_name = m.timezone or (self.settings.timezone, self.settings.timezone_name)
            sites = tuple(
                site
                for name, sm in m.sites.items()
                if (site := self.compile_site((*path, "sites", name), cid, name, sm)) is not None
            )
            self.customers[cid] = Customer(
                id=cid,
                name=m.name or cid,
                language=m.language,
                timezone=tz,
                timezone_name=tz_name,
                policy=policy,
                escalation=escalation,
                contacts=self.compile_contacts((*path, "contacts"), m.contacts),
                status_page=StatusPage(m.status_page.public, m.status_page.token or None),
                sites=sites,
                report_domains=tuple(d.lower() for d in m.report_domains),
            )

    def customer_escalation(self, path: Path_, m: s.CustomerModel) -> str | None:
        if m.escalation is None:
            return "default" if "default" in self.escalations else None
        if m.escalation not in self.escalations:
            self.unknown((*path, "escalation"), "escalation policy", m.escalation, self.escalations)
            return None
        return m.escalation

    def compile_contacts(
        self, path: Path_, contacts: tuple[s.ContactModel, ...]
    ) -> tuple[Contact, ...]:
        primaries = [i for i, c in enumerate(contacts) if c.primary]
        if len(primaries) > 1:
            self.error((*path, primaries[1], "primary"), "only one contact can be primary")
        first = primaries[0] if primaries else 0
        ordered = [contacts[first], *(c for i, c in enumerate(contacts) if i != first)]
        return tuple(Contact(c.name, c.email, i == 0) for i, c in enumerate(ordered))

    def compile_site(self, path: Path_, cid: str, name: str, m: s.SiteModel) -> Site | None:
        if not self.check_name(path, name):
            return None
        locations = self.shared(m.locations or (self.settings.location,))
        self.check_locations(path, locations, m)
        slow = (
            self.shared(SlowRule(m.slow.factor, m.slow.over, m.slow.min, m.slow.baseline))
            if m.slow
            else None
        )
        if slow is not None and slow.factor <= 1:
            self.error(
                (*path, "slow", "factor"), f"expected a factor above 1, got '{slow.factor:g}'"
            )
        host = urlsplit(m.url).hostname if m.url else None
        checks = []
        for check_name, raw in m.checks.items():
            here = (*path, "checks", check_name)
            check = self.compile_check(here, cid, name, check_name, raw, m.url, host)
            if check is not None:
                checks.append(check)
        label = m.title or host or name
        return Site(
            id=f"{cid}/{name}",
            customer=cid,
            name=name,
            label=self.shared(label or name),
            url=m.url if m.url is None else self.shared(m.url),
            locations=locations,
            quorum=self.shared(m.quorum),
            depends_on=m.depends_on,
            slow=slow,
            checks=tuple(checks),
        )

    def check_locations(self, path: Path_, locations: tuple[str, ...], m: s.SiteModel) -> None:
        """With SQLite (one instance) every location must be `settings.location`; with
        PostgreSQL a site may list any location: the instances started with
        `vakt run --location NAME` probe it (one without any is reported, never skipped)."""
        here = self.settings.location
        clustered = self.settings.store.startswith(("postgresql", "postgres:"))
        for i, location in enumerate(locations):
            if location != here and not clustered:
                self.error(
                    (*path, "locations", i),
                    f"this instance probes from '{here}' (settings.location); other locations "
                    f"such as '{location}' need the PostgreSQL cluster (scale-out)",
                )
        needed = m.quorum.needed(len(locations))
        if needed > len(locations):
            self.error(
                (*path, "quorum"),
                f"a quorum of {needed} is more than the site's {len(locations)} location(s)",
            )

    # ---------------------------------------------------------------------------- checks

    def compile_check(
        self,
        path: Path_,
        cid: str,
        site: str,
        name: str,
        raw: Any,
        site_url: str | None,
        host: str | None,
    ) -> Check | None:
        if name not in self.names and not self.check_name(path, name):
            return None
        name = self.names[name]  # one string for every check of that name
        raw = {} if raw is None else raw  # `home:` alone: an http check of the site's url
        body = self.check_body(path, raw)
        if body is None:
            return None
        spec = self.compile_spec(path, body, site_url, host)
        if spec is None:
            return None
        check_id = f"{cid}/{site}/{name}"
        return self.check_record(path, check_id, cid, site, name, body, spec)

    def check_body(self, path: Path_, raw: Any) -> _Body | None:
        """The type and validated model of a check's body. A body written like one
        already compiled (the same keys in the same order with the same values: a
        template shared by many sites) is that body: validation is a pure function of
        the values. Only a body that failed is validated again, so each place it is
        written is reported."""
        # The reader's values (str, None, list, dict) in marshal's version 2, which has no
        # back-references: values written alike give the same bytes, and different
        # values never do. (Equal text that one string interns gives other bytes: a miss.)
        key = marshal.dumps(raw, 2)
        body = self.bodies.get(key)
        if body is not None:
            return body
        kind = self.check_type(path, raw)
        if kind is None:
            return None
        m = validate(s.CHECK_MODELS[kind], raw, path, self.locator, self.issues)
        if m is None:
            return None
        body = self.bodies[key] = _Body(key, kind, m)
        return body

    def check_type(self, path: Path_, raw: Any) -> CheckType | None:
        if not isinstance(raw, dict):
            self.error(path, f"expected a mapping, got {v.got(raw)}")
            return None
        try:
            return CheckType(v.one_of(raw.get("type", "http"), _CHECK_TYPES))
        except ValueError as exc:
            self.error((*path, "type"), f"unknown check type: {exc}")
            return None

    def check_record(
        self,
        path: Path_,
        check_id: str,
        cid: str,
        site: str,
        name: str,
        body: _Body,
        spec: ProbeSpec,
    ) -> Check:
        m = body.model
        label = self.shared(m.title) if m.title else self.check_label(name)
        timing = body.timing or self.check_timing(path, body)
        # Positional: thirteen keyword arguments cost more than building the record.
        return Check(check_id, cid, site, name, label, body.kind, *timing, spec)

    def check_label(self, name: str) -> str:
        """`checkout-v2` -> "Checkout v2": a check's human name when it has no title."""
        label = self.labels.get(name)
        if label is None:
            label = name.replace("_", " ").replace("-", " ").capitalize()
            label = self.labels[name] = self.shared(label)
        return label

    def check_timing(self, path: Path_, body: _Body) -> Timing:
        """The body's impact, interval, retry interval, timeout and counts (`Check`'s
        fields in order) with the defaults applied; kept on the body unless it reported a
        problem here."""
        m, d = body.model, self.settings.defaults
        instant = body.kind in (CheckType.TLS, CheckType.HEARTBEAT)  # need no confirmation
        interval = m.interval or d.interval
        timeout = m.timeout or min(d.timeout, interval)
        timing = (
            m.impact,
            interval,
            min(m.retry_interval or d.retry_interval, interval),
            timeout,
            m.confirm or (1 if instant else d.confirm),
            m.recover or (1 if instant else d.recover),
        )
        if m.timeout is not None and timeout > interval:
            self.error(
                (*path, "timeout"),
                f"the timeout ({_human(timeout)}) must not be longer than the interval "
                f"({_human(interval)})",
            )
        else:
            body.timing = timing
        return timing

    def compile_spec(
        self, path: Path_, body: _Body, site_url: str | None, host: str | None
    ) -> ProbeSpec | None:
        m = body.model
        if isinstance(m, s.HttpCheckModel):
            return self.http_spec(path, body, m, site_url)
        if isinstance(m, s.TlsCheckModel):
            target = m.target or (HostPort(host, 443) if host else None)
            if target is None:
                self.error(path, "a tls check needs 'target' (host:port) or the site's url")
                return None
            return self.shared(TlsSpec(target.host, target.port, m.server_name, m.expect.valid_for))
        if isinstance(m, s.TcpCheckModel):
            return self.shared(TcpSpec(m.target.host, m.target.port, m.send, m.expect.banner))
        if isinstance(m, s.DnsCheckModel):
            name = m.name or host
            if name is None:
                self.error(path, "a dns check needs 'name' or the site's url")
                return None
            return self.shared(DnsSpec(name, DnsRecord(m.record), m.expect.values, m.server))
        assert isinstance(m, s.HeartbeatCheckModel), body.kind
        grace = m.grace if m.grace is not None else max(timedelta(minutes=1), m.every / 10)
        return self.shared(HeartbeatSpec(m.every, grace, m.token or None))

    def http_spec(
        self, path: Path_, body: _Body, m: s.HttpCheckModel, site_url: str | None
    ) -> HttpSpec | None:
        """One spec per url and body: checks of the same url written the same way share it
        (found by the url and the body's text, not by hashing every field of the spec)."""
        url = self.http_url(path, m, site_url)
        if url is None:
            return None
        spec = self.http_specs.get((url, body.key))
        if spec is None:
            spec = HttpSpec(url, *(body.http or self.http_request(path, body, m)))
            if body.http is not None:  # compiled clean: a problem is reported at each place
                self.http_specs[url, body.key] = spec
        return spec

    def http_request(self, path: Path_, body: _Body, m: s.HttpCheckModel) -> HttpRequest:
        """An http spec's fields after its url, in order; kept on the body unless it
        reported a problem here."""
        reported = len(self.issues)
        e = m.expect
        fields = (
            m.method,
            tuple(m.headers.items()),
            m.body,
            m.follow_redirects,
            e.status,
            e.body_contains,
            e.body_not_contains,
            e.body_regex,
            self.json_expectations((*path, "expect", "json"), e.json_ or {}),
            e.max_response_time,
            m.max_body,
            m.ip,
            m.verify_tls,
        )
        if len(self.issues) == reported:
            body.http = fields
        return fields

    def http_url(self, path: Path_, m: s.HttpCheckModel, site_url: str | None) -> str | None:
        if m.url is not None and m.path is not None:
            self.error((*path, "path"), "give either 'url' or 'path', not both")
            return None
        if m.url is not None:
            return m.url
        if site_url is None:
            self.error(path, "an http check needs 'url', or a 'path' on a site with a url")
            return None
        rel = m.path or "/"
        if not rel.startswith("/"):
            self.error((*path, "path"), f"expected a path starting with '/', got '{rel}'")
            return None
        return site_url.rstrip("/") + rel

    def json_expectations(
        self, path: Path_, tree: dict[str, Any], prefix: tuple[str | int, ...] = ()
    ) -> tuple[JsonExpectation, ...]:
        out: list[JsonExpectation] = []
        for key, value in tree.items():
            parts = tuple(int(p) if p.isdigit() else p for p in key.split("."))
            here = (*prefix, *parts)
            if isinstance(value, dict):
                out.extend(self.json_expectations((*path, key), value, here))
            elif isinstance(value, list):
                self.error((*path, key), "expected a value or a mapping, got a list")
            else:
                out.append(JsonExpectation(here, value))
        return tuple(out)

    # ---------------------------------------------------------------------- dependencies

    def check_dependencies(self) -> None:
        sites = {site.id: site for c in self.customers.values() for site in c.sites}
        for site in sites.values():
            path: Path_ = ("customers", site.customer, "sites", site.name, "depends_on")
            for i, dep in enumerate(site.depends_on):
                if dep not in sites:
                    self.unknown((*path, i), "site", dep, sites)
        for cycle in _cycles(
            {sid: [d for d in site.depends_on if d in sites] for sid, site in sites.items()}
        ):
            first = sites[cycle[0]]
            self.error(
                ("customers", first.customer, "sites", first.name, "depends_on"),
                "dependency cycle: " + " -> ".join([*cycle, cycle[0]]),
            )

    # ----------------------------------------------------------------------- maintenance

    def compile_maintenance(self) -> tuple[Maintenance, ...]:
        out = []
        for i, m in enumerate(self.model.maintenance):
            record = self.compile_window(("maintenance", i), m)
            if record is not None:
                out.append(record)
        return tuple(out)

    def compile_window(self, path: Path_, m: s.MaintenanceModel) -> Maintenance | None:
        self.check_site_patterns((*path, "sites"), m.sites)
        tz, tz_name = m.timezone or (self.settings.timezone, self.settings.timezone_name)
        ident = hashlib.sha256(repr((m.sites, m.start, m.end, m.every, m.duration)).encode())
        base = Maintenance(
            id=ident.hexdigest()[:12],
            sites=m.sites,
            timezone=tz,
            timezone_name=tz_name,
            reason=m.reason,
            announce=m.announce,
        )
        if m.every is not None:
            if m.start is not None or m.end is not None or m.duration is None:
                self.error(path, "a recurring window takes 'every' and 'duration' (not from/to)")
                return None
            try:
                recurrence = _recurrence(m.every)
            except ValueError as exc:
                self.error((*path, "every"), str(exc))
                return None
            return replace(base, recurrence=recurrence, duration=m.duration)
        return self.one_off_window(path, m, tz, base)

    def one_off_window(
        self, path: Path_, m: s.MaintenanceModel, tz: tzinfo, base: Maintenance
    ) -> Maintenance | None:
        if m.start is None:
            self.error(path, "a window needs 'from' and 'to' (or 'every' and 'duration')")
            return None
        try:
            start = v.moment(m.start, tz)
        except ValueError as exc:
            self.error((*path, "from"), str(exc))
            return None
        try:
            end = v.moment(m.end, tz) if m.end is not None else start + (m.duration or timedelta(0))
        except ValueError as exc:
            self.error((*path, "to"), str(exc))
            return None
        except OverflowError:
            self.error((*path, "duration"), "the window would end after the year 9999")
            return None
        if end <= start:
            self.error((*path, "to"), "the window must end after it starts ('to' or 'duration')")
            return None
        return replace(base, start=start, end=end)

    def check_site_patterns(self, path: Path_, patterns: tuple[str, ...]) -> None:
        for i, pattern in enumerate(patterns):
            customer_id, _, site = pattern.partition("/")
            customer = self.customers.get(customer_id)
            if pattern == "*" or (customer and site == "*"):
                continue
            if customer is None or not any(x.name == site for x in customer.sites):
                known = [x.id for c in self.customers.values() for x in c.sites]
                self.unknown((*path, i), "site", pattern, known)


def _weekly_handoff(text: str) -> tuple[int, time]:
    day, _, at = text.strip().partition(" ")
    if not at:
        raise ValueError(f"expected a weekday and time such as 'mon 09:00', got '{text}'")
    return v.weekday(day), v.time_of_day(at)


def _recurrence(text: str) -> Recurrence:
    parts = text.strip().lower().split()
    if len(parts) == 1:
        return Recurrence(None, v.time_of_day(parts[0]))
    if len(parts) == 2 and parts[0] in ("daily", "day"):
        return Recurrence(None, v.time_of_day(parts[1]))
    if len(parts) == 2:
        try:
            return Recurrence(v.weekday(parts[0]), v.time_of_day(parts[1]))
        except ValueError:
            pass
    raise ValueError(
        f"expected a weekday and time such as 'sun 03:00', or 'daily 03:00', got '{text}'"
    )


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each dependency cycle once, found by depth-first search."""
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            cycle = stack[stack.index(node) :]
            key = frozenset(cycle)
            if key not in seen:
                seen.add(key)
                found.append(cycle)
            return
        if node in done:
            return
        stack.append(node)
        for nxt in graph.get(node, ()):
            visit(nxt, stack)
        stack.pop()
        done.add(node)

    for start in sorted(graph):
        visit(start, [])
    return found


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
