"""The OpenAPI 3.1 document, generated from the same endpoint declarations and schemas that serve requests."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from node.http import board, case_view, recognition, statistics, transparency
from node.http.endpoint import Endpoint
from node.http.middlewares import NEVER_SHED
from node.schemas import common as schemas
from node.schemas import verifiers as verifier_schemas

_STATUS_TEXT = {
    400: "Malformed JSON: not UTF-8, not JSON, a key repeated in one object, or a lone surrogate escape",
    401: "Missing, invalid or expired bearer token",
    403: "Wrong role or wrong province",
    404: "Not found",
    409: "Conflict: illegal transition or already exists",
    413: "Body too large",
    415: "Body is not application/json",
    422: "A field is invalid (`pointer` names it), or `date-outside-calendar`: a due date would fall outside "
    "every working-day calendar (docs/calendar.md; nothing was recorded)",
    429: "This token's rate limit is spent (`rate_limit_per_s`, `rate_limit_burst`; `too-many-requests`), "
    "or the node works on as many requests as it takes at once (`http_max_in_flight`; `overloaded`): "
    "nothing was done; retry after `Retry-After` seconds",
    503: "Unavailable: the store is unreachable (readiness), or a peer province is (`peer-unavailable`), "
    "or it is over its limit (`peer-overloaded`, with `Retry-After`)",
}


IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retry with the same key (and body) answers with what the first try created, and "
    "creates nothing more; the same key with another body is 422. Scoped to the caller (province, office, "
    "operator).",
    "schema": {"type": "string", "pattern": "^[0-9A-Za-z_.:-]{8,128}$"},
}

PATH_PARAMETERS: dict[str, schemas.Schema] = {
    "identifier": schemas.IDENTIFIER,
    "case_id": {"type": "string", "format": "uuid"},
    "bundle_id": {"type": "string", "format": "uuid"},
    "province": schemas.PROVINCE,
    "code": {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$"},
    "part_code": {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$"},
    "notice_no": {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z_.-]{0,127}$"},
    "verifier_id": verifier_schemas.VERIFIER_ID,
}

# Query parameters, by method and path template.
QUERY_PARAMETERS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("GET", "/v1/catalogue/{province}/items/{code}"): [
        {
            "name": "version",
            "in": "query",
            "required": False,
            "description": "The item as this version was published; absent: the latest",
            "schema": {"type": "string", "pattern": "^[0-9]{1,19}$"},
        }
    ],
    ("GET", "/v1/board"): board.QUERY,
    ("GET", "/v1/case-views/{case_id}"): case_view.QUERY,
    ("GET", "/v1/recognition-registry"): recognition.QUERY,
    ("GET", "/v1/statistics"): statistics.QUERY,
    ("GET", "/v1/statistics.csv"): statistics.QUERY,
    ("GET", "/v1/transparency/inclusion"): transparency.INCLUSION_QUERY,
    ("GET", "/v1/transparency/consistency"): transparency.CONSISTENCY_QUERY,
    ("GET", "/v1/cases/{case_id}/as-of"): [
        {
            "name": "at",
            "in": "query",
            "required": True,
            "description": "An RFC 3339 date-time with a time zone offset",
            "schema": {"type": "string"},
        }
    ],
}


def build_document(endpoints: Iterable[Endpoint], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        operation: dict[str, Any] = {
            "summary": ep.summary,
            "operationId": _operation_id(ep),
            "tags": [ep.tag],
            "responses": {str(ep.status): _response(ep)},
        }
        if ep.roles:
            operation["security"] = [{"bearer": []}]
            operation["description"] = f"Allowed: {ep.roles}."
        else:
            operation["security"] = []
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
            for name in re.findall(r"{(\w+)}", ep.path)
        ] + QUERY_PARAMETERS.get((ep.method, ep.path), [])
        if ep.idempotent:
            parameters.append(IDEMPOTENCY_KEY)
        if parameters:
            operation["parameters"] = parameters
        if ep.request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ep.request}},
            }
        body_errors = (400, 413, 415, 422) if ep.request is not None else ()
        # 429: a token's rate limit, and any operation but those never shed when the node is over its limit
        shed = ep.roles or ep.path not in NEVER_SHED
        for status in sorted({*ep.errors, *body_errors, *((429,) if shed else ())}):
            operation["responses"][str(status)] = _problem(status)
        paths.setdefault(ep.path, {})[ep.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tongban node",
            "version": version,
            "description": "One province's 跨省通办 node. Errors are RFC 9457 problem+json.",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"}
            },
            "schemas": {"Problem": schemas.PROBLEM},
        },
    }


def _operation_id(ep: Endpoint) -> str:
    words = re.sub(r"[{}]", "", ep.path).replace("-", "/").split("/")
    return ep.method.lower() + "".join(w.capitalize() for w in words if w and w != "v1")


def _response(ep: Endpoint) -> dict[str, Any]:
    if ep.response is None:
        return {
            "description": "OK",
            "content": {ep.media_type: {"schema": {"type": "string"}}},
            **(
                {"headers": {name: {"schema": {"type": "string"}} for name in ep.response_headers}}
                if ep.response_headers
                else {}
            ),
        }
    return {"description": "OK", "content": {"application/json": {"schema": ep.response}}}


def _problem(status: int) -> dict[str, Any]:
    problem: dict[str, Any] = {
        "description": _STATUS_TEXT[status],
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status == 429:
        problem["headers"] = {
            "Retry-After": {"description": "whole seconds to wait", "schema": {"type": "integer"}}
        }
    return problem
