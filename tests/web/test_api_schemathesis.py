"""schemathesis against the live API on loopback: no 500s, every response matches the
OpenAPI document (status documented, JSON content type, body valid against its schema).

The server runs in a thread with its own event loop on 127.0.0.1 (schemathesis calls it
synchronously through `requests`); a real SQLite store in a temporary directory holds a
few incidents, check states and windows, so generated paths hit real rows as well as
missing ones. Each operation gets at most `EXAMPLES` generated requests.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from monitor.clock import FixedClock
from monitor.intake import Desk
from monitor.model import CheckState, IncidentStatus, Level
from monitor.store import (
    CheckStatus,
    MaintenanceWindow,
    Silence,
    SilenceScope,
    SiteStatus,
    Store,
)
from monitor.web.api import OPERATIONS, openapi_document
from tests.web.api_support import (
    T0,
    WRITE,
    Deps,
    add_incidents,
    build_app,
    config,
    incident,
)

EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
DOC = openapi_document(OPERATIONS, version="test")
# Besides fully generated requests, some that name seeded rows and carry valid bodies,
# so the generated traffic reaches the handlers' success paths too.
KNOWN_PATH = {
    "case": "VAKT-2026-000001",
    "customer": "acme",
    "site": "shop",
    "check": "home",
    "id": "1",
}
VALID_BODY: dict[tuple[str, str], dict[str, Any]] = {
    ("/maintenance", "POST"): {
        "sites": ["acme/shop"],
        "start": "2026-03-03T22:00:00+01:00",
        "end": "2026-03-03T23:00:00+01:00",
        "reason": "Upgrade",
    },
    ("/silences", "POST"): {"scope": "site", "target": "beta/web", "end": "2026-03-04T00:00:00Z"},
    ("/incidents/{case}/notes", "POST"): {"text": "<b>looking</b>", "public": True},
    ("/incidents/{case}/acknowledge", "POST"): {"person": "alice"},
}
ENDPOINTS = [(path, method.upper()) for path, item in DOC["paths"].items() for method in item]


async def seed(store: Store) -> None:
    [shop, *_] = await add_incidents(
        store,
        incident("VAKT-2026-000001"),
        incident("VAKT-2026-000002", "beta/web", status=IncidentStatus.RESOLVED, level=Level.B),
        incident("VAKT-2026-000003", opened_at=T0 - timedelta(days=1)),
    )
    async with store.transaction() as tx:
        await tx.checks.save(
            [CheckStatus("acme/shop/home", "oslo", CheckState.FAILING, T0, T0, failures=3)]
        )
        await tx.sites.save([SiteStatus("acme/shop", Level.A, T0, T0, shop.id)])
        await tx.maintenance.add(
            MaintenanceWindow(
                ("acme/*",), T0, T0 + timedelta(days=1), "Upgrade", "alice", created_at=T0
            )
        )
        await tx.silences.add(
            Silence(SilenceScope.SITE, "acme/shop", T0, T0 + timedelta(hours=1), "", "bob", T0)
        )


@dataclass
class Live:
    base_url: str


class ServerThread:
    """The API app served on 127.0.0.1 from a thread with its own event loop."""

    def __init__(self, db: Path) -> None:
        self._db = db
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._store: Store | None = None

    def start(self) -> str:
        self._thread.start()
        base_url: str = self._run(self._start())
        return base_url

    def stop(self) -> None:
        self._run(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=30)

    async def _start(self) -> str:
        self._store = Store(f"sqlite:///{self._db}")
        await self._store.open()
        await self._store.upgrade()
        await seed(self._store)
        cfg = config()
        clock = FixedClock(T0 + timedelta(minutes=5))
        desk = Desk(self._store, lambda: cfg, clock)
        app = build_app(Deps(self._store, lambda: cfg, clock, desk=desk))
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}/api/v1"

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._store is not None:
            await self._store.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    server = ServerThread(tmp_path_factory.mktemp("schemathesis") / "vakt.db")
    base_url = server.start()
    try:
        yield Live(base_url)
    finally:
        server.stop()


def test_the_served_document_is_the_one_under_test(live: Live) -> None:
    served = requests.get(f"{live.base_url}/openapi.json", timeout=10).json()
    assert served["paths"].keys() == DOC["paths"].keys()
    assert served["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "A token whose sha256 is in `settings.web.api_tokens`.",
        }
    }


@pytest.mark.parametrize(("path", "method"), ENDPOINTS, ids=[f"{m} {p}" for p, m in ENDPOINTS])
def test_operation_conforms_to_the_document(live: Live, path: str, method: str) -> None:
    operation = schemathesis.openapi.from_dict(DOC)[path][method]
    names = {p["name"] for p in DOC["paths"][path][method.lower()].get("parameters", ())}
    known = {k: v for k, v in KNOWN_PATH.items() if k in names}
    strategies = [operation.as_strategy(), operation.as_strategy(path_parameters=known)]
    if (path, method) in VALID_BODY:
        body = VALID_BODY[(path, method)]
        strategies.append(operation.as_strategy(path_parameters=known, body=body))
    session = requests.Session()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def run(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(
            base_url=live.base_url, session=session, headers=WRITE, checks=CHECKS, timeout=10
        )

    try:
        run()
    finally:
        session.close()
