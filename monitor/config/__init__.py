"""`checks.yaml`: strict schema, compiled into immutable runtime records.

    config = load_config("checks.yaml")   # or a directory of *.yaml files

raises `ConfigError` listing every problem with file, line and YAML path.

`load_config` and `load_config_text` are imported on first use: the loader brings the
pydantic schema and the YAML composer (~12 MiB resident), which `vakt run` only needs in
the child processes that load its config (`monitor.config.isolated`,
`monitor.config.reloading`), never in the daemon itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.config.errors import ConfigError, ConfigIssue
from monitor.config.records import Config

if TYPE_CHECKING:
    from monitor.config.loader import load_config, load_config_text

__all__ = ["Config", "ConfigError", "ConfigIssue", "load_config", "load_config_text"]


def __getattr__(name: str) -> Any:
    if name in ("load_config", "load_config_text"):
        from monitor.config import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
