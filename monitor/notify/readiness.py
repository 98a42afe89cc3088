"""What a page or a customer email would lack under a config, and which channels cannot
work at all.

`message_warnings` are warnings, not errors: `vakt check-config` prints them (exit 0;
`--strict` makes them fail). A config with these gaps still runs: Vakt pages and emails,
but the messages are poorer than they should be (a sender at `localhost`, links that only
work on this machine). A missing `settings.secret` is no gap: `vakt run` generates one
and keeps it in the database (`monitor.notify.signing`).

`channel_problems` are errors: a configured channel that cannot deliver anything (email
with no SMTP host, a person paged by email who has no address, PagerDuty without a
routing key). `vakt run` refuses to start with them (exit 2) and `vakt check-config`
reports them (exit 1). What merely looks local (a server on this machine) stays a warning:
it may well work.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.config.errors import dotted
from monitor.config.records import ChannelType, Config, EmailSettings, TargetKind

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


@dataclass(frozen=True, slots=True)
class MessageWarning:
    """One gap: the config key to set and what the messages lack meanwhile."""

    path: str  # e.g. "settings.email.from"
    text: str


def _local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in _LOCAL_HOSTS


def message_warnings(config: Config) -> list[MessageWarning]:
    """Every gap that makes pages or customer emails poorer, in config order."""
    s = config.settings
    out: list[MessageWarning] = []
    if s.email.sender == EmailSettings().sender:
        out.append(
            MessageWarning(
                "settings.email.from",
                f"not set: pages and customer emails come from {s.email.sender.address} "
                "and their Message-IDs name localhost; set the address replies should reach",
            )
        )
    if _local(s.public_url):
        out.append(
            MessageWarning(
                "settings.public_url",
                f"{s.public_url} only works on this machine: acknowledge links in pages "
                "will not open elsewhere; set the URL people reach the public listener at",
            )
        )
    if _local(s.web_url):
        out.append(
            MessageWarning(
                "settings.web_url",
                f"{s.web_url} only works on this machine: the case links in pages will not "
                "open elsewhere; set the URL the team reaches the team UI at",
            )
        )
    unpaged = [c.id for c in config.customers.values() if c.escalation is None]
    if unpaged and s.email.team is None:
        out.append(
            MessageWarning(
                "settings.email.team",
                "not set, and customers without an escalation ("
                + ", ".join(sorted(unpaged))
                + ") page the team: their pages reach nobody",
            )
        )
    return out


Where = tuple[str | int, ...]  # a YAML path, e.g. ("channels", "pd", "routing_key")


@dataclass(frozen=True, slots=True)
class ChannelProblem:
    """A configured channel that cannot work at all: the key at `where` and why."""

    where: Where
    text: str

    @property
    def path(self) -> str:
        return dotted(self.where)


def channel_problems(config: Config) -> list[ChannelProblem]:
    """Every configured channel that cannot deliver anything, in config order."""
    return [*_smtp_problems(config), *_address_problems(config), *_key_problems(config)]


def _email_uses(config: Config) -> list[str]:
    uses = [
        f"pages by email (escalation {name})"
        for name, escalation in config.escalations.items()
        if any("email" in step.via for step in escalation.steps)
    ]
    customers = [c.id for c in config.customers.values() if c.contacts]
    if customers:
        uses.append("customer emails (" + ", ".join(sorted(customers)) + ")")
    return uses


def _smtp_problems(config: Config) -> list[ChannelProblem]:
    uses = _email_uses(config)
    if config.settings.email.smtp.host.strip() or not uses:
        return []
    return [
        ChannelProblem(
            ("settings", "email", "smtp", "host"),
            "is empty: there is no SMTP server to send "
            + " and ".join(uses)
            + " through; set the host name of your SMTP server",
        )
    ]


def _paged_people(config: Config, kind: TargetKind, name: str) -> list[str]:
    if kind is TargetKind.PERSON:
        return [name]
    schedule = config.schedules.get(name) if kind is TargetKind.SCHEDULE else None
    if schedule is None:
        return []
    members = [m for layer in schedule.layers for m in layer.members]
    members += [o.person for o in schedule.overrides]
    return list(dict.fromkeys(members))


def _address_problems(config: Config) -> list[ChannelProblem]:
    out: list[ChannelProblem] = []
    for name, escalation in config.escalations.items():
        for i, step in enumerate(escalation.steps):
            if "email" not in step.via:
                continue
            where = ("oncall", "escalation", name, "steps", i, "via")
            for target in step.notify:
                if target.kind is TargetKind.TEAM and config.settings.email.team is None:
                    out.append(
                        ChannelProblem(
                            where,
                            "pages the team by email, but settings.email.team is not set: "
                            "the page reaches nobody; set the team's address",
                        )
                    )
                for person_id in _paged_people(config, target.kind, target.name):
                    person = config.people.get(person_id)
                    if person is not None and person.email is None:
                        out.append(
                            ChannelProblem(
                                where,
                                f"pages {person_id} by email, but {person_id} has no email "
                                f"address: set people.{person_id}.email or page them by "
                                "another channel",
                            )
                        )
    return out


def _key_problems(config: Config) -> list[ChannelProblem]:
    return [
        ChannelProblem(
            ("channels", channel.name, "routing_key"),
            "is empty: PagerDuty accepts no event without the integration's routing key",
        )
        for channel in config.channels.values()
        if channel.type is ChannelType.PAGERDUTY and not (channel.routing_key or "").strip()
    ]
