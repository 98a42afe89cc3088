"""Configuration errors that name the file, the line and the YAML path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Path_ = tuple[str | int, ...]
"""A path in the YAML document: keys and list indexes."""


def dotted(path: Path_) -> str:
    """`("customers", "acme", "contacts", 0)` -> `customers.acme.contacts[0]`.

    Here, not beside the YAML reader (`config.source`): the daemon names paths in its
    warnings without importing PyYAML (~2.5 MB it would keep for nothing)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a config file: `checks.yaml:42: a.b.c: what was expected, got what`."""

    file: str
    line: int | None
    path: str  # dotted YAML path, e.g. customers.acme.sites.shop; "" for the whole file
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """Raised by `load_config` with every problem found, in file and line order."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: tuple[ConfigIssue, ...] = tuple(
            sorted(issues, key=lambda i: (i.file, i.line or 0, i.path))
        )
        super().__init__(self.render())

    def __reduce__(self) -> tuple[type[ConfigError], tuple[tuple[ConfigIssue, ...]]]:
        # pickled with its issues, not its text (`load_config_isolated` sends it across)
        return (ConfigError, (self.issues,))

    def render(self) -> str:
        count = len(self.issues)
        head = f"{count} error{'s' if count != 1 else ''} in the configuration:"
        return "\n".join([head, *(f"  {issue}" for issue in self.issues)])
