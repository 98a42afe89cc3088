"""The OpenAPI document describes exactly what is served, and the cursor is opaque but exact."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config.records import Scope
from monitor.web.api import OPERATIONS, openapi_document
from monitor.web.api.errors import ApiError
from monitor.web.api.incidents import decode_cursor, encode_cursor
from tests.web.api_support import incident

DOC = openapi_document(OPERATIONS, version="1.2.3")


def resolve(ref: str) -> Any:
    node: Any = DOC
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def test_it_is_openapi_3_1_with_json_schema_2020_12_and_a_bearer_scheme() -> None:
    assert DOC["openapi"] == "3.1.0"
    assert DOC["jsonSchemaDialect"] == "https://json-schema.org/draft/2020-12/schema"
    assert DOC["info"]["version"] == "1.2.3"
    assert DOC["servers"] == [{"url": "/api/v1"}]
    assert DOC["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_reference_resolves() -> None:
    found = refs(DOC)
    assert found
    for ref in found:
        assert isinstance(resolve(ref), dict), ref


@pytest.mark.parametrize("op", OPERATIONS, ids=[o.operation_id for o in OPERATIONS])
def test_every_operation_is_documented_with_its_parameters_and_statuses(op: Any) -> None:
    doc = DOC["paths"][op.path][op.method.lower()]
    assert doc["operationId"] == op.operation_id
    assert doc["security"] == [{"bearerAuth": [op.scope.value]}]
    path_names = re.findall(r"\{(\w+)\}", op.path)
    declared = {(p["in"], p["name"]) for p in doc["parameters"]}
    assert {("path", name) for name in path_names} <= declared
    if op.query is not None:
        assert {("query", name) for name in op.query.model_fields} <= declared
    statuses = set(doc["responses"])
    assert "401" in statuses
    assert ("403" in statuses) is (op.scope is not Scope.READ)
    assert {str(s) for s in op.responses} <= statuses
    for response in doc["responses"].values():
        assert "$ref" in response["content"]["application/json"]["schema"]
    assert ("requestBody" in doc) is (op.body is not None)


def test_errors_share_one_shape() -> None:
    error = resolve("#/components/schemas/ErrorBody")
    assert error["required"] == ["error"]
    detail = resolve(error["properties"]["error"]["$ref"])
    assert sorted(detail["required"]) == ["code", "message"]


def test_query_parameters_are_plain_values_not_nullable() -> None:
    params = DOC["paths"]["/incidents"]["get"]["parameters"]
    by_name = {p["name"]: p for p in params}
    assert by_name["limit"]["schema"] == {
        "default": 50,
        "maximum": 500,
        "minimum": 1,
        "type": "integer",
    }
    assert by_name["since"]["schema"] == {"format": "date-time", "type": "string"}
    assert by_name["status"]["schema"] == {"$ref": "#/components/schemas/IncidentStatus"}
    assert not any(p["required"] for p in params)


def test_write_operations_are_exactly_the_ones_that_change_things() -> None:
    writes = {(o.method, o.path) for o in OPERATIONS if o.scope is not Scope.READ}
    assert writes == {(o.method, o.path) for o in OPERATIONS if o.method != "GET"}


@settings(max_examples=50, deadline=None)
@given(
    opened_at=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ),
    row_id=st.integers(min_value=1, max_value=2**62 - 1),
)
def test_a_cursor_round_trips_the_last_row_exactly(opened_at: datetime, row_id: int) -> None:
    row = replace(incident("VAKT-2026-000001", opened_at=opened_at), id=row_id)
    assert decode_cursor(encode_cursor(row)) == (opened_at, row_id)


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=60))
def test_any_other_cursor_is_a_400_never_a_crash(text: str) -> None:
    with pytest.raises(ApiError) as refused:
        decode_cursor(text)
    assert refused.value.status == 400
