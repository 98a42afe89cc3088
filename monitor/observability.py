"""Vakt watching itself: Sentry for its own errors, structured logs, the dead-man's switch.

- `init_sentry` turns sentry-sdk on when `settings.sentry.dsn` or `SENTRY_DSN` is set,
  with the release, environment and location tag, no PII, and every secret from the
  config scrubbed from events in `before_send`. sentry-sdk's aiohttp integration stays
  off: its client half would add `sentry-trace` and `baggage` headers (and ~80 µs) to
  every probe sent to a customer's site. Web handler errors are captured by
  `sentry_middleware` instead. Without a DSN sentry-sdk is not even imported (~15 MiB of
  resident memory, with urllib3, that `vakt run` would carry for nothing).
- `setup_logging` writes JSON lines off a terminal and readable lines on one. Messages
  are stable event names (`incident.opened`); details go in `extra={...}`.
- `Deadman` pings an outside URL every interval while Vakt reports itself healthy, so
  someone hears when Vakt stops (Healthchecks.io style: silence means down).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TextIO

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Middleware

from monitor import __version__
from monitor.clock import Clock
from monitor.config.records import Config, SentrySettings

log = logging.getLogger(__name__)

RELEASE = f"vakt-monitor@{__version__}"
SCRUBBED = "[scrubbed]"

# --------------------------------------------------------------------------------- Sentry


def config_secrets(config: Config) -> frozenset[str]:
    """Every secret value in `config`: what must never reach Sentry or a log."""
    s = config.settings
    values: list[str | None] = [s.secret, s.heartbeat_key, s.email.smtp.password]
    values += [token.sha256 for token in s.web.api_tokens]
    values += [s.deadman.url, s.sentry.dsn]
    for channel in config.channels.values():
        values += [channel.secret, channel.routing_key, channel.token, channel.url]
        values += list(channel.headers.values())
    for customer in config.customers.values():
        values.append(customer.status_page.token)
        for site in customer.sites:
            values += [getattr(check.spec, "token", None) for check in site.checks]
    return frozenset(v for v in values if v)


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, SCRUBBED)
        return value
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item, secrets) for item in value]
    return value


EventHook = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None]


def secret_scrubber(secrets: Iterable[str]) -> EventHook:
    """A `before_send` hook replacing every occurrence of every secret with `[scrubbed]`.

    Longer secrets are replaced first, so a secret containing another is removed whole.
    """
    ordered = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        scrubbed: dict[str, Any] = _scrub(event, ordered)
        return scrubbed

    return before_send


def sentry_options(
    settings: SentrySettings,
    *,
    location: str,
    secrets: Iterable[str],
    environ: Mapping[str, str],
) -> dict[str, Any] | None:
    """The keyword arguments for `sentry_sdk.init`, or None when no DSN is configured."""
    dsn = settings.dsn or environ.get("SENTRY_DSN")
    if not dsn:
        return None
    from sentry_sdk.integrations.aiohttp import AioHttpIntegration
    from sentry_sdk.integrations.stdlib import StdlibIntegration
    from sentry_sdk.scrubber import EventScrubber

    scrubber = secret_scrubber([*secrets, dsn])
    return {
        "dsn": dsn,
        "release": RELEASE,
        "environment": settings.environment,
        # No PII: `send_default_pii` stays unset, which is False in every sentry-sdk 2.x
        # (setting it explicitly is deprecated in favour of `data_collection` since 2.5x).
        "event_scrubber": EventScrubber(recursive=True),
        "before_send": scrubber,
        "before_send_transaction": scrubber,
        "traces_sample_rate": settings.traces_sample_rate,
        # No auto-enabled framework hooks at all, and the aiohttp and http.client ones
        # named explicitly: they would put `sentry-trace`/`baggage` on outgoing requests.
        "auto_enabling_integrations": False,
        "disabled_integrations": [AioHttpIntegration, StdlibIntegration],
        "trace_propagation_targets": [],
        "max_request_body_size": "never",
        "server_name": location,
    }


def init_sentry(
    settings: SentrySettings,
    *,
    location: str,
    secrets: Iterable[str],
    environ: Mapping[str, str],
) -> bool:
    """Turn Sentry on for Vakt's own errors; False (and nothing done) without a DSN.

    `environ` is the process environment (`os.environ`), read for `SENTRY_DSN`.
    """
    options = sentry_options(settings, location=location, secrets=secrets, environ=environ)
    if options is None:
        return False
    import sentry_sdk

    sentry_sdk.init(**options)
    sentry_sdk.get_global_scope().set_tag("location", location)
    log.info("sentry.enabled", extra={"environment": settings.environment, "release": RELEASE})
    return True


def reinit_sentry(
    settings: SentrySettings,
    *,
    location: str,
    secrets: Iterable[str],
    environ: Mapping[str, str],
) -> bool:
    """On a reload: Sentry with the new DSN, environment and secrets, or off when no DSN
    is left (`init_sentry` otherwise)."""
    if init_sentry(settings, location=location, secrets=secrets, environ=environ):
        return True
    sentry_sdk = sys.modules.get("sentry_sdk")  # not imported: never turned on
    if sentry_sdk is not None and sentry_sdk.get_client().is_active():
        sentry_sdk.init()  # no DSN anywhere (checked above): an inactive client
        log.info("sentry.disabled")
    return False


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def sentry_middleware() -> Middleware:
    """aiohttp middleware: an unexpected exception in a handler goes to Sentry, then on.

    HTTP errors (`web.HTTPException`: 404, redirects...) are answers, not bugs. Only the
    route and method are attached: no headers, cookies, query strings or bodies.
    """

    @web.middleware
    async def capture(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:
            sentry_sdk = sys.modules.get("sentry_sdk")  # not imported: Sentry is off
            if sentry_sdk is None:
                raise
            with sentry_sdk.new_scope() as scope:
                route = request.match_info.route.resource
                scope.set_tag("route", route.canonical if route is not None else "unmatched")
                scope.set_tag("method", request.method)
                sentry_sdk.capture_exception(exc)
            raise

    return capture


# -------------------------------------------------------------------------------- logging

_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, then the `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in _extras(record).items():
            # A field named like a fixed key (`level`) is kept beside it, not over it.
            entry[f"field_{key}" if key in entry else key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """`11:30:02 INFO  incident.opened case=VAKT-2026-000001 level=A` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        fields = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{when} {record.levelname:<5} {record.getMessage()} {fields}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(
    level: str = "info", *, stream: TextIO | None = None, json_lines: bool | None = None
) -> logging.Handler:
    """Send every logger to `stream` (stderr) in one format; JSON unless it is a terminal.

    The handler sits on the root logger, so lines from libraries (APScheduler's "missed"
    warnings, aiohttp's handler tracebacks) and Python warnings (`py.warnings`) come out
    as JSON too; `monitor` loggers log from `level`, others from `warning` (or `level`
    when higher). Returns the installed handler (remove it with `logging.getLogger()
    .removeHandler(handler)`). Calling it again replaces the previous handler.
    """
    out = stream if stream is not None else sys.stderr
    as_json = json_lines if json_lines is not None else not out.isatty()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if as_json else ConsoleFormatter())
    handler.set_name("vakt")
    root = logging.getLogger()
    logger = logging.getLogger("monitor")
    for owner in (root, logger):
        for old in [h for h in owner.handlers if h.get_name() == "vakt"]:
            owner.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelNamesMapping()[level.upper()]
    root.setLevel(max(numeric, logging.WARNING))
    logger.setLevel(numeric)
    logger.propagate = True
    logging.captureWarnings(True)
    return handler


