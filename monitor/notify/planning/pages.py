"""Pages: escalation slots per paging era, grouped per recipient and channel.

Grouping (DESIGN.md section 4): the first page to a recipient goes out at once; the
further pages to that recipient within `paging.group_window` after it are collected into
one digest, due when the window closes, with one "acknowledge all" link. The next page
after the window opens a new one. Windows are computed over every slot due so far, so the
same pages always fall into the same windows and the digest id (a hash of the recipient
and the window start) never changes.

Keys: a page is `(case, page, "<era>:<step>:<repeat>", recipient, channel)`; a digest is
`(digest-<hash>, digest, "0", recipient, channel)`.

Threads: every page of a case to one recipient on one channel, re-pages and the pages
after an upgrade or a reopen alike, replies to the first slot of that case for that
recipient (`Payload.thread`), so a mail client shows one thread per case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.config.records import TargetKind
from monitor.incidents import Incident
from monitor.notify.message import DigestEntry, MessageKind, Payload
from monitor.notify.planning.context import Context
from monitor.notify.planning.timeline import (
    Era,
    eras,
    is_quiet,
    page_stop,
    quiet_intervals,
)
from monitor.notify.planning.values import TEAM, CaseView, Key, Planned, short_hash
from monitor.policy import Downtime, PageDue, PageKind, collapse_missed, pages_due


@dataclass(frozen=True, slots=True)
class PageItem:
    """One slot of one case for one recipient on one channel."""

    view: CaseView
    era: Era
    page: PageDue
    recipient: str  # `person:<id>` or `team`
    channel: str
    stop: datetime | None  # the case's pages of this era stop here

    @property
    def due(self) -> datetime:
        return self.page.due

    @property
    def case(self) -> str:
        return self.view.incident.case or ""

    @property
    def key(self) -> Key:
        slot = f"{self.era.index}:{self.page.step}:{self.page.repeat}"
        return Key(self.case, MessageKind.PAGE.value, slot, self.recipient, self.channel)


@dataclass(frozen=True, slots=True)
class Exhausted:
    """The escalation of an era ran out without an answer: the team is warned."""

    view: CaseView
    era: Era
    due: datetime


def _recipient(kind: TargetKind, name: str) -> str:
    return TEAM if kind is TargetKind.TEAM else f"person:{name}"


def slots(
    ctx: Context, view: CaseView, downtimes: Sequence[Downtime] = ()
) -> tuple[list[PageItem], list[Exhausted]]:
    """Every page slot of the case due at or before `now`, and exhausted escalations;
    slots missed in `downtimes` collapsed (`monitor.policy.collapse_missed`)."""
    incident = view.incident
    if incident.case is None:
        return [], []
    quiet = quiet_intervals(incident)
    escalation = ctx.escalation(incident)
    items: list[PageItem] = []
    exhausted: list[Exhausted] = []
    for era in eras(incident):
        started = ctx.paging_starts(incident, era)
        if started is None:
            continue
        stop = page_stop(incident, era)
        warn = ctx.sla_warning_at(incident, era)
        schedules = ctx.config.schedules
        due = pages_due(escalation, schedules, started, ctx.now, stop, None, warn)
        loud = [page for page in due if not is_quiet(quiet, page.due)]
        for page in collapse_missed(escalation, loud, downtimes, ctx.now, stop):
            if page.missed is not None and is_quiet(quiet, page.due):
                continue
            if page.kind is PageKind.TEAM_WARNING:
                exhausted.append(Exhausted(view, era, page.due))
                continue
            for target in page.recipients:
                who = _recipient(target.kind, target.name)
                items.extend(PageItem(view, era, page, who, ch, stop) for ch in page.channels)
    return items, exhausted


@dataclass(frozen=True, slots=True)
class Group:
    """A page that goes out alone (`first`), and the digest of the window it opened."""

    first: PageItem
    bundled: tuple[PageItem, ...]


def windows(items: Iterable[PageItem], ctx: Context) -> list[Group]:
    """Split each recipient's pages on each channel into group windows."""
    width = ctx.config.settings.paging.group_window
    lanes: dict[tuple[str, str], list[PageItem]] = defaultdict(list)
    for item in items:
        lanes[(item.recipient, item.channel)].append(item)
    groups: list[Group] = []
    for lane in lanes.values():
        lane.sort(key=lambda i: (i.due, i.case, i.era.index, i.page.step, i.page.repeat))
        i = 0
        while i < len(lane):
            first, j = lane[i], i + 1
            while j < len(lane) and lane[j].due <= first.due + width:
                j += 1
            groups.append(Group(first, tuple(lane[i + 1 : j])))
            i = j
    return groups


