"""`vakt cluster status`: the members of a PostgreSQL cluster (with their locations),
the leader and its term, and the probe locations with their live members (naming those
that some check needs but that have none).

With SQLite there is no cluster: the one `vakt run` is always the leader, and the
command says so. Exit codes: 0 shown (with a leader, or SQLite), 1 no leader holds the
lease now or the store is unusable, 2 bad config.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from monitor.cli._output import Painter, local, table
from monitor.cli._session import add_store_options, run_with_store
from monitor.cluster import ClusterStatus, needed_locations, read_status
from monitor.config.records import Config
from monitor.store import Store

SINGLE = "single instance (SQLite): no cluster; the one `vakt run` is always the leader"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cluster",
        help="members of the PostgreSQL cluster, the leader and its term",
        description="High availability on PostgreSQL: every `vakt run` (member) with its "
        "heartbeat, alive or dead, and which one leads under which term.",
    )
    actions = parser.add_subparsers(dest="cluster_action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="members, leader and term")
    add_store_options(status)
    status.add_argument("--json", action="store_true", help="print JSON for scripts")
    status.set_defaults(handler=run_status)


def run_status(args: argparse.Namespace) -> int:
    async def work(config: Config, store: Store) -> int:
        if store.is_sqlite:
            print(json.dumps({"cluster": False, "leader": None}) if args.json else SINGLE)
            return 0
        status = await read_status(store, config.settings.cluster.lease, needed_locations(config))
        if args.json:
            print(json.dumps({"cluster": True, **status.to_json()}, indent=2))
        else:
            for line in _as_text(status, config, Painter.for_stdout()):
                print(line)
        return 0 if status.leader is not None else 1

    return run_with_store("cluster", args, work)


def _as_text(status: ClusterStatus, config: Config, painter: Painter) -> list[str]:
    zone = config.settings.timezone
    leader = status.leader or "none (the lease ran out: a standby takes over at its next round)"
    rows = [
        (
            v.member.id,
            v.member.version,
            v.member.location,
            "leader" if v.leader else "standby" if v.alive else "dead",
            local(v.member.started, zone),
            f"{(status.now - v.member.heartbeat).total_seconds():.1f} s ago",
        )
        for v in status.members
    ]
    header = ("member", "version", "location", "role", "started", "heartbeat")
    places = ", ".join(f"{c.location} {c.live}" for c in status.locations) or "none"
    lines = [f"leader: {leader}", f"term: {status.term}", f"locations (live members): {places}"]
    if status.without_members:
        empty = ", ".join(status.without_members)
        lines.append(f"WITHOUT MEMBERS (their checks are not probed there): {empty}")
    votes = [
        (v.location, "votes" if v.voting else f"no vote since {local(v.lost_since, zone)}")
        for v in status.votes
    ]
    shown = [*lines, *table(header, rows, painter)]
    if votes:
        shown += ["", *table(("location", "vote"), votes, painter)]
    return shown
