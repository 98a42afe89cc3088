"""Reading YAML into plain values that remember where they came from.

Every scalar stays a string (the schema parses it), so YAML 1.1's guesses never apply:
`NO` stays Norway, `1:30` stays a time, `0755` stays text. Unquoted `~`, `null` and an
empty value become None. `${VAR}` and `${VAR:-default}` are taken from the environment.
Each value's position is kept in a `Locator` keyed by its path, so an error can name the
file and line of the key it is about.

Aliases (`*name`, `<<: *name`) are expanded while reading, so a few lines can stand for
10^9 values (an "alias bomb"). A document yields at most `value_budget(text)` values:
1,000,000 plus 10 per character of its text. Without aliases a file yields at most about
one value per two characters, so no file that uses aliases sparingly reaches the cap
whatever its size (a 60,000-customer file included), while any expansion stops after
at most about as much work as reading a plain file twenty times its size.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.config.errors import ConfigIssue, Path_, dotted

try:  # the C parser and composer are ~10x faster; fall back when libyaml is missing
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class _Loader(_BaseLoader):
    """Skips YAML 1.1 implicit typing: every scalar is text, only `<<` is special.

    PyYAML resolves each scalar's tag in Python even under the C composer; since Vakt
    parses scalars itself, that work (a third of the load time) is not needed.
    """

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _MERGE_TAG if value == "<<" and implicit[0] else _STR_TAG
        return _MAP_TAG if kind is yaml.MappingNode else _SEQ_TAG

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_SCALAR = yaml.ScalarNode
_MERGE_TAG = "tag:yaml.org,2002:merge"
VALUE_FLOOR = 1_000_000  # values any document may yield, however short
VALUES_PER_CHAR = 10  # and this many more per character of its text


def value_budget(text: str) -> int:
    """How many values (mappings, sequences, scalars) reading `text` may produce."""
    return VALUE_FLOOR + VALUES_PER_CHAR * len(text)


class _TooManyValues(Exception):
    """The budget ran out while reading `node` (an alias bomb)."""

    def __init__(self, node: yaml.Node, path: Path_) -> None:
        super().__init__()
        self.node = node
        self.path = path


_ENV = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(slots=True)
class Locator:
    """Finds the file and 1-based line of a path, by walking the YAML nodes on demand.

    Nothing is recorded while reading: lines are looked up only when an error is
    reported. The texts read are kept, not their nodes: the first lookup composes them
    again (the same text gives the same nodes), so a load without errors frees its
    nodes (several hundred bytes a value) before validating. For a directory, the file
    that holds the deepest part of the path wins.
    """

    default_file: str = ""
    texts: list[tuple[str, str]] = field(default_factory=list)  # (file, text) composed fine
    nodes: list[tuple[str, yaml.Node]] | None = None  # the texts composed, on first lookup

    def find(self, path: Path_) -> tuple[str, int | None]:
        if self.nodes is None:
            self.nodes = [(file, node) for file, text in self.texts if (node := _compose(text))]
        best: tuple[int, str, int | None] = (-1, self.default_file, None)
        for file, root in self.nodes:
            depth, line = _walk(root, path)
            if depth > best[0]:
                best = (depth, file, line)
        return best[1], best[2]

    def issue(self, path: Path_, message: str) -> ConfigIssue:
        file, line = self.find(path)
        return ConfigIssue(file=file, line=line, path=dotted(path), message=message)


def _walk(node: yaml.Node, path: Path_) -> tuple[int, int | None]:
    """How deep `path` goes into `node`, and the line of the deepest key or item found."""
    line: int | None = node.start_mark.line + 1
    depth = 0
    for part in path:
        found = _child(node, part)
        if found is None:
            break
        node, line = found
        depth += 1
    return depth, line


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, int] | None:
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        if 0 <= part < len(node.value):
            item = node.value[part]
            return item, item.start_mark.line + 1
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    merged: list[yaml.Node] = []
    for key, value in node.value:
        if key.tag == _MERGE_TAG:
            merged.extend(value.value if isinstance(value, yaml.SequenceNode) else [value])
        elif isinstance(key, yaml.ScalarNode) and key.value == str(part):
            return value, key.start_mark.line + 1
    for source in merged:
        hit = _child(source, part)
        if hit is not None:
            return hit
    return None


@dataclass(slots=True)
class _Reader:
    file: str
    env: Mapping[str, str]
    issues: list[ConfigIssue]
    budget: int = VALUE_FLOOR
    stack: list[str | int] = field(default_factory=list)

    def value(self, node: yaml.Node) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _TooManyValues(node, tuple(self.stack[:3]))
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return self.sequence(node)
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node)

    def scalar(self, node: yaml.ScalarNode) -> str | None:
        text: str = node.value
        if not node.style and text in _NULLS:  # plain style is None (Python) or "" (C)
            return None
        return self.substitute(text, node) if "$" in text else text

    def mapping(self, node: yaml.MappingNode) -> dict[str, Any]:
        # The hot loop of a load: a scalar value (most of them) is read without `value`.
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        stack = self.stack
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.update(self.merge_sources(value_node))
                continue
            if type(key_node) is not _SCALAR:
                self.issues.append(self._issue(key_node, "a key must be a plain value"))
                continue
            key: str = key_node.value
            if key in out:
                self.issues.append(self._twice(node, key_node, key))
                continue
            if type(value_node) is _SCALAR:
                self.budget -= 1
                stack.append(key)
                out[key] = self.scalar(value_node)
                stack.pop()
            else:
                stack.append(key)
                out[key] = self.value(value_node)
                stack.pop()
        if merged:
            return {**{k: v for k, v in merged.items() if k not in out}, **out}
        return out

    def _twice(self, node: yaml.MappingNode, again: yaml.Node, key: str) -> ConfigIssue:
        first = next(k for k, _ in node.value if isinstance(k, yaml.ScalarNode) and k.value == key)
        message = f"key '{key}' is defined twice (first on line {first.start_mark.line + 1})"
        return ConfigIssue(
            self.file, again.start_mark.line + 1, dotted((*self.stack, key)), message
        )

    def merge_sources(self, node: yaml.Node) -> dict[str, Any]:
        """`<<: *anchor` or `<<: [*a, *b]`: earlier sources win, explicit keys win over all."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        out: dict[str, Any] = {}
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                self.issues.append(self._issue(source, "'<<' merges only mappings"))
                continue
            out.update(self.mapping(source))
        return out

    def sequence(self, node: yaml.SequenceNode) -> list[Any]:
        items = []
        stack = self.stack
        for index, item in enumerate(node.value):
            stack.append(index)
            items.append(self.value(item))
            stack.pop()
        return items

    def substitute(self, text: str, node: yaml.Node) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            value = self.env.get(name)
            if value is not None and (value or default is None):
                return value
            if default is not None:
                return default
            self.issues.append(
                self._issue(
                    node,
                    f"environment variable {name} is not set "
                    f"(write ${{{name}:-}} to make it optional)",
                )
            )
            return ""

        return _ENV.sub(replace, text)

    def _issue(self, node: yaml.Node, message: str) -> ConfigIssue:
        return ConfigIssue(self.file, node.start_mark.line + 1, dotted(tuple(self.stack)), message)


