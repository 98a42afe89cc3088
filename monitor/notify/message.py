"""What a notification says: the payload the planner stores, and the rendered message.

The planner writes one `Payload` per outbox row (`Notification.payload`, as JSON from
`Payload.to_json()`); the dispatcher reads it back with `Payload.from_json()`, renders it
(`monitor.notify.render`) into an `Outgoing` message and hands that to a channel. The
payload holds everything a channel needs, so delivery never reads the config or the store
again: addresses, names, times (aware UTC), the customer's language and time zone, the
acknowledge URL.

Standard library only (the pure planner imports this module).

JSON shape (all keys optional except `kind`; times are ISO 8601 with offset):

    {"kind": "page", "case": "VAKT-2026-000042", "site": "shop.acme.example",
     "site_id": "acme/shop", "customer": "ACME AS", "level": "A", "status": "open",
     "since": "2026-03-02T09:00:00+00:00", "respond_by": "...", "ack_url": "https://...",
     "evidence": [{"check": "Home", "error": "timeout", "detail": "...", "location": "oslo"}],
     "to": {"address": "alice@agency.example", "name": "Alice Hansen"}, "language": "en",
     "timezone": "Europe/Oslo",
     "thread": "VAKT-2026-000042/customer_opened/0/kari@acme.example/email", ...}
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from monitor.config.records import Language, Mailbox
from monitor.config.values import addr_spec, mailbox
from monitor.model import Level


class MessageKind(StrEnum):
    """What a message is about. Pages and warnings go to the team, the rest to customers."""

    PAGE = "page"  # an incident needs a response (escalation step / repeat / re-page)
    DIGEST = "digest"  # several pages to one person within the group window
    ACKNOWLEDGED = "acknowledged"  # someone acknowledged (PagerDuty: acknowledge)
    RECOVERED = "recovered"  # the incident resolved (PagerDuty: resolve)
    TEAM_WARNING = "team_warning"  # warning check, SLA warning/breach, flapping, delivery...
    CUSTOMER_OPENED = "customer_opened"
    CUSTOMER_UPDATE = "customer_update"
    CUSTOMER_LEVEL_CHANGED = "customer_level_changed"
    CUSTOMER_RESOLVED = "customer_resolved"
    CUSTOMER_RECEIPT = "customer_receipt"  # a customer's report was received (its case)
    MAINTENANCE_ANNOUNCED = "maintenance_announced"
    MAINTENANCE_STARTED = "maintenance_started"
    MAINTENANCE_FINISHED = "maintenance_finished"
    MONTHLY_REPORT = "monthly_report"  # a customer's agreement report, its PDF attached
    REPORT_SUMMARY = "report_summary"  # the team's summary of the month's reports
    REPORT_PREVIEW = "report_preview"  # a report for the team to approve or hold
    TEST = "test"  # `vakt notify test`

    @property
    def for_customer(self) -> bool:
        return self is MessageKind.MONTHLY_REPORT or self.value.startswith(
            ("customer_", "maintenance_")
        )


@dataclass(frozen=True, slots=True)
class EvidenceLine:
    """One failing or degraded check as a page shows it."""

    check: str  # the check's label ("Checkout")
    error: str = ""  # ErrorCode value, e.g. "timeout"
    detail: str = ""  # human detail ("HTTP 503 after 2.1 s")
    location: str = ""


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One incident inside a digest page."""

    case: str
    site: str
    level: Level
    since: datetime
    ack_url: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an email: its name, MIME type and content in base64."""

    filename: str
    content_type: str
    data: str  # base64


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One customer's month in a monthly report email or the team's summary."""

    customer: str  # the customer's name
    availability: float | None = None  # 0..1; None: no measurements
    cases: int = 0
    met: int = 0
    missed: int = 0
    missed_cases: tuple[str, ...] = ()  # case numbers whose response target was missed


