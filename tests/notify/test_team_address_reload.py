"""Issue 16 problem 5: the dispatcher's team warnings go to the team address of the
config now in force (a reload that changes `settings.email.team` applies at once)."""

from __future__ import annotations

from datetime import timedelta

from monitor.config.records import Mailbox
from monitor.notify.dispatcher import OutboxTeamWarner
from monitor.notify.message import Payload
from monitor.store import Store
from tests.notify.support import T0


async def test_problem_5_team_warnings_follow_the_current_team_address(
    store: Store,
) -> None:
    team: list[Mailbox | None] = [Mailbox("ops@agency.example")]
    warner = OutboxTeamWarner(store, lambda: team[0])
    await warner.channel_failing("slack-ops", 5, "HTTP 503", T0, permanent=False)
    team[0] = Mailbox("noc@agency.example")  # what a reload does to the config the lambda reads
    later = T0 + timedelta(hours=1)
    await warner.channel_failing("slack-ops", 5, "HTTP 503", later, permanent=False)
    team[0] = None  # no team address any more: nothing to queue
    await warner.template_failing("page.txt", "boom", T0 + timedelta(hours=2))
    async with store.transaction(read_only=True) as tx:
        items = await tx.outbox.find()
    recipients = sorted(str(Payload.from_json(item.payload).to) for item in items)
    assert recipients == ["noc@agency.example", "ops@agency.example"]
