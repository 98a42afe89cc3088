"""alerts/ and dashboards/ are an API over monitor/metrics.py (STYLE.md habit 12)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from monitor.metrics import exposed_names
from tests.observability.support import ALERTS, DASHBOARDS, ROOT, run_promtool

RULE_FILES = sorted(ALERTS.glob("*.rules.yml"))
DASHBOARD_FILES = sorted(DASHBOARDS.glob("*.json"))
# Identifiers in PromQL that are not metric names.
PROMQL_WORDS = frozenset(
    [
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "rate",
        "irate",
        "increase",
        "delta",
        "changes",
        "deriv",
        "time",
        "vector",
        "absent",
        "histogram_quantile",
        "avg_over_time",
        "bottomk",
        "topk",
        "bool",
        "offset",
        "le",
        "inf",
        "nan",
    ]
)
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1d",
    "${datasource}": "prometheus",
    "$customer": "acme",
}


def rules() -> Iterator[dict[str, Any]]:
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            yield from group["rules"]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def dashboard_exprs() -> Iterator[tuple[str, str]]:
    """(dashboard file, PromQL) for every panel target and query variable."""
    for path in DASHBOARD_FILES:
        board = json.loads(path.read_text())
        for panel in board.get("panels", []):
            for target in panel.get("targets", []):
                yield path.name, target["expr"]
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                inner = re.fullmatch(r"label_values\((.+), *\w+\)", variable["query"])
                assert inner is not None, variable["query"]
                yield path.name, inner.group(1)


def substitute(expr: str) -> str:
    for variable, replacement in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, replacement)
    return expr


def metric_names(expr: str) -> set[str]:
    """Names an expression reads: identifiers outside strings, label matchers and
    grouping clauses, and not PromQL keywords or functions."""
    expr = re.sub(r'"[^"]*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return {n for n in names if n not in PROMQL_WORDS and not re.fullmatch(r"\d+[smhdw]", n)}


def all_exprs() -> Iterator[tuple[str, str]]:
    for rule in rules():
        yield rule.get("alert") or rule["record"], rule["expr"]
    yield from dashboard_exprs()


def test_there_are_rules_and_dashboards_to_check() -> None:
    assert len(RULE_FILES) == 3
    assert {p.name for p in DASHBOARD_FILES} == {
        "vakt-fleet.json",
        "vakt-customer.json",
        "vakt-health.json",
    }


@pytest.mark.parametrize(("where", "expr"), list(all_exprs()))
def test_every_metric_named_in_alerts_and_dashboards_exists(where: str, expr: str) -> None:
    known = exposed_names() | recorded_names() | {"up"}
    unknown = metric_names(substitute(expr)) - known
    assert not unknown, f"{where}: {sorted(unknown)} not in monitor/metrics.py"


def test_the_name_check_catches_a_misspelt_metric() -> None:
    known = exposed_names() | recorded_names()
    assert metric_names("sum by (le) (rate(vakt_probe_duraton_seconds_bucket[5m]))") - known == {
        "vakt_probe_duraton_seconds_bucket"
    }


def test_every_alert_has_summary_description_and_a_runbook_anchor_that_exists() -> None:
    runbooks = (ROOT / "docs" / "runbooks.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in runbooks.splitlines()
        if line.startswith("## ")
    }
    alerts = [rule for rule in rules() if "alert" in rule]
    assert len(alerts) >= 12
    for rule in alerts:
        annotations = rule["annotations"]
        assert annotations["summary"], rule["alert"]
        assert annotations["description"], rule["alert"]
        path, _, anchor = annotations["runbook_url"].partition("#")
        assert path == "docs/runbooks.md", rule["alert"]
        assert anchor == rule["alert"].lower(), rule["alert"]
        assert anchor in anchors, rule["alert"]


def test_rule_files_pass_promtool_check_rules() -> None:
    done = run_promtool("check", "rules", *(str(p) for p in RULE_FILES))
    assert done.returncode == 0, done.stdout + done.stderr


def test_rule_unit_tests_pass() -> None:
    tests = sorted(str(p) for p in (ALERTS / "tests").glob("*.yaml"))
    assert len(tests) == 3
    done = run_promtool("test", "rules", *tests)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_dashboard_expression_parses(tmp_path: Path) -> None:
    exprs = [substitute(expr) for _, expr in dashboard_exprs()]
    assert all("$" not in expr for expr in exprs)
    rules_file = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    {"record": f"dashboard:expr_{i}", "expr": e} for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump(rules_file))
    done = run_promtool("check", "rules", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in done.stdout


def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    path = tmp_path / "broken.rules.yml"
    path.write_text("groups: [{name: x, rules: [{record: 'a:b', expr: 'sum(rate(x[5m])'}]}]\n")
    assert run_promtool("check", "rules", str(path)).returncode != 0


def _generator() -> ModuleType:
    spec = spec_from_file_location("vakt_dashboard_generate", DASHBOARDS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_dashboards_equal_a_fresh_generation() -> None:
    fresh: dict[str, str] = _generator().render_all()
    assert sorted(fresh) == [p.name for p in DASHBOARD_FILES]
    for name, text in fresh.items():
        assert (DASHBOARDS / name).read_text() == text, (
            f"run python dashboards/generate.py ({name})"
        )


def test_dashboards_take_the_datasource_as_a_variable() -> None:
    for path in DASHBOARD_FILES:
        board = json.loads(path.read_text())
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        for panel in board["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
                assert panel["description"].endswith("?"), panel["title"]
