"""No import cycles in `monitor/` (issue "One source of truth", item 6).

import-linter's layer contracts keep layers apart, but not two modules of one layer from
importing each other; imports hidden inside functions hid `config.compile` <-> `config.loader`.
grimp (import-linter's own graph builder) sees every import, in functions too.
"""

from __future__ import annotations

import grimp


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module `start` imports, directly or through others."""
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others."""
    reach = {node: reachable(graph, node) for node in graph}
    groups = {
        tuple(sorted(n for n in reach[node] if node in reach[n]))
        for node in graph
        if node in reach[node]
    }
    return sorted(list(group) for group in groups)


def import_cycles(package: str) -> list[list[str]]:
    graph = grimp.build_graph(package)
    modules = {m for m in graph.modules if m == package or m.startswith(package + ".")}
    edges = {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}
    return cycles(edges)


def test_monitor_has_no_import_cycles() -> None:
    assert import_cycles("monitor") == []


def test_the_cycle_search_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}, "b": set()}) == [["a"]]
