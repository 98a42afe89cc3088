"""The fault-injection rig: a real `vakt run` subprocess, real loopback parts, faults from
outside the process, and the invariants read back from the store and the SMTP sink.

- `Rig`: a generated checks.yaml (a SQLite file or a fresh PostgreSQL database), a local
  HTTP target (`HostileFleet`) whose site is switched down and up, a scripted SMTP sink,
  the daemon, and a `/readyz` poller that records every answer.
- `ScriptedSmtp`: aiosmtpd on 127.0.0.1 that accepts (and keeps every copy), refuses with
  421 while `refusing`, and runs a one-shot hook before it answers 250 to a chosen message
  (that is where the store faults are injected, so they fall between a send and its
  settle).
- `SqliteWriteLock`: SQLite's write lock (`BEGIN IMMEDIATE`) on the test's own connection.
- `PgTableLock`: `LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE` on the test's own connection,
  then `pg_terminate_backend` of the daemon's connections that wait for it.
- `Ledger`: the outbox, its delivery attempts and the incidents, read with the store's
  own table definitions (both backends, one code path).
- `verify`: the invariants every scenario ends with; each kind of breach is its own
  `AssertionError` subclass, so an `xfail(raises=...)` names the problem it waits for.

The daemon is tuned only through checks.yaml (`settings.delivery`, `settings.health`) and
`vakt run`'s flags; nothing in the product knows it is being tested.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from monitor.config.values import mailbox
from monitor.demo.targets import HostileFleet
from monitor.demo.targets.http import SiteState
from monitor.notify.channels.email import message_id, sender_domain
from monitor.notify.message import Payload
from monitor.store import Store
from monitor.store.tables import delivery_attempts, incidents, outbox
from monitor.store.url import normalise_url
from tests.e2e.support import Daemon, free_port
from tests.store.conftest import PG_DSN

# The daemon's SQLite busy_timeout (`settings.busy_timeout`, 10 s by default), shortened
# so a lock held past it fails a write within the short suite's budget.
BUSY_TIMEOUT = 2.0

SENDER = "Agency Support <support@agency.example>"
ALICE = "alice@agency.example"
KARI = "kari@acme.example"
ZELDA = "zelda@acme.example"
TEAM = "ops@agency.example"
PAGE_KINDS = frozenset({"page", "digest"})

WAIT = 60.0  # the longest any one step may take on a busy machine
# A send begins when the dispatcher claims the row and re-checks its case; the attempt's
# recorded start (`delivery_attempts.at`) comes a few milliseconds later, and the store
# keeps no claim time. A page whose attempt started within this of the acknowledgement
# was in flight when it came (a page retried or planned after it starts later: the retry
# floor is 1 s, a missed slot waits for a planner tick).
IN_FLIGHT = 0.5
ALIVE_WAIT = 30.0  # a notification planned after a fault must be delivered within this

SHORT_DELIVERY = """\
  delivery:
    poll: 200ms
    lease: 4s
    timeout: 2s
    retry: {base: 300ms, cap: 1s, max_attempts: 500, max_age: 10m}  # outlasts every outage
    warn_after: 3
  health:
    delivery_after: 2s
"""

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "{store}"
  busy_timeout: 2s
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  public_url: http://127.0.0.1:{public}
  secret: faults-secret-0123456789abcdef
  location: faults
  email:
    from: "{sender}"
    team: {team}
    smtp: {{host: 127.0.0.1, port: {smtp}, timeout: 3s}}
{templates}\
  paging: {{group_window: 1s}}
  defaults: {{interval: 500ms, retry_interval: 250ms, timeout: 2s, confirm: 2, recover: 2}}
{delivery}\
policies:
  fast:
    levels:
      A: {{respond: 2h, clock: always, page: always, customer_email_after: 1s,
          update_every: [3s]}}
people:
  alice: {{name: Alice Hansen, email: {alice}}}
oncall:
  escalation:
    default:
      steps:
        - {{notify: [person:alice], via: [email]}}
      repeat_every: 2s
      max_repeats: 500
customers:
  acme:
    name: ACME AS
    language: en
    policy: fast
    contacts:
      - {{name: Kari Nordmann, email: {kari}}}
      - {{name: Zelda Rare, email: {zelda}}}
    sites:
      shop:
        url: {shop}
        checks:
          home: {{path: /}}
"""


