"""Canaries: well-known sites probed like checks, to tell "Vakt lost its network" apart.

`settings.canaries` (none by default) become ordinary HTTP checks with ids under
`CANARY_CUSTOMER`, so the scheduler runs them and evaluation can recognise their results.
"""

from __future__ import annotations

from monitor.config.records import Check, HttpSpec, Settings
from monitor.model import CheckType, Impact

CANARY_CUSTOMER = "_canary"


def is_canary(check_id: str) -> bool:
    return check_id.startswith(f"{CANARY_CUSTOMER}/")


def canary_checks(settings: Settings) -> tuple[Check, ...]:
    """One HTTP check per configured canary URL (any status below 500 counts as reachable)."""
    defaults = settings.defaults
    return tuple(
        Check(
            id=f"{CANARY_CUSTOMER}/canaries/{index}",
            customer=CANARY_CUSTOMER,
            site="canaries",
            name=str(index),
            label=url,
            type=CheckType.HTTP,
            impact=Impact.WARNING,
            interval=defaults.interval,
            retry_interval=defaults.retry_interval,
            timeout=defaults.timeout,
            confirm=defaults.confirm,
            recover=defaults.recover,
            spec=HttpSpec(url=url, status=((100, 499),)),
        )
        for index, url in enumerate(settings.canaries)
    )
