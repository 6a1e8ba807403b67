"""Registered verifiers over REST: an admin of this province registers, changes or withdraws its own; wallets'
platforms, verifier kits, admins and auditors of any province read every registration of the federation."""

from __future__ import annotations

import asyncio

from aiohttp import web

from aggregates.verifier import VerifierRegistration
from node.auth import Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.problems import read_json
from node.schemas import verifiers as schemas
from projections.verifier_registry import registered_verifiers

PREFIX = "/v1/verifiers"
READERS = (Role.VERIFIER, Role.PLATFORM, Role.ADMIN, Role.AUDITOR)


def registration_json(registration: VerifierRegistration) -> dict[str, object]:
    return {
        "verifier_id": registration.verifier_id,
        "organisation": registration.organisation,
        "province": registration.province,
        "scenarios": registration.scenarios,
        "jwk": registration.jwk,
        "withdrawn": registration.withdrawn,
    }


async def register(request: web.Request) -> web.Response:
    principal = authenticate(request)
    services = request.app[SERVICES]
    principal.require(Role.ADMIN, province=services.province)
    body = await read_json(request, schemas.REGISTER)
    registration = await asyncio.to_thread(
        services.verifiers.register,
        principal.actor,
        body["verifier_id"],
        body["organisation"],
        body["scenarios"],
        body["jwk"],
    )
    return web.json_response(
        registration_json(registration),
        status=201,
        headers={"Location": f"{PREFIX}/{registration.verifier_id}"},
    )


async def change(request: web.Request) -> web.Response:
    principal = authenticate(request)
    services = request.app[SERVICES]
    principal.require(Role.ADMIN, province=services.province)
    body = await read_json(request, schemas.CHANGE)
    registration = await asyncio.to_thread(
        services.verifiers.change,
        principal.actor,
        request.match_info["verifier_id"],
        body["scenarios"],
        body["jwk"],
    )
    return web.json_response(registration_json(registration))


async def withdraw(request: web.Request) -> web.Response:
    principal = authenticate(request)
    services = request.app[SERVICES]
    principal.require(Role.ADMIN, province=services.province)
    await read_json(request, {"type": "object", "additionalProperties": False, "properties": {}})
    registration = await asyncio.to_thread(
        services.verifiers.withdraw, principal.actor, request.match_info["verifier_id"]
    )
    return web.json_response(registration_json(registration))


async def listing(request: web.Request) -> web.Response:
    authenticate(request).require(*READERS)
    views = request.app[SERVICES].views

    def read() -> list[dict[str, object]]:
        with views.transaction() as tx:
            return registered_verifiers(tx)

    return web.json_response({"verifiers": await asyncio.to_thread(read)})


_ADMIN_ERRORS = (401, 403, 404, 409, 422)
ENDPOINTS = [
    Endpoint(
        "POST",
        PREFIX,
        register,
        "Register a verifier of this province (a police unit's handheld, a hotel desk) and its key",
        schemas.REGISTRATION,
        201,
        schemas.REGISTER,
        "admin of this province",
        (401, 403, 409, 422),
        tag="verifiers",
    ),
    Endpoint(
        "POST",
        PREFIX + "/{verifier_id}/change",
        change,
        "Replace a registered verifier's key (a lost device) or scenarios",
        schemas.REGISTRATION,
        request=schemas.CHANGE,
        roles="admin of this province",
        errors=_ADMIN_ERRORS,
        tag="verifiers",
    ),
    Endpoint(
        "POST",
        PREFIX + "/{verifier_id}/withdraw",
        withdraw,
        "Withdraw a registered verifier: its requests no longer check",
        schemas.REGISTRATION,
        request={"type": "object", "additionalProperties": False, "properties": {}},
        roles="admin of this province",
        errors=_ADMIN_ERRORS,
        tag="verifiers",
    ),
    Endpoint(
        "GET",
        PREFIX,
        listing,
        "Every registered verifier of the federation, as wallets and verifier kits check requests with",
        schemas.REGISTRATIONS,
        roles="verifier, platform, admin or auditor of any province",
        errors=(401, 403),
        tag="verifiers",
    ),
]
