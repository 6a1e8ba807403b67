"""Service statistics (办件统计) from their read model: grouped as asked, filtered, paged; as JSON, or as CSV
for the platforms that publish them."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from aggregates.catalogue import Mode
from aggregates.clock import china_date
from aggregates.errors import InvalidField
from node.auth import Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.query import (
    CURSOR_PARAMETER,
    choice,
    decode_cursor,
    encode_cursor,
    limit_parameter,
    page_size,
)
from node.schemas.common import PROVINCE, Schema
from node.services import Services
from projections.service_statistics import DIMENSIONS, ServiceStatistics, StatisticsQuery, flatten, statistics

READERS = (Role.WINDOW, Role.HANDLER, Role.AUDITOR, Role.ADMIN, Role.PLATFORM)
MAX_LIMIT = 1000
MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
FILTERS = ("group_by", "from", "to", "mode", "item_code", "province", "limit", "cursor")


def _query(request: web.Request) -> StatisticsQuery:
    query = request.query
    group_by = tuple(d for d in query.get("group_by", "month").split(",") if d)
    wrong = [d for d in group_by if d not in DIMENSIONS]
    if wrong or len(set(group_by)) != len(group_by):
        raise InvalidField("group_by", f"must list distinct dimensions of {', '.join(DIMENSIONS)}")
    for name in ("from", "to"):
        if name in query and not MONTH.match(query[name]):
            raise InvalidField(name, "must be a month: YYYY-MM")
    if "province" in query and not re.fullmatch(PROVINCE["pattern"], query["province"]):
        raise InvalidField("province", "must be a province code of 6 digits")
    return StatisticsQuery(
        group_by=group_by,
        from_month=query.get("from"),
        to_month=query.get("to"),
        mode=choice(request, "mode", Mode),
        item_code=query.get("item_code"),
        province=query.get("province"),
        limit=page_size(request, 100, MAX_LIMIT),
        after=_cursor(query.get("cursor"), group_by),
    )


def _cursor(raw: str | None, group_by: tuple[str, ...]) -> tuple[str, ...] | None:
    """The opaque cursor: the grouping and the key of the last group of a page."""
    if raw is None:
        return None
    try:
        grouping, key = decode_cursor(raw, "these statistics")
    except (ValueError, TypeError):
        raise InvalidField("cursor", "is not a cursor these statistics gave") from None
    if grouping != list(group_by) or not isinstance(key, list) or not all(isinstance(k, str) for k in key):
        raise InvalidField("cursor", "belongs to another grouping: start again without it")
    return tuple(key)


def _next_cursor(groups: list[dict[str, Any]], query: StatisticsQuery) -> str | None:
    if len(groups) < query.limit:
        return None
    return encode_cursor([list(query.group_by), [str(value) for value in groups[-1]["group"].values()]])


async def _read(request: web.Request) -> tuple[Services, StatisticsQuery, list[dict[str, Any]]]:
    principal = authenticate(request)
    services = request.app[SERVICES]
    principal.require(*READERS, province=services.province)
    query = _query(request)

    def read() -> list[dict[str, Any]]:
        with services.views.transaction() as tx:
            return statistics(tx, query, china_date(services.cases.now()))

    return services, query, await asyncio.to_thread(read)


async def statistics_json(request: web.Request) -> web.Response:
    services, query, groups = await _read(request)
    lag = await asyncio.to_thread(services.projections[ServiceStatistics.name].lag)
    return web.json_response(
        {
            "group_by": list(query.group_by),
            "groups": groups,
            "next_cursor": _next_cursor(groups, query),
            "lag": {"events": lag.events, "seconds": round(lag.seconds, 3)},
        }
    )


async def statistics_csv(request: web.Request) -> web.Response:
    """The same groups, one CSV record each; an empty figure (no case to measure) is an empty field."""
    _services, query, groups = await _read(request)
    out = io.StringIO()
    records = [flatten(group) for group in groups]
    if records:
        writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(records)
    response = web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="statistics.csv"'
    cursor = _next_cursor(groups, query)
    if cursor is not None:
        response.headers["Link"] = f'<?{_with_cursor(request, cursor)}>; rel="next"'
    return response


def _with_cursor(request: web.Request, cursor: str) -> str:
    params = {name: value for name, value in request.query.items() if name != "cursor"}
    return urlencode({**params, "cursor": cursor})


NUMBER = {"type": ["number", "null"]}
FIGURES: Schema = {
    "type": "object",
    "required": ["group", "volume", "handling", "materials", "supplements", "ratings"],
    "properties": {
        "group": {"type": "object", "additionalProperties": {"type": "string"}},
        "volume": {
            "type": "object",
            "required": ["filed", "accepted", "refused", "withdrawn", "concluded", "open"],
            "additionalProperties": {"type": "integer"},
        },
        "handling": {
            "type": "object",
            "description": "working days counted from acceptance to conclusion (suspensions excluded), "
            "against the promised limit (plus any extension); unmeasured: concluded in a year the calendar "
            "lacks",
            "required": ["measured", "average_days", "p90_days", "within_promised_rate"],
            "additionalProperties": NUMBER,
        },
        "materials": {
            "type": "object",
            "description": "materials on file, and those a certificate replaced (免提交)",
            "required": ["on_file", "spared", "spared_rate"],
            "additionalProperties": NUMBER,
        },
        "supplements": {
            "type": "object",
            "required": ["rounds", "cases_with_supplement", "rounds_per_case"],
            "additionalProperties": NUMBER,
        },
        "ratings": {
            "type": "object",
            "description": "好差评: good is 3 to 5; a rating of 1 or 2 opens a rectification",
            "required": ["rated", "good", "good_rate", "rectifications_open", "rectifications_overdue"],
            "additionalProperties": NUMBER,
        },
    },
}
STATISTICS: Schema = {
    "type": "object",
    "required": ["group_by", "groups", "next_cursor", "lag"],
    "properties": {
        "group_by": {"type": "array", "items": {"type": "string", "enum": list(DIMENSIONS)}},
        "groups": {"type": "array", "items": FIGURES},
        "next_cursor": {"type": ["string", "null"], "description": "pass as ?cursor= for the next page"},
        "lag": {"type": "object", "description": "how far the read model trails the node's log"},
    },
}
MONTH_PARAMETER = {"type": "string", "pattern": MONTH.pattern}
QUERY = [
    {
        "name": "group_by",
        "in": "query",
        "required": False,
        "description": f"comma-separated dimensions: {', '.join(DIMENSIONS)} (month: of filing, China time); "
        "default month",
        "schema": {"type": "string", "pattern": "^[a-z_]{1,32}(,[a-z_]{1,32}){0,4}$"},
    },
    {
        "name": "from",
        "in": "query",
        "required": False,
        "description": "first month",
        "schema": MONTH_PARAMETER,
    },
    {"name": "to", "in": "query", "required": False, "description": "last month", "schema": MONTH_PARAMETER},
    {"name": "mode", "in": "query", "required": False, "schema": {"type": "string", "enum": list(Mode)}},
    {
        "name": "item_code",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$"},
    },
    {
        "name": "province",
        "in": "query",
        "required": False,
        "description": "only cases this province received or handled",
        "schema": PROVINCE,
    },
    limit_parameter(MAX_LIMIT),
    CURSOR_PARAMETER,
]
ROLES = "window, handling officers, auditors, admins and platforms of this province"
ENDPOINTS = [
    Endpoint(
        "GET",
        "/v1/statistics",
        statistics_json,
        "办件统计: volumes, handling time against the promised limit, 免提交, supplements, 好差评",
        STATISTICS,
        roles=ROLES,
        errors=(401, 403, 422),
        tag="read models",
    ),
    Endpoint(
        "GET",
        "/v1/statistics.csv",
        statistics_csv,
        "办件统计 as CSV: one record per group, figures as section.figure columns; Link rel=next pages on",
        None,
        media_type="text/csv",
        roles=ROLES,
        errors=(401, 403, 422),
        tag="read models",
    ),
]
