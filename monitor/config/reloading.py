"""A reload's config, loaded and checked in a child process, away from the daemon's loop.

Reading and validating a large file takes seconds, and much of it (libyaml's composer,
pydantic's validators) holds the interpreter lock without a break, so in a thread it
would stall probing and the listeners: measured at 2,000 sites, the loop's longest pause
during a reload was ~1 s in a thread, ~70 ms with the child (docs/performance.md). The
child (`python -m <module> PATH`, a module that calls `serve_child`) loads and checks the
file and writes one pickled answer to its stdout: the compiled `Config`, or every issue.
The parent unpickles it in a thread (a tenth of the load's work) and swaps it in at once.

`restart_keys` names the settings a running daemon reads only at start: a reload that
changes one of them logs it as needing a restart instead of pretending to adopt it.
"""

from __future__ import annotations

import asyncio
import io
import os
import pickle
import sys
from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from monitor.config.errors import ConfigError, ConfigIssue
from monitor.config.records import Config, Settings

RESTART_KEYS = (
    "store",
    "busy_timeout",
    "listen",
    "public_listen",
    "resolver",
    "location",
    "delivery",
    "cluster",
    "probes",
    "web.limits",
)
"""`settings.*` read once when `vakt run` starts (listeners and their limits, store, probe
client and its target policy, dispatcher)."""


def restart_keys(old: Settings, new: Settings) -> list[str]:
    """The dotted keys (`settings.listen`) whose change a reload cannot adopt."""
    return [f"settings.{key}" for key in RESTART_KEYS if _get(old, key) != _get(new, key)]


def keep_start_only(old: Settings, new: Config) -> Config:
    """`new` with the start-only settings (`RESTART_KEYS`) of the running daemon, so the
    parts that read them later see the values the listeners, store and clients run with."""
    settings = new.settings
    for key in RESTART_KEYS:
        settings = _set(settings, key.split("."), _get(old, key))
    return replace(new, settings=settings)


def _get(settings: Settings, key: str) -> Any:
    value: Any = settings
    for part in key.split("."):
        value = getattr(value, part)
    return value


def _set(record: Any, path: list[str], value: Any) -> Any:
    """`record` with the attribute at `path` replaced (each level a frozen dataclass)."""
    head, *rest = path
    inner = _set(getattr(record, head), rest, value) if rest else value
    return replace(record, **{head: inner})


def _proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


class _Pickler(pickle.Pickler):
    """Pickles the read-only mappings the compiled config uses (plain pickle cannot)."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is MappingProxyType:
            return _proxy, (dict(obj),)
        return NotImplemented


def pack(answer: Config | tuple[ConfigIssue, ...]) -> bytes:
    out = io.BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(answer)
    return out.getvalue()


def unpack(data: bytes) -> Config:
    """The child's answer: the config, or `ConfigError` with its issues."""
    answer = pickle.loads(data)  # our own child's output, through a pipe
    if isinstance(answer, Config):
        return answer
    raise ConfigError(answer)


def serve_child(check: Callable[[str], Config]) -> int:
    """The child's main: `check(path)` (raises `ConfigError`), the answer to stdout."""
    path = sys.argv[1]
    try:
        answer: Config | tuple[ConfigIssue, ...] = check(path)
    except ConfigError as exc:
        answer = exc.issues
    sys.stdout.buffer.write(pack(answer))
    sys.stdout.buffer.flush()
    return 0


async def load_in_child(path: str, module: str) -> Config:
    """Run `python -m module path` and return the config it checked; `ConfigError` when
    it found issues or failed. Cancelling kills the child."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        path,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        out, err = await child.communicate()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    if child.returncode != 0 or not out:
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        message = f"the config check process failed (exit {child.returncode}): {last[0]}"
        raise ConfigError([ConfigIssue(path, None, "", message)])
    return await asyncio.to_thread(unpack, out)
