"""The scripted story `vakt demo` tells, acted out on the simulated fleet.

Every fault is real: a site's mode on the fleet changes, Vakt's probes notice on their
next run, and the story waits (with a deadline) for what Vakt does about it: an incident
in the store, a page or a customer email in the demo mailbox. `Marks` records when each
fault started, so the summary can measure outage-to-page and outage-to-email from the
scenario's own timestamps and the mailbox's receive times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from monitor.clock import Clock
from monitor.demo import cast
from monitor.demo.cast import DemoSite, Pace
from monitor.demo.mail import Mail, Mailbox, Role, is_page, mentions
from monitor.demo.narrator import Narrator
from monitor.demo.targets import HostileFleet, SiteMode, SiteState
from monitor.demo.watch import Urls, Watch
from monitor.model import IncidentStatus, Level
from monitor.store import Incident

BASE_LATENCY = 0.04  # seconds: the slow site's normal answer time (x5 when slow)
HIT_POLL = 0.01


@dataclass(slots=True)
class Marks:
    """When the scenario broke and repaired each site (aware UTC), by site id."""

    broke: dict[str, datetime] = field(default_factory=dict)
    repaired: dict[str, datetime] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)  # what did not happen in time


def _open(incident: Incident) -> bool:
    return incident.status is not IncidentStatus.RESOLVED


def _resolved(incident: Incident) -> bool:
    return incident.status is IncidentStatus.RESOLVED


def _customer_mail(case: str) -> Callable[[Mail], bool]:
    return lambda m: m.role is Role.CUSTOMER and m.case == case


class Scenario:
    """Plays the story once. `play` returns when every fault has been repaired and Vakt
    has had its chance to resolve everything."""

    def __init__(
        self,
        fleet: HostileFleet,
        mailbox: Mailbox,
        watch: Watch,
        narrator: Narrator,
        *,
        pace: Pace,
        urls: Urls,
        clock: Clock,
    ) -> None:
        self.fleet = fleet
        self.mailbox = mailbox
        self.watch = watch
        self.say = narrator
        self.pace = pace
        self.urls = urls
        self.clock = clock
        self.marks = Marks()

    # ------------------------------------------------------------------ helpers

    def mode(self, site: DemoSite) -> SiteMode:
        return self.fleet.http.site(site.fleet)

    def _break(self, site: DemoSite, state: SiteState) -> None:
        self.marks.broke.setdefault(site.id, self.clock.now())
        self.mode(site).state = state

    def _repair(self, site: DemoSite) -> None:
        self.mode(site).state = SiteState.HEALTHY
        self.marks.repaired[site.id] = self.clock.now()

    def _since(self, site: DemoSite, at: datetime) -> str:
        start = self.marks.broke.get(site.id)
        return "" if start is None else f"{(at - start).total_seconds():.1f} s after the fault"

    async def _pause(self, seconds: float, status: str) -> None:
        self.say.status(status)
        await asyncio.sleep(seconds)

    def _missed(self, what: str) -> None:
        self.marks.missed.append(what)
        self.say.say(f"!! {what} did not happen within {self.pace.wait:.0f} s.")

    async def _incident(
        self, site: DemoSite, predicate: Callable[[Incident], bool], what: str
    ) -> Incident | None:
        self.say.status(f"waiting for Vakt: {what}")
        found = await self.watch.wait(site.id, predicate, self.pace.wait)
        if found is None:
            self._missed(what)
        return found

    async def _mail(self, predicate: Callable[[Mail], bool], what: str) -> Mail | None:
        self.say.status(f"waiting for the mailbox: {what}")
        found = await self.mailbox.wait_for(predicate, self.pace.wait)
        if found is None:
            self._missed(what)
        return found

    # ------------------------------------------------------------------- the story

    async def play(self) -> Marks:
        self.mode(cast.API).latency = BASE_LATENCY
        await self.warm_up()
        await self.blip()
        www = await self.hard_down()
        await self.serious_faults()
        await self.customer_emails(www)
        await self.recovery(www)
        await self.flapping()
        await self.all_clear()
        self.say.done()
        return self.marks

    async def warm_up(self) -> None:
        self.say.step("Vakt is watching seven sites of two customers")
        for site in cast.SITES:
            customer = site.customer
            self.say.raw(f"   {site.title:<26} {customer.name} ({customer.language}): {site.story}")
        self.say.say(
            "First it learns what normal looks like: api.acme.example is probed every "
            f"{self.pace.fast_interval:g} s to build its latency baseline."
        )
        self.say.look("Team UI (sites and incidents)", self.urls.ui)
        await self._pause(self.pace.warm_up, "learning the baseline")
        warning = await self._mail(
            lambda m: m.role is Role.TEAM and "certificate" in (m.subject + m.text).lower(),
            "the team warning about portal.acme.example's certificate",
        )
        if warning is not None:
            self.say.say(
                "portal.acme.example's certificate expires in 5 days: the team got one warning "
                f"('{warning.subject}'). A warning opens no incident and emails no customer."
            )
            self.say.look("The warning", f"{self.urls.mail}/{warning.id}")

    async def blip(self) -> None:
        site = cast.DOCS
        self.say.step(f"A blip: {site.title} fails one probe")
        mode = self.mode(site)
        hits = mode.hits
        mode.break_for(SiteState.DOWN, hits=1)  # the fleet heals it after one probe
        try:
            async with asyncio.timeout(self.pace.wait):
                # the fleet counts hits in a plain field: poll it for one probe's time
                while mode.hits == hits:  # noqa: ASYNC110
                    await asyncio.sleep(HIT_POLL)
        finally:
            mode.state, mode.heal_after = SiteState.HEALTHY, None
        self.say.say(
            "One connection was reset. Vakt retries sooner and needs 2 failed probes in a "
            "row (confirm: 2) before it believes an outage, so nobody is paged."
        )
        await self._pause(self.pace.look, "a blip pages nobody")

    async def hard_down(self) -> Incident | None:
        site = cast.WWW
        self.say.step(f"{site.title} goes hard down (every connection reset)")
        self._break(site, SiteState.DOWN)
        incident = await self._incident(site, lambda i: i.level is Level.A, "a Level A incident")
        if incident is None:
            return None
        self.say.say(
            f"Level A (critical) incident {incident.case_number} opened, "
            f"{self._since(site, incident.opened_at)}."
        )
        page = await self._mail(
            lambda m: is_page(m) and mentions(m, incident.case_number), "the page"
        )
        if page is not None:
            self.say.say(
                f"{cast.ONCALL_NAME} (on call) was paged at once, "
                f"{self._since(site, page.received_at)}: '{page.subject}'."
            )
            self.say.look("The page, with its acknowledge link", f"{self.urls.mail}/{page.id}")
        self.say.look("The incident in the team UI", self.urls.incident(incident.case_number))
        await self._pause(self.pace.look, "Level A: paged")
        return incident

    async def serious_faults(self) -> None:
        self.say.step("Two serious faults: a broken checkout and a slow API")
        self._break(cast.BOOKING, SiteState.BROKEN_CHECKOUT)
        self._break(cast.API, SiteState.SLOW)
        self.say.say(
            f"{cast.BOOKING.title}: the home page is fine but /checkout answers 500. "
            f"{cast.API.title}: every answer now takes 5x as long as its baseline."
        )
        for site, why in ((cast.BOOKING, "checkout broken"), (cast.API, "slow")):
            incident = await self._incident(
                site, lambda i: i.level is Level.B and _open(i), f"a Level B incident ({why})"
            )
            if incident is not None:
                self.say.say(
                    f"{site.title}: Level B (serious) incident {incident.case_number}, "
                    f"{self._since(site, incident.opened_at)}."
                )
        self.say.say(
            "Pages that follow each other within 10 s (paging.group_window) are grouped: "
            "the on-call engineer gets one digest with one 'acknowledge all' link."
        )
        self.say.look("The mailbox", self.urls.mail)
        await self._pause(self.pace.look, "Level B: grouped pages")

    async def customer_emails(self, www: Incident | None) -> None:
        self.say.step("The customers are told, each in their own language")
        self.say.say(
            "Level A customers hear after customer_email_after "
            f"({self.pace.a_email_after:g} s in this demo), Level B after "
            f"{self.pace.b_email_after:g} s; then updates on a back-off until resolved."
        )
        for site, incident in ((cast.WWW, www), (cast.BOOKING, None)):
            incident = incident or await self._latest(site)
            if incident is None:
                continue
            case = incident.case_number
            mail = await self._mail(_customer_mail(case), f"the first customer email for {case}")
            if mail is not None:
                self.say.say(
                    f"{site.customer.contact} ({site.customer.name}, {site.customer.language}) "
                    f"got '{mail.subject}', {self._since(site, mail.received_at)}."
                )
                self.say.look("The thread", self.urls.thread(case))
        self.say.look("ACME's public status page", self.urls.status(cast.ACME.id))
        await self._pause(self.pace.look, "customers informed")

    async def _latest(self, site: DemoSite) -> Incident | None:
        found = await self.watch.incidents(site.id)
        return found[-1] if found else None

    async def recovery(self, www: Incident | None) -> None:
        site = cast.WWW
        self.say.step(f"{site.title} comes back")
        await asyncio.sleep(self.pace.outage)
        self._repair(site)
        incident = await self._incident(site, _resolved, "the Level A incident resolved")
        if incident is None or www is None:
            return
        self.say.say(
            f"{incident.case_number} resolved after 2 good probes in a row (recover: 2). "
            "The customer's 'resolved' email goes into the same thread."
        )
        case, repaired = www.case_number, self.marks.repaired[site.id]
        await self._mail(
            lambda m: m.role is Role.CUSTOMER and m.case == case and m.received_at >= repaired,
            f"the 'resolved' email for {case}",
        )
        self.say.look("The whole case, emails included", self.urls.thread(case))
        await self._pause(self.pace.look, "resolved")

    async def flapping(self) -> None:
        site = cast.CLUB
        self.say.step(f"{site.title} flaps: down, up, down, up ...")
        self.say.say(
            "A site that fails again soon after recovering reopens the same case; its third "
            "outage within 10 minutes marks it flapping: pages stop, the team gets one warning."
        )
        for turn in range(1, self.pace.flaps + 1):
            self._break(site, SiteState.DOWN)
            await self._pause(self.pace.flap_down, f"flap {turn}/{self.pace.flaps}: down")
            self.mode(site).state = SiteState.HEALTHY
            await self._pause(self.pace.flap_up, f"flap {turn}/{self.pace.flaps}: up")
        self.marks.repaired[site.id] = self.clock.now()
        incident = await self._incident(site, lambda i: i.flapping, "the case marked flapping")
        if incident is not None:
            pages = [m for m in self.mailbox.mails if is_page(m)]
            count = sum(mentions(m, incident.case_number) for m in pages)
            self.say.say(
                f"{self.pace.flaps} outages, one case: {incident.case_number}, marked flapping; "
                f"{count} page(s) for it."
            )
            self.say.look("The case", self.urls.incident(incident.case_number))

    async def all_clear(self) -> None:
        self.say.step("Everything is repaired")
        self._repair(cast.BOOKING)
        self._repair(cast.API)
        for site in (cast.BOOKING, cast.API, cast.CLUB):
            await self._incident(site, _resolved, f"{site.title}'s incident resolved")
        self.say.say("Every incident is resolved.")
