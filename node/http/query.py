"""Query parameters of the read models' endpoints: a bounded page size, opaque cursors. Every parameter was
checked against its documented schema before the handler runs (``node/http/parameters.py``)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from aggregates.errors import InvalidField


def choice(request: web.Request, name: str, allowed: Iterable[str]) -> str | None:
    raw = request.query.get(name)
    choices = list(allowed)
    if raw is not None and raw not in choices:
        raise InvalidField(name, f"must be one of {', '.join(choices)}")
    return raw


def page_size(request: web.Request, default: int, maximum: int) -> int:
    try:
        limit = int(request.query.get("limit", str(default)))
    except ValueError:
        limit = 0
    if not 1 <= limit <= maximum:
        raise InvalidField("limit", f"must be 1 to {maximum}")
    return limit


def encode_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def decode_cursor(raw: str, of: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, TypeError):
        raise InvalidField("cursor", f"is not a cursor {of} gave") from None


def limit_parameter(maximum: int) -> dict[str, Any]:
    return {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": f"page size, 1 to {maximum}",
        "schema": {"type": "string", "pattern": f"^[0-9]{{1,{len(str(maximum))}}}$"},
    }


CURSOR_PARAMETER: dict[str, Any] = {
    "name": "cursor",
    "in": "query",
    "required": False,
    "description": "next_cursor of the previous page",
    "schema": {"type": "string"},
}
