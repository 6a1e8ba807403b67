"""Verifier kits upload their check records to their own node (role ``verifier`` of this province, the token's
operator being the verifier's id): never a disclosed value, only what the use log needs. The answer names the
records the node holds, new or held already, so that a kit retrying after a lost answer marks them done."""

from __future__ import annotations

import asyncio

from aiohttp import web

from aggregates.credential_scenarios import SCENARIO_CODES
from aggregates.offline_check import VERDICTS
from node.auth import Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.problems import read_json
from node.schemas.common import Schema
from node.schemas.verifiers import VERIFIER_ID

MAX_RECORDS = 500  # what a kit's sync sends at once (verifier/sync.py)
RECORD: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "record_id",
        "verifier_id",
        "scenario",
        "at",
        "verdict",
        "reason",
        "issuer",
        "credential_id",
    ],
    "properties": {
        "record_id": {"type": "string", "format": "uuid", "pattern": "^[0-9a-f-]{36}$"},
        "verifier_id": VERIFIER_ID,
        "scenario": {"enum": sorted(SCENARIO_CODES)},
        "at": {"type": "string", "format": "date-time", "maxLength": 40},
        "verdict": {"enum": list(VERDICTS)},
        "reason": {"type": "string", "pattern": "^[A-Z][A-Z_]{1,63}$"},
        "issuer": {"type": "string", "maxLength": 40, "description": "the presentation's iss, or empty"},
        "credential_id": {"type": "string", "maxLength": 22, "description": "its jti, or empty"},
    },
}
UPLOAD: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["records"],
    "properties": {"records": {"type": "array", "minItems": 1, "maxItems": MAX_RECORDS, "items": RECORD}},
}
HELD: Schema = {
    "type": "object",
    "required": ["held"],
    "properties": {"held": {"type": "array", "items": {"type": "string"}}},
}


async def upload(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = authenticate(request)
    principal.require(Role.VERIFIER, province=services.province)
    body = await read_json(request, UPLOAD)
    held = await asyncio.to_thread(services.offline_checks.record, principal.actor, body["records"])
    return web.json_response({"held": held})


ENDPOINTS = [
    Endpoint(
        "POST",
        "/v1/verification-records",
        upload,
        "A verifier kit's check records (亮证核验): recorded once each, and carried to the issuing "
        "province's use log",
        HELD,
        request=UPLOAD,
        roles="verifier of this province (its own records)",
        errors=(401, 403, 422),
        tag="verifiers",
    )
]