def _order(item: PageItem) -> tuple[datetime, int, int, int]:
    return (item.due, item.era.index, item.page.step, item.page.repeat)


def thread_roots(items: Iterable[PageItem]) -> dict[tuple[str, str, str], Key]:
    """(case, recipient, channel) -> the key of the case's first slot for that recipient:
    the thread every later page of the case to them replies to."""
    first: dict[tuple[str, str, str], PageItem] = {}
    for item in items:
        lane = (item.case, item.recipient, item.channel)
        known = first.get(lane)
        if known is None or _order(item) < _order(known):
            first[lane] = item
    return {lane: item.key for lane, item in first.items()}


def plan_pages(ctx: Context, items: Sequence[PageItem]) -> list[Planned]:
    """The single pages and digests due at or before `now`."""
    out: list[Planned] = []
    width = ctx.config.settings.paging.group_window
    roots = thread_roots(items)
    for group in windows(items, ctx):
        first = group.first
        root = roots[(first.case, first.recipient, first.channel)]
        out.append(_page(ctx, first, None if root == first.key else str(root)))
        digest_due = group.first.due + width
        live = [i for i in group.bundled if i.stop is None or i.stop > digest_due]
        if live and digest_due <= ctx.now:
            out.append(_digest(ctx, group.first, live, digest_due))
    return out


def _person(recipient: str) -> str:
    return recipient.partition(":")[2] or recipient


def _since(incident: Incident) -> datetime:
    return incident.failed_at


def _page(ctx: Context, item: PageItem, thread: str | None) -> Planned:
    incident = item.view.incident
    to, name = ctx.address(item.recipient)
    key = item.key
    customer = ctx.customer(incident)
    payload = Payload(
        kind=MessageKind.PAGE,
        case=incident.case,
        site=ctx.site_label(incident),
        site_id=incident.site_id,
        customer="" if customer is None else customer.name,
        level=item.era.level,
        status=incident.status.value,
        since=_since(incident),
        respond_by=incident.respond_by,
        ack_url=ctx.ack_link(key, (item.case,), _person(item.recipient), item.due),
        incident_url=ctx.case_link(item.case, item.view.reported),
        evidence=item.view.evidence,
        summary="" if item.view.evidence else incident.description,
        title=f"Level {item.era.level.value}: {ctx.site_label(incident)}",
        to=to,
        to_name=name,
        timezone=ctx.config.settings.timezone_name,
        thread=thread,
        down_since=None if item.page.missed is None else item.page.missed.start,
        down_until=None if item.page.missed is None else item.page.missed.end,
    )
    return Planned(key, item.due, payload, item.view.incident_id)


def _digest(ctx: Context, first: PageItem, items: list[PageItem], due: datetime) -> Planned:
    person = _person(first.recipient)
    digest_id = f"digest-{short_hash(first.recipient, first.due.isoformat())}"
    key = Key(digest_id, MessageKind.DIGEST.value, "0", first.recipient, first.channel)
    cases: dict[str, PageItem] = {}
    for item in items:
        cases.setdefault(item.case, item)
    entries = tuple(
        DigestEntry(
            case=case,
            site=ctx.site_label(item.view.incident),
            level=item.era.level,
            since=_since(item.view.incident),
            ack_url=ctx.ack_link(key, (case,), person, due),
        )
        for case, item in cases.items()
    )
    to, name = ctx.address(first.recipient)
    payload = Payload(
        kind=MessageKind.DIGEST,
        incidents=entries,
        ack_url=ctx.ack_link(key, tuple(cases), person, due),
        to=to,
        to_name=name,
        timezone=ctx.config.settings.timezone_name,
    )
    return Planned(key, due, payload)
