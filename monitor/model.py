"""Value types shared by every layer (standard library only).

Everything here is immutable. States, levels and error codes are `StrEnum`s so they
are stored and printed as their plain names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Verdict(StrEnum):
    """What one probe concluded."""

    OK = "ok"
    DEGRADED = "degraded"  # reachable and correct, but slow or its certificate expires soon
    FAILED = "failed"


class ErrorCode(StrEnum):
    """Stable reason codes for a failed or degraded probe (metrics label, store, UI)."""

    TIMEOUT = "timeout"
    DNS = "dns"
    REFUSED = "refused"
    RESET = "reset"
    TLS = "tls"
    HTTP_STATUS = "http_status"
    BODY = "body"
    JSON = "json"
    JSON_LIMIT = "json_limit"  # a JSON body nested deeper than Vakt reads (hostile or broken)
    TOO_LARGE = "too_large"
    REDIRECTS = "redirects"
    PROTOCOL = "protocol"
    BLOCKED = "blocked"  # the probe target policy refused the address (settings.probes)
    LATE = "late"  # a heartbeat that did not arrive in time
    REPORTED = "reported"  # a heartbeat that reported failure (/fail)
    # degraded, not failed
    SLOW = "slow"
    CERT_EXPIRING = "cert_expiring"
    # no evidence about the target: Vakt's own trouble (DESIGN.md trust rule 4)
    LOCAL_RESOURCE = "local_resource"  # out of descriptors, buffers or memory while probing
    INTERNAL = "internal"  # the probe raised: a bug in Vakt (reported to Sentry)


DEGRADED_CODES = frozenset({ErrorCode.SLOW, ErrorCode.CERT_EXPIRING})

NO_EVIDENCE_CODES = frozenset({ErrorCode.LOCAL_RESOURCE, ErrorCode.INTERNAL})
"""Results that say nothing about the target: evaluation ignores them (the check keeps
its state), metrics count them as Vakt's own errors, and Vakt's alerts report them."""


class CheckType(StrEnum):
    HTTP = "http"
    TLS = "tls"
    TCP = "tcp"
    DNS = "dns"
    HEARTBEAT = "heartbeat"


class Impact(StrEnum):
    """How much a failing check says about its site (DESIGN.md section 4, Levels)."""

    OUTAGE = "outage"  # failing: Level A
    FUNCTION = "function"  # failing: Level B (A when most checks fail)
    WARNING = "warning"  # notifies the team only


class Level(StrEnum):
    """Incident severity from the Dekode policy."""

    A = "A"  # critical: all or significant parts down
    B = "B"  # serious: a critical function broken, or much slower than normal


class CheckState(StrEnum):
    """A check's confirmed state (after `confirm` / `recover` consecutive probes)."""

    UNKNOWN = "unknown"
    OK = "ok"
    DEGRADED = "degraded"
    FAILING = "failing"


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Priority(StrEnum):
    """A support desk's priority matrix (Infraspeak): levels may map onto it."""

    URGENT = "urgent"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class Timings:
    """Seconds spent in each phase of one probe; None where the phase did not happen."""

    dns: float | None = None
    connect: float | None = None
    tls: float | None = None
    first_byte: float | None = None
    total: float = 0.0


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The outcome of one probe. A target failure is a value here, never an exception."""

    check_id: str
    verdict: Verdict
    started_at: datetime
    timings: Timings
    location: str
    error: ErrorCode | None = None
    detail: str = ""
    status_code: int | None = None
    response_bytes: int | None = None
    cert_not_after: datetime | None = None
    address: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK

    @property
    def is_evidence(self) -> bool:
        """False when Vakt could not judge the target (`NO_EVIDENCE_CODES`)."""
        return self.error not in NO_EVIDENCE_CODES
