"""REST endpoints for 一件事 bundles: filing one application for several items, reading it, attaching a shared
material once, and the one combined delivery. A bundle is for its parties only: the filing province and the
provinces handling its items."""

from __future__ import annotations

import asyncio

from aiohttp import web

from aggregates.bundle import BundleCase
from aggregates.case import Case
from node.auth import Forbidden, Principal, Role
from node.http.auth import authenticate
from node.http.cases import ERRORS, READERS, WINDOW_OR_PLATFORM
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.problems import read_json
from node.presentation.cases import bundle_json
from node.schemas import cases as cs

B = "/v1/bundle-cases/{bundle_id}"


async def submit_bundle(request: web.Request) -> web.Response:
    principal = authenticate(request)
    principal.require(Role.WINDOW, Role.PLATFORM, province=request.app[SERVICES].province)
    body = await read_json(request, cs.SUBMIT_BUNDLE)
    services = request.app[SERVICES]
    bundle, filed = await asyncio.to_thread(services.bundles.submit_bundle, principal.actor, **body)
    return web.json_response(
        bundle_json(bundle, filed, services.cases),
        status=201,
        headers={"Location": f"/v1/bundle-cases/{bundle.id}"},
    )


async def _bundle_party(request: web.Request, *roles: Role) -> tuple[Principal, BundleCase, list[Case]]:
    """The caller, after checking their role and that their province is a party to the bundle: the filing
    province or a province handling one of its item cases. Auditors too: a bundle is read by its parties."""
    principal = authenticate(request)
    principal.require(*roles)
    bundle, filed = await asyncio.to_thread(
        request.app[SERVICES].bundles.bundle_with_cases, request.match_info["bundle_id"]
    )
    if not bundle.is_party(principal.province, filed):
        raise Forbidden(f"province {principal.province} is not a party to 一件事 {bundle.bundle_code}")
    return principal, bundle, filed


async def read_bundle(request: web.Request) -> web.Response:
    _, bundle, filed = await _bundle_party(request, *READERS)
    return web.json_response(bundle_json(bundle, filed, request.app[SERVICES].cases))


async def attach_bundle_material(request: web.Request) -> web.Response:
    """Attach one material once, for every item case of the bundle that asks for it and lacks it."""
    principal, _, _ = await _bundle_party(request, *WINDOW_OR_PLATFORM, Role.HANDLER)
    body = await read_json(request, cs.BUNDLE_ATTACH)
    services = request.app[SERVICES]
    bundle_id = request.match_info["bundle_id"]
    await asyncio.to_thread(services.bundles.attach_to_bundle, bundle_id, principal.actor, **body)
    bundle, filed = await asyncio.to_thread(services.bundles.bundle_with_cases, bundle_id)
    return web.json_response(bundle_json(bundle, filed, services.cases))


async def deliver_bundle(request: web.Request) -> web.Response:
    principal, _, _ = await _bundle_party(request, Role.WINDOW, Role.HANDLER)
    body = await read_json(request, cs.DELIVER)
    services = request.app[SERVICES]
    bundle_id = request.match_info["bundle_id"]
    await asyncio.to_thread(
        services.bundles.deliver_bundle, bundle_id, principal.actor, body["method"], body["reference"]
    )
    bundle, filed = await asyncio.to_thread(services.bundles.bundle_with_cases, bundle_id)
    return web.json_response(bundle_json(bundle, filed, services.cases))


ENDPOINTS = [
    Endpoint(
        "POST",
        "/v1/bundle-cases",
        submit_bundle,
        "File a 一件事 bundle: one application, one case per item (each in the requested mode when the item "
        "allows it, else FULL_ONLINE; 422 naming an item that allows neither)",
        cs.BUNDLE_CASE,
        201,
        cs.SUBMIT_BUNDLE,
        "window officer or platform of this province",
        ERRORS,
        tag="cases",
    ),
    Endpoint(
        "GET",
        B,
        read_bundle,
        "Read a bundle: its one list of materials (bundle_materials) and its item cases",
        cs.BUNDLE_CASE,
        roles="officers and auditors of a party province (filing, or handling one of its items)",
        errors=(401, 403, 404, 422),
        tag="cases",
    ),
    Endpoint(
        "POST",
        B + "/materials",
        attach_bundle_material,
        "Attach one material of bundle_materials once, for every item case that asks for it and lacks it",
        cs.BUNDLE_CASE,
        200,
        cs.BUNDLE_ATTACH,
        "window officer, platform or handling officer of a party province (a party to each of those cases)",
        ERRORS,
        tag="cases",
    ),
    Endpoint(
        "POST",
        B + "/deliver",
        deliver_bundle,
        "One combined delivery, once, when every item case has concluded",
        cs.BUNDLE_CASE,
        200,
        cs.DELIVER,
        "window or handling officer of a party province",
        ERRORS,
        tag="cases",
    ),
]