@dataclass(frozen=True, slots=True)
class MaintenanceInfo:
    start: datetime
    end: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Payload:
    """Everything needed to render and deliver one notification.

    - `to`: the mailbox for email (name and address apart: the envelope goes to its
      address, the name only into `To`); other channels ignore it.
    - `thread`: the dedupe key (as text) of the first message of this case to this
      recipient; emails reply to it (`In-Reply-To`/`References`) so mail clients keep
      one thread. None: this message starts the thread (or the case has none).
    - `in_reply_to`: the Message-ID (`<...>`) of the customer's own email this one
      answers (the receipt of a case the customer opened by email), so it threads in
      their mail client; None for most messages.
    - `since`: when the site started failing; `resolved_at` when it recovered.
    - `next_update_at`: when the customer hears from us again (None: not promised).
    - `incident_url`: the case's page in the team UI (`settings.web_url`), on pages.
    - `checks`: on customer emails, the display names (`title`) of the site's checks that
      failed during the case, in config order: the words the customer knows them by.
    - `note`: the latest public note (customer emails) or a warning's text.
    - `title`: a team warning's headline; `warning`: its kind (`sla_breach`, `flapping`,
      `delivery_failing`, `mass_outage`, `check_warning`, `escalation_exhausted`...).
    - `down_since`, `down_until`: set on the one page that stands for the escalation slots
      missed while Vakt was down (no planner tick from `down_since` to `down_until`).
    """

    kind: MessageKind
    case: str | None = None
    site: str = ""  # the site's display label, e.g. "shop.acme.example"
    site_id: str = ""
    customer: str = ""  # the customer's name
    level: Level | None = None
    previous_level: Level | None = None
    status: str = ""  # IncidentStatus value
    since: datetime | None = None
    respond_by: datetime | None = None
    resolved_at: datetime | None = None
    next_update_at: datetime | None = None
    ack_url: str | None = None
    incident_url: str | None = None  # the case in the team UI (pages)
    evidence: tuple[EvidenceLine, ...] = ()
    incidents: tuple[DigestEntry, ...] = ()  # DIGEST only
    maintenance: MaintenanceInfo | None = None
    sites: tuple[str, ...] = ()  # maintenance: the labels of the sites it covers
    checks: tuple[str, ...] = ()  # customer emails: the affected checks' display names
    note: str = ""
    summary: str = ""  # resolved: what happened, in plain words
    title: str = ""
    warning: str = ""
    to: Mailbox | None = None
    to_name: str = ""  # greeting name ("Kari Nordmann")
    language: Language = Language.EN
    timezone: str = "UTC"  # IANA name (or "UTC+02:00") for dates shown to the reader
    thread: str | None = None
    in_reply_to: str | None = None
    down_since: datetime | None = None
    down_until: datetime | None = None
    month: str = ""  # monthly reports: YYYY-MM
    reports: tuple[ReportLine, ...] = ()  # monthly reports: the customer's, or every one
    attachment: Attachment | None = None  # monthly reports: the PDF
    approve_url: str | None = None  # a report's preview: its signed approve link
    hold_url: str | None = None  # a report's preview: its signed hold link

    def to_json(self) -> str:
        """Compact JSON for `Notification.payload` (defaults left out)."""
        return json.dumps(_encode_fields(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Payload:
        """Parse a stored payload. Raises `PayloadError` when it is not a valid payload."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise TypeError("a payload is a JSON object")
            return _decode_payload(data)
        except (ValueError, TypeError, KeyError) as exc:
            raise PayloadError(f"invalid notification payload: {exc}") from exc

    def with_changes(self, **changes: Any) -> Payload:
        return replace(self, **changes)


class PayloadError(ValueError):
    """A stored payload cannot be read (a bug in whoever wrote it: never retried)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message rendered for people: one subject, a plain-text body, an HTML body."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a channel sends: the dedupe key, the payload and its rendering.

    `key` is the outbox dedupe key as text; every channel derives its receiver-side
    idempotency handle from it (`Message-ID`, `Idempotency-Key`), so a repeat after a
    crash carries the same handle as the original.
    """

    key: str
    payload: Payload
    rendered: Rendered

    @property
    def key_hash(self) -> str:
        return key_hash(self.key)


def key_hash(key: str) -> str:
    """The hex SHA-256 of a dedupe key: stable, opaque, safe in headers."""
    return hashlib.sha256(key.encode()).hexdigest()


# ------------------------------------------------------------------------------ JSON codec

_TIMES = frozenset(
    {"since", "respond_by", "resolved_at", "next_update_at", "down_since", "down_until"}
)
_DEFAULTS = {f.name: f.default for f in fields(Payload)}


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("payload times must be aware")
        return value.isoformat()
    if isinstance(value, tuple):
        return [_encode_value(v) for v in value]
    if isinstance(
        value, EvidenceLine | DigestEntry | MaintenanceInfo | Mailbox | Attachment | ReportLine
    ):
        return _encode_fields(value)
    return value


def _encode_fields(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if obj.__class__ is Payload and value == _DEFAULTS.get(f.name) and f.name != "kind":
            continue
        out[f.name] = _encode_value(value)
    return out


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"naive time {text!r} in payload")
    return value


def _required_time(text: str) -> datetime:
    value = _time(text)
    if value is None:
        raise ValueError("a required time is missing")
    return value


def _digest_entry(data: dict[str, Any]) -> DigestEntry:
    return DigestEntry(
        case=data["case"],
        site=data["site"],
        level=Level(data["level"]),
        since=_required_time(data["since"]),
        ack_url=data.get("ack_url"),
    )


def _mailbox(data: Any, to_name: str) -> Mailbox:
    """`{"address": ..., "name": ...}`, or a string written before name and address were
    kept apart (rows already in an outbox when Vakt was upgraded). The planner wrote those
    as exactly `f"{to_name} <{address}>"`, so the address is cut out by that shape rather
    than parsed: a name like `support@wrong.example` or `Hansen, Kari` cannot move it. Any
    other string (the team's address) is read as `addr` or `Name <addr>`."""
    if isinstance(data, dict):
        return Mailbox(addr_spec(data["address"]), str(data.get("name", "")))
    if not isinstance(data, str):
        raise TypeError("`to` is a mailbox object")
    prefix = f"{to_name} <"
    if to_name and data.startswith(prefix) and data.endswith(">"):
        return Mailbox(addr_spec(data[len(prefix) : -1]), to_name)
    return mailbox(data)


def _decode_payload(data: dict[str, Any]) -> Payload:
    known = {f.name for f in fields(Payload)}
    unknown = set(data) - known
    if unknown:
        raise KeyError(f"unknown keys {sorted(unknown)}")
    values: dict[str, Any] = dict(data)
    values["kind"] = MessageKind(data["kind"])
    for name in _TIMES & set(data):
        values[name] = _time(data[name])
    for name in ("level", "previous_level"):
        if data.get(name) is not None:
            values[name] = Level(data[name])
    if "language" in data:
        values["language"] = Language(data["language"])
    values["evidence"] = tuple(EvidenceLine(**e) for e in data.get("evidence", ()))
    values["incidents"] = tuple(_digest_entry(e) for e in data.get("incidents", ()))
    values["sites"] = tuple(data.get("sites", ()))
    values["checks"] = tuple(data.get("checks", ()))
    if data.get("to") is not None:
        values["to"] = _mailbox(data["to"], data.get("to_name", ""))
    values["reports"] = tuple(
        ReportLine(**{**r, "missed_cases": tuple(r.get("missed_cases", ()))})
        for r in data.get("reports", ())
    )
    if data.get("attachment") is not None:
        values["attachment"] = Attachment(**data["attachment"])
    if data.get("maintenance") is not None:
        m = data["maintenance"]
        values["maintenance"] = MaintenanceInfo(
            _required_time(m["start"]), _required_time(m["end"]), m.get("reason", "")
        )
    return Payload(**values)