# ------------------------------------------------------------------------------ breaches


class Breach(AssertionError):
    """An invariant of delivery does not hold (the subclass says which)."""


class DispatcherDied(Breach):
    """Nothing planned after the fault was delivered: the dispatcher stopped."""


class Unsettled(Breach):
    """A notification never reached sent, failed or cancelled."""


class SentAfterAck(Breach):
    """A page or digest was first tried after its case was acknowledged or resolved."""


class BadRecord(Breach):
    """The store's record disagrees with itself or with what the SMTP sink received."""


class Duplicated(Breach):
    """A message arrived twice outside a crash window, or a repeat got a new Message-ID."""


class NotContained(Breach):
    """A broken notification was not failed alone (with its error, the team warned)."""


class ReadinessLied(Breach):
    """`/readyz` did not say what was true."""


# ------------------------------------------------------------------------------ backends


@dataclass(frozen=True, slots=True)
class Backend:
    """Where the daemon's store is: a SQLite file or a PostgreSQL database of its own."""

    name: str  # "sqlite" | "postgresql"
    url: str
    path: Path | None = None  # the SQLite file
    database: str = ""  # the PostgreSQL database

    @property
    def dsn(self) -> str:
        return PG_DSN.rsplit("/", 1)[0] + f"/{self.database}"


@asynccontextmanager
async def sqlite_backend(tmp_path: Path) -> AsyncIterator[Backend]:
    path = tmp_path / "vakt.db"
    url = f"sqlite:///{path}"
    async with Store(url) as store:
        await store.upgrade()
    yield Backend("sqlite", url, path=path)


@asynccontextmanager
async def postgres_backend() -> AsyncIterator[Backend]:
    """A fresh database (dropped afterwards), migrated as `vakt db upgrade` would."""
    name = f"vakt_faults_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    backend = Backend("postgresql", PG_DSN.rsplit("/", 1)[0] + f"/{name}", database=name)
    try:
        async with Store(backend.url) as store:
            await store.upgrade()
        yield backend
    finally:
        admin = await asyncpg.connect(PG_DSN)
        try:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()


# ------------------------------------------------------------------------------ SMTP


@dataclass(frozen=True, slots=True)
class Received:
    to: tuple[str, ...]
    message_id: str
    text: str
    at: datetime


Hook = Callable[[], Awaitable[None]]


class ScriptedSmtp:
    """aiosmtpd on 127.0.0.1 with a script: accept (keeping every copy), refuse with 421
    while `refusing`, and run a one-shot hook before answering 250 to the first message
    for a chosen recipient (`before_accepting`)."""

    def __init__(self) -> None:
        self.mails: list[Received] = []
        self.refusing = False
        self.refused = 0
        self.port = 0
        self._hooks: list[tuple[str, Hook]] = []
        self._server: asyncio.Server | None = None

    def before_accepting(self, recipient: str, hook: Hook) -> None:
        """Run `hook` once, before 250 is answered to the next message to `recipient`."""
        self._hooks.append((recipient, hook))

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refusing:
            self.refused += 1
            return "421 4.3.2 Service not available, try again later"
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        to = tuple(envelope.rcpt_tos)
        hook = next((h for h in self._hooks if h[0] in to), None)
        if hook is not None:
            self._hooks.remove(hook)
            await hook[1]()
        self.mails.append(Received(to, str(message["Message-ID"]), _text(message), _now()))
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.mails if address in m.to]

    async def __aenter__(self) -> ScriptedSmtp:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="faults.local", enable_SMTPUTF8=True), "127.0.0.1", 0
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if not isinstance(part, EmailMessage):
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""


