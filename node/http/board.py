"""电子监察: the case supervision board of this node's province, read from its read model (never from
aggregates), with filters, a stable sort and keyset pagination."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from aggregates.case import State
from aggregates.catalogue import Mode
from aggregates.clock import china_date
from aggregates.errors import InvalidField
from node.auth import Role
from node.calendar.source import case_calendar
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
from node.schemas.cases import BREACH
from node.schemas.common import Schema
from projections.case_board import (
    SORTS,
    TASKS,
    BoardQuery,
    CaseBoard,
    board_counts,
    query_board,
    with_deadlines,
)

BOARD_READERS = (Role.WINDOW, Role.HANDLER, Role.AUDITOR, Role.ADMIN)
MAX_LIMIT = 200
CHOICES = {
    "role": ("RECEIVING", "HANDLING", "PART"),
    "mode": tuple(m.value for m in Mode),
    "state": tuple(s.value for s in State),
    "deadline": ("YELLOW", "RED"),
    "waiting_on_peer": ("true", "false"),
    "task": TASKS,
    "open": ("true", "false"),
    "sort": SORTS,
    "order": ("asc", "desc"),
}


def _query(request: web.Request, province: str) -> BoardQuery:
    values = {name: choice(request, name, allowed) for name, allowed in CHOICES.items()}
    sort = values["sort"] or "filed_at"
    waiting = values["waiting_on_peer"]
    return BoardQuery(
        province=province,
        role=values["role"],
        mode=values["mode"],
        state=values["state"],
        deadline=values["deadline"],
        waiting_on_peer=None if waiting is None else waiting == "true",
        task=values["task"],
        open_only=(values["open"] or "true") == "true",
        sort=sort,
        descending=values["order"] == "desc",
        limit=page_size(request, 50, MAX_LIMIT),
        after=_cursor(request.query.get("cursor"), sort),
    )


def _cursor(raw: str | None, sort: str) -> tuple[str, str] | None:
    """The opaque cursor: the sort column, its value and the case id of the last row of a page."""
    if raw is None:
        return None
    try:
        column, value, case_id = decode_cursor(raw, "this board")
    except (ValueError, TypeError):
        raise InvalidField("cursor", "is not a cursor this board gave") from None
    if column != sort or not isinstance(value, str) or not isinstance(case_id, str):
        raise InvalidField("cursor", "belongs to another sort order: start again without it")
    return value, case_id


def _next_cursor(rows: list[dict[str, Any]], query: BoardQuery) -> str | None:
    if len(rows) < query.limit:
        return None
    return encode_cursor([query.sort, rows[-1][query.sort], rows[-1]["case_id"]])


async def board(request: web.Request) -> web.Response:
    principal = authenticate(request)
    services = request.app[SERVICES]
    principal.require(*BOARD_READERS, province=services.province)
    query = _query(request, services.province)

    today = china_date(services.cases.now())

    def read() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        with services.views.transaction() as tx:
            rows = with_deadlines(tx, query_board(tx, query), today, case_calendar)
            return rows, board_counts(tx, services.province)

    rows, counts = await asyncio.to_thread(read)
    lag = await asyncio.to_thread(services.projections[CaseBoard.name].lag)
    return web.json_response(
        {
            "province": services.province,
            "counts": counts,
            "cases": rows,
            "next_cursor": _next_cursor(rows, query),
            "lag": {"events": lag.events, "seconds": round(lag.seconds, 3)},
        }
    )


NULLABLE_DATE: Schema = {"type": ["string", "null"]}
BOARD_ROW: Schema = {
    "type": "object",
    "required": ["case_id", "case_no", "mode", "state", "roles", "deadline", "writer", "waiting_on_peer"],
    "properties": {
        "case_id": {"type": "string"},
        "case_no": {"type": "string"},
        "mode": {"type": "string"},
        "state": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string", "enum": ["RECEIVING", "HANDLING", "PART"]}},
        "deadline": {"type": "string", "enum": ["NONE", "YELLOW", "RED"]},
        "writer": {"type": "string"},
        "waiting_on_peer": {"type": "boolean"},
        "open": {"type": "boolean"},
        "due": {
            "type": ["object", "null"],
            "description": "due dates as of today, once accepted; calendar PROVISIONAL when they count "
            "through a year without the official schedule (docs/calendar.md)",
            "properties": {
                "promised": NULLABLE_DATE,
                "statutory": NULLABLE_DATE,
                "calendar": {"type": "string", "enum": ["OFFICIAL", "PROVISIONAL"]},
                "provisional_years": {"type": "array", "items": {"type": "integer"}},
                "promised_breach": BREACH,
                "statutory_breach": BREACH,
                "delivery": {
                    **NULLABLE_DATE,
                    "description": "送达 due (行政许可法 第44条: 10 working days from the decision); null "
                    "while no delivery clock runs: before the decision, or decided before the clock was kept",
                },
                "delivery_breach": BREACH,
            },
        },
        "task": {
            "type": ["object", "null"],
            "description": "what the case waits on a person of its handling office for: "
            "DECIDE_SUPPLEMENT_TIMEOUT once a supplement lapsed (since: the day it lapsed); null: nothing",
            "properties": {"kind": {"type": "string", "enum": list(TASKS)}, "since": {"type": "string"}},
        },
        "notice_due": {
            "type": ["object", "null"],
            "description": "the notice limit (补正告知, 行政许可法 第32条: 5 working days from the receipt, "
            "or "
            "the submission online) as of today: its due date, status (CONCLUDED_* once the notice, the "
            "acceptance, a refusal or a withdrawal stopped it) and recorded breach; null while it has not "
            "started (or on a board kept before the rule, until rebuilt)",
            "properties": {
                "due_on": NULLABLE_DATE,
                "status": {"type": "string"},
                "calendar": {"type": "string", "enum": ["OFFICIAL", "PROVISIONAL"]},
                "provisional_years": {"type": "array", "items": {"type": "integer"}},
                "breach": BREACH,
            },
        },
        "due_moved": {
            "type": ["object", "null"],
            "description": "the last time the official schedule of a year moved the due dates "
            "(DeadlinesRecomputed): when, from and to, and the notice's source",
        },
    },
}
BOARD: Schema = {
    "type": "object",
    "required": ["province", "counts", "cases", "next_cursor", "lag"],
    "properties": {
        "province": {"type": "string"},
        "counts": {
            "type": "object",
            "description": "open cases by mode, state and role; yellow, red and waiting_on_peer counts; "
            "awaiting_decision: the cases this province handles whose lapsed supplement waits for its "
            "decision (list them with ?task=DECIDE_SUPPLEMENT_TIMEOUT)",
        },
        "cases": {"type": "array", "items": BOARD_ROW},
        "next_cursor": {"type": ["string", "null"], "description": "pass as ?cursor= for the next page"},
        "lag": {"type": "object", "description": "how far the read model trails the node's log"},
    },
}
QUERY = [
    *(
        {"name": name, "in": "query", "required": False, "schema": {"type": "string", "enum": list(allowed)}}
        for name, allowed in CHOICES.items()
    ),
    limit_parameter(MAX_LIMIT),
    CURSOR_PARAMETER,
]
ENDPOINTS = [
    Endpoint(
        "GET",
        "/v1/board",
        board,
        "电子监察: this province's cases by role, mode and state; yellow, red, waiting on a peer, "
        "awaiting a decision on a lapsed supplement",
        BOARD,
        roles="window, handling officers, auditors and admins of this province",
        errors=(401, 403, 422),
        tag="read models",
    )
]