def read_text(
    text: str, file: str, env: Mapping[str, str], locator: Locator, issues: list[ConfigIssue]
) -> Any:
    """Parse one YAML document into plain values; problems are appended to `issues`.

    Returns a mapping, or None when the text is not YAML or its top level is not a mapping.
    """
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        issues.append(_syntax_issue(file, exc))
        return None
    except yaml.reader.ReaderError as exc:  # a control character; it has a position, not a mark
        line = text.count("\n", 0, exc.position) + 1
        problem = f"invalid YAML: character #x{exc.character:04x} is not allowed in YAML text"
        issues.append(ConfigIssue(file, line, "", problem))
        return None
    except yaml.YAMLError as exc:
        issues.append(ConfigIssue(file, None, "", f"invalid YAML: {exc}"))
        return None
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        line = node.start_mark.line + 1
        issues.append(ConfigIssue(file, line, "", "the top level must be a mapping of sections"))
        return None
    locator.texts.append((file, text))
    budget = value_budget(text)
    try:
        return _Reader(file, env, issues, budget).value(node)
    except _TooManyValues as exc:
        message = (
            f"invalid YAML: aliases (*name, <<: *name) expand to more than {budget:,} values;"
            " refused as an alias bomb"
        )
        line = exc.node.start_mark.line + 1
        issues.append(ConfigIssue(file, line, dotted(exc.path), message))
        return None
    except RecursionError:  # thousands of levels deep, or an anchor inside itself: `&a [*a]`
        message = "invalid YAML: nested too deeply, or an alias (*name) inside its own anchor"
        issues.append(ConfigIssue(file, None, "", message))
        return None


