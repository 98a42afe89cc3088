"""The composition root: the only module that wires concrete classes together.

`run(config_path)` is `vakt run`. `serve(...)` is the same daemon for callers that run it
in-process (`vakt demo`, tests):

    async def serve(
        config: Config | str | os.PathLike[str],   # a loaded config, or the path of one
        *,
        options: Options | None = None,
        clock: Clock | None = None,
        extra_private_routes: Sequence[web.AbstractRouteDef] = (),  # mounted on the private app
        ready: asyncio.Event | None = None,   # set once store, engine, scheduler, dispatcher
                                               # and both web listeners are up
        stop: asyncio.Event | None = None,    # set it to shut down (the same drain as SIGTERM)
        config_path: str | os.PathLike[str] | None = None,  # what SIGHUP reloads when
                                               # `config` is an in-memory Config
    ) -> int                                   # EXIT_OK, EXIT_FAILED or EXIT_CONFIG

What runs: the config (loaded; `vakt run` loads it in a child process,
`load_config_isolated`, then tunes the collector: `tune_gc`), Sentry
(`init_sentry`, only with a DSN), the store (SQLite: migrated on first run; PostgreSQL:
must be current) under the daemon lock, one `MetricsHub`, the engine (the real
notification planner behind its seam, the hub as its observer, the dispatcher woken after
a commit that planned something), the probe scheduler (customer checks and canaries), the
`Dispatcher` (owner `hostname:pid`, channels from `build_channels`, `settings.delivery`),
APScheduler jobs (engine tick, planner tick, outbox and incident gauges, health, heartbeat
refresh, dead-man's ping, daily retention), and the two web apps on `settings.listen`
(private: UI, API, `/metrics`, `/healthz`, `/readyz`) and `settings.public_listen` (status
pages, `/ack`, `/heartbeat`). The dispatcher and the engine's writer run under the
`Supervisor` (restarted after a failure, never ending silently), every job under its
`job` wrapper; their progress feeds `HealthWatch`, whose verdict (`settings.health`) is
`/readyz`'s answer and holds back the dead-man's ping. Runs until SIGTERM/SIGINT or
`stop`; then stops the listeners, jobs and scheduler, drains the engine and delivers what
is due, each within `Options.drain`, and never raises past the drain. SIGHUP reloads the
config (loaded and checked in a child process, `monitor.config.reloading`); a bad file
keeps the old config (`config.reload_failed`, `/readyz` config failing until a good one);
a changed start-only setting is logged as `config.needs_restart` and keeps its value.
At start and on every reload the email templates are checked
(`monitor.notify.templatecheck`): a template that fails is a config error (exit
`EXIT_CONFIG` at start, the old config and templates kept on reload), and the dispatcher
renders with exactly the templates that were checked.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor import __version__
from monitor.clock import Clock, SystemClock
from monitor.cluster import (
    ClusterNode,
    ClusterStatus,
    Identity,
    alive,
    live_members,
    locations_report,
    needed_locations,
    read_status,
    shard,
)
from monitor.cluster.inbox import InboxWriter
from monitor.cluster.shard import by_location
from monitor.config import Config, ConfigError
from monitor.config.isolated import load_config_isolated
from monitor.config.records import Check
from monitor.config.reloading import keep_start_only, load_in_child, restart_keys
from monitor.config.tokens import weak_tokens
from monitor.engine.context import policy_respond_by
from monitor.engine.engine import Engine
from monitor.engine.notify import NotifyPlanner
from monitor.health import Health, Limits
from monitor.intake import Desk, MailboxPoller, ProbeAsks
from monitor.metrics import MetricsHub, metrics_handler
from monitor.model import ProbeResult
from monitor.notify.channels import Channel, ChannelContext, ChannelSet, build_channels
from monitor.notify.dispatcher import Backoff, Dispatcher, ObserverSet, OutboxTeamWarner
from monitor.notify.figures import IncidentWatch, SlaCounter
from monitor.notify.planner import Planner as CasePlanner
from monitor.notify.readiness import channel_problems
from monitor.notify.render import Renderer
from monitor.notify.signing import signing_secret, with_secret
from monitor.notify.templatecheck import checked_renderer
from monitor.notify.tick import planner_tick
from monitor.observability import (
    Deadman,
    config_secrets,
    init_sentry,
    reinit_sentry,
    sentry_middleware,
    setup_logging,
)
from monitor.probes import ProbeContext, open_probe_context, run_probe
from monitor.probes.canary import canary_checks
from monitor.probes.targets import target_policy
from monitor.reports.source import StoreReports
from monitor.scheduler import Scheduler
from monitor.store import (
    Member,
    Retained,
    SchemaOutdated,
    Store,
    StoreError,
    StoreLocked,
)
from monitor.supervisor import (
    DISPATCHER,
    ENGINE,
    PLANNER,
    HealthWatch,
    Progress,
    SettleProgress,
    Supervisor,
    store_error_only,
)
from monitor.web import StoreHeartbeats, WebDeps, create_private_app, create_public_app
from monitor.web.limits import (
    ConnectionGuard,
    GuardedSite,
    listener_limits,
    raise_descriptor_limit,
    runner_options,
)

log = logging.getLogger("monitor.app")

MAILBOX = "intake.mailbox"  # the support mailbox's poll job (replaced when a reload changes it)

CLUSTER = "cluster.node"  # the supervised task of the cluster node's rounds
INBOX = "cluster.inbox"  # the supervised task writing probe results to the store

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

RELOAD_CHECK = "monitor.notify.reloadcheck"  # the reload's child process (`python -m`)
JOB_DRAIN = 2.0  # seconds running periodic jobs get to finish at shutdown (of the drain)
FLUSH_EVERY = 1.0  # seconds between the engine's flushes (health: `engine_periods` of these)
IDLE_LEASES = 3  # PostgreSQL ends a session idle in a transaction for this many leases


@dataclass(frozen=True, slots=True)
class Retention:
    """How long raw history is kept (aggregates feed the monthly reports: keep them long)."""

    results: timedelta = timedelta(days=30)
    changes: timedelta = timedelta(days=400)
    aggregates: timedelta = timedelta(days=400)
    outbox: timedelta = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Options:
    """How the daemon runs (seconds unless said otherwise).

    `tick_every`: engine re-evaluations; `planner_every`: planner ticks; `gauges_every`:
    outbox and incident gauges; `heartbeats_every`: heartbeat cache refresh; `drain`:
    what running probes, the last flush and the last deliveries get at shutdown;
    `signals`: install SIGTERM/SIGINT/SIGHUP handlers (off when the caller owns them);
    `ca_file`: an extra trusted CA for probes (the demo's targets); `dispatch_poll`:
    the dispatcher's idle wait when set, instead of `settings.delivery.poll` (the demo's
    quicker rounds); `location`: where this instance probes from (`vakt run --location`,
    None: `settings.location`; with SQLite it must be that one); `source_address`: the
    local address of every probe connection (`--probe-source-address`).
    """

    tick_every: float = 2.0
    drain: float = 10.0
    concurrency: int = 1000
    checkpoint_every: float = 30.0
    planner_every: float = 2.0
    gauges_every: float = 5.0
    heartbeats_every: float = 5.0
    dispatch_poll: float | None = None
    signals: bool = True
    ca_file: str | None = None
    location: str | None = None
    source_address: str | None = None
    retention: Retention = field(default_factory=Retention)


async def run(
    config: Config | str | os.PathLike[str],
    *,
    config_path: str | os.PathLike[str] | None = None,
    options: Options | None = None,
    clock: Clock | None = None,
) -> int:
    """`vakt run`: the daemon until SIGTERM/SIGINT. Returns the process exit code.
    `config` is a path, or the Config already loaded from `config_path` (what SIGHUP
    reloads)."""
    return await serve(
        config, options=options, clock=clock, config_path=config_path, own_process=True
    )


async def serve(
    config: Config | str | os.PathLike[str],
    *,
    options: Options | None = None,
    clock: Clock | None = None,
    extra_private_routes: Sequence[web.AbstractRouteDef] = (),
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
    config_path: str | os.PathLike[str] | None = None,
    own_process: bool = False,
) -> int:
    """Run the daemon until `stop` is set (or SIGTERM/SIGINT). See the module docstring.

    `own_process`: the daemon is the whole process (`vakt run`), so it may load its
    config in a forked child (`load_config_isolated`) and tune the process's garbage
    collector (`tune_gc`); embedded (tests, the demo) it does neither.
    """
    path = config_path
    if not isinstance(config, Config):
        path = config
        try:
            # `vakt run` loads in a child process: only the records reach this heap
            if own_process:
                load = load_config_isolated
            else:
                from monitor.config.loader import load_config as load
            config = load(os.fspath(config))
        except ConfigError as exc:
            print(exc.render(), file=sys.stderr)
            return EXIT_CONFIG
    options = options or Options()
    here = config.settings.location
    if options.location not in (None, here) and config.settings.store.startswith("sqlite"):
        print(
            f"vakt run: --location {options.location}: with SQLite the one instance probes "
            f"from settings.location ('{here}'); other locations need the PostgreSQL cluster",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    config = at_location(config, options.location)
    try:
        refuse_dead_channels(config, None if path is None else os.fspath(path))
        renderer = checked_renderer(config)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_CONFIG
    if own_process:
        tune_malloc()  # before the store's and the metrics' threads start
        tune_gc()
        raise_descriptor_limit()  # slow clients must not leave probes without sockets
    settings = config.settings
    init_sentry(
        settings.sentry,
        location=settings.location,
        secrets=config_secrets(config),
        environ=os.environ,
    )
    store = Store(
        settings.store,
        busy_timeout=settings.busy_timeout,
        # a paused (SIGSTOP) former leader must not hold the lease row's lock for ever
        idle_in_transaction=settings.cluster.lease * IDLE_LEASES,
    )
    lock = store.lock_for_daemon()
    clock = clock or SystemClock()
    try:
        lock.acquire()
        await store.open()
        await store.ensure_schema()
        config = await _signing(config, store, clock)
    except (StoreLocked, SchemaOutdated, StoreError) as exc:
        print(f"vakt run: {exc}", file=sys.stderr)
        await store.close()
        lock.release()
        return EXIT_FAILED
    if config.settings.secret != settings.secret:  # the stored secret: Sentry scrubs it too
        init_sentry(
            settings.sentry,
            location=settings.location,
            secrets=config_secrets(config),
            environ=os.environ,
        )
    parts = _Parts(
        clock=clock,
        options=options,
        routes=tuple(extra_private_routes),
        ready=ready or asyncio.Event(),
        stop=stop or asyncio.Event(),
        path=None if path is None else os.fspath(path),
        renderer=renderer,
    )
    try:
        return await _Daemon(config, store, parts).run()
    finally:
        await store.close()
        lock.release()


def at_location(config: Config, location: str | None) -> Config:
    """`config` as this instance runs it: `settings.location` is the instance's own
    location (`vakt run --location`) when one is given. Sites that list no locations keep
    the file's `settings.location`, compiled into them: the cluster's default location."""
    if location is None or location == config.settings.location:
        return config
    return replace(config, settings=replace(config.settings, location=location))


def refuse_dead_channels(config: Config, path: str | None) -> None:
    """Raise `ConfigError` (file, line, key, why) when a configured channel cannot work at
    all (`monitor.notify.readiness.channel_problems`): the daemon must not start, or
    adopt a reload, that would page into nothing."""
    problems = channel_problems(config)
    if problems:
        from monitor.config.loader import located  # reads the file again, for the lines

        raise located(path, [(p.where, p.text) for p in problems])


async def _signing(config: Config, store: Store, clock: Clock) -> Config:
    """`config` with the acknowledge-link secret (`monitor.notify.signing`): generated
    and kept in the store on the first start without `settings.secret`, said once."""
    secret = await signing_secret(config, store, clock.now())
    if secret.generated:
        log.warning(
            "secret.generated",
            extra={
                "store": store.display_url,
                "why": "settings.secret is not set: acknowledge links are signed with a "
                "secret generated now and kept in the database (shared by every instance "
                "and the CLI); set settings.secret to choose your own",
            },
        )
    return with_secret(config, secret.value)


@dataclass(frozen=True, slots=True)
class _Parts:
    clock: Clock
    options: Options
    routes: tuple[web.AbstractRouteDef, ...]
    ready: asyncio.Event
    stop: asyncio.Event
    path: str | None
    renderer: Renderer  # checked; a reload swaps checked templates into it


# Collector thresholds for the daemon (Python's defaults are 700, 10, 10). Every probe
# result lives about a second (inbox, flush) and its check's ring keeps the last few:
# tens of thousands of young objects a second that die by reference counting, not by
# the collector. With the defaults they still trigger a young collection every 700
# allocations and a full one whenever the survivors outgrow a quarter of the heap:
# measured end to end at 4,000 checks a second, 6,577 collections (46 full) cost 7.7 s of
# CPU in a 30 s run, a quarter of the process. At these thresholds: 28 collections,
# 1.5 s, and ~25 % more probes per core (docs/performance.md). Cyclic garbage still goes
# at the next collection, a few seconds later at most under load.
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    """Collect, move what exists now (the config) out of every later scan, and set the
    daemon's collector thresholds (see `GC_THRESHOLDS`)."""
    gc.collect()
    gc.freeze()  # the config lives as long as the process: keep it out of GC scans
    gc.set_threshold(*GC_THRESHOLDS)


