"""High availability: three `vakt run` processes on one PostgreSQL, one fenced leader.

The site is down from the start, so the leader opens a case and pages every second
(email and webhook) while every instance dispatches. The tests kill, pause and cut off
the instances and then let the site recover and the outbox drain; they count rows and
deliveries, never time (the takeover time is printed, not asserted).
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from tests.cluster.support import Lease, Members, Target, asyncpg_dsn
from tests.e2e.support import HookInbox, SmtpInbox
from tests.store.conftest import PG_DSN

pytestmark = pytest.mark.pg

# What the leader writes about a case; pages and what the dispatchers record about
# deliveries are left out (they go on through a takeover by design).
PAGING = ("paged", "customer_emailed", "acknowledged")


async def case_events(members: Members) -> Counter[str]:
    rows = await members.sql(
        "SELECT kind FROM incident_events e JOIN incidents i ON i.id = e.incident_id "
        "WHERE i.site_id = 'acme/shop'"
    )
    return Counter(r["kind"] for r in rows if r["kind"] not in PAGING)


async def non_pages(members: Members) -> set[tuple[str, str, str, str, str]]:
    rows = await members.sql(
        "SELECT subject, kind, slot, recipient, channel FROM outbox "
        "WHERE kind NOT IN ('page', 'digest')"
    )
    return {tuple(r.values()) for r in rows}  # type: ignore[misc]


async def paging(members: Members, target: Target) -> tuple[int, Lease]:
    target.down = True
    index, lease = await members.leader()

    async def paged() -> bool:
        case = await members.open_case()
        return case is not None and await members.sent() >= 4

    await members.until("an open case with pages sent", paged)
    return index, lease


async def settle(members: Members, target: Target, smtp: SmtpInbox, hooks: HookInbox) -> int:
    """Recover the site, wait for the resolution and an empty outbox, check that every
    notification arrived once under its own key; returns the duplicate count."""
    target.down = False

    async def settled() -> bool:
        case = await members.open_case()
        pending = await members.sql("SELECT id FROM outbox WHERE status = 'pending'")
        return case is not None and case["status"] == "resolved" and not pending

    await members.until("resolution and an empty outbox", settled, wait=90.0)
    rows = await members.sql("SELECT kind, channel, status, cancel_reason FROM outbox")
    ended = {"sent", "cancelled"}
    assert all(r["status"] in ended for r in rows), rows
    sent = Counter(r["channel"] for r in rows if r["status"] == "sent")
    stopped = Counter(r["channel"] for r in rows if r["status"] == "cancelled")
    mail_ids = Counter(m.message_id for m in smtp.mails)
    hook_keys = Counter(h.headers["Idempotency-Key"] for h in hooks.requests)
    assert sent["email"] <= len(mail_ids) <= sent["email"] + stopped["email"]
    assert sent["hook"] <= len(hook_keys) <= sent["hook"] + stopped["hook"]
    return sum(mail_ids.values()) - len(mail_ids) + sum(hook_keys.values()) - len(hook_keys)


async def kill_leaders(tmp_path: Path, pg_url: str, kills: int) -> None:
    """SIGKILL the leader `kills` times during an open case (the killed instance starts
    again as a standby); check the case, the timeline and the outbox after each."""
    async with (
        Target() as target,
        SmtpInbox() as smtp,
        HookInbox() as hooks,
        Members(tmp_path, pg_url, smtp=smtp.port, hook=hooks.url, target=target.url) as members,
    ):
        index, lease = await paging(members, target)
        before = await members.open_case()
        assert before is not None
        took: list[float] = []
        for kill in range(kills):
            events, others = await case_events(members), await non_pages(members)
            sent = await members.sent()
            members.expected_exit.add(index)
            assert await members.daemons[index].stop(signal.SIGKILL) == -signal.SIGKILL
            new, new_lease, seconds = await members.takeover(lease)
            took.append(seconds)
            hits = target.hits

            async def going_on(sent: int = sent, hits: int = hits) -> bool:
                return await members.sent() >= sent + 4 and target.hits >= hits + 4

            await members.until("pages and probes after the takeover", going_on)
            after = await members.open_case()
            assert after is not None
            assert (after["id"], after["case_number"], after["level"], after["status"]) == (
                before["id"],
                before["case_number"],
                before["level"],
                before["status"],
            )
            # the takeover itself wrote nothing a person sees: no timeline event, no
            # customer email or team warning
            assert await case_events(members) == events
            assert await non_pages(members) == others
            print(
                f"failover {kill + 1}: vakt{index} (term {lease.term}) killed, vakt{new} "
                f"took over (term {new_lease.term}) in {seconds:.2f} s"
            )
            if kill + 1 < kills:  # the killed instance comes back as a standby
                await members.daemons[index].start()
                members.expected_exit.discard(index)
                await members.until("the restarted instance a member", members.joined(index))
            index, lease = new, new_lease
        duplicates = await settle(members, target, smtp, hooks)
    print(f"failover: {kills} kills, takeover max {max(took):.2f} s, duplicates={duplicates}")


async def test_sigkill_of_the_leader_hands_the_open_case_to_another(
    tmp_path: Path, pg_url: str
) -> None:
    await kill_leaders(tmp_path, pg_url, kills=1)


@pytest.mark.slow
async def test_five_leaders_killed_in_turn_lose_nothing(tmp_path: Path, pg_url: str) -> None:
    await kill_leaders(tmp_path, pg_url, kills=5)


async def test_a_paused_leader_is_fenced_and_steps_down(tmp_path: Path, pg_url: str) -> None:
    async with (
        Target() as target,
        SmtpInbox() as smtp,
        HookInbox() as hooks,
        Members(tmp_path, pg_url, smtp=smtp.port, hook=hooks.url, target=target.url) as members,
    ):
        index, lease = await paging(members, target)
        paused = members.daemons[index]
        assert paused.proc is not None
        paused.proc.send_signal(signal.SIGSTOP)
        _, new_lease, _ = await members.takeover(lease)
        [marks] = await members.sql(
            "SELECT (SELECT coalesce(max(id), 0) FROM outbox) AS outbox, "
            "(SELECT coalesce(max(id), 0) FROM incident_events) AS events"
        )
        paused.proc.send_signal(signal.SIGCONT)

        async def fenced() -> bool:
            return "leader.fenced" in paused.log.read_text(errors="replace")

        await members.until("the old leader logs leader.fenced", fenced)
        # the former leader's per-check series are gone (they would go stale), the new
        # leader's are there
        old_metrics = await members.metrics(index)
        assert "\nvakt_cluster_leader 0.0" in old_metrics
        assert "vakt_check_up{" not in old_metrics
        new_index = members.index_of(new_lease.holder)

        async def new_series() -> bool:
            text = await members.metrics(new_index)
            return "\nvakt_cluster_leader 1.0" in text and "vakt_check_up{" in text

        await members.until("the new leader's per-check series", new_series)
        sent = await members.sent()

        async def going_on() -> bool:
            return await members.sent() >= sent + 4

        await members.until("pages after the old leader resumed", going_on)
        stale = await members.sql(
            "SELECT 'outbox' AS t, id FROM outbox WHERE id > $1 AND term = $3 UNION ALL "
            "SELECT 'event', id FROM incident_events WHERE id > $2 AND term = $3",
            marks["outbox"],
            marks["events"],
            lease.term,
        )
        assert stale == []
        newer = await members.sql(
            "SELECT count(*) AS n FROM outbox WHERE id > $1 AND term = $2",
            marks["outbox"],
            new_lease.term,
        )
        assert newer[0]["n"] > 0  # the new leader writes under its term
        now = await members.lease()
        assert now is not None
        assert now.term >= new_lease.term
        # a standby (the fenced former leader) takes an acknowledgement: it writes
        # through the store, outside any leader transaction
        case = await members.open_case()
        assert case is not None
        assert await members.acknowledge(index, case["case_number"]) == 200
        [acked] = await members.sql(
            "SELECT e.term, i.status, i.acknowledged_by FROM incident_events e "
            "JOIN incidents i ON i.id = e.incident_id WHERE e.kind = 'acknowledged'"
        )
        assert (acked["term"], acked["status"]) == (None, "acknowledged")
        await settle(members, target, smtp, hooks)


async def test_connections_cut_repeatedly_lose_nothing_and_readyz_tells(
    tmp_path: Path, pg_url: str
) -> None:
    database = asyncpg_dsn(pg_url).rsplit("/", 1)[1]
    async with (
        Target() as target,
        SmtpInbox() as smtp,
        HookInbox() as hooks,
        Members(tmp_path, pg_url, smtp=smtp.port, hook=hooks.url, target=target.url) as members,
    ):
        await paging(members, target)
        admin = await asyncpg.connect(PG_DSN)
        try:
            for _ in range(2):
                # a store outage: no new connection, every open one terminated
                await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    database,
                )

                async def red() -> bool:
                    codes = await asyncio.gather(*(members.readyz(i) for i in range(3)))
                    return all(code == 503 for code in codes)

                await members.until("/readyz red on every instance", red)
                await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

                async def green() -> bool:
                    codes = await asyncio.gather(*(members.readyz(i) for i in range(3)))
                    return all(code == 200 for code in codes)

                await members.until("/readyz green again", green)
                # connections of a working cluster cut without an outage: reconnects
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    database,
                )
        finally:
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
            await admin.close()
        sent = await members.sent()

        async def going_on() -> bool:
            return await members.sent() >= sent + 4

        await members.until("pages after the outages", going_on)
        duplicates = await settle(members, target, smtp, hooks)
    print(f"store outages: duplicates={duplicates}")
