"""One rule for every path and query parameter, applied before any handler sees the request.

Each parameter is checked against the schema the OpenAPI document publishes for it (``node/http/openapi.py``
declares them once): a pattern must match the whole value, in ASCII (``[0-9]`` is no ``\\d``: Python's
``int()`` and ``str.isdigit()`` take other scripts' digits), an enum must hold it, a UUID must be one. A query
parameter the operation does not document is refused, and so is one given twice. Every refusal is 422
``invalid-field``; it names the documented parameter (or lists the documented ones) and never repeats what
the client sent, which may be anything, personal data or control characters included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from aggregates.errors import InvalidField
from node.http.auth import authenticate
from node.http.endpoint import Handler
from node.http.keys import PROTECTED
from node.http.openapi import PATH_PARAMETERS, QUERY_PARAMETERS

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


@web.middleware
async def checked_parameters(request: web.Request, handler: Handler) -> web.StreamResponse:
    resource = request.match_info.route.resource
    if resource is not None:  # None: no route matched, and aiohttp answers 404 or 405
        if (request.method, resource.canonical) in request.app[PROTECTED]:
            authenticate(request)  # 401 before anything about the parameters
        check(request.method, resource.canonical, request.match_info, request.query)
    return await handler(request)


def check(method: str, template: str, path: Mapping[str, str], query: MultiMapping[str]) -> None:
    """InvalidField for the first parameter that breaks the operation's documented parameters."""
    for name in re.findall(r"{(\w+)}", template):
        _check(name, path[name], PATH_PARAMETERS[name])
    documented = _query_parameters(method, template)
    if set(query) - set(documented):
        listed = ", ".join(sorted(documented)) or "none"
        raise InvalidField("query", f"this operation takes only its documented query parameters: {listed}")
    for name, parameter in documented.items():
        values = query.getall(name, [])
        if len(values) > 1:
            raise InvalidField(name, "may be given once")
        if values:
            _check(name, values[0], parameter["schema"])
        elif parameter.get("required"):
            raise InvalidField(name, "is required")


@cache
def _query_parameters(method: str, template: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in QUERY_PARAMETERS.get((method, template), [])}


def _check(name: str, value: str, schema: Mapping[str, Any]) -> None:
    if not value.isascii() or not value.isprintable():
        raise InvalidField(name, "must be printable ASCII, as documented")
    if len(value) > schema.get("maxLength", 256):
        raise InvalidField(name, f"must be at most {schema.get('maxLength', 256)} characters")
    pattern = schema.get("pattern")
    if pattern is not None and not re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value):
        raise InvalidField(name, f"must match {pattern}")
    if "enum" in schema and value not in schema["enum"]:
        raise InvalidField(name, f"must be one of {', '.join(map(str, schema['enum']))}")
    if schema.get("format") == "uuid" and not _UUID.fullmatch(value):
        raise InvalidField(name, "must be a UUID")