# glibc's mallopt parameter (malloc.h): the most arenas malloc creates for threads.
_M_ARENA_MAX = -8


def tune_malloc(environ: Mapping[str, str] = os.environ) -> bool:
    """glibc only: one malloc arena for the whole process, unless `MALLOC_ARENA_MAX` says
    otherwise. Each thread that allocates (SQLite's connection thread, the metrics
    renderer) otherwise gets an arena of its own, and what it frees stays there: a
    /metrics scrape builds the whole exposition in the renderer's thread (~400 bytes a
    check), and that arena kept the space of the largest one. In the main arena a block
    that large is mmapped and given back when freed. The threads hold the GIL while they
    allocate, so they hardly contend for the one arena. Whether it was set."""
    if "MALLOC_ARENA_MAX" in environ or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(_M_ARENA_MAX, 1))


def owner_id() -> str:
    """The dispatcher's lease owner: unique per process."""
    return f"{socket.gethostname()}:{os.getpid()}"


# ------------------------------------------------------------------------------ daemon


class _Daemon:
    """The running parts and their order of start and stop."""

    def __init__(self, config: Config, store: Store, parts: _Parts) -> None:
        self.config = config
        self.store = store
        self.parts = parts
        self.clock = parts.clock
        self.options = parts.options
        self.hub = MetricsHub(
            version=__version__, location=config.settings.location, checks=self._checks()
        )
        self.case_planner = CasePlanner(config)
        # The tick's period tells a normal tick from one after downtime (missed slots).
        self.planner_period = timedelta(seconds=self.options.planner_every)
        self.planner = NotifyPlanner(self.case_planner, period=self.planner_period)
        self.channels = ChannelSet({})
        self.dispatcher: Dispatcher | None = None
        self.progress = Progress(self.clock, observer=self.hub)
        self.supervisor = Supervisor(self.progress)
        # PostgreSQL: a cluster member, leading or a standby; SQLite: always the leader
        self.node = None if store.is_sqlite else self._node(config)
        if self.node is None:
            self.hub.cluster_stepped(True)  # the one instance leads (no VaktClusterNoLeader)
        else:  # per-check series come from the leader only (`_lead_or_follow`)
            self.hub.set_checks([])
        self.engine = Engine(
            store,
            config,
            self.clock,
            planner=self.planner,
            deadlines=policy_respond_by,
            checkpoint_every=self.options.checkpoint_every,
            observer=self.hub,
            on_notifications=self._wake_dispatcher,
            on_shed=self.hub.engine_shed,
            flush_every=FLUSH_EVERY,
            on_flushed=self.progress.reporter(ENGINE),
            fence=self.node,
            inbox=self.node is not None,
        )
        # cluster mode: every instance's results reach the leader through the store
        self.inbox = (
            None if self.node is None else InboxWriter(store, owner_id(), observer=self.hub)
        )
        self._mine: list[Check] = []  # cluster mode: this instance's shard of the checks
        self._live: dict[str, tuple[str, ...]] = {}  # live member ids by location
        self._warned: set[tuple[str, datetime]] = set()  # location episodes warned about
        self.scheduler: Scheduler | None = None
        self.jobs: AsyncIOScheduler | None = None
        self._closing: set[asyncio.Task[None]] = set()  # replaced channels closing later
        self._job_runs: set[asyncio.Task[Any]] = set()  # periodic jobs running right now
        self._reloads: set[asyncio.Task[bool]] = set()  # SIGHUP reloads under way
        self._reloading = asyncio.Lock()
        self.sla = SlaCounter(self.hub)
        self.running = False
        self.config_ok = True  # False while the last reload was refused
        self.watch = HealthWatch(
            store,
            self.progress,
            self.clock,
            limits=self._limits,
            scheduler_running=lambda: self.running,
            config_ok=lambda: self.config_ok,
            scheduler_lateness=self.lateness,
            observer=self.hub,
        )
        self.hub.config_reloaded(success=True, at=self.clock.now())
        self.hub.weak_tokens(len(weak_tokens(config)))

    def _checks(self) -> list[Check]:
        return [*self.config.checks(), *canary_checks(self.config.settings)]

    def _probed(self) -> list[Check]:
        """What this instance probes: every check (SQLite), or its shard of the checks
        in its location (a cluster member, leader or standby: `_members`)."""
        return self._checks() if self.node is None else self._mine

    @property
    def leading(self) -> bool:
        """Whether this instance leads (always without a cluster)."""
        return self.node is None or self.node.leading

    def _node(self, config: Config) -> ClusterNode:
        identity = Identity(
            owner_id(),
            socket.gethostname(),
            os.getpid(),
            __version__,
            location=config.settings.location,
        )
        return ClusterNode(
            self.store,
            config.settings.cluster,
            identity,
            self.clock,
            on_change=self._lead_or_follow,
            observer=self.hub,
            on_members=self._members,
        )

    async def _lead_or_follow(self, leading: bool) -> None:
        """The cluster node took the lease (rebuild evaluation state from the store as a
        restart does) or lost it (forget what was not committed). Probing goes on either
        way (each member probes its shard, `_members`); so do the web apps and the
        dispatcher."""
        if leading:
            await self.engine.resume()
            self.hub.set_checks(self._checks())
            return
        # a former leader's per-check values would go stale: only the leader has them
        self.hub.set_checks([])
        self._warned.clear()
        await self.engine.standby()

    async def _members(self, now: datetime, members: list[Member]) -> None:
        """After each cluster round: recompute this instance's shard (rendezvous hashing
        over its location's live members, `monitor.cluster.shard`) and reload the
        scheduler when it changed; report each location's live members (the metric),
        and, as the leader, warn the team once per episode of a location some check
        needs that has no live member."""
        lease = self.config.settings.cluster.lease
        live = [m for m in members if alive(m, now, lease)]
        self._live = by_location(live)
        mine = self._shard()
        if mine != self._mine:
            self._mine = mine
            self.hub.set_probed(mine)
            log.info("cluster.shard", extra={"checks": len(mine), "live": len(live)})
            if self.scheduler is not None:
                self.scheduler.reload(mine)
        needed = needed_locations(self.config)
        report = locations_report(needed, live, members)
        self.hub.locations_seen({c.location: c.live for c in report if c.location in needed})
        if self.leading:
            await self._warn_empty(
                [(c.location, c.since) for c in report if c.since is not None], now
            )

    def _shard(self) -> list[Check]:
        """This instance's checks over the live members last seen (`_live`)."""
        location = self.config.settings.location
        return shard(self._wanted(), owner_id(), location, self._live)

    def _wanted(self) -> list[tuple[Check, str, tuple[str, ...] | None]]:
        """Every check with the locations its site lists; canaries in every location."""
        sites = {s.id: s for s in self.config.sites()}
        return [
            *((c, c.id, sites[c.site_id].locations) for c in self.config.checks()),
            *((c, c.id, None) for c in canary_checks(self.config.settings)),
        ]

    async def _warn_empty(self, empty: list[tuple[str, datetime]], now: datetime) -> None:
        """One team warning per episode of a location without live members (keyed by the
        location and its last member's last heartbeat, so a new leader does not repeat
        it); written in a leader transaction."""
        new = [(loc, since) for loc, since in empty if (loc, since) not in self._warned]
        if not new:
            return
        counts: dict[str, int] = {}
        for site in self.config.sites():
            for location in site.locations:
                counts[location] = counts.get(location, 0) + len(site.checks)
        planned = [
            n
            for loc, since in new
            for n in self.planner.location_empty(loc, since, now, counts.get(loc, 0))
        ]
        for loc, since in new:
            log.warning(
                "cluster.location_without_members",
                extra={"location": loc, "since": since.isoformat()},
            )
        try:
            async with self.store.transaction(fence=self.node) as tx:
                inserted = await tx.outbox.add(planned)
        except StoreError as exc:
            log.warning("cluster.location_warning_failed", extra={"error": str(exc)})
            return
        self._warned.update(new)
        if inserted:
            self._wake_dispatcher()

    def _wake_dispatcher(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()

    async def health(self) -> Health:
        """The `Readiness` protocol of `/readyz`: the health verdict now."""
        return await self.watch.health()

    async def healthy(self) -> bool:
        """For the dead-man's switch: the same verdict as `/readyz`, all green."""
        return (await self.watch.health()).ok

    def lateness(self) -> timedelta:
        """The probe scheduler's p99 lateness (health judges it)."""
        seconds = self.scheduler.stats.lateness_quantile(0.99) if self.scheduler else 0.0
        return timedelta(seconds=seconds)

    def _limits(self) -> Limits:
        return Limits.of(
            self.config.settings.health,
            poll=self._poll(),
            flush_every=timedelta(seconds=FLUSH_EVERY),
            planner_every=timedelta(seconds=self.options.planner_every),
        )

    async def run(self) -> int:
        settings = self.config.settings
        try:
            if self.node is None:
                await self.engine.start()
            else:  # the first election: a leader loads the engine's state (`resume`)
                await self.node.round()
        except StoreError as exc:
            print(f"vakt run: cannot load state: {exc}", file=sys.stderr)
            return EXIT_FAILED
        heartbeats = StoreHeartbeats(self.store)
        await heartbeats.refresh()
        async with (
            aiohttp.ClientSession() as session,
            open_probe_context(
                self.clock,
                location=settings.location,
                source_address=self.options.source_address,
                resolver=settings.resolver,
                heartbeats=heartbeats,
                ca_file=self.options.ca_file,
                policy=target_policy(settings),
            ) as ctx,
        ):
            try:
                await self._serve(ctx, session, heartbeats)
            except OSError as exc:  # a listener's address is taken
                print(f"vakt run: {exc}", file=sys.stderr)
                return EXIT_FAILED
        return EXIT_OK

    def _build_channels(self, session: aiohttp.ClientSession) -> dict[str, Channel]:
        context = ChannelContext(
            session=session, clock=self.clock, email=self.config.settings.email
        )
        return dict(build_channels(self.config.channels, context))

    def _dispatcher(self, session: aiohttp.ClientSession) -> Dispatcher:
        delivery = self.config.settings.delivery
        retry = delivery.retry
        self.channels.swap(self._build_channels(session))
        return Dispatcher(
            self.store,
            self.channels,
            self.clock,
            owner_id(),
            renderer=self.parts.renderer,
            backoff=Backoff(
                base=retry.base,
                cap=retry.cap,
                max_attempts=retry.max_attempts,
                max_age=retry.max_age,
            ),
            lease=delivery.lease,
            timeout=delivery.timeout,
            poll=self._poll(),
            warner=OutboxTeamWarner(self.store, lambda: self.config.settings.email.team),
            warn_after=delivery.warn_after,
            observer=ObserverSet(self.hub, SettleProgress(self.progress)),
            config=lambda: self.config,
            members=self._live_members if self.node is not None else None,
        )

    async def _cluster_status(self) -> ClusterStatus:
        config = self.config
        return await read_status(
            self.store, config.settings.cluster.lease, needed_locations(config)
        )

    async def _live_members(self) -> frozenset[str]:
        return await live_members(self.store, self.config.settings.cluster.lease)

    def _poll(self) -> timedelta:
        """The dispatcher's idle wait: `Options.dispatch_poll` or `settings.delivery.poll`."""
        seconds = self.options.dispatch_poll
        return self.config.settings.delivery.poll if seconds is None else timedelta(seconds=seconds)

    async def _serve(
        self, ctx: ProbeContext, session: aiohttp.ClientSession, heartbeats: StoreHeartbeats
    ) -> None:
        async def prober(check: Check) -> ProbeResult:
            return await run_probe(check, ctx)

        sink = self.inbox if self.inbox is not None else self.engine
        scheduler = self.scheduler = Scheduler(
            prober, sink, self.clock, concurrency=self.options.concurrency
        )
        self.hub.track_in_flight(lambda: scheduler.in_flight)
        # Listeners first: when a port is taken nothing else has started yet.
        runners = await self._start_web(heartbeats)
        engine = self.engine
        writer = self.supervisor.start("engine.writer", engine.run, done=lambda: engine.stopping)
        inbox_stop = asyncio.Event()
        shipping = self._shipping(inbox_stop)
        dispatcher = self.dispatcher = self._dispatcher(session)
        dispatch_stop = asyncio.Event()
        dispatching = self.supervisor.start(
            DISPATCHER, lambda: dispatcher.run(dispatch_stop), done=dispatch_stop.is_set
        )
        jobs = self.jobs = self._jobs(heartbeats, session)
        node_stop = asyncio.Event()
        membership = self._membership(node_stop)
        try:
            if self.options.signals:
                self._signals(session)
            jobs.start()
            scheduler.start(self._probed())
            self.watch.begin()
            self.running = True
            self.parts.ready.set()
            log.info("vakt.started", extra={"checks": len(self._checks()), "config": self.path})
            await self.parts.stop.wait()
            log.info("vakt.stopping", extra={"drain": self.options.drain})
            self.running = False
        finally:
            for reload in list(self._reloads):  # a reload under way ends with the daemon
                reload.cancel()
            for runner in runners:
                await runner.cleanup()
            await self._stop_jobs(jobs)
            await scheduler.stop(self.options.drain)
            if shipping is not None:  # the last results go to the store before leaving
                inbox_stop.set()
                self.supervisor.wake(INBOX)
                await shipping
            await self._drain(scheduler, writer, dispatcher, dispatch_stop, dispatching)
            node_stop.set()  # after the last leader writes: then release the lease
            if membership is not None:
                self.supervisor.wake(CLUSTER)
                await membership
            for task in list(self._closing):  # channels replaced by a reload: close now
                task.cancel()
            await asyncio.gather(*self._closing, return_exceptions=True)
            self.hub.close()
        log.info("vakt.stopped")

    @property
    def path(self) -> str | None:
        return self.parts.path

    def _desk(self) -> Desk:
        return Desk(self.store, lambda: self.config, self.clock)

    def _shipping(self, stop: asyncio.Event) -> asyncio.Task[None] | None:
        """Cluster mode: the inbox writer's batches (supervised) until `stop`."""
        inbox = self.inbox
        if inbox is None:
            return None
        return self.supervisor.start(INBOX, lambda: inbox.run(stop), done=stop.is_set)

    def _membership(self, stop: asyncio.Event) -> asyncio.Task[None] | None:
        """The cluster node's rounds (supervised), until `stop`; None without a cluster."""
        node = self.node
        if node is None:
            return None
        return self.supervisor.start(CLUSTER, lambda: node.run(stop), done=stop.is_set)

    # ------------------------------------------------------------------ jobs

    def _jobs(
        self, heartbeats: StoreHeartbeats, session: aiohttp.ClientSession
    ) -> AsyncIOScheduler:
        jobs = AsyncIOScheduler()
        every = self.options
        watch = IncidentWatch(self.store, self.hub, self.clock)
        job = self.supervisor.job
        engine = self.engine

        async def tick() -> None:  # the writer loop does the tick's flush (`request_tick`)
            engine.request_tick()

        self._interval(jobs, job("engine.tick", tick), every.tick_every, "engine.tick")
        self._interval(jobs, job(PLANNER, self._planner_tick), every.planner_every, "planner.tick")
        self._interval(jobs, job("gauges", watch.update), every.gauges_every, "gauges", soon=1.0)
        # judged on a timer too, so `vakt_health_ok` (the alerts) is fresh without a scrape
        # of /readyz or a dead-man configured
        judge = job("health", self.watch.health)
        self._interval(jobs, judge, every.gauges_every, "health", soon=1.0)
        refresh = job("heartbeats", heartbeats.refresh)
        self._interval(jobs, refresh, every.heartbeats_every, "heartbeats")
        monthly = job("reports.monthly", self._leader_only(self._monthly_reports))
        self._interval(jobs, monthly, 300.0, "reports.monthly", soon=2.0)
        housekeeping = job("housekeeping", self._housekeeping)
        self._interval(jobs, housekeeping, 86_400.0, "housekeeping", soon=60.0)
        desk, scheduler = self._desk(), self.scheduler
        follow = job("intake.follow_up", self._leader_only(desk.follow_up))
        self._interval(jobs, follow, every.planner_every, "intake.follow_up")
        if scheduler is not None:  # every instance probes the asks for checks it owns
            asks = ProbeAsks(self.store, self.clock)
            poll = job("intake.probe_asks", lambda: asks.poll(scheduler.run_now))
            self._interval(jobs, poll, every.planner_every, "intake.probe_asks")
        self._mailbox_job(jobs, soon=5.0)
        self._deadman_job(jobs, session)
        return jobs

    def _leader_only(self, func: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
        """`func` run only while this instance leads (always on SQLite): the monthly
        reports, the customers' reports' follow-up and the support mailbox are the leader's
        jobs, so a cluster runs each once."""

        async def run() -> None:
            if self.leading:
                await func()

        return run

    def _mailbox_job(self, jobs: AsyncIOScheduler, *, soon: float = 1.0) -> None:
        """(Re)place the support mailbox's poll job for the current `settings.email.imap`
        (none without one). The poller reads host, port, user and folder from the current
        config on each poll; the job carries the interval."""
        if jobs.get_job(MAILBOX) is not None:
            jobs.remove_job(MAILBOX)
        imap = self.config.settings.email.imap
        if imap is None:
            return
        poller = MailboxPoller(self.store, lambda: self.config, self.clock, self._desk())
        mailbox = self.supervisor.job(MAILBOX, self._leader_only(poller.poll_once))
        self._interval(jobs, mailbox, imap.poll.total_seconds(), MAILBOX, soon=soon)

    def _deadman_job(self, jobs: AsyncIOScheduler, session: aiohttp.ClientSession) -> None:
        """(Re)place the dead-man's ping job for the current `settings.deadman`."""
        if jobs.get_job("deadman") is not None:
            jobs.remove_job("deadman")
        deadman = self.config.settings.deadman
        if deadman.url:
            pinger = Deadman(
                deadman.url,
                deadman.every,
                session,
                self.healthy,
                clock=self.clock,
                observer=self.hub,
            )
            ping = self.supervisor.job("deadman", pinger.ping_once)
            self._interval(jobs, ping, deadman.every.total_seconds(), "deadman")
        self.hub.deadman_configured(deadman.every.total_seconds() if deadman.url else 0.0)

    def _interval(
        self,
        jobs: AsyncIOScheduler,
        func: Callable[[], Any],
        seconds: float,
        name: str,
        *,
        soon: float | None = None,
    ) -> None:
        start = self.clock.now() + timedelta(seconds=soon if soon is not None else seconds)
        jobs.add_job(
            self._guarded(func, name),
            "interval",
            seconds=seconds,
            id=name,
            name=name,  # APScheduler's log lines (a skipped run) say which job
            max_instances=1,
            coalesce=True,
            next_run_time=start.astimezone(),
        )

    async def _stop_jobs(self, jobs: AsyncIOScheduler) -> None:
        """No new job runs; the running ones get until `JOB_DRAIN` s to finish (a tick's
        flush is work the drain would do anyway); any still running then is cancelled
        and ends quietly (`_guarded`), never as a traceback."""
        jobs.pause()
        running = [task for task in self._job_runs if not task.done()]
        if running:
            await asyncio.wait(running, timeout=min(JOB_DRAIN, self.options.drain))
        jobs.shutdown(wait=False)

    def _guarded(self, func: Callable[[], Any], name: str) -> Callable[[], Any]:
        """`func` as run by APScheduler: its task is known to `_stop_jobs`, and a
        cancellation at shutdown ends the run without an error logged."""

        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._job_runs.add(task)
            try:
                await func()
            except asyncio.CancelledError:
                if self.running:
                    raise
                log.info("vakt.job_cancelled", extra={"job": name})
            finally:
                if task is not None:
                    self._job_runs.discard(task)

        return run

    async def _planner_tick(self) -> None:
        """One planner tick (a store error is the caller's: the supervised job logs it);
        a leader transaction, skipped on a standby."""
        if not self.leading:
            return
        result = await planner_tick(
            self.store,
            self.config,
            self.case_planner,
            self.clock.now(),
            period=self.planner_period,
            fence=self.node,
        )
        if result.inserted:
            self._wake_dispatcher()
        self.sla.count(result.sla, result.cases)

    async def _monthly_reports(self) -> None:
        """Last month's reports, on the first business day (`monitor.reports.monthly`)."""
        from monitor.reports.monthly import send_monthly  # matplotlib: only when reporting

        if await send_monthly(self.store, self.config, self.clock.now()):
            self._wake_dispatcher()

    async def _housekeeping(self) -> None:
        """Retention: old evidence, changes, aggregates, settled notifications, sessions
        (the leader's job: a standby skips it)."""
        if not self.leading:
            return
        now = self.clock.now()
        keep = self.options.retention
        for what, age in (
            (Retained.RESULTS, keep.results),
            (Retained.CHECK_CHANGES, keep.changes),
            (Retained.SITE_CHANGES, keep.changes),
            (Retained.AGGREGATES, keep.aggregates),
            (Retained.OUTBOX, keep.outbox),
        ):
            deleted = await self.store.purge(what, now - age)
            if deleted:
                log.info("retention.purged", extra={"what": what.value, "rows": deleted})
        async with self.store.transaction() as tx:
            await tx.web.purge_sessions(now)

    # ------------------------------------------------------------------- web

    async def _start_web(self, heartbeats: StoreHeartbeats) -> list[web.AppRunner]:
        settings = self.config.settings
        deps = WebDeps(
            store=self.store,
            config=lambda: self.config,
            clock=self.clock,
            heartbeats=heartbeats,
            readiness=self,
            metrics=metrics_handler(self.hub),
            middlewares=(sentry_middleware(),),
            pagerduty_webhook_secret=os.environ.get("VAKT_PAGERDUTY_WEBHOOK_SECRET"),
            reports=StoreReports(self.store, lambda: self.config, self.clock),
            desk=self._desk(),
            cluster=self._cluster_status if self.node is not None else None,
            member=owner_id(),
        )
        private = create_private_app(deps)
        private.router.add_routes(self.parts.routes)
        runners: list[web.AppRunner] = []
        limits = listener_limits(settings.web.limits, self.options.concurrency)
        try:
            for app, where, name in (
                (private, settings.listen, "private"),
                (create_public_app(deps), settings.public_listen, "public"),
            ):
                runner = web.AppRunner(app, access_log=None, **runner_options(limits))
                runners.append(runner)
                await runner.setup()
                guard = ConnectionGuard(limits, partial(self.hub.connection_dropped, name))
                await GuardedSite(runner, where.host, where.port, guard).start()
        except OSError:
            for runner in runners:
                await runner.cleanup()
            raise
        return runners

    # ------------------------------------------------------------------ stop

    async def _drain(
        self,
        scheduler: Scheduler,
        writer: asyncio.Task[None],
        dispatcher: Dispatcher,
        dispatch_stop: asyncio.Event,
        dispatching: asyncio.Task[None],
    ) -> None:
        drain = self.options.drain
        await scheduler.stop(drain)
        try:
            async with asyncio.timeout(drain):
                await self.engine.close()
        except TimeoutError:
            log.error("engine.drain_timeout", extra={"drain": drain})
        except Exception:  # a bug: reported, and the drain goes on
            log.exception("engine.drain_crashed")
        self.supervisor.wake("engine.writer")
        await writer  # supervised: it ends once the engine stops, and never raises
        dispatch_stop.set()
        self.supervisor.wake(DISPATCHER)
        try:
            async with asyncio.timeout(drain):
                await dispatching
                await self._planner_tick()
                while await dispatcher.run_once():  # deliver what is due before leaving
                    pass
        except TimeoutError:
            log.warning("notify.drain_timeout", extra={"drain": drain})
        except Exception as exc:  # a store error (maybe in a TaskGroup's group) or a bug
            if store_error_only(exc):
                log.warning("notify.drain_failed", extra={"error": str(exc)})
            else:
                log.exception("notify.drain_crashed")
        for channel in self.channels.swap({}):
            await channel.close()

    # --------------------------------------------------------------- signals

    def _signals(self, session: aiohttp.ClientSession) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.parts.stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._hangup, session)

    def _hangup(self, session: aiohttp.ClientSession) -> None:
        task = asyncio.get_running_loop().create_task(self.reload(session), name="reload")
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def reload(self, session: aiohttp.ClientSession) -> bool:
        """Load the config file again, check its templates and adopt both everywhere;
        False keeps the old ones. A child process loads and checks the file and its
        templates (`monitor.config.reloading`: seconds for a large file, which in a thread
        would hold the interpreter lock for long stretches); this process then unpickles
        the compiled config and builds its checked renderer (~0.1 s) in a worker thread,
        so probes and sends go on meanwhile. Reloads run one at a time, in the order of
        the signals."""
        path = self.path
        if path is None:
            log.warning("config.reload_unavailable", extra={"reason": "in-memory config"})
            return False
        async with self._reloading:
            try:
                config = at_location(await load_in_child(path, RELOAD_CHECK), self.options.location)
                await asyncio.to_thread(refuse_dead_channels, config, path)
                renderer = await asyncio.to_thread(checked_renderer, config)
            except ConfigError as exc:
                log.error("config.reload_failed", extra={"errors": exc.render()})
                self.config_ok = False
                self.hub.config_reloaded(success=False, at=self.clock.now())
                return False
            try:
                config = await _signing(config, self.store, self.clock)
            except StoreError as exc:
                log.error("config.reload_failed", extra={"errors": str(exc)})
                self.config_ok = False
                self.hub.config_reloaded(success=False, at=self.clock.now())
                return False
            self.parts.renderer.adopt(renderer)
            self.adopt(config, session)
            return True

    def adopt(self, config: Config, session: aiohttp.ClientSession) -> None:
        """Swap in `config`: engine, scheduler, metrics, planner, channels, web, dead-man,
        Sentry and the team address (read through `self.config`). Settings read only at
        start (`restart_keys`) keep their old values until a restart; each changed one is
        logged as `config.needs_restart`."""
        old = self.config.settings
        restart = restart_keys(old, config.settings)
        for key in restart:
            log.warning("config.needs_restart", extra={"key": key})
        config = keep_start_only(old, config)
        self._adopt_sentry(self.config, config)
        self.config = config  # the web apps read it through `deps.config`
        self.config_ok = True
        self.engine.reload(config)
        if self.node is not None:  # the shard of the new checks, over the members last seen
            self._mine = self._shard()
            self.hub.set_probed(self._mine)
        if self.scheduler is not None:
            self.scheduler.reload(self._probed())
        self.hub.set_checks(self._checks() if self.leading else [])
        self.case_planner = CasePlanner(config)
        self.planner.reload(self.case_planner)
        if self.jobs is not None and old.deadman != config.settings.deadman:
            self._deadman_job(self.jobs, session)
        if self.jobs is not None and old.email.imap != config.settings.email.imap:
            self._mailbox_job(self.jobs)
        replaced = self.channels.swap(self._build_channels(session))
        closing = asyncio.get_running_loop().create_task(_close_later(replaced, 60.0))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        self.hub.config_reloaded(success=True, at=self.clock.now())
        self.hub.weak_tokens(len(weak_tokens(config)))
        log.info(
            "config.reloaded", extra={"checks": len(config.checks()), "needs_restart": restart}
        )

    def _adopt_sentry(self, old: Config, new: Config) -> None:
        secrets = config_secrets(new)
        if old.settings.sentry == new.settings.sentry and config_secrets(old) == secrets:
            return
        settings = new.settings
        reinit_sentry(
            settings.sentry, location=settings.location, secrets=secrets, environ=os.environ
        )


async def _close_later(channels: Sequence[Channel], delay: float) -> None:
    """Close replaced channels once sends that started with them have finished (or at
    once when the daemon stops first and cancels this)."""
    try:
        await asyncio.sleep(delay)
    finally:
        for channel in channels:
            await channel.close()


# ----------------------------------------------------------------------------- logging


def configure_logging(level: str = "info") -> None:
    """Structured lines on stderr (the daemon's log): `monitor.observability.setup_logging`
    (JSON lines, or a console format on a terminal), with the stable event names."""
    setup_logging(level)
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_OK",
    "Options",
    "Retention",
    "configure_logging",
    "owner_id",
    "run",
    "serve",
]
