"""证照互认 registry: recognitions and refusals by certificate type, issuing and recognising province, with
the refusal reasons; and the status now of every certificate an open case relies on, from its read model."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from node.auth import Role
from node.http.certificates import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.schemas import Schema
from projections.recognition_registry import registry

REGISTRY: Schema = {
    "type": "object",
    "required": ["decisions", "relied_on"],
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
    },
}


async def recognition_registry(request: web.Request) -> web.Response:
    principal = authenticate(request)
    services = request.app[SERVICES]
    principal.require(Role.WINDOW, Role.HANDLER, Role.AUDITOR, Role.ADMIN, province=services.province)

    def read() -> dict[str, Any]:
        with services.views.transaction() as tx:
            return registry(tx)

    return web.json_response(await asyncio.to_thread(read))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/v1/recognition-registry",
        recognition_registry,
        "证照互认: recognitions and refusals by type and province, and relied-on certificates' status now",
        REGISTRY,
        roles="window, handling officers, auditors and admins of this province",
        errors=(401, 403),
        tag="read models",
    )
]
