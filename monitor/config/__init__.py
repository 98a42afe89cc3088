"""`checks.yaml`: strict schema, compiled into immutable runtime records.

    config = load_config("checks.yaml")   # or a directory of *.yaml files

raises `ConfigError` listing every problem with file, line and YAML path.
"""

from monitor.config.errors import ConfigError, ConfigIssue
from monitor.config.loader import load_config, load_config_text
from monitor.config.records import Config

__all__ = ["Config", "ConfigError", "ConfigIssue", "load_config", "load_config_text"]
