"""POST with the shared session, under a timeout, failures classified (HTTP channels)."""

from __future__ import annotations

import asyncio

import aiohttp

from monitor.notify.channels.base import ChannelContext, DeliveryError, classify_http

_MAX_ERROR_BODY = 2048


async def post(ctx: ChannelContext, url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST `body` to `url`; return on a 2xx, else raise a classified `DeliveryError`.

    Redirects are not followed: a receiver that moved should be reconfigured, and a
    redirect would turn the POST into a GET.
    """
    headers = {"User-Agent": ctx.user_agent, **headers}
    try:
        async with asyncio.timeout(ctx.timeout.total_seconds()):
            async with ctx.session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                text = await response.content.read(_MAX_ERROR_BODY)
                error = classify_http(response.status, text.decode("utf-8", "replace"))
    except TimeoutError as exc:
        raise DeliveryError(
            f"timed out after {ctx.timeout.total_seconds():g} s", permanent=False
        ) from exc
    except aiohttp.InvalidURL as exc:
        raise DeliveryError(f"invalid URL {url!r}", permanent=True) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False) from exc
    if error is not None:
        raise error


def require_url(url: str | None, channel: str) -> str:
    if not url:
        raise ValueError(f"channel {channel!r} needs a url")
    return url
