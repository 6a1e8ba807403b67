"""Request context (request id, access log, metrics) and the translation of errors into problem+json."""

from __future__ import annotations

import math
import re
from time import perf_counter

import structlog
from aiohttp import web

from federation.errors import PeerBusy
from node.errors import mapping_for
from node.http.endpoint import Handler
from node.http.keys import ADMISSION, REQUEST_ID, SERVICES
from node.http.problems import Problem, problem_response
from node.log_config import error_location
from node.request_ids import accept_request_id

log = structlog.get_logger("tongban.http")
# Never shed: an orchestrator that cannot reach them under load would restart a node that is only busy, and
# the metrics are how an operator sees the load.
NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics"})


def _route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id to every log line of the request; count and time it by route template.

    Authentication binds the acting province, office, operator and role too (``authenticate``); whatever
    the request bound is dropped when it ends, so nothing carries over to the next request on the connection.
    """
    request_id = accept_request_id(request.headers.get("X-Request-Id"))
    request[REQUEST_ID] = request_id
    route = _route_template(request)
    started = perf_counter()
    outer = structlog.contextvars.get_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        log.debug("http.request.received", method=request.method, route=route)
        response = await handler(request)
        elapsed = perf_counter() - started
        metrics = request.app[SERVICES].metrics
        metrics.http_requests.labels(route, request.method, str(response.status)).inc()
        metrics.http_latency.labels(route, request.method).observe(elapsed)
        # The route template, not the raw path: paths and query strings must not carry personal data.
        log.info(
            "http.request",
            method=request.method,
            route=route,
            status=response.status,
            ms=round(elapsed * 1000, 1),
        )
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**outer)
    response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def shed_overload(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Past the node's limit of requests in flight, 429 with Retry-After before anything is read or done."""
    route = _route_template(request)
    if route in NEVER_SHED:
        return await handler(request)
    admission = request.app[ADMISSION]
    if not admission.enter(route):
        retry_after = str(admission.retry_after_s)
        problem = Problem(429, "overloaded", admission.detail(), headers={"Retry-After": retry_after})
        return problem_response(request, request[REQUEST_ID], problem)
    try:
        return await handler(request)
    finally:
        admission.leave()


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as RFC 9457 problem+json; unexpected ones are logged with their traceback."""
    request_id = request[REQUEST_ID]
    try:
        return await handler(request)
    except Problem as problem:
        # The kind, and the pointer only when it names a documented field: an unknown field's name is the
        # client's own text and may be anything, personal data included.
        log.info("http.refused", problem=problem.kind, pointer=problem.loggable_pointer)
        return problem_response(request, request_id, problem)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        kind = re.sub(r"[^a-z]+", "-", e.reason.lower()).strip("-")
        return problem_response(request, request_id, Problem(e.status, kind, e.text or e.reason))
    except Exception as e:
        mapping = mapping_for(e)
        if mapping is None:
            # Type and location only: an exception's message often quotes the input that caused it.
            log.error(  # noqa: TRY400 - no traceback text: error_location() says where
                "http.unexpected_error", error_type=type(e).__name__, where=error_location(e)
            )
            return problem_response(
                request, request_id, Problem(500, "internal-error", "unexpected error; quote the request id")
            )
        field = getattr(e, "field", None)
        log.info("http.refused", problem=mapping.problem, error_type=type(e).__name__, field=field)
        headers = (
            {"Retry-After": str(max(1, math.ceil(e.retry_after_s)))} if isinstance(e, PeerBusy) else None
        )
        return problem_response(
            request,
            request_id,
            Problem(
                mapping.http_status,
                mapping.problem,
                str(e),
                pointer=f"/{field}" if field else None,
                headers=headers,
            ),
        )
