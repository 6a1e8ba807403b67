"""The aiohttp application factory."""

from __future__ import annotations

from importlib.metadata import version

from aiohttp import web

from node.http import (
    board,
    bundles,
    case_view,
    cases,
    catalogue,
    certificates,
    credentials,
    erasures,
    holder_uses,
    operations,
    quarantine,
    recognition,
    statistics,
    transparency,
    verification_records,
    verifier_kit,
    verifiers,
)
from node.http.endpoint import Endpoint
from node.http.keys import ADMISSION, PROTECTED, RATE_LIMITS, SERVICES
from node.http.middlewares import problems, request_context, shed_overload
from node.http.openapi import build_document
from node.http.parameters import checked_parameters
from node.http.rate_limit import RateLimiter
from node.overload import Admission
from node.services import Services

OPENAPI = web.AppKey("openapi", dict)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


ENDPOINTS: list[Endpoint] = [
    *operations.ENDPOINTS,
    *quarantine.ENDPOINTS,
    Endpoint(
        "GET", "/openapi.json", openapi, "This OpenAPI 3.1 document", {"type": "object"}, tag="operations"
    ),
    *certificates.ENDPOINTS,
    *credentials.ENDPOINTS,
    *catalogue.ENDPOINTS,
    *cases.ENDPOINTS,
    *bundles.ENDPOINTS,
    *board.ENDPOINTS,
    *case_view.ENDPOINTS,
    *holder_uses.ENDPOINTS,
    *recognition.ENDPOINTS,
    *statistics.ENDPOINTS,
    *transparency.ENDPOINTS,
    *erasures.ENDPOINTS,
    *verifiers.ENDPOINTS,
    *verifier_kit.ENDPOINTS,
    *verification_records.ENDPOINTS,
]


def create_app(services: Services) -> web.Application:
    app = web.Application(
        client_max_size=services.settings.max_body_bytes,
        middlewares=[request_context, shed_overload, problems, checked_parameters],
    )
    settings = services.settings
    app[SERVICES] = services
    app[RATE_LIMITS] = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
    app[ADMISSION] = Admission(
        services.metrics, "rest", "rest", settings.http_max_in_flight, settings.overload_retry_after_s
    )
    app[OPENAPI] = build_document(ENDPOINTS, version("tongban"))
    app[PROTECTED] = frozenset((ep.method, ep.path) for ep in ENDPOINTS if ep.roles)
    for ep in ENDPOINTS:
        app.router.add_route(ep.method, ep.path, ep.handler)
    return app
