"""`vakt demo`: everything on loopback, in one process, in a temporary directory.

Start order: the simulated fleet, the SMTP sink, the generated `checks.yaml`, Vakt itself
(a `Daemon`: `monitor.app.serve`, injected by the CLI because `app` and `demo` are sibling
layers; SQLite in the directory, the mailbox view mounted on its private app), a demo
login; then the scenario, the checks and the summary. Without `fast` it keeps serving
until Ctrl-C; every part stops in reverse order.

Exit codes: 0 every expected outcome happened; 1 one or more did not (listed); 2 Vakt or
the demo could not start; 130 interrupted before the summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import tempfile
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from aiohttp import web

from monitor.clock import Clock, SystemClock
from monitor.config import Config, ConfigError, load_config
from monitor.demo import cast
from monitor.demo.cast import Pace, Ports
from monitor.demo.mail import Mailbox, SinkUnavailable, SmtpSink
from monitor.demo.mailbox import MailboxView
from monitor.demo.narrator import Narrator
from monitor.demo.outcomes import Evidence, Expectation, expectations, summary_lines
from monitor.demo.scenario import Marks, Scenario
from monitor.demo.targets import HostileFleet
from monitor.demo.targets.fleet import port_of, reserve_port
from monitor.demo.watch import Urls, Watch
from monitor.observability import setup_logging
from monitor.store import Store
from monitor.web.auth import PasswordHasher, set_password

EXIT_OK = 0
EXIT_MISSED = 1
EXIT_START = 2
EXIT_INTERRUPTED = 130
HOST = "127.0.0.1"
START_TIMEOUT = 60.0  # seconds for Vakt to come up (migrations on a cold disk included)
NORMAL_LENGTH = 180.0  # seconds the normal-pace story takes, for the progress bar
FAST_LENGTH = 90.0


class Daemon(Protocol):
    """Runs Vakt on `config` until `stop` is set; sets `ready` once it serves. `ca_file`:
    the fleet's CA, trusted by the probes; `routes`: mounted on the private web app."""

    def __call__(
        self,
        config: Config,
        *,
        ca_file: str,
        routes: Sequence[web.AbstractRouteDef],
        ready: asyncio.Event,
        stop: asyncio.Event,
    ) -> Coroutine[Any, Any, int]: ...


@dataclass(frozen=True, slots=True)
class DemoOptions:
    fast: bool = False
    keep_serving: bool = True  # after the summary, until Ctrl-C
    directory: Path | None = None  # default: a fresh temporary directory, removed after


class StartFailed(RuntimeError):
    """Vakt or a demo part did not start; the message says why."""


@dataclass(slots=True)
class _Running:
    """The live parts the story needs."""

    fleet: HostileFleet
    mailbox: Mailbox
    store: Store
    urls: Urls
    config: Config
    password: str
    directory: Path


