"""Maintenance emails to every contact of each affected customer.

- **announced** `announce` before the start (only before the start: once it has begun the
  "started" email says it all);
- **started** at the start, while the window lasts;
- **finished** at its end (or when it was ended early).

Keys: `(<window id>, maintenance_<what>, "0", contact:<email>, email)`; a recurring window's
id includes the occurrence's start, so each occurrence is its own subject.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from monitor.config.records import Config, Contact, Customer, Maintenance
from monitor.evaluate.maintenance import occurrences_between
from monitor.notify.message import MaintenanceInfo, MessageKind, Payload
from monitor.notify.planning.context import Context
from monitor.notify.planning.values import EMAIL, Key, Planned, WindowView


def _sent(ctx: Context, window: WindowView) -> list[tuple[MessageKind, datetime]]:
    now, out = ctx.now, []
    finished = window.finished_at
    if window.announce is not None and window.announce <= now < window.start:
        out.append((MessageKind.MAINTENANCE_ANNOUNCED, window.announce))
    if window.start <= now < finished:
        out.append((MessageKind.MAINTENANCE_STARTED, window.start))
    if finished <= now and window.start < finished:
        out.append((MessageKind.MAINTENANCE_FINISHED, finished))
    return out


def _affected(ctx: Context, window: WindowView) -> Iterator[tuple[Customer, tuple[str, ...]]]:
    for customer in ctx.config.customers.values():
        labels = tuple(s.label for s in customer.sites if s.id in window.site_ids)
        if labels:
            yield customer, labels


def maintenance_emails(ctx: Context, window: WindowView) -> list[Planned]:
    """The window's emails due at or before `now`."""
    out: list[Planned] = []
    for kind, due in _sent(ctx, window):
        for customer, labels in _affected(ctx, window):
            out.extend(_email(window, customer, labels, c, kind, due) for c in customer.contacts)
    return out


def _thread(window: WindowView, contact: Contact) -> str:
    first = (
        MessageKind.MAINTENANCE_ANNOUNCED if window.announce else MessageKind.MAINTENANCE_STARTED
    )
    return str(Key(window.id, first.value, "0", f"contact:{contact.email}", EMAIL))


def _email(
    window: WindowView,
    customer: Customer,
    labels: tuple[str, ...],
    contact: Contact,
    kind: MessageKind,
    due: datetime,
) -> Planned:
    key = Key(window.id, kind.value, "0", f"contact:{contact.email}", EMAIL)
    thread = _thread(window, contact)
    payload = Payload(
        kind=kind,
        customer=customer.name,
        maintenance=MaintenanceInfo(window.start, window.finished_at, window.reason),
        sites=labels,
        to=contact.mailbox,
        to_name=contact.name,
        language=customer.language,
        timezone=customer.timezone_name,
        thread=None if str(key) == thread else thread,
    )
    return Planned(key, due, payload)


# ---------------------------------------------------------------- config windows


def covered_sites(config: Config, patterns: tuple[str, ...]) -> tuple[str, ...]:
    """The site ids matching `customer/site`, `customer/*` or `*` patterns."""
    probe = Maintenance(id="", sites=patterns, timezone=UTC, timezone_name="UTC", reason="")
    return tuple(site.id for site in config.sites() if probe.covers(site.id))


def config_windows(config: Config, now: datetime, lookback: timedelta) -> list[WindowView]:
    """The config's windows (and recurring occurrences) that are announced, running, or
    finished within `lookback` of `now`."""
    out: list[WindowView] = []
    for m in config.maintenance:
        sites = covered_sites(config, m.sites)
        for occurrence in occurrences_between(m, now - lookback, now + (m.announce or _NONE)):
            if occurrence.end <= now - lookback:
                continue
            start = occurrence.start
            wid = m.id if m.recurrence is None else f"{m.id}@{start.isoformat()}"
            announce = None if m.announce is None else start - m.announce
            out.append(WindowView(wid, sites, start, occurrence.end, m.reason, announce))
    return out


_NONE = timedelta()
