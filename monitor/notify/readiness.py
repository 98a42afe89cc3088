"""What a page or a customer email would lack under a config: warnings, not errors.

`vakt check-config` prints them (exit 0; `--strict` makes them fail). A config with these
gaps still runs: Vakt pages and emails, but the messages are poorer than they should be
(a sender at `localhost`, links that only work on this machine). A missing
`settings.secret` is no gap: `vakt run` generates one and keeps it in the database
(`monitor.notify.signing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.config.records import Config, EmailSettings

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
