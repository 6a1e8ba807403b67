"""Forgetting a person (PIPL right to deletion): an admin of this province erases one person's personal data.

The person is named in the body (never in the URL, so it cannot reach a log). The answer says what was erased,
by count and by the erasures' ids; the workflow history stays, with the person's fields reading as erased.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from node.auth import Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.problems import read_json
from node.schemas.cases import PERSON_ID
from node.schemas.common import Schema

PERSON: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id_type", "id_number"],
    "properties": PERSON_ID,
}
ERASED: Schema = {
    "type": "object",
    "required": ["erasure_ids", "keys_destroyed", "applicants", "certificates"],
    "properties": {
        "erasure_ids": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the erasures in the node's log: of its own data, and of each peer's copy",
        },
        "keys_destroyed": {"type": "integer", "description": "data keys destroyed (this node's and copies')"},
        "applicants": {"type": "integer", "description": "applicant registrations now erased"},
        "certificates": {"type": "integer", "description": "certificates whose holder is now erased"},
    },
}


async def forget(request: web.Request) -> web.Response:
    principal = authenticate(request)
    services = request.app[SERVICES]
    principal.require(Role.ADMIN, province=services.province)
    body = await read_json(request, PERSON)
    erasures = await asyncio.to_thread(
        services.erasure.forget, body["id_type"], body["id_number"], principal.actor
    )
    return web.json_response(
        {
            "erasure_ids": [str(e.id) for e in erasures],
            "keys_destroyed": sum(len(e.key_ids) for e in erasures),
            "applicants": sum(len(e.applicant_ids) for e in erasures),
            "certificates": sum(len(e.certificate_ids) for e in erasures),
        },
        status=201,
    )


ENDPOINTS = [
    Endpoint(
        "POST",
        "/v1/erasures",
        forget,
        "Forget a person: destroy their data keys (crypto-shredding) here, and tell the peers that received "
        "their data (the person in the body)",
        ERASED,
        status=201,
        request=PERSON,
        roles="admin of this province",
        errors=(401, 403, 404, 422),
        tag="personal data",
    )
]
