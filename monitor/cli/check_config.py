"""`vakt check-config`: validate the config and summarise it on one screen, or list every error.

The email templates are part of the config: every one (built-in and the overrides of
`settings.email.templates`) is parsed and rendered for every message kind and language
(`monitor.notify.templatecheck`), and each failure is listed as `file:line` of the template.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from monitor.cli._common import add_config_option, config_path, load_or_report
from monitor.config import ConfigError
from monitor.config.loader import located
from monitor.config.records import Config, TargetKind
from monitor.config.tokens import STRONG_BITS, weak_tokens
from monitor.model import CheckType
from monitor.notify.readiness import channel_problems, message_warnings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check-config",
        help="validate checks.yaml and summarise it",
        description="Validate the configuration and the email templates (each rendered for "
        "every message kind and language). Prints a summary and exits 0, or prints every "
        "error (file:line: yaml.path: problem; for a template, the template's file:line) and "
        "exits 1.",
    )
    add_config_option(parser)
    parser.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="the config to check (as `promtool check config FILE`); same as -c FILE",
    )
    parser.add_argument(
        "--heartbeat-urls",
        action="store_true",
        help="list the URL each heartbeat check's job must call",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when there are warnings (what pages or customer emails would lack)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.file is not None:
        if args.config is not None and args.config != args.file:
            print("vakt check-config: give the config once: FILE or -c FILE", file=sys.stderr)
            return 2
        args.config = args.file
    config = load_or_report(args)
    if config is None:
        return 1
    from monitor.notify.templatecheck import check_templates

    issues = check_templates(config)
    problems = channel_problems(config)
    if problems:
        dead = located(config_path(args), [(p.where, p.text) for p in problems])
        issues = [*dead.issues, *issues]
    if issues:
        print(ConfigError(issues).render(), file=sys.stderr)
        return 1
    if args.heartbeat_urls:
        return print_heartbeat_urls(config)
    print(f"{config_path(args)}: OK")
    for line in summary(config):
        print(line)
    found = warnings(config)
    for warning in found:
        print(f"warning: {warning}", file=sys.stderr)
    return 1 if args.strict and found else 0


def warnings(config: Config) -> list[str]:
    """What is valid but probably not meant: guessable tokens, schedules nobody pages,
    and what pages and customer emails would lack (`monitor.notify.readiness`)."""
    found = [f"{w.path}: {w.text}" for w in message_warnings(config)]
    found += [
        f"{weak.path}: a token of about {weak.bits} bits can be guessed; use "
        f"{STRONG_BITS} bits or more (`python3 -c 'import secrets; "
        "print(secrets.token_urlsafe(32))'`)"
        for weak in weak_tokens(config)
    ]
    found.extend(
        f"oncall.schedules.{name}: no escalation policy notifies `schedule:{name}`, so "
        "nobody on it is ever paged; add it to a step of `oncall.escalation`"
        for name in unused_schedules(config)
    )
    return found


def unused_schedules(config: Config) -> list[str]:
    """Schedules that no step of any escalation policy notifies."""
    used = {
        target.name
        for escalation in config.escalations.values()
        for step in escalation.steps
        for target in step.notify
        if target.kind is TargetKind.SCHEDULE
    }
    return [name for name in config.schedules if name not in used]


def print_heartbeat_urls(config: Config) -> int:
    from monitor.probes.heartbeat import check_token, heartbeat_url

    rows = [c for c in config.checks() if c.type is CheckType.HEARTBEAT]
    for check in rows:
        token = check_token(check, config.settings)
        if token is None:
            print(f"{check.id}\t(no URL: set settings.heartbeat_key or the check's token)")
            continue
        print(f"{check.id}\t{heartbeat_url(config.settings.public_url, token)}")
    if not rows:
        print("no heartbeat checks")
    return 0


_PLURALS = {"person": "people", "escalation policy": "escalation policies"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else _PLURALS.get(word, word + 's')}"


def summary(config: Config) -> list[str]:
    sites = config.sites()
    checks = config.checks()
    by_type = Counter(c.type.value for c in checks)
    by_impact = Counter(c.impact.value for c in checks)
    types = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items()))
    impacts = ", ".join(f"{n} {i}" for i, n in sorted(by_impact.items()))
    s = config.settings
    lines = [
        f"  {_plural(len(config.customers), 'customer')}, {_plural(len(sites), 'site')}, "
        f"{_plural(len(checks), 'check')} ({types}; impact: {impacts})",
        f"  probing from '{s.location}', store {s.store}, time zone {s.timezone_name}",
        f"  {_plural(len(config.people), 'person')}, {_plural(len(config.schedules), 'schedule')}, "
        f"{_plural(len(config.escalations), 'escalation policy')}, "
        f"channels: {', '.join(['email', *config.channels])}",
    ]
    for customer in config.customers.values():
        contact = customer.primary_contact
        who = str(contact.mailbox) if contact else "no contact"
        pages = customer.escalation or f"team ({s.email.team or 'nobody: set settings.email.team'})"
        lines.append(
            f"  customer {customer.id} ({customer.name}, {customer.language.value}): "
            f"{_plural(len(customer.sites), 'site')}, policy {customer.policy}, "
            f"pages {pages}, contact {who}"
        )
    lines.append("Contracts:")
    lines.extend(f"  {line}" for line in _contracts(config))
    return lines


def _contracts(config: Config) -> list[str]:
    from monitor.policy.describe import describe_escalation, describe_policy

    used = {c.policy for c in config.customers.values()}
    lines: list[str] = []
    for name, policy in config.policies.items():
        if policy.builtin and name not in used:
            continue
        lines.extend(describe_policy(policy, config.calendars))
    for escalation in config.escalations.values():
        lines.extend(describe_escalation(escalation, config.people))
    return lines
