"""Where a SQLite store lives: a relative path in `settings.store` is relative to the
config file's directory (a directory config: that directory), never to the working
directory of whoever runs `vakt`. The one home of that rule.
"""

from __future__ import annotations

import re
from pathlib import Path

_SQLITE = re.compile(r"(?P<scheme>sqlite(?:\+\w+)?):///(?P<database>[^?]*)(?P<query>\?.*)?\Z")


def sqlite_file(url: str) -> Path | None:
    """The database file a SQLite URL names, as written (maybe relative); None for
    PostgreSQL and in-memory databases."""
    match = _SQLITE.match(url)
    if match is None:
        return None
    database = match["database"]
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def anchored_store(url: str, base: Path) -> str:
    """`url` with a relative SQLite path made absolute against `base`; any other URL as is."""
    match = _SQLITE.match(url)
    path = sqlite_file(url)
    if match is None or path is None or path.is_absolute():
        return url
    absolute = (base / path).resolve()
    return f"{match['scheme']}:///{absolute}{match['query'] or ''}"


def config_base(config_path: str) -> Path:
    """The directory a config's relative paths are relative to: the file's directory, or
    the config directory itself."""
    path = Path(config_path).resolve()
    return path if path.is_dir() else path.parent
