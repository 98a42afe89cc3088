"""Who is on call now for every schedule, and which token is asking."""

from __future__ import annotations

from monitor.policy import next_shifts
from monitor.web.api.deps import ApiDeps
from monitor.web.api.operations import Call, Reply
from monitor.web.api.schemas import OnCallList, OnCallOut, PersonOut, WhoAmI


async def oncall_now(deps: ApiDeps, call: Call) -> Reply:
    items = []
    for name, schedule in sorted(call.config.schedules.items()):
        # The shift in progress: its person is `oncall_at(now)`, its end the next handoff.
        shift = next_shifts(schedule, call.now, 1)[0]
        person = None if shift.person is None else call.config.people.get(shift.person)
        items.append(
            OnCallOut(
                schedule=name,
                person=None if person is None else PersonOut(id=person.id, name=person.name),
                until=shift.end,
            )
        )
    return 200, OnCallList(at=call.now, items=items)


async def whoami(deps: ApiDeps, call: Call) -> Reply:
    return 200, WhoAmI(name=call.token.name, scope=call.token.scope)
