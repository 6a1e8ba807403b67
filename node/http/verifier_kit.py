"""What a verifier kit or a wallet's platform syncs from its own province's node, in one answer: the
federation's signed manifest (the trust list of every province's keys), every province's last status list,
the scenario policies and every registered verifier. All of it is public or signed; nothing personal."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from aggregates.credential_scenarios import SCENARIOS
from credentials.policy import ScenarioPolicy
from node.auth import Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.schemas.common import Schema
from node.schemas.verifiers import REGISTRATION
from node.store.application import NotFound
from projections.status_lists import current_lists
from projections.verifier_registry import registered_verifiers

POLICIES = [
    ScenarioPolicy(s.code, s.name, s.claims, s.max_status_age_s, s.accept_stale).to_json() for s in SCENARIOS
]
BUNDLE: Schema = {
    "type": "object",
    "required": ["manifest", "status_lists", "policies", "verifiers"],
    "properties": {
        "manifest": {"type": "object", "description": "the federation's manifest exactly as signed"},
        "status_lists": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "province -> its last status list token (statuslist+jwt)",
        },
        "policies": {"type": "array", "items": {"type": "object"}},
        "verifiers": {"type": "array", "items": REGISTRATION},
    },
}


async def bundle(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    authenticate(request).require(Role.VERIFIER, Role.PLATFORM, province=services.province)
    if services.federation is None:
        raise NotFound("this node is in no federation: it has no manifest to give")
    manifest = services.federation.manifest.current().signed

    def read() -> dict[str, Any]:
        with services.views.transaction() as tx:
            return {"status_lists": current_lists(tx), "verifiers": registered_verifiers(tx)}

    return web.json_response({"manifest": manifest, "policies": POLICIES, **await asyncio.to_thread(read)})


ENDPOINTS = [
    Endpoint(
        "GET",
        "/v1/verifier-kit/bundle",
        bundle,
        "What a verifier kit (or a wallet's platform) syncs: the signed manifest, every province's status "
        "list, the scenario policies and the registered verifiers",
        BUNDLE,
        roles="verifier or platform of this province",
        errors=(401, 403, 404),
        tag="verifiers",
    )
]
