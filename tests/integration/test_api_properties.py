"""Property tests of the REST API from its published OpenAPI document alone (schemathesis), over real
HTTP on a served node: every operation, with data generated from its schemas, as an admin and as an
issuer. Any 5xx, any status the document does not list for the operation, any answer that breaks its schema
or content type, fails. Bounded: a few examples per operation, so the run stays well within two minutes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from node.auth import Role
from node.http.app import ENDPOINTS
from node.http.openapi import build_document
from tests.integration.served_node import ServedNode, served_node

SCHEMA = schemathesis.openapi.from_dict(build_document(ENDPOINTS, "test"))
EXAMPLES = int(os.environ.get("TONGBAN_API_EXAMPLES", "8"))  # more for a longer run by hand
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    with served_node(tmp_path_factory.mktemp("api-properties")) as served:
        yield served


@pytest.fixture(params=[Role.ADMIN, Role.ISSUER], ids=["admin", "issuer"])
def bearer(request: pytest.FixtureRequest, node: ServedNode) -> dict[str, str]:
    role: Role = request.param
    return {"Authorization": f"Bearer {node.token(role)}"}


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_published_contract(
    case: Any, node: ServedNode, bearer: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=f"http://127.0.0.1:{node.http_port}", headers=bearer, checks=CHECKS, timeout=10
    )
