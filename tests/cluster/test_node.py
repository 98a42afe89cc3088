"""Cluster nodes on PostgreSQL, in-process: one leader, fenced transactions, a takeover
under a new term, the former leader stepping down, and `vakt cluster status`."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.clock import SystemClock
from monitor.cluster import ClusterNode, Identity
from monitor.config.records import ClusterSettings
from monitor.engine.state import VOTE, vote_to_json
from monitor.store import Fenced, Notification, OutboxKey, Store

pytestmark = pytest.mark.pg

CONFIG = """\
vakt: 1
settings:
  store: "{url}"
  email: {{team: ops@agency.example}}
customers:
  acme:
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites:
      shop:
        checks: {{home: {{url: http://127.0.0.1:9/}}}}
"""
SETTINGS = ClusterSettings(heartbeat=timedelta(milliseconds=100), lease=timedelta(seconds=1))


class Node:
    """A `ClusterNode` that records what it was told (lead or follow)."""

    def __init__(self, store: Store, name: str, pid: int) -> None:
        self.told: list[bool] = []
        self.node = ClusterNode(
            store,
            SETTINGS,
            Identity(f"{name}:{pid}", name, pid, "test"),
            SystemClock(),
            on_change=self._told,
        )

    async def _told(self, leading: bool) -> None:
        self.told.append(leading)


def page(slot: str) -> Notification:
    at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    key = OutboxKey("case-1", "page", slot, "person:alice", "email")
    return Notification(key=key, payload="{}", created_at=at, due_at=at)


async def outbox_terms(store: Store) -> list[int | None]:
    async with store.transaction(read_only=True) as tx:
        rows = await tx.outbox.conn.exec_driver_sql("SELECT term FROM outbox ORDER BY id")
        return [r[0] for r in rows]


async def test_a_takeover_raises_the_term_and_fences_the_former_leader(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Store(pg_url) as store:
        a, b = Node(store, "a", 1), Node(store, "b", 2)
        await a.node.round()
        await b.node.round()
        assert (a.node.term, b.node.term, a.told, b.told) == (1, None, [True], [])
        async with store.transaction(fence=a.node) as tx:
            await tx.outbox.add([page("0")])
        with pytest.raises(Fenced):  # a standby's leader transaction writes nothing
            async with store.transaction(fence=b.node) as tx:
                await tx.outbox.add([page("b")])
        async with asyncio.timeout(30):  # a stops renewing: b takes over once it ran out
            while b.node.term is None:
                await asyncio.sleep(0.1)
                await b.node.round()
        assert b.node.term == 2
        with pytest.raises(Fenced):  # a, not yet aware, cannot write under term 1
            async with store.transaction(fence=a.node) as tx:
                await tx.outbox.add([page("1")])
        async with store.transaction(fence=b.node) as tx:
            await tx.outbox.add([page("2")])
        assert await outbox_terms(store) == [1, 2]
        with caplog.at_level(logging.INFO, logger="monitor.cluster"):
            await a.node.round()
        assert (a.node.term, a.told) == (None, [True, False])
        assert "leader.fenced" in [r.message for r in caplog.records]


async def test_a_clean_stop_hands_the_lease_over_at_the_next_round(pg_url: str) -> None:
    async with Store(pg_url) as store:
        a, b = Node(store, "a", 1), Node(store, "b", 2)
        await a.node.round()
        await a.node.leave()
        await b.node.round()
        assert (b.node.term, b.told) == (2, [True])


async def test_cluster_status_lists_members_leader_and_term(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "checks.yaml"
    config.write_text(CONFIG.format(url=pg_url))
    async with Store(pg_url) as store:
        a, b = Node(store, "a", 1), Node(store, "b", 2)
        for node in (a, b):
            await node.node.round()
        code = await asyncio.to_thread(main, ["cluster", "status", "--json", "-c", str(config)])
    shown = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (shown["leader"], shown["term"]) == ("a:1", 1)
    assert [(m["id"], m["alive"], m["leader"]) for m in shown["members"]] == [
        ("a:1", True, True),
        ("b:2", True, False),
    ]


LOST = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


async def store_votes(store: Store) -> None:
    """What the leader's engine writes in its flush: oslo votes, frankfurt lost its vote."""
    votes = {"oslo": vote_to_json(None), "frankfurt": vote_to_json(LOST)}
    async with store.transaction() as tx:
        await tx.memory.save(VOTE, votes, LOST)


async def test_cluster_status_shows_which_location_votes(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "checks.yaml"
    config.write_text(CONFIG.format(url=pg_url))
    async with Store(pg_url) as store:
        await Node(store, "a", 1).node.round()
        await store_votes(store)
        code = await asyncio.to_thread(main, ["cluster", "status", "--json", "-c", str(config)])
        shown = json.loads(capsys.readouterr().out)
        text_code = await asyncio.to_thread(main, ["cluster", "status", "-c", str(config)])
        text = capsys.readouterr().out
    assert (code, text_code) == (0, 0)
    assert shown["votes"] == [
        {"location": "frankfurt", "voting": False, "lost_since": LOST.isoformat()},
        {"location": "oslo", "voting": True, "lost_since": None},
    ]
    assert "frankfurt" in text
    assert "no vote" in text


def test_cluster_status_on_sqlite_says_there_is_no_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'vakt.db'}"

    async def migrate() -> None:
        async with Store(url) as store:
            await store.upgrade()

    asyncio.run(migrate())
    config = tmp_path / "checks.yaml"
    config.write_text(CONFIG.format(url=url))
    assert main(["cluster", "status", "-c", str(config)]) == 0
    assert "no cluster" in capsys.readouterr().out
