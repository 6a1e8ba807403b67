"""用证记录 for one holder: who used their certificates, when, for which case and purpose, with which consent.

The holder is named in the body (never in the URL, so it cannot reach a log), and the read model is searched
by a digest of it. Only the applicant-facing platform (acting for the holder) and auditors may read it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from aggregates.certificate import holder_digest, validate_holder_id
from node.auth import Role
from node.http.case_schemas import APPLICANT
from node.http.certificates import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.problems import read_json
from node.http.schemas import Schema
from projections.certificate_uses import uses_of

HOLDER: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id_type", "id_number"],
    "properties": {
        "id_type": APPLICANT["properties"]["id_type"],
        "id_number": APPLICANT["properties"]["id_number"],
    },
}
USES: Schema = {
    "type": "object",
    "required": ["uses"],
    "properties": {
        "uses": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["identifier", "requester_province", "case_reference", "purpose", "used_at"],
                "properties": {
                    "identifier": {"type": "string"},
                    "type_name": {"type": "string"},
                    "requester_province": {"type": "string"},
                    "case_reference": {"type": "string"},
                    "purpose": {"type": "string"},
                    "consent_reference": {"type": "string"},
                    "used_at": {"type": "string"},
                },
            },
        }
    },
}


async def holder_uses(request: web.Request) -> web.Response:
    principal = authenticate(request)
    services = request.app[SERVICES]
    principal.require(Role.PLATFORM, Role.AUDITOR, province=services.province)
    body = await read_json(request, HOLDER)
    digest = holder_digest(body["id_type"], validate_holder_id(body["id_type"], body["id_number"]))

    def read() -> list[dict[str, Any]]:
        with services.views.transaction() as tx:
            return uses_of(tx, digest)

    return web.json_response({"uses": await asyncio.to_thread(read)})


ENDPOINTS = [
    Endpoint(
        "POST",
        "/v1/holder-uses",
        holder_uses,
        "用证记录: every use of one holder's certificates by another province (the holder in the body)",
        USES,
        request=HOLDER,
        roles="the applicant-facing platform or auditors of this province",
        errors=(401, 403, 422),
        tag="read models",
    )
]
