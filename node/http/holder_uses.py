"""用证记录 for one holder: who used their certificates, when, for which case and purpose, with which consent.

The holder is named in the body (never in the URL, so it cannot reach a log), and the read model is searched
by a digest of it. Only the applicant-facing platform (acting for the holder) and auditors may read it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from aggregates.certificate import holder_digest, validate_holder_id
from aggregates.errors import InvalidField
from node.auth import Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.problems import read_json
from node.http.query import decode_cursor, encode_cursor
from node.schemas.cases import PERSON_ID
from node.schemas.common import PROVINCE, Schema
from projections.certificate_uses import UsesQuery, uses_of

MAX_LIMIT = 500
HOLDER: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id_type", "id_number"],
    "properties": {
        **PERSON_ID,
        "requester_province": {**PROVINCE, "description": "only uses by this province"},
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "description": "page size (100)"},
        "cursor": {"type": "string", "maxLength": 512, "description": "next_cursor of the previous page"},
    },
}
USES: Schema = {
    "type": "object",
    "required": ["uses", "next_cursor"],
    "properties": {
        "next_cursor": {"type": ["string", "null"], "description": "send as cursor for the next page"},
        "uses": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["identifier", "requester_province", "case_reference", "purpose", "used_at"],
                "properties": {
                    "identifier": {"type": "string"},
                    "type_name": {"type": "string"},
                    "requester_province": {"type": "string"},
                    "case_reference": {"type": ["string", "null"], "description": "null: a use for no case"},
                    "purpose": {"type": "string"},
                    "consent_reference": {"type": "string"},
                    "used_at": {"type": "string"},
                },
            },
        },
    },
}


async def holder_uses(request: web.Request) -> web.Response:
    principal = authenticate(request)
    services = request.app[SERVICES]
    principal.require(Role.PLATFORM, Role.AUDITOR, province=services.province)
    body = await read_json(request, HOLDER)
    digest = holder_digest(body["id_type"], validate_holder_id(body["id_type"], body["id_number"]))

    query = UsesQuery(
        digest,
        body.get("requester_province"),
        body.get("limit", 100),
        _before(body["cursor"]) if "cursor" in body else None,
    )

    def read() -> tuple[list[dict[str, Any]], tuple[str, str, int] | None]:
        with services.views.transaction() as tx:
            return uses_of(tx, query)

    uses, after = await asyncio.to_thread(read)
    return web.json_response({"uses": uses, "next_cursor": encode_cursor(after) if after else None})


def _before(raw: str) -> tuple[str, str, int]:
    position = decode_cursor(raw, "this use log")
    if (
        not isinstance(position, list)
        or len(position) != 3
        or not all(isinstance(p, t) for p, t in zip(position, (str, str, int), strict=True))
    ):
        raise InvalidField("cursor", "is not a cursor this use log gave")
    return position[0], position[1], position[2]


ENDPOINTS = [
    Endpoint(
        "POST",
        "/v1/holder-uses",
        holder_uses,
        "用证记录: every use of one holder's certificates, by any province over any channel (the holder in "
        "the body)",
        USES,
        request=HOLDER,
        roles="the applicant-facing platform or auditors of this province",
        errors=(401, 403, 422),
        tag="read models",
    )
]