# ------------------------------------------------------------------------ dead-man switch


class DeadmanObserver(Protocol):
    """Told about every ping (the `MetricsHub` implements it)."""

    def deadman_pinged(self, ok: bool, at: float) -> None: ...


HealthCheck = Callable[[], bool | Awaitable[bool]]
"""Whether Vakt is healthy now; may be a coroutine function (the daemon asks its store)."""


class Deadman:
    """Pings `url` every `every` while `health_check()` is true; silent while it is false.

    `ping_once()` is one round; the daemon's job scheduler runs it every `every`.
    """

    def __init__(
        self,
        url: str,
        every: timedelta,
        session: aiohttp.ClientSession,
        health_check: HealthCheck,
        *,
        clock: Clock,
        observer: DeadmanObserver | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.every = every.total_seconds()
        self._session = session
        self._healthy = health_check
        self._clock = clock
        self._observer = observer
        self._timeout = min(timeout, self.every)
        self._paused = False

    async def ping_once(self) -> bool | None:
        """Ping if healthy: True when the receiver answered 2xx, False on failure, None
        when skipped because Vakt is unhealthy."""
        healthy = self._healthy()
        if inspect.isawaitable(healthy):
            healthy = await healthy
        if not healthy:
            if not self._paused:
                log.warning("deadman.paused", extra={"reason": "unhealthy"})
            self._paused = True
            return None
        if self._paused:
            log.info("deadman.resumed")
            self._paused = False
        ok = await self._send()
        if self._observer is not None:
            self._observer.deadman_pinged(ok, self._clock.now().timestamp())
        return ok

    async def _send(self) -> bool:
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._session.get(self.url, allow_redirects=True) as response,
            ):
                await response.read()
                if 200 <= response.status < 300:
                    return True
                log.warning("deadman.ping_failed", extra={"status": response.status})
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            # The URL may carry a secret (the check's UUID); log the error kind only.
            log.warning("deadman.ping_failed", extra={"error": type(exc).__name__})
        return False