def _compose(text: str) -> yaml.Node | None:
    return yaml.compose(text, Loader=_Loader)


def _syntax_issue(file: str, exc: yaml.MarkedYAMLError) -> ConfigIssue:
    """Where the parser gave up, and where the construct it was reading began.

    An unclosed `[` is noticed lines later; naming the line it opened on finds the typo.
    """
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    message = f"invalid YAML: {exc.problem or exc.context or 'cannot parse'}"
    start = exc.context_mark
    if exc.problem and exc.context and start is not None and start.line + 1 != line:
        message += f" ({exc.context} on line {start.line + 1})"
    return ConfigIssue(file, line, "", message)


def deep_merge(
    into: dict[str, Any],
    other: dict[str, Any],
    path: Path_,
    locator: Locator,
    other_where: Locator,
    issues: list[ConfigIssue],
) -> None:
    """Merge `other` into `into`: maps merge recursively; anything defined twice is an error."""
    for key, value in other.items():
        here = (*path, key)
        if key not in into:
            into[key] = value
            continue
        if isinstance(into[key], dict) and isinstance(value, dict):
            deep_merge(into[key], value, here, locator, other_where, issues)
            continue
        first_file, first_line = locator.find(here)
        second_file, second_line = other_where.find(here)
        issues.append(
            ConfigIssue(
                second_file,
                second_line,
                dotted(here),
                f"defined twice: in {first_file}:{first_line} and {second_file}:{second_line}",
            )
        )


def read_path(
    path: str, env: Mapping[str, str], issues: list[ConfigIssue]
) -> tuple[dict[str, Any], Locator]:
    """Read a file, or every `*.yaml`/`*.yml` file of a directory merged in name order."""
    root = Path(path)
    locator = Locator(default_file=path)
    if root.is_dir():
        files = sorted([*root.glob("*.yaml"), *root.glob("*.yml")])
        if not files:
            issues.append(ConfigIssue(path, None, "", "the directory has no *.yaml files"))
        merged: dict[str, Any] = {}
        for file in files:
            part_locator = Locator(default_file=str(file))
            part = _read_file(file, env, part_locator, issues)
            deep_merge(merged, part, (), locator, part_locator, issues)
            locator.texts.extend(part_locator.texts)
        return merged, locator
    return _read_file(root, env, locator, issues), locator


def _read_file(
    file: Path, env: Mapping[str, str], locator: Locator, issues: list[ConfigIssue]
) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        issues.append(ConfigIssue(str(file), None, "", "no such file"))
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        issues.append(ConfigIssue(str(file), None, "", f"cannot read: {exc}"))
        return {}
    data = read_text(text, str(file), env, locator, issues)
    return data if isinstance(data, dict) else {}


def environment() -> Mapping[str, str]:
    return os.environ
