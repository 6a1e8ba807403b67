"""证照互认 registry: recognitions and refusals by certificate type, issuing and recognising province, with
the refusal reasons; and the status now of every certificate an open case relies on, from its read model."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from aggregates.certificate import Status
from aggregates.errors import InvalidField
from node.auth import Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.query import (
    CURSOR_PARAMETER,
    choice,
    decode_cursor,
    encode_cursor,
    limit_parameter,
    page_size,
)
from node.schemas.common import PROVINCE, TYPE_CODE, Schema
from projections.recognition_registry import RegistryQuery, registry

MAX_LIMIT = 500
PROVINCE_FILTERS = ("issuing_province", "recognising_province")
REGISTRY: Schema = {
    "type": "object",
    "required": ["decisions", "relied_on", "next_cursor"],
    "properties": {
        "decisions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "type_code",
                    "issuing_province",
                    "recognising_province",
                    "recognised",
                    "refused",
                ],
                "properties": {
                    "type_code": {"type": "string"},
                    "issuing_province": {"type": "string"},
                    "recognising_province": {"type": "string"},
                    "recognised": {"type": "integer"},
                    "refused": {"type": "integer"},
                    "refusal_reasons": {"type": "object", "additionalProperties": {"type": "integer"}},
                },
            },
        },
        "relied_on": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["identifier", "status", "status_source", "open_cases"],
                "properties": {
                    "identifier": {"type": "string"},
                    "status": {"type": "string"},
                    "status_source": {"type": "string", "enum": ["recorded", "unchanged since verified"]},
                    "open_cases": {"type": "integer"},
                },
            },
        },
        "next_cursor": {
            "type": ["string", "null"],
            "description": "pass as ?cursor= for the next page of relied_on (decisions come whole)",
        },
    },
}
QUERY = [
    {"name": "type_code", "in": "query", "required": False, "schema": TYPE_CODE},
    *({"name": name, "in": "query", "required": False, "schema": PROVINCE} for name in PROVINCE_FILTERS),
    {
        "name": "status",
        "in": "query",
        "required": False,
        "description": "relied-on certificates in this status now",
        "schema": {"type": "string", "enum": list(Status)},
    },
    limit_parameter(MAX_LIMIT),
    CURSOR_PARAMETER,
]


def _query(request: web.Request) -> RegistryQuery:
    query = request.query  # every parameter matched its documented schema already
    after = None
    if "cursor" in query:
        after = decode_cursor(query["cursor"], "this registry")
        if not isinstance(after, str):
            raise InvalidField("cursor", "is not a cursor this registry gave")
    return RegistryQuery(
        type_code=query.get("type_code"),
        issuing_province=query.get("issuing_province"),
        recognising_province=query.get("recognising_province"),
        status=choice(request, "status", Status),
        limit=page_size(request, 100, MAX_LIMIT),
        after=after,
    )


async def recognition_registry(request: web.Request) -> web.Response:
    principal = authenticate(request)
    services = request.app[SERVICES]
    principal.require(Role.WINDOW, Role.HANDLER, Role.AUDITOR, Role.ADMIN, province=services.province)
    query = _query(request)

    def read() -> dict[str, Any]:
        with services.views.transaction() as tx:
            return registry(tx, query)

    found = await asyncio.to_thread(read)
    relied = found["relied_on"]
    cursor = encode_cursor(relied[-1]["identifier"]) if len(relied) == query.limit else None
    return web.json_response({**found, "next_cursor": cursor})


ENDPOINTS = [
    Endpoint(
        "GET",
        "/v1/recognition-registry",
        recognition_registry,
        "证照互认: recognitions and refusals by type and province, and relied-on certificates' status now",
        REGISTRY,
        roles="window, handling officers, auditors and admins of this province",
        errors=(401, 403, 422),
        tag="read models",
    )
]
