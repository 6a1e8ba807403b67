"""REST endpoints for the service catalogue (事项清单): read items and bundles; admins publish their own."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from aggregates.catalogue import ServiceBundle, ServiceItem
from aggregates.errors import InvalidField
from node.auth import Forbidden, Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.problems import read_json
from node.schemas import cases as cs

PREFIX = "/v1/catalogue"


def item_json(item: ServiceItem) -> dict[str, Any]:
    return {
        "province": item.province,
        "code": item.definition.code,
        "version": item.version,
        "published_at": item.created_on.isoformat(),
        "revised_at": item.modified_on.isoformat(),
        "definition": item.definition.as_event_fields(),
    }


def bundle_json(bundle: ServiceBundle) -> dict[str, Any]:
    return {
        "province": bundle.province,
        "code": bundle.code,
        "name": bundle.name,
        "items": [{"province": p, "code": c} for p, c in bundle.items],
    }


async def list_items(request: web.Request) -> web.Response:
    authenticate(request)
    catalogue = request.app[SERVICES].catalogue
    items = await asyncio.to_thread(catalogue.items, request.match_info["province"])
    return web.json_response({"items": [item_json(i) for i in items]})


def _version(request: web.Request) -> int | None:
    """``?version=N``: absent for the latest; otherwise a whole number from 1 (422 pointing at /version)."""
    raw = request.query.get("version")
    if raw is None:
        return None
    if not re.fullmatch(r"[0-9]{1,19}", raw):
        raise InvalidField("version", "must be a whole number from 1")
    return int(raw)


async def read_item(request: web.Request) -> web.Response:
    authenticate(request)
    catalogue = request.app[SERVICES].catalogue
    item = await asyncio.to_thread(
        catalogue.item, request.match_info["province"], request.match_info["code"], _version(request)
    )
    return web.json_response(item_json(item))


async def publish_item(request: web.Request) -> web.Response:
    principal = authenticate(request)
    province = request.app[SERVICES].province
    principal.require(Role.ADMIN, province=province)
    if request.match_info["province"] != province:
        raise Forbidden(f"this node publishes only province {province}'s catalogue")
    body = await read_json(request, cs.ITEM_DEFINITION)
    catalogue = request.app[SERVICES].catalogue
    item, outcome = await asyncio.to_thread(
        catalogue.publish_item, province, {"code": request.match_info["code"], **body}, principal.actor
    )
    return web.json_response({**item_json(item), "outcome": outcome})


async def list_bundles(request: web.Request) -> web.Response:
    authenticate(request)
    catalogue = request.app[SERVICES].catalogue
    bundles = await asyncio.to_thread(catalogue.bundles, request.match_info["province"])
    return web.json_response({"bundles": [bundle_json(b) for b in bundles]})


_READ = "any authenticated caller"
ENDPOINTS = [
    Endpoint(
        "GET",
        PREFIX + "/{province}/items",
        list_items,
        "A province's service items",
        cs.ITEM_LIST,
        roles=_READ,
        errors=(401, 422),
        tag="catalogue",
    ),
    Endpoint(
        "GET",
        PREFIX + "/{province}/items/{code}",
        read_item,
        "One service item; ?version=N: as version N was published (404 when it has no version N)",
        cs.ITEM,
        roles=_READ,
        errors=(401, 404, 422),
        tag="catalogue",
    ),
    Endpoint(
        "PUT",
        PREFIX + "/{province}/items/{code}",
        publish_item,
        "Publish or revise an item of this node's province (a new version when it changed); 409 when "
        "concurrent writes kept it from being recorded (retry)",
        cs.ITEM,
        200,
        cs.ITEM_DEFINITION,
        "admin of this province",
        (401, 403, 409, 422),
        tag="catalogue",
    ),
    Endpoint(
        "GET",
        PREFIX + "/{province}/bundles",
        list_bundles,
        "A province's 一件事 bundles",
        cs.BUNDLE_LIST,
        roles=_READ,
        errors=(401, 422),
        tag="catalogue",
    ),
]
