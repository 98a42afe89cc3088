"""`/cluster`: the members of a PostgreSQL cluster (alive or dead, with their location),
the leader and its term, the probe locations the sites list with their live members, the
locations' votes, and which member answered this page. A single instance (SQLite) says
so."""

from __future__ import annotations

from aiohttp import web

from monitor.store import StoreError
from monitor.web.state import state
from monitor.web.ui.common import login_required, render


@login_required
async def cluster(request: web.Request) -> web.StreamResponse:
    deps = state(request).deps
    context: dict[str, object] = {
        "title": "Cluster",
        "status": None,
        "served_by": deps.member,
        "clustered": deps.cluster is not None,
        "error": None,
    }
    if deps.cluster is not None:
        try:
            context["status"] = await deps.cluster()
        except StoreError as exc:
            context["error"] = str(exc)
    return render(request, "cluster.html", context)


def routes() -> list[web.RouteDef]:
    return [web.get("/cluster", cluster)]
