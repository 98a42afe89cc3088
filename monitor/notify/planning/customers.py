"""Customer emails about one case, to every contact of the customer, on the `email` channel.

- **opened**: `customer_email_after` after the opening (a case resolved before then emails
  nobody: a blip); with `customer_emails: approve` not before the approval; a level whose
  pages wait for business hours (`page: business_hours`, a Level B at night) waits for the
  opening too; inside a pause or silence it waits for the end. Sent once per case: a
  reopened case gets no new "down" email.
- **update**: on the `update_every` back-off list from the opened email (the last span
  repeats; business spans count on the policy's business clock), with the latest public
  note. Only the latest due update is sent, so a planner that was down does not catch up
  with a burst of stale updates.
- **level changed**: when the level changes after the opened email, except while
  flapping (then only the updates go out: at most one email per update interval).
- **resolved**: when the case resolves after the opened email, with duration and summary.
  Flapping (DESIGN.md: customers get no more than one email per `update_every`): once
  the case is marked flapping, only the update back-off goes out while it is open, and
  a resolution's email is held until the case has stayed resolved past
  `flapping.reopen_within` (it can no longer reopen): one "resolved" email for the
  final resolution instead of one per resolve/reopen cycle.

Nothing goes out while the case is paused or silenced. Every email of a case to one
contact has the same thread: the key of its opened email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config.records import (
    BusinessDuration,
    Contact,
    Customer,
    CustomerEmails,
    LevelPolicy,
    PageWhen,
    Span,
)
from monitor.incidents import EventKind, Incident, IncidentKind
from monitor.notify.message import MessageKind, Payload
from monitor.notify.planning.context import Context
from monitor.notify.planning.timeline import (
    Interval,
    after_quiet,
    events,
    is_quiet,
    quiet_intervals,
)
from monitor.notify.planning.values import EMAIL, CaseView, Key, Planned
from monitor.policy import BusinessClock

_PAST = timedelta(seconds=1)
_MAX_UPDATES = 10_000  # a bound on the back-off walk, far above any real case


@dataclass(frozen=True, slots=True)
class Plan:
    """One case's customer-facing facts shared by its emails."""

    view: CaseView
    customer: Customer
    policy: LevelPolicy
    clock: BusinessClock
    quiet: list[Interval]
    opened_due: datetime
    technical_details: bool = False  # the policy's opt-in to internals in customer emails

    @property
    def incident(self) -> Incident:
        return self.view.incident


def _first_due(view: CaseView, policy: LevelPolicy, clock: BusinessClock) -> datetime | None:
    """When the opened email is due; None while it waits for an approval or a silence."""
    incident = view.incident
    due = incident.opened_at + policy.customer_email_after
    if policy.customer_emails is CustomerEmails.APPROVE:
        if view.approved_at is None:
            return None
        due = max(due, view.approved_at)
    if policy.page is PageWhen.BUSINESS_HOURS:
        due = clock.roll_forward(due)
    return after_quiet(quiet_intervals(incident), due)


def _plan(ctx: Context, view: CaseView) -> Plan | None:
    incident = view.incident
    customer = ctx.customer(incident)
    policy = ctx.level_policy(incident, incident.level)
    clock = ctx.clock(incident)
    if incident.kind is not IncidentKind.SITE or incident.case is None:
        return None
    if customer is None or policy is None or clock is None:
        return None
    if policy.customer_emails is CustomerEmails.OFF:
        return None
    due = _first_due(view, policy, clock)
    if due is None:
        return None
    if incident.resolved_at is not None and incident.resolved_at <= due:
        return None  # a blip: resolved before anyone was told
    technical = ctx.technical_details(incident)
    return Plan(view, customer, policy, clock, quiet_intervals(incident), due, technical)


def _advance(clock: BusinessClock, at: datetime, span: Span) -> datetime:
    if isinstance(span, BusinessDuration):
        return clock.add(at, span)
    return at + span


def _updates(plan: Plan, now: datetime) -> tuple[int, datetime, datetime] | None:
    """(index, due, next due) of the latest update due at or before `now`, if any."""
    spans = plan.policy.update_every
    if not spans:
        return None
    stop = plan.incident.resolved_at
    latest: tuple[int, datetime, datetime] | None = None
    at = plan.opened_due
    for i in range(_MAX_UPDATES):
        nxt = _advance(plan.clock, at, spans[min(i, len(spans) - 1)])
        if nxt > now or (stop is not None and nxt >= stop) or nxt <= at:
            break
        at = nxt
        latest = (i, at, _advance(plan.clock, at, spans[min(i + 1, len(spans) - 1)]))
    return latest


def next_update_at(plan: Plan, after: datetime) -> datetime:
    """The first update time strictly after `after`."""
    spans = plan.policy.update_every
    at = plan.opened_due
    for i in range(_MAX_UPDATES):
        at = _advance(plan.clock, at, spans[min(i, len(spans) - 1)])
        if at > after:
            break
    return at


def customer_times(ctx: Context, view: CaseView) -> list[datetime]:
    """The times the case's customer emails are due or may fall due (the opened email, the
    next update after `now`, the "resolved" email, held or not): when planning it again
    may give an email. Level changes are timeline events (see `monitor.notify.planning.wake`)."""
    plan = _plan(ctx, view)
    if plan is None:
        return []
    out = [plan.opened_due]
    if plan.policy.update_every and plan.incident.resolved_at is None:  # none after it
        out.append(next_update_at(plan, max(ctx.now, plan.opened_due)))
    resolved = resolved_due(ctx, plan.incident)
    if resolved is not None:
        out.append(resolved)
    return out


