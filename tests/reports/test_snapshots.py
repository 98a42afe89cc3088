"""Frozen once sent (issue 21, part 3): a month's report is stored with its figures, files
and config version; showing it again shows the stored one; `--recompute` makes a new
numbered version and says what changed."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config.loader import load_config
from monitor.model import IncidentStatus, Level
from monitor.reports.figures import Month
from monitor.store import Incident, SiteChange, Store
from monitor.store.aggregates import Aggregate
from tests.reports.test_figures import oslo

NOV = Month(2026, 11)

CONFIG = """\
vakt: 1
settings: {{timezone: Europe/Oslo, store: "{store}"}}
customers:
  acme:
    name: ACME AS
    language: nb
    timezone: Europe/Oslo
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop: {{url: "http://127.0.0.1:9/", checks: {{home: {{path: /}}}}}}
"""


def outage(number: int, start: datetime, minutes: int) -> tuple[Incident, list[SiteChange]]:
    end = start + timedelta(minutes=minutes)
    row = Incident(
        case_number=f"VAKT-2026-{number:06d}",
        site_id="acme/shop",
        customer_id="acme",
        level=Level.A,
        status=IncidentStatus.RESOLVED,
        opened_at=start,
        updated_at=end,
        resolved_at=end,
    )
    return row, [
        SiteChange("acme/shop", start, None, Level.A),
        SiteChange("acme/shop", end, Level.A, None),
    ]


async def seed(url: str, *outages: tuple[Incident, list[SiteChange]], probes: bool) -> None:
    async with Store(url) as store, store.transaction() as tx:
        for row, changes in outages:
            await tx.incidents.insert(row)
            await tx.sites.append_changes(changes)
        if probes:  # probes covered the 3rd of November
            start = oslo(2026, 11, 3)
            await tx.results.add_aggregates(
                [
                    Aggregate("acme/shop/home", "oslo", start + n * timedelta(minutes=5), ok=5)
                    for n in range(288)
                ]
            )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'vakt.db'}"

    async def migrate() -> None:
        async with Store(url) as store:
            await store.upgrade()

    asyncio.run(migrate())
    config = tmp_path / "checks.yaml"
    config.write_text(CONFIG.format(store=url))
    return config, url


def report(config: Path, out: Path, *extra: str) -> int:
    where = ["-c", str(config), "--out", str(out), "--format", "html,json", "--by", "alice"]
    return main(["report", "--month", "2026-11", "--customer", "acme", *where, *extra])


async def freeze_now(config: Path, url: str) -> None:
    """Freeze the month as the monthly email does: compute, render, store version 1."""
    from monitor.reports import snapshot
    from monitor.reports.gather import read_month

    loaded = load_config(str(config))
    customer = loaded.customers["acme"]
    async with Store(url) as store:
        async with store.transaction(read_only=True) as tx:
            figures = await read_month(tx, loaded, customer, NOV, oslo(2026, 12, 2))
        built = await asyncio.to_thread(snapshot.build, figures, customer, loaded, False)
        async with store.transaction() as tx:
            await tx.reports.freeze(snapshot.to_snapshot(built, "vakt", oslo(2026, 12, 2)))


def test_a_frozen_month_is_shown_as_stored_until_recomputed(
    setup: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = setup
    asyncio.run(seed(url, outage(1, oslo(2026, 11, 3, 10), 60), probes=True))
    asyncio.run(freeze_now(config, url))
    # later, a case turns up that the sent report did not have
    asyncio.run(seed(url, outage(2, oslo(2026, 11, 3, 14), 30), probes=False))

    shown = tmp_path / "shown"
    assert report(config, shown) == 0
    stored = json.loads((shown / "acme-2026-11.json").read_text())
    assert [c["case"] for c in stored["cases"]] == ["VAKT-2026-000001"]
    assert stored["down_s"] == 3600
    assert "frozen version 1" in capsys.readouterr().err

    again = tmp_path / "again"
    assert report(config, again, "--recompute") == 0
    said = capsys.readouterr().err
    fresh = json.loads((again / "acme-2026-11.json").read_text())
    assert [c["case"] for c in fresh["cases"]] == ["VAKT-2026-000001", "VAKT-2026-000002"]
    assert fresh["down_s"] == 5400
    assert "version 2 frozen" in said
    assert "down_s: 3600 -> 5400" in said
    assert "VAKT-2026-000002: None -> met" in said

    async def versions() -> list[tuple[int, str]]:
        async with Store(url) as store, store.transaction(read_only=True) as tx:
            newest = await tx.reports.latest("acme", "2026-11")
            first = await tx.reports.months("acme", "2026-01")
        assert newest is not None
        return [(newest.version, newest.created_by), *((s.version, s.created_by) for s in first)]

    assert asyncio.run(versions()) == [(2, "alice"), (2, "alice")]
    # and showing it now shows version 2
    assert report(config, tmp_path / "third") == 0
    assert "frozen version 2" in capsys.readouterr().err


def test_a_month_never_sent_is_computed_and_not_stored(
    setup: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = setup
    asyncio.run(seed(url, outage(1, oslo(2026, 11, 3, 10), 60), probes=True))
    assert report(config, tmp_path / "out", "--recompute") == 0
    assert "frozen" not in capsys.readouterr().err

    async def latest() -> object:
        async with Store(url) as store, store.transaction(read_only=True) as tx:
            return await tx.reports.latest("acme", "2026-11")

    assert asyncio.run(latest()) is None
