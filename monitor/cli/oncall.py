"""`vakt oncall`: who is on call now and the next handoffs, for every schedule."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, tzinfo
from typing import Any

from monitor.cli._common import add_config_option, load_or_report
from monitor.clock import SystemClock
from monitor.config.records import Config, Schedule
from monitor.policy.describe import describe_escalation, describe_schedule, person_name
from monitor.policy.oncall import Shift, next_shifts


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "oncall",
        help="who is on call now, and the next handoffs",
        description="For every on-call schedule: who is on call now (or at --at), the next "
        "handoffs, and the rotation and escalation policies in words.",
    )
    add_config_option(parser)
    parser.add_argument("--schedule", metavar="NAME", help="only this schedule")
    parser.add_argument(
        "--next", type=int, default=4, metavar="N", help="handoffs to show (default 4)"
    )
    parser.add_argument(
        "--at",
        metavar="TIME",
        help="ask about another moment, e.g. 2026-12-24T12:00 (in settings.timezone "
        "unless it has an offset); default: now",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(handler=run)


def _moment(text: str | None, zone: tzinfo) -> datetime:
    if text is None:
        return SystemClock().now()
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return 1
    try:
        at = _moment(args.at, config.settings.timezone)
    except ValueError:
        print(f"vakt oncall: --at: not a date and time: {args.at!r}")
        return 2
    schedules = [s for s in config.schedules.values() if args.schedule in (None, s.name)]
    if args.schedule is not None and not schedules:
        print(f"vakt oncall: no schedule called {args.schedule!r}")
        return 1
    count = max(1, args.next + 1)
    timeline = {s.name: next_shifts(s, at, count) for s in schedules}
    if args.json:
        print(json.dumps(_as_json(config, at, schedules, timeline), indent=2))
        return 0
    for line in _as_text(config, at, schedules, timeline):
        print(line)
    return 0


def _local(t: datetime | None, schedule: Schedule) -> str:
    if t is None:
        return "-"
    return t.astimezone(schedule.timezone).strftime("%a %Y-%m-%d %H:%M %Z")


def _as_text(
    config: Config, at: datetime, schedules: list[Schedule], timeline: dict[str, list[Shift]]
) -> list[str]:
    people = config.people
    lines: list[str] = []
    if not schedules:
        lines.append("No on-call schedules: pages go to the team email.")
    for schedule in schedules:
        shifts = timeline[schedule.name]
        now = shifts[0]
        lines.append(f"{schedule.name} ({schedule.timezone_name})")
        until = f" until {_local(now.end, schedule)}" if now.end is not None else ""
        lines.append(
            f"  on call at {_local(at, schedule)}: {person_name(now.person, people)}{until}"
        )
        if len(shifts) > 1:
            lines.append("  next handoffs:")
            lines.extend(
                f"    {_local(s.start, schedule):<26}{person_name(s.person, people)}"
                for s in shifts[1:]
            )
        lines.extend(f"  {line}" for line in describe_schedule(schedule, people)[1:])
        lines.append("")
    for escalation in config.escalations.values():
        described = describe_escalation(escalation, people)
        lines.append(described[0])
        lines.extend(f"  {line}" for line in described[1:])
        lines.append("")
    return lines[:-1] if lines and lines[-1] == "" else lines


def _shift_json(shift: Shift, config: Config) -> dict[str, object]:
    person = config.people.get(shift.person) if shift.person is not None else None
    return {
        "person": shift.person,
        "name": person.name if person is not None else None,
        "start": shift.start.isoformat(),
        "end": shift.end.isoformat() if shift.end is not None else None,
    }


def _as_json(
    config: Config, at: datetime, schedules: list[Schedule], timeline: dict[str, list[Shift]]
) -> dict[str, object]:
    return {
        "at": at.isoformat(),
        "schedules": [
            {
                "name": s.name,
                "timezone": s.timezone_name,
                "on_call": _shift_json(timeline[s.name][0], config),
                "next": [_shift_json(shift, config) for shift in timeline[s.name][1:]],
                "description": describe_schedule(s, config.people),
            }
            for s in schedules
        ],
        "escalations": {
            e.name: describe_escalation(e, config.people)[1:] for e in config.escalations.values()
        },
    }