def _now() -> datetime:
    return datetime.now(UTC)


async def poll_until(
    probe: Callable[[], Awaitable[bool]], wait: float, *, every: float = 0.2
) -> bool:
    """Ask `probe` every `every` seconds until it holds (True) or `wait` runs out (False)."""
    try:
        async with asyncio.timeout(wait):
            while True:
                if await probe():
                    return True
                await asyncio.sleep(every)
    except TimeoutError:
        return False


# ------------------------------------------------------------------------------ store locks


class SqliteWriteLock:
    """SQLite's write lock, taken with `BEGIN IMMEDIATE` on the test's own connection:
    every writer of the daemon waits for it (busy_timeout) and then fails."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self.released_at: datetime | None = None

    async def take(self) -> None:
        def begin() -> sqlite3.Connection:
            conn = sqlite3.connect(
                self._path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("BEGIN IMMEDIATE")
            return conn

        self._conn = await asyncio.to_thread(begin)

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.to_thread(conn.rollback)
            await asyncio.to_thread(conn.close)
        self.released_at = _now()

    async def hold(self, seconds: float) -> None:
        """Take the lock, keep it `seconds`, release it."""
        await self.take()
        try:
            await asyncio.sleep(seconds)
        finally:
            await self.release()


class PgTableLock:
    """`LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE` on the test's own connection; then the
    daemon's connections that wait for it are ended with `pg_terminate_backend`."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._conn: asyncpg.Connection | None = None
        self.terminated = 0
        self.released_at: datetime | None = None

    async def take(self) -> None:
        self._conn = await asyncpg.connect(self._backend.dsn)
        await self._conn.execute("BEGIN")
        await self._conn.execute("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE")

    async def waiters(self) -> list[int]:
        assert self._conn is not None
        rows = await self._conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()",
            self._backend.database,
        )
        return [int(row["pid"]) for row in rows]

    async def terminate_waiters(self, *, settle_after: float = 1.0) -> None:
        """Wait until a daemon connection waits for the lock (and `settle_after` more
        seconds, so every writer that was about to write waits too), then end them all."""

        async def waiting() -> bool:
            return bool(await self.waiters())

        if not await poll_until(waiting, WAIT, every=0.05):
            return  # nobody waited: `terminated` stays 0 and the scenario says so
        await asyncio.sleep(settle_after)
        assert self._conn is not None
        for pid in await self.waiters():
            if await self._conn.fetchval("SELECT pg_terminate_backend($1)", pid):
                self.terminated += 1

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.execute("ROLLBACK")
            await conn.close()
        self.released_at = _now()


# ------------------------------------------------------------------------------ the ledger


@dataclass(frozen=True, slots=True)
class AttemptRow:
    at: datetime
    outcome: str
    error: str


@dataclass(frozen=True, slots=True)
class Row:
    """One outbox row with its attempts, as the store has it."""

    id: int
    key: str
    kind: str  # the payload's message kind (page, digest, customer_opened, ...)
    to: str  # the payload's address (without the name)
    channel: str
    recipient: str
    incident_id: int | None
    status: str
    created_at: datetime
    due_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str
    cancel_reason: str | None
    tried: tuple[AttemptRow, ...]


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    case_number: str
    status: str
    acknowledged_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class Ledger:
    rows: tuple[Row, ...]
    cases: tuple[Case, ...]

    def pending(self) -> list[Row]:
        return [r for r in self.rows if r.status == "pending"]

    def sent_since(self, at: datetime) -> list[Row]:
        return [r for r in self.rows if r.status == "sent" and r.created_at >= at]


