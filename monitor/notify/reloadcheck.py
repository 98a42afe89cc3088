"""The reload's child process: `python -m monitor.notify.reloadcheck PATH` loads the
config and checks its email templates (`checked_renderer`), then answers the daemon
through `monitor.config.reloading` (the compiled config, or every issue)."""

from __future__ import annotations

import sys

from monitor.config import Config, load_config
from monitor.config.reloading import serve_child
from monitor.notify.templatecheck import checked_renderer


def check(path: str) -> Config:
    config = load_config(path)
    checked_renderer(config)
    return config


if __name__ == "__main__":  # pragma: no cover - run as the reload's child process
    sys.exit(serve_child(check))
