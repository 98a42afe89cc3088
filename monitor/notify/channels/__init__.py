"""Notification channels: one module per channel type, one registry.

Adding a channel type: one module with a class implementing `Channel`, one line in
`CHANNELS`, one test file. `build_channels` makes the channels of a config, plus the
built-in `email` channel (the person's or contact's own address). `ChannelSet` holds
the dispatcher's channels and swaps them all when the config reloads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from monitor.config.records import Channel as ChannelConfig
from monitor.config.records import ChannelType
from monitor.notify.channels.base import (
    Channel,
    ChannelContext,
    ChannelFactory,
    DeliveryError,
    classify_http,
)
from monitor.notify.channels.email import EmailChannel
from monitor.notify.channels.ntfy import NtfyChannel
from monitor.notify.channels.pagerduty import PagerDutyChannel
from monitor.notify.channels.slack import SlackChannel
from monitor.notify.channels.webhook import WebhookChannel

CHANNELS: Mapping[ChannelType, ChannelFactory] = MappingProxyType(
    {
        ChannelType.EMAIL: EmailChannel,
        ChannelType.SLACK: SlackChannel,
        ChannelType.WEBHOOK: WebhookChannel,
        ChannelType.PAGERDUTY: PagerDutyChannel,
        ChannelType.NTFY: NtfyChannel,
    }
)

BUILTIN_EMAIL = "email"
"""The channel name escalation steps use for "the person's own address"."""


def build_channels(configs: Mapping[str, ChannelConfig], ctx: ChannelContext) -> dict[str, Channel]:
    """Every configured channel by name, plus the built-in `email` channel."""
    channels = {name: CHANNELS[config.type](config, ctx) for name, config in configs.items()}
    channels.setdefault(
        BUILTIN_EMAIL, EmailChannel(ChannelConfig(BUILTIN_EMAIL, ChannelType.EMAIL), ctx)
    )
    return channels


class ChannelSet(Mapping[str, Channel]):
    """The dispatcher's channels; `swap` replaces them all when the config reloads."""

    def __init__(self, channels: Mapping[str, Channel]) -> None:
        self._channels = dict(channels)

    def __getitem__(self, name: str) -> Channel:
        return self._channels[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._channels)

    def __len__(self) -> int:
        return len(self._channels)

    def swap(self, channels: Mapping[str, Channel]) -> list[Channel]:
        """Adopt `channels`; returns the old ones (close them once no send uses them)."""
        old, self._channels = list(self._channels.values()), dict(channels)
        return old


__all__ = [
    "BUILTIN_EMAIL",
    "CHANNELS",
    "Channel",
    "ChannelContext",
    "ChannelFactory",
    "ChannelSet",
    "DeliveryError",
    "build_channels",
    "classify_http",
]
