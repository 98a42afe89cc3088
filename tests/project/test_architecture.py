"""docs/architecture.md's "Where each rule lives" table cannot rot: every module it
names exists and imports, and every function or class it names is found in one of the
row's modules."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
_TICKED = re.compile(r"`([^`]+)`")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def rule_rows() -> list[tuple[str, str, str]]:
    """(rule, module cell, function cell) of every row of the rule table."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## Where each rule lives", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("Rule", "---") or set(cells[0]) <= {"-"}:
            continue
        rows.append((cells[0], cells[1], cells[2]))
    return rows


def _is_path(token: str) -> bool:
    return token.startswith("monitor/")


def _module(path: str) -> ModuleType | None:
    """The module of a `monitor/...py` path; None for a directory of data files."""
    file = ROOT / path
    assert file.exists(), f"{path} does not exist"
    if not path.endswith(".py"):
        return None
    return importlib.import_module(path.removesuffix(".py").replace("/", "."))


def _names(cell: str) -> list[str]:
    """The dotted names of a function cell's backticked entries: `f(args)` -> `f`."""
    out = []
    for token in _TICKED.findall(cell):
        if _is_path(token):
            continue
        match = _NAME.match(token)
        assert match is not None, f"cannot read {token!r}"
        out.append(match.group(0))
    return out


def _found(modules: list[ModuleType], dotted: str) -> bool:
    for module in modules:
        value: object = module
        for part in dotted.split("."):
            value = getattr(value, part, None)
            if value is None:
                break
        if value is not None:
            return True
    return False


ROWS = rule_rows()


def test_the_rule_table_is_read() -> None:
    assert len(ROWS) > 40


@pytest.mark.parametrize(("rule", "modules", "functions"), ROWS, ids=[r[0][:50] for r in ROWS])
def test_every_named_module_and_function_of_the_rule_table_imports(
    rule: str, modules: str, functions: str
) -> None:
    paths = [t for t in _TICKED.findall(modules) + _TICKED.findall(functions) if _is_path(t)]
    assert paths, f"{rule}: no module named"
    found = [m for m in (_module(p) for p in paths) if m is not None]
    missing = [n for n in _names(functions) if not _found(found, n)]
    assert missing == [], f"{rule}: not in {paths}"