def customer_emails(ctx: Context, view: CaseView) -> list[Planned]:
    plan = _plan(ctx, view)
    if plan is None or plan.opened_due > ctx.now:
        return []
    out: list[Planned] = []
    for contact in plan.customer.contacts:
        out.extend(_for_contact(ctx, plan, contact))
    return out


def _for_contact(ctx: Context, plan: Plan, contact: Contact) -> list[Planned]:
    recipient = f"contact:{contact.email}"
    opened = _email(ctx, plan, contact, MessageKind.CUSTOMER_OPENED, "0", plan.opened_due)
    thread = str(Key(plan.incident.case or "", opened.payload.kind.value, "0", recipient, EMAIL))
    out = [opened]
    update = _updates(plan, ctx.now)
    if update is not None and not is_quiet(plan.quiet, update[1]):
        i, due, nxt = update
        out.append(_email(ctx, plan, contact, MessageKind.CUSTOMER_UPDATE, f"{i}", due, nxt))
    out.extend(_level_changes(ctx, plan, contact))
    resolved = _resolved(ctx, plan, contact)
    if resolved is not None:
        out.append(resolved)
    return [p if p is opened else _threaded(p, thread) for p in out]


def _threaded(planned: Planned, thread: str) -> Planned:
    return Planned(
        planned.key,
        planned.due_at,
        planned.payload.with_changes(thread=thread),
        planned.incident_id,
    )


def _level_changes(ctx: Context, plan: Plan, contact: Contact) -> list[Planned]:
    out: list[Planned] = []
    flapping = flapping_since(plan.incident)
    resolved = plan.incident.resolved_at
    changes = [e for e in events(plan.incident) if e.kind is EventKind.LEVEL_CHANGED]
    for n, e in enumerate(changes):
        if e.at <= plan.opened_due or e.at > ctx.now or is_quiet(plan.quiet, e.at):
            continue
        if (flapping is not None and e.at >= flapping) or (
            resolved is not None and e.at >= resolved
        ):
            continue
        email = _email(ctx, plan, contact, MessageKind.CUSTOMER_LEVEL_CHANGED, f"{n}", e.at)
        payload = email.payload.with_changes(level=e.level, previous_level=e.previous_level)
        out.append(Planned(email.key, email.due_at, payload, email.incident_id))
    return out


def flapping_since(incident: Incident) -> datetime | None:
    """When the case was marked flapping (its first FLAPPING event; the opening when only
    the flag says so); None: not flapping."""
    marked = next((e.at for e in events(incident) if e.kind is EventKind.FLAPPING), None)
    if marked is None and incident.flapping:
        return incident.opened_at
    return marked


def resolved_due(ctx: Context, incident: Incident) -> datetime | None:
    """When the customer's "resolved" email for the current resolution is due.

    At the resolution, except for a flapping case: a resolution at or after the case was
    marked flapping is held until the case has stayed resolved for
    `flapping.reopen_within`, so only the final resolution of a flapping case is told (a
    reopen within that time clears the resolution and the held email is never planned).
    """
    resolved = incident.resolved_at
    if resolved is None:
        return None
    flapping = flapping_since(incident)
    if flapping is not None and resolved >= flapping:
        # strictly after the window: a failure at exactly `reopen_within` still reopens
        return resolved + ctx.config.settings.flapping.reopen_within + _PAST
    return resolved


def _resolved(ctx: Context, plan: Plan, contact: Contact) -> Planned | None:
    resolved = plan.incident.resolved_at
    due = resolved_due(ctx, plan.incident)
    if resolved is None or due is None or due > ctx.now or is_quiet(plan.quiet, resolved):
        return None
    reopens = sum(1 for e in plan.incident.timeline if e.kind is EventKind.REOPENED)
    return _email(ctx, plan, contact, MessageKind.CUSTOMER_RESOLVED, f"{reopens}", due)


def _technical(plan: Plan, kind: MessageKind) -> str:
    """The engine's own account of what failed (check URLs, probe locations, HTTP
    details, in English): in the resolved email only when the customer's policy sets
    `technical_details`; customers otherwise read only the facts the templates word."""
    if kind is not MessageKind.CUSTOMER_RESOLVED or not plan.technical_details:
        return ""
    return plan.incident.description


def _email(
    ctx: Context,
    plan: Plan,
    contact: Contact,
    kind: MessageKind,
    slot: str,
    due: datetime,
    next_update: datetime | None = None,
) -> Planned:
    incident = plan.incident
    key = Key(incident.case or "", kind.value, slot, f"contact:{contact.email}", EMAIL)
    if (
        next_update is None
        and kind is not MessageKind.CUSTOMER_RESOLVED
        and plan.policy.update_every
    ):
        next_update = next_update_at(plan, due)
    payload = Payload(
        kind=kind,
        case=incident.case,
        site=ctx.site_label(incident),
        site_id=incident.site_id,
        checks=ctx.check_labels(incident),
        customer=plan.customer.name,
        level=incident.level,
        status=incident.status.value,
        since=incident.opened_at,
        resolved_at=incident.resolved_at if kind is MessageKind.CUSTOMER_RESOLVED else None,
        next_update_at=next_update,
        note=plan.view.public_note,
        summary=_technical(plan, kind),
        to=contact.mailbox,
        to_name=contact.name,
        language=plan.customer.language,
        timezone=plan.customer.timezone_name,
    )
    return Planned(key, due, payload, plan.view.incident_id)
