"""The cross-province case view (责任追溯): one case's merged timeline across every province involved, read
from its read model, for officers of a party province and auditors."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from node.auth import Forbidden, Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.query import limit_parameter, page_size
from node.presentation.cases import deadlines_json
from node.schemas import cases as cs
from node.schemas.common import PROVINCE, Schema
from node.store.application import NotFound
from projections.case_view import case_steps, parties

READERS = (Role.WINDOW, Role.PLATFORM, Role.HANDLER, Role.AUDITOR, Role.ADMIN)
MAX_LIMIT = 500
CASE_VIEW: Schema = {
    **cs.TIMELINE,
    "required": [*cs.TIMELINE["required"], "provinces", "next_after_version"],
    "properties": {
        **cs.TIMELINE["properties"],
        "provinces": {
            "type": "array",
            "items": {"type": "string"},
            "description": "every province that acted",
        },
        "next_after_version": {
            "type": ["integer", "null"],
            "description": "pass as ?after_version= for the next page",
        },
    },
}
QUERY = [
    {
        "name": "province",
        "in": "query",
        "required": False,
        "description": "only the steps this province recorded",
        "schema": PROVINCE,
    },
    {
        "name": "after_version",
        "in": "query",
        "required": False,
        "description": "only the steps after this version",
        "schema": {"type": "string", "pattern": "^[0-9]{1,9}$"},
    },
    limit_parameter(MAX_LIMIT),
]


async def case_view(request: web.Request) -> web.Response:
    principal = authenticate(request)
    principal.require(*READERS)
    by = request.query.get("province")  # every parameter matched its documented schema already
    after = request.query.get("after_version", "0")
    limit = page_size(request, MAX_LIMIT, MAX_LIMIT)
    case_id = request.match_info["case_id"]
    services = request.app[SERVICES]

    def read() -> list[dict[str, Any]]:
        with services.views.transaction() as tx:
            return case_steps(tx, case_id)

    steps = await asyncio.to_thread(read)
    if not steps:
        raise NotFound(f"no case {case_id} on this node (or not in its read model yet)")
    involved = parties(steps)
    if principal.role is not Role.AUDITOR and principal.province not in involved:
        raise Forbidden(f"province {principal.province} is not a party to this case")
    acting = sorted({step["province"] for step in steps if step["province"]})
    shown = [s for s in steps if s["version"] > int(after) and by in (None, s["province"])][:limit]
    more = len(shown) == limit and shown[-1]["version"] < steps[-1]["version"]
    cases = services.cases
    deadlines = await asyncio.to_thread(lambda: deadlines_json(cases.case(case_id), cases))
    return web.json_response(
        {
            "case_id": case_id,
            "provinces": acting,
            "entries": shown,
            "next_after_version": shown[-1]["version"] if more else None,
            "deadlines": deadlines,
        }
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/v1/case-views/{case_id}",
        case_view,
        "The cross-province case view: every step, by every province involved, with who acted (责任追溯)",
        CASE_VIEW,
        roles="officers of a party province, auditors",
        errors=(401, 403, 404, 422),
        tag="read models",
    )
]
