"""Recurring maintenance has one home (issue "One source of truth", item 1).

The engine, the notification planner, the status page and `vakt maintenance list` once
expanded recurring windows with four copies of the same loop, and on a daylight-saving day
they disagreed by an hour: a `duration` was added to the local wall clock in two of them
and to the absolute time in the others. A window lasts its duration in elapsed time; its
start follows the local clock of its zone (03:00 Oslo is 03:00 in summer and in winter).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.cli.maintenance import next_occurrence
from monitor.config import Config, load_config_text
from monitor.evaluate.maintenance import in_maintenance
from monitor.notify.planning.maintenance import config_windows
from monitor.web.public.statusdata import spans


def _config(zone: str, every: str, duration: str) -> Config:
    return load_config_text(
        f"""
settings: {{timezone: Europe/Oslo}}
customers:
  acme:
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites:
      shop:
        url: https://shop.acme.example
        checks:
          home: {{path: /}}
maintenance:
  - {{sites: [acme/*], every: "{every}", duration: {duration}, timezone: "{zone}",
     reason: Patching}}
"""
    )


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# (zone, every, duration, a moment inside the occurrence, its start and end in UTC)
CASES = [
    pytest.param(
        "Europe/Oslo",
        "sun 01:30",
        "2h",
        utc(2026, 10, 25, 0, 0),
        utc(2026, 10, 24, 23, 30),  # 01:30 summer time
        utc(2026, 10, 25, 1, 30),  # two hours later: 02:30 winter time, after the fall back
        id="oslo-autumn-fall-back-inside",
    ),
    pytest.param(
        "Europe/Oslo",
        "sun 01:30",
        "2h",
        utc(2026, 3, 29, 1, 0),
        utc(2026, 3, 29, 0, 30),  # 01:30 winter time
        utc(2026, 3, 29, 2, 30),  # two hours later: 04:30 summer time
        id="oslo-spring-forward-inside",
    ),
    pytest.param(
        "Europe/Oslo",
        "sun 03:00",
        "30m",
        utc(2026, 10, 25, 2, 10),
        utc(2026, 10, 25, 2, 0),  # 03:00 winter time, the day it begins
        utc(2026, 10, 25, 2, 30),
        id="oslo-autumn-after-the-change",
    ),
    pytest.param(
        "UTC+02:00",
        "sun 01:30",
        "2h",
        utc(2026, 10, 25, 0, 0),
        utc(2026, 10, 24, 23, 30),
        utc(2026, 10, 25, 1, 30),
        id="fixed-offset",
    ),
]


@pytest.mark.parametrize(("zone", "every", "duration", "inside", "start", "end"), CASES)
def test_every_reader_sees_the_same_occurrence_on_a_dst_day(
    zone: str, every: str, duration: str, inside: datetime, start: datetime, end: datetime
) -> None:
    config = _config(zone, every, duration)
    [window] = config.maintenance
    just_before_end = end - timedelta(seconds=1)

    # the engine
    assert in_maintenance(config.maintenance, "acme/shop", start)
    assert in_maintenance(config.maintenance, "acme/shop", just_before_end)
    assert not in_maintenance(config.maintenance, "acme/shop", end)
    assert not in_maintenance(config.maintenance, "acme/shop", start - timedelta(seconds=1))
    # the notification planner
    planned = [(w.start, w.end) for w in config_windows(config, inside, timedelta(0))]
    assert planned == [(start, end)]
    # the status page
    shown = [(span.start, span.end) for _, span in spans(config.maintenance, inside, inside)]
    assert shown == [(start, end)]
    # `vakt maintenance list`
    assert next_occurrence(window, inside) == (start, end)
