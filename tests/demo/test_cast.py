"""The configuration `vakt demo` generates is valid `checks.yaml` and says what the story
needs: two customers in nb and en, Level B paged at once, short intervals in seconds, a
warning-only certificate check against the fleet's expiring certificate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import Config, load_config
from monitor.config.records import Language, PageWhen, TlsSpec
from monitor.demo import cast
from monitor.demo.mail import Role
from monitor.demo.targets import CertKind, HostileFleet
from monitor.evaluate.baseline import MIN_BASELINE
from monitor.model import CheckType, Impact, Level


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[HostileFleet]:
    async with HostileFleet(tmp_path) as running:
        yield running


def generate(fleet: HostileFleet, directory: Path, pace: cast.Pace) -> Config:
    text = cast.checks_yaml(
        fleet, f"sqlite:///{directory / 'vakt.db'}", cast.Ports(8080, 8081, 2525), pace, "s3cret"
    )
    return load_config(str(cast.write_config(directory, text)))


@pytest.mark.parametrize("pace", [cast.NORMAL, cast.FAST], ids=["normal", "fast"])
async def test_the_generated_config_loads_with_every_demo_site(
    fleet: HostileFleet, tmp_path: Path, pace: cast.Pace
) -> None:
    config = generate(fleet, tmp_path, pace)
    assert sorted(s.id for s in config.sites()) == sorted(s.id for s in cast.SITES)
    assert {c.id: c.language for c in config.customers.values()} == {
        "nordlys": Language.NB,
        "acme": Language.EN,
    }
    assert config.settings.defaults.interval == timedelta(seconds=pace.interval)
    assert config.settings.email.smtp.port == 2525


async def test_both_levels_page_at_once_and_email_customers_within_seconds(
    fleet: HostileFleet, tmp_path: Path
) -> None:
    config = generate(fleet, tmp_path, cast.NORMAL)
    levels = config.policies["demo"].levels
    assert levels[Level.B].page is PageWhen.ALWAYS
    assert levels[Level.A].customer_email_after == timedelta(seconds=cast.NORMAL.a_email_after)


async def test_the_certificate_check_warns_only_and_targets_the_expiring_certificate(
    fleet: HostileFleet, tmp_path: Path
) -> None:
    config = generate(fleet, tmp_path, cast.FAST)
    check = config.check("acme/portal/certificate")
    assert check is not None
    assert (check.type, check.impact) == (CheckType.TLS, Impact.WARNING)
    assert isinstance(check.spec, TlsSpec)
    assert check.spec.port == fleet.tls_ports[CertKind.EXPIRING]


async def test_the_slow_site_gathers_a_baseline_within_the_warm_up(
    fleet: HostileFleet, tmp_path: Path
) -> None:
    config = generate(fleet, tmp_path, cast.FAST)
    site = config.site(cast.API.id)
    assert site is not None
    assert site.slow is not None
    samples = cast.FAST.warm_up / site.checks[0].interval.total_seconds()
    assert samples >= MIN_BASELINE


def test_every_address_of_the_cast_has_a_role() -> None:
    roles = cast.roles()
    assert roles[cast.ONCALL] is Role.PAGE
    assert roles[cast.TEAM] is Role.TEAM
    assert {roles[c.email] for c in cast.CUSTOMERS} == {Role.CUSTOMER}
