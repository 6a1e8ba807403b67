"""Holder credentials over REST (亮证): the holder's platform of this province asks for a credential of a
certificate for the holder's device, or has one revoked when the device is lost; an issuer of this province
may revoke one too. The holder is named in the body, never in the URL."""

from __future__ import annotations

import asyncio

from aiohttp import web

from node.auth import Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.problems import read_json
from node.schemas.cases import PERSON_ID
from node.schemas.common import IDENTIFIER, NO_CONTROL_CHARACTERS, Schema

PROOF: Schema = {
    "type": "string",
    "maxLength": 2048,
    "pattern": "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$",
    "description": "the device's proof of possession (a JWS of type tongban-proof+jwt signed by the device "
    "key it names, for this node, fresh): `tongban wallet proof` makes one",
}
CREDENTIAL_ID: Schema = {"type": "string", "pattern": "^[A-Za-z0-9_-]{22}$"}
HOLDER: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id_type", "id_number"],
    "properties": PERSON_ID,
}
ISSUE: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["identifier", "holder", "proof"],
    "properties": {"identifier": IDENTIFIER, "holder": HOLDER, "proof": PROOF},
}
ISSUED: Schema = {
    "type": "object",
    "required": ["credential", "credential_id", "expires_at", "refreshed"],
    "properties": {
        "credential": {"type": "string", "description": "the SD-JWT with every disclosure, for the device"},
        "credential_id": CREDENTIAL_ID,
        "expires_at": {"type": "string", "format": "date-time"},
        "refreshed": {
            "type": "boolean",
            "description": "true: the device's live credential issued again with a later expiry (same id and "
            "status list entry); false: a new credential",
        },
    },
}
REVOKE: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["identifier", "credential_id", "reason"],
    "properties": {
        "identifier": IDENTIFIER,
        "credential_id": CREDENTIAL_ID,
        "reason": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": NO_CONTROL_CHARACTERS},
    },
}
REVOKED: Schema = {
    "type": "object",
    "required": ["identifier", "credential_id", "revoked"],
    "properties": {"identifier": IDENTIFIER, "credential_id": CREDENTIAL_ID, "revoked": {"const": True}},
}


async def issue(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = authenticate(request)
    principal.require(Role.PLATFORM, province=services.province)
    body = await read_json(request, ISSUE)
    issued = await asyncio.to_thread(
        services.credentials.issue,
        principal.actor,
        body["identifier"],
        body["holder"]["id_type"],
        body["holder"]["id_number"],
        body["proof"],
    )
    return web.json_response(
        {
            "credential": issued.credential,
            "credential_id": issued.credential_id,
            "expires_at": issued.expires_at.isoformat(),
            "refreshed": issued.refreshed,
        },
        status=201,
    )


async def revoke(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = authenticate(request)
    principal.require(Role.PLATFORM, Role.ISSUER, province=services.province)
    body = await read_json(request, REVOKE)
    identifier, credential_id = body["identifier"], body["credential_id"]
    certificate = await asyncio.to_thread(
        services.credentials.revoke, principal.actor, identifier, credential_id, body["reason"]
    )
    return web.json_response(
        {"identifier": certificate.identifier, "credential_id": body["credential_id"], "revoked": True}
    )


ENDPOINTS = [
    Endpoint(
        "POST",
        "/v1/credentials",
        issue,
        "A holder credential (SD-JWT) of a VALID certificate of this node, bound to the holder's device key; "
        "the device's live credential again with a later expiry when it holds one (a refresh)",
        ISSUED,
        201,
        ISSUE,
        "platform of this province",
        (401, 403, 404, 409, 422),
        tag="credentials",
    ),
    Endpoint(
        "POST",
        "/v1/credentials/revoke",
        revoke,
        "Revoke one credential alone (a lost or stolen device); the certificate is untouched",
        REVOKED,
        request=REVOKE,
        roles="platform or issuer of this province",
        errors=(401, 403, 404, 409, 422),
        tag="credentials",
    ),
]
