"""One declaration per REST endpoint: the router and the OpenAPI document are both built from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from node.schemas.common import Schema

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    response: Schema | None  # None: not JSON, but ``media_type`` (e.g. Prometheus text, CSV)
    status: int = 200
    request: Schema | None = None
    roles: str = ""  # who may call it, for the document; empty = no token needed
    errors: tuple[int, ...] = ()
    tag: str = "certificates"
    media_type: str = "text/plain"  # of a response that is not JSON
    idempotent: bool = False  # accepts an Idempotency-Key header: a retry gets the first try's resource
    response_headers: tuple[str, ...] = ()  # headers a response that is not JSON carries (documented)
