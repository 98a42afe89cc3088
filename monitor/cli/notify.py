"""`vakt notify test CHANNEL|PERSON`: send a real test message and report the outcome.

CHANNEL is a name under `channels:` (or `email`: the team address); PERSON is a person id
under `people:`, who gets an email at their address. Exit codes: 0 delivered, 1 delivery
failed, 2 bad config or unknown name.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import aiohttp

from monitor.cli._common import add_config_option, load_or_report
from monitor.clock import SystemClock
from monitor.config.records import Channel as ChannelConfig
from monitor.config.records import ChannelType, Config
from monitor.notify.channels import CHANNELS, ChannelContext, DeliveryError
from monitor.notify.message import MessageKind, Payload
from monitor.notify.render import Renderer


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "notify", help="send a test notification", description=__doc__.split("\n\n")[0]
    )
    actions = parser.add_subparsers(dest="notify_action", metavar="ACTION", required=True)
    test = actions.add_parser(
        "test",
        help="send a real test message through a channel, or by email to a person",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    test.add_argument("target", metavar="CHANNEL|PERSON")
    add_config_option(test)
    test.set_defaults(handler=run_test)


def resolve(config: Config, target: str) -> tuple[ChannelConfig, Payload] | str:
    """The channel and test payload for `target`, or an error message."""
    settings = config.settings
    if target in config.channels:
        channel = config.channels[target]
        payload = Payload(kind=MessageKind.TEST, title=target, to=settings.email.team)
        return channel, payload
    person = config.people.get(target)
    if person is not None:
        if not person.email:
            return f"{target} has no email address in people:"
        payload = Payload(
            kind=MessageKind.TEST, title="email", to=person.mailbox, to_name=person.name
        )
        return ChannelConfig("email", ChannelType.EMAIL), payload
    if target == "email":
        if not settings.email.team:
            return "settings.email.team is not set: name a person to email instead"
        payload = Payload(kind=MessageKind.TEST, title="email", to=settings.email.team)
        return ChannelConfig("email", ChannelType.EMAIL), payload
    names = sorted([*config.channels, *config.people])
    return f"no channel or person named {target!r} (known: {', '.join(names) or 'none'})"


async def send_test(config: Config, channel_config: ChannelConfig, payload: Payload) -> None:
    """Send one test message; raises `DeliveryError`."""
    clock = SystemClock()
    message = Renderer(overrides=config.settings.email.templates).outgoing(
        f"test/{channel_config.name}/{clock.now().isoformat()}", payload
    )
    async with aiohttp.ClientSession() as session:
        ctx = ChannelContext(session=session, clock=clock, email=config.settings.email)
        channel = CHANNELS[channel_config.type](channel_config, ctx)
        try:
            await channel.send(message)
        finally:
            await channel.close()


def run_test(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return 2
    resolved = resolve(config, args.target)
    if isinstance(resolved, str):
        print(f"vakt notify test: {resolved}", file=sys.stderr)
        return 2
    channel_config, payload = resolved
    where = f"{channel_config.name} ({channel_config.type.value})"
    if payload.to and channel_config.type is ChannelType.EMAIL:
        where += f" to {payload.to}"
    try:
        asyncio.run(send_test(config, channel_config, payload))
    except DeliveryError as exc:
        kind = "permanent" if exc.permanent else "transient"
        print(f"FAILED {where}: {exc.message} ({kind})", file=sys.stderr)
        return 1
    print(f"delivered {where}")
    return 0