class Demo:
    """One run of the demo. `interrupted` is set by Ctrl-C (SIGINT) or SIGTERM."""

    def __init__(
        self, daemon: Daemon, out: TextIO, options: DemoOptions, clock: Clock | None = None
    ) -> None:
        self.daemon = daemon
        self.out = out
        self.options = options
        self.pace: Pace = cast.FAST if options.fast else cast.NORMAL
        self.clock = clock or SystemClock()
        self.interrupted = asyncio.Event()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.interrupted.set)
        try:
            async with self._directory() as directory:
                return await self._in(directory)
        except StartFailed as exc:
            print(f"vakt demo: {exc}", file=self.out)
            return EXIT_START
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    @contextlib.asynccontextmanager
    async def _directory(self) -> AsyncIterator[Path]:
        if self.options.directory is not None:
            self.options.directory.mkdir(parents=True, exist_ok=True)
            yield self.options.directory
            return
        with tempfile.TemporaryDirectory(prefix="vakt-demo-") as name:
            yield Path(name)

    async def _in(self, directory: Path) -> int:
        log_file = (directory / "vakt.log").open("a", encoding="utf-8")
        handler = setup_logging("info", stream=log_file, json_lines=False)
        try:
            async with HostileFleet(directory) as fleet:
                mailbox = Mailbox(self.clock, cast.roles())
                async with SmtpSink(mailbox, HOST) as sink:
                    return await self._with_vakt(directory, fleet, mailbox, sink.port)
        except SinkUnavailable as exc:
            raise StartFailed(str(exc)) from exc
        finally:
            logging.getLogger().removeHandler(handler)
            log_file.close()

    def _config(self, directory: Path, fleet: HostileFleet, ports: Ports) -> Config:
        store = f"sqlite:///{directory / 'vakt.db'}"
        text = cast.checks_yaml(fleet, store, ports, self.pace, secrets.token_urlsafe(24))
        path = cast.write_config(directory, text)
        try:
            return load_config(str(path))
        except ConfigError as exc:  # a bug in the generator: say exactly what
            raise StartFailed(f"the generated config is invalid:\n{exc.render()}") from exc

    async def _with_vakt(
        self, directory: Path, fleet: HostileFleet, mailbox: Mailbox, smtp: int
    ) -> int:
        # Reserved, not merely free: nothing else can take them before Vakt listens.
        with reserve_port(HOST) as web, reserve_port(HOST) as public:
            ports = Ports(web=port_of(web), public=port_of(public), smtp=smtp)
            return await self._vakt_on(directory, fleet, mailbox, ports)

    async def _vakt_on(
        self, directory: Path, fleet: HostileFleet, mailbox: Mailbox, ports: Ports
    ) -> int:
        config = self._config(directory, fleet, ports)
        view = MailboxView(mailbox, config.settings.timezone)
        ready, stop = asyncio.Event(), asyncio.Event()
        daemon = asyncio.create_task(
            self.daemon(
                config, ca_file=fleet.ca_file, routes=view.routes(), ready=ready, stop=stop
            ),
            name="vakt",
        )
        try:
            await self._until_ready(daemon, ready, directory)
            urls = Urls(ui=f"http://{HOST}:{ports.web}", public=f"http://{HOST}:{ports.public}")
            store = Store(config.settings.store)
            await store.open()
            try:
                password = await self._login(store)
                running = _Running(fleet, mailbox, store, urls, config, password, directory)
                return await self._story(running)
            finally:
                await store.close()
        finally:
            stop.set()
            await self._stopped(daemon)

    async def _until_ready(
        self, daemon: asyncio.Task[int], ready: asyncio.Event, directory: Path
    ) -> None:
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait(
            {daemon, waiter}, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        if ready.is_set():
            return
        reason = f"exit code {daemon.result()}" if daemon in done else "no answer in time"
        raise StartFailed(f"Vakt did not start ({reason}); see {directory / 'vakt.log'}")

    async def _stopped(self, daemon: asyncio.Task[int]) -> None:
        try:
            async with asyncio.timeout(self.pace.wait):
                await daemon
        except TimeoutError:
            daemon.cancel()
            print("vakt demo: Vakt did not stop in time; cancelled", file=self.out)

    async def _login(self, store: Store) -> str:
        password = secrets.token_urlsafe(12)
        await set_password(store, PasswordHasher(), cast.ONCALL_ID, password, self.clock.now())
        return password

    # ------------------------------------------------------------------- the story

    def _intro(self, running: _Running) -> None:
        urls = running.urls
        lines = [
            "Vakt demo: everything runs on this machine (127.0.0.1), nothing to configure.",
            "",
            f"  Team UI        {urls.ui}",
            f"                 sign in as '{cast.ONCALL_ID}', password '{running.password}'",
            f"  Demo mailbox   {urls.mail}",
            f"  Status pages   {urls.status(cast.NORDLYS.id)}   {urls.status(cast.ACME.id)}",
            f"  Metrics        {urls.metrics}",
            f"  Config         {running.directory / 'checks.yaml'}",
            f"  Vakt's log     {running.directory / 'vakt.log'}",
        ]
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    async def _story(self, running: _Running) -> int:
        self._intro(running)
        length = FAST_LENGTH if self.options.fast else NORMAL_LENGTH
        narrator = Narrator(self.out, self.clock.monotonic, total=length)
        scenario = Scenario(
            running.fleet,
            running.mailbox,
            Watch(running.store),
            narrator,
            pace=self.pace,
            urls=running.urls,
            clock=self.clock,
        )
        marks = await self._unless_interrupted(scenario.play())
        narrator.done()
        if marks is None:
            print("\nvakt demo: interrupted; stopping.", file=self.out)
            return EXIT_INTERRUPTED
        checks = await self._report(running, marks)
        code = EXIT_OK if all(c.ok for c in checks) else EXIT_MISSED
        if self.options.keep_serving and not self.options.fast:
            self._still_serving(running)
            await self.interrupted.wait()
            print("\nvakt demo: stopping.", file=self.out)
        return code

    async def _unless_interrupted(self, story: Coroutine[Any, Any, Marks]) -> Marks | None:
        """The story's result, or None when Ctrl-C came first (the story is cancelled)."""
        task = asyncio.create_task(story, name="demo.scenario")
        stopper = asyncio.create_task(self.interrupted.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None

    async def _report(self, running: _Running, marks: Marks) -> list[Expectation]:
        watch = Watch(running.store)
        incidents = {site.id: await watch.incidents(site.id) for site in cast.SITES}
        evidence = Evidence(incidents=incidents, mails=running.mailbox.mails, marks=marks)
        checks = expectations(evidence)
        missed = [c for c in checks if not c.ok]
        title = (
            "every expected outcome happened"
            if not missed
            else f"{len(missed)} expected outcome(s) did not happen"
        )
        lines = ["", f"Summary: {title}", "", *summary_lines(evidence, checks)]
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()
        return checks

    def _still_serving(self, running: _Running) -> None:
        urls = running.urls
        self.out.write(
            "\nThe story is over; Vakt keeps running so you can look around:\n"
            f"  {urls.ui}  (sign in as '{cast.ONCALL_ID}' / '{running.password}')\n"
            f"  {urls.mail}\n"
            "Press Ctrl-C to stop everything.\n"
        )
        self.out.flush()


async def run_demo(daemon: Daemon, out: TextIO, options: DemoOptions) -> int:
    """Run the demo; the process exit code."""
    return await Demo(daemon, out, options).run()