async def read_ledger(url: str) -> Ledger:
    engine = create_async_engine(normalise_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            cases = [
                Case(r.id, r.case_number, r.status, r.acknowledged_at, r.resolved_at)
                for r in await conn.execute(select(incidents))
            ]
            tried: dict[int, list[AttemptRow]] = {}
            query = select(delivery_attempts).order_by(delivery_attempts.c.id)
            for a in await conn.execute(query):
                tried.setdefault(a.outbox_id, []).append(AttemptRow(a.at, a.outcome, a.error))
            rows = [_row(r, tried.get(r.id, [])) for r in await conn.execute(select(outbox))]
    finally:
        await engine.dispose()
    return Ledger(tuple(rows), tuple(cases))


def _row(r: Any, tried: list[AttemptRow]) -> Row:
    payload = json.loads(r.payload or "{}")
    to = Payload.from_json(r.payload).to if r.payload else None
    key = "/".join((r.subject, r.kind, r.slot, r.recipient, r.channel))
    return Row(
        id=r.id,
        key=key,
        kind=str(payload.get("kind", r.kind)),
        to=to.address if to is not None else "",
        channel=r.channel,
        recipient=r.recipient,
        incident_id=r.incident_id,
        status=r.status,
        created_at=r.created_at,
        due_at=r.due_at,
        sent_at=r.sent_at,
        attempts=r.attempts,
        last_error=r.last_error,
        cancel_reason=r.cancel_reason,
        tried=tuple(tried),
    )


# ------------------------------------------------------------------------------ /readyz


@dataclass(frozen=True, slots=True)
class Readiness:
    at: datetime
    status: int  # 0: no answer (the daemon is starting or was killed)
    checks: dict[str, str]


class ReadyzWatch:
    """Polls `/readyz` every `every` seconds in the background and keeps every answer."""

    def __init__(self, url: str, every: float = 0.2) -> None:
        self.url = url
        self.every = every
        self.answers: list[Readiness] = []
        self._task: asyncio.Task[None] | None = None

    async def _poll(self) -> None:
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                self.answers.append(await self._ask(session))
                await asyncio.sleep(self.every)

    async def _ask(self, session: aiohttp.ClientSession) -> Readiness:
        try:
            async with session.get(self.url) as response:
                body = await response.json(content_type=None)
                checks = body.get("checks", {}) if isinstance(body, dict) else {}
                return Readiness(_now(), response.status, dict(checks))
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return Readiness(_now(), 0, {})

    def between(self, start: datetime, end: datetime) -> list[Readiness]:
        return [a for a in self.answers if start <= a.at <= end]

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


# ------------------------------------------------------------------------------ the rig


@dataclass(slots=True)
class Summary:
    """What one scenario did, for the closing note."""

    scenario: str
    backend: str
    planned: int = 0
    delivered: int = 0
    cancelled: int = 0
    failed: int = 0
    duplicates: int = 0
    longest_delay: float = 0.0  # seconds from due_at to sent (a retry moves due_at)
    longest_since_planned: float = 0.0  # from min(due_at, created_at): what a fault cost
    extra: dict[str, Any] = field(default_factory=dict)

    def report(self) -> None:
        line = (
            f"faults {self.scenario}[{self.backend}]: planned={self.planned} "
            f"delivered={self.delivered} cancelled={self.cancelled} failed={self.failed} "
            f"duplicates={self.duplicates} longest_delay={self.longest_delay:.2f}s "
            f"longest_since_planned={self.longest_since_planned:.2f}s"
        )
        extra = " ".join(f"{k}={v}" for k, v in self.extra.items())
        print(f"{line} {extra}".rstrip())
        out = os.environ.get("VAKT_FAULTS_SUMMARY")
        if out:
            with Path(out).open("a") as f:
                f.write(json.dumps(asdict(self)) + "\n")


class Rig:
    """One scenario's world: site, SMTP sink, daemon, `/readyz` poller (see module doc)."""

    def __init__(
        self, tmp_path: Path, backend: Backend, scenario: str, *, templates: Path | None = None
    ) -> None:
        self.tmp_path = tmp_path
        self.backend = backend
        self.scenario = scenario
        self.templates = templates
        self.smtp = ScriptedSmtp()
        self.fleet = HostileFleet(tmp_path)
        self.log = tmp_path / "daemon.log"
        self.private = free_port()
        self.config = tmp_path / "checks.yaml"
        self.daemon = Daemon(self.config, self.log, drain=3.0)
        self.readyz = ReadyzWatch(f"http://127.0.0.1:{self.private}/readyz")
        self.acknowledged: list[str] = []
        self.marks: dict[str, float] = {}  # step -> seconds since the rig started
        self._started = time.monotonic()

    # -------------------------------------------------------------- set-up

    def _write_config(self) -> None:
        templates = f'    templates: "{self.templates}"\n' if self.templates else ""
        self.config.write_text(
            CONFIG.format(
                store=self.backend.url,
                private=self.private,
                public=free_port(),
                sender=SENDER,
                team=TEAM,
                smtp=self.smtp.port,
                templates=templates,
                delivery=SHORT_DELIVERY,
                alice=ALICE,
                kari=KARI,
                zelda=ZELDA,
                shop=self.fleet.url("/sites/shop/"),
            )
        )

    async def __aenter__(self) -> Rig:
        await self.fleet.__aenter__()
        await self.smtp.__aenter__()
        self._write_config()
        self.site_down()
        await self.daemon.start()
        self.readyz.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.readyz.stop()
        proc = self.daemon.proc
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        await self.smtp.__aexit__(*exc)
        await self.fleet.__aexit__(*exc)

    def site_down(self) -> None:
        self.fleet.http.site("shop").state = SiteState.ERROR

    def site_up(self) -> None:
        self.fleet.http.site("shop").state = SiteState.HEALTHY

    # -------------------------------------------------------------- waits

    def mark(self, step: str) -> None:
        """Note when `step` was reached (printed with the summary: where the time went)."""
        name, n = step, 2
        while name in self.marks:
            name, n = f"{step}{n}", n + 1
        self.marks[name] = time.monotonic() - self._started

    async def ledger(self) -> Ledger:
        return await read_ledger(self.backend.url)

    async def until(
        self, what: str, probe: Callable[[], Awaitable[bool]], wait: float = WAIT
    ) -> bool:
        """Poll `probe` until it holds (True) or `wait` runs out (False)."""
        return await poll_until(probe, wait)

    async def must(
        self,
        what: str,
        probe: Callable[[], Awaitable[bool]],
        wait: float = WAIT,
        breach: type[Breach] = Breach,
    ) -> None:
        if not await self.until(what, probe, wait):
            tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise breach(f"{self.scenario}: timed out waiting for {what}; daemon log:\n{tail}")

    async def opened(self) -> str:
        """Wait until the case is open and the on-call person paged; its case number. (The
        customer's first email is planned a moment later: it goes out during or after the
        fault, and `resolve_and_settle` requires it sent.)"""

        async def paged() -> bool:
            return bool(self.smtp.to(ALICE))

        await self.must("a page", paged)
        self.mark("opened")
        ledger = await self.ledger()
        [case] = [c for c in ledger.cases if c.status == "open"]
        return case.case_number

    async def alive_since(self, at: datetime, wait: float = ALIVE_WAIT) -> None:
        """A notification planned at or after `at` is delivered (the dispatcher lives)."""

        async def delivered() -> bool:
            return bool((await self.ledger()).sent_since(at))

        await self.must("a notification planned after the fault", delivered, wait, DispatcherDied)
        self.mark("alive")

    async def ack(self, case: str) -> None:
        code, out = await self.daemon.cli("incidents", "ack", case, "--by", "alice")
        assert code == 0, out
        self.acknowledged.append(case)
        self.mark("acked")

    async def resolve_and_settle(self, wait: float = WAIT) -> None:
        """Heal the site; wait for the case to resolve, its customers to be told, and the
        outbox to hold nothing pending."""
        self.site_up()

        async def resolved() -> bool:
            ledger = await self.ledger()
            done = all(c.status == "resolved" for c in ledger.cases)
            kinds = {r.kind for r in ledger.rows}
            told = {"customer_opened", "customer_resolved"} <= kinds
            return done and told and not ledger.pending()

        if not await self.until("resolution and an empty outbox", resolved, wait):
            pending = [(r.key, r.attempts, r.last_error) for r in (await self.ledger()).pending()]
            tail = self.log.read_text(errors="replace")[-3000:]
            raise Unsettled(f"{self.scenario}: still pending {pending}\n{tail}")
        self.mark("settled")
        await self.ready_again()
        self.mark("ready")

    async def ready_again(self, wait: float = 20.0) -> None:
        """`/readyz` answers ready after the faults (with the health branch: every
        component, delivery and dispatcher included, says ok)."""
        since = _now()

        async def ready() -> bool:
            return any(is_ready(a) for a in self.readyz.answers if a.at >= since)

        if not await poll_until(ready, wait):
            seen = [(a.status, a.checks) for a in self.readyz.answers if a.at >= since][-3:]
            raise ReadinessLied(f"{self.scenario}: /readyz not ready after the faults: {seen}")

    async def stop(self) -> None:
        code = await self.daemon.stop(signal.SIGTERM)
        assert code == 0, f"vakt run exited {code}"
        self.mark("stopped")

    # -------------------------------------------------------------- invariants

    async def verify(
        self,
        *,
        crash_window: bool = False,
        may_fail: Callable[[Row], bool] = lambda row: False,
    ) -> Summary:
        """Every invariant of delivery, on the settled store and the sink; the summary."""
        ledger = await self.ledger()
        check_settled(ledger)
        check_attempts(ledger, may_fail)
        check_not_after_ack(ledger)
        duplicates = check_sink(ledger, self.smtp.mails, crash_window=crash_window)
        summary = summarise(self.scenario, self.backend.name, ledger, duplicates)
        summary.extra["steps"] = ",".join(f"{k}@{v:.1f}s" for k, v in self.marks.items())
        return summary


# ------------------------------------------------------------------------------ invariants


def check_settled(ledger: Ledger) -> None:
    pending = [r.key for r in ledger.pending()]
    if pending:
        raise Unsettled(f"still pending: {pending}")
    bad = [r.key for r in ledger.rows if r.status == "cancelled" and not r.cancel_reason]
    if bad:
        raise BadRecord(f"cancelled without a reason: {bad}")


def check_attempts(ledger: Ledger, may_fail: Callable[[Row], bool]) -> None:
    """Each row's attempts are recorded and agree with its status."""
    for r in ledger.rows:
        outcomes = [a.outcome for a in r.tried]
        if len(r.tried) != r.attempts:
            raise BadRecord(f"{r.key}: {r.attempts} attempts counted, {len(r.tried)} recorded")
        if r.status == "sent" and (outcomes[-1:] != ["sent"] or outcomes.count("sent") != 1):
            raise BadRecord(f"{r.key}: sent, but its attempts were {outcomes}")
        if r.status == "failed":
            if outcomes[-1:] != ["failed"] or not r.last_error:
                raise BadRecord(f"{r.key}: failed, attempts {outcomes}, error {r.last_error!r}")
            if not may_fail(r):
                raise BadRecord(f"{r.key} failed: {r.last_error}")
        if r.status == "cancelled" and "sent" in outcomes:
            raise BadRecord(f"{r.key}: cancelled after it was sent")


def check_not_after_ack(ledger: Ledger) -> None:
    """No page or digest was sent by an attempt that started after its case was
    acknowledged or resolved (one in flight then may finish after: see `IN_FLIGHT`)."""
    cases = {c.id: c for c in ledger.cases}
    for r in ledger.rows:
        if r.kind not in PAGE_KINDS or r.incident_id is None or r.status != "sent":
            continue
        case = cases[r.incident_id]
        answered = [t for t in (case.acknowledged_at, case.resolved_at) if t is not None]
        if not answered:
            continue
        sent = next(a for a in r.tried if a.outcome == "sent")
        if sent.at > min(answered) + timedelta(seconds=IN_FLIGHT):
            late = (sent.at - min(answered)).total_seconds()
            raise SentAfterAck(
                f"{r.key} (due {r.due_at:%H:%M:%S.%f}) was tried {late:.3f} s after "
                f"{case.case_number} was acknowledged or resolved "
                f"(attempts: {[a.outcome for a in r.tried]})"
            )


def check_sink(ledger: Ledger, mails: Sequence[Received], *, crash_window: bool) -> int:
    """Every sent email arrived, nothing else did, and repeats carry the original's
    Message-ID; returns how many copies arrived more than once."""
    domain = sender_domain(mailbox(SENDER))
    sent = {message_id(r.key, domain): r for r in ledger.rows if r.channel == "email"}
    arrived = Counter(m.message_id for m in mails)
    stray = [mid for mid in arrived if mid not in sent]
    if stray:
        raise Duplicated(f"{len(stray)} messages arrived that no outbox row has: {stray[:3]}")
    for mid, row in sent.items():
        if row.status == "sent" and not arrived[mid]:
            raise BadRecord(f"{row.key} is marked sent but never arrived")
        # Killed after the server's 250 and before the settle: the store cannot know, and
        # the re-check may then cancel the row (its case was acknowledged meanwhile).
        lost_settle = crash_window and row.status == "cancelled"
        if row.status != "sent" and arrived[mid] and not lost_settle:
            raise BadRecord(f"{row.key} arrived but is marked {row.status}")
    duplicates = sum(arrived.values()) - len(arrived)
    if duplicates and not crash_window:
        again = [sent[mid].key for mid, n in arrived.items() if n > 1]
        raise Duplicated(f"{duplicates} copies arrived twice outside a crash window: {again}")
    return duplicates


def is_ready(answer: Readiness) -> bool:
    """200, with `delivery` and `dispatcher` ok."""
    wanted = ("delivery", "dispatcher")
    return answer.status == 200 and all(answer.checks.get(name) == "ok" for name in wanted)


def check_ready_through_outage(
    answers: Sequence[Readiness], start: datetime, end: datetime, limit: float
) -> None:
    """While delivery was impossible for longer than `limit` seconds, `/readyz` said 503
    with `delivery: failing`; before the outage it said ready, and after it ready again
    (the daemon is stopped by now: only answers until then count)."""
    during = [a for a in answers if start + timedelta(seconds=limit) <= a.at <= end]
    if not any(a.status == 503 and a.checks.get("delivery") == "failing" for a in during):
        seen = sorted({(a.status, a.checks.get("delivery", "-")) for a in during})
        raise ReadinessLied(f"no 503 with delivery failing during the outage: {seen}")
    before = [a for a in answers if a.status and a.at < start]
    if before and before[-1].status != 200:
        raise ReadinessLied(f"/readyz not ready before the outage: {before[-1].checks}")
    after = [a for a in answers if a.status and a.at > end]
    if not any(is_ready(a) for a in after):
        raise ReadinessLied(f"/readyz not ready again after the outage: {after[-1:]}")


def summarise(scenario: str, backend: str, ledger: Ledger, duplicates: int) -> Summary:
    statuses = Counter(r.status for r in ledger.rows)
    sent = [r for r in ledger.rows if r.sent_at is not None]
    delays = [(r.sent_at - r.due_at).total_seconds() for r in sent if r.sent_at]
    waits = [(r.sent_at - min(r.due_at, r.created_at)).total_seconds() for r in sent if r.sent_at]
    return Summary(
        scenario=scenario,
        backend=backend,
        planned=len(ledger.rows),
        delivered=statuses["sent"],
        cancelled=statuses["cancelled"],
        failed=statuses["failed"],
        duplicates=duplicates,
        longest_delay=max(delays, default=0.0),
        longest_since_planned=max(waits, default=0.0),
    )
