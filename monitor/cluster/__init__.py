"""High availability on PostgreSQL: membership, the fenced leader lease, cluster status.

Several `vakt run` processes share one PostgreSQL database. Each is a member with a
heartbeat (`cluster_members`); one holds the leader lease with a fencing term
(`cluster_lease`) and probes, evaluates, plans and runs the periodic jobs, every leader
transaction checking the term inside itself (`Store.transaction(fence=node)`); all of
them serve the web apps and dispatch notifications. With SQLite none of this runs: one
process, always the leader, the same code paths without a fence.
"""

from monitor.cluster.lease import alive, decide
from monitor.cluster.node import ClusterNode, ClusterObserver, Identity
from monitor.cluster.shard import LocationCount, locations_report, owner, shard
from monitor.cluster.status import (
    ClusterStatus,
    LocationVote,
    MemberView,
    live_members,
    needed_locations,
    read_status,
)

__all__ = [
    "ClusterNode",
    "ClusterObserver",
    "ClusterStatus",
    "Identity",
    "LocationCount",
    "LocationVote",
    "MemberView",
    "alive",
    "decide",
    "live_members",
    "locations_report",
    "needed_locations",
    "owner",
    "read_status",
    "shard",
]
