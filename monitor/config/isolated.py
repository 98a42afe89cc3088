"""`load_config_isolated`: load the config in a child process and keep only the result.

Loading builds far more than it keeps: at 100,000 checks the YAML nodes, the values read
from them and the pydantic models peak at ~5 KiB a check, against ~1 KiB for the compiled
records that stay. Everything is freed when the load ends, but not given back to the
system: the records and the strings they keep are scattered over the allocator's arenas
among the freed objects, so an arena is rarely empty enough to return, and the daemon's
RSS stays at the load's peak (607 MiB after loading 100,000 checks, for ~105 MiB of
records; docs/performance.md). Loaded in a forked child and sent back pickled, the
records are rebuilt one after the other in the daemon's own heap, and the child's
peak goes away with the child.

The child is forked before anything else runs (no threads, no sockets, no store yet):
`vakt run` calls this once, at start. Reloads load in process (`load_config`).
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Mapping
from io import BytesIO
from types import MappingProxyType
from typing import Any

from monitor.config.collector import collector_paused
from monitor.config.errors import ConfigError
from monitor.config.records import Config

log = logging.getLogger(__name__)

_LOADED, _REFUSED = b"C", b"E"  # the child's answer: a Config, or a ConfigError


def load_config_isolated(path: str, env: Mapping[str, str] | None = None) -> Config:
    """`load_config(path, env)`, run in a forked child: the same Config, or the same
    `ConfigError` (file, line, key of every issue). When the child cannot answer (no
    `fork`, a crash, something that does not pickle), it loads in this process."""
    from monitor.config.loader import load_config  # in this process: only as a fallback

    if not hasattr(os, "fork"):
        return load_config(path, env)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: load, answer, exit without running the parent's cleanup
        code = 1
        try:
            os.close(read_end)
            code = _answer(write_end, path, env)
        finally:  # whatever happened, never return into the parent's code
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not answer:
        log.warning("config.isolated_load_failed", extra={"exit": status})
        return load_config(path, env)
    kind, body = answer[:1], answer[1:]
    with collector_paused():  # as while loading: millions of objects that all stay
        value = pickle.loads(body)
    if kind == _REFUSED:
        raise value if isinstance(value, ConfigError) else TypeError(type(value))
    if not isinstance(value, Config):
        raise TypeError(f"the child process answered a {type(value).__name__}")
    return value


def _answer(fd: int, path: str, env: Mapping[str, str] | None) -> int:
    """In the child: write the pickled outcome to `fd`; the exit code."""
    from monitor.config.loader import load_config  # the schema is imported by the child

    try:
        kind: bytes = _LOADED
        outcome: object = load_config(path, env)
    except ConfigError as exc:
        kind, outcome = _REFUSED, exc
    try:
        buffer = BytesIO()
        buffer.write(kind)
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(outcome)
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(buffer.getbuffer())
    except Exception:  # the parent then loads in process and sees it
        return 1
    return 0


def _mapping_proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


class _Pickler(pickle.Pickler):
    """Pickles the config's read-only mappings (`MappingProxyType` has no pickle form)."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is MappingProxyType:
            return _mapping_proxy, (dict(obj),)
        return NotImplemented
