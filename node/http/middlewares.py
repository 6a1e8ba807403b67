"""Request context (request id, access log, metrics) and the translation of errors into problem+json."""

from __future__ import annotations

import re
import uuid
from time import perf_counter

import structlog
from aiohttp import web

from node.errors import mapping_for
from node.http.endpoint import Handler
from node.http.keys import REQUEST_ID, SERVICES
from node.http.problems import Problem, problem_response

log = structlog.get_logger("tongban.http")
_REQUEST_ID = re.compile(r"^[0-9A-Za-z._-]{8,64}$")


def _route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id to every log line of the request; count and time it by route template."""
    supplied = request.headers.get("X-Request-Id", "")
    request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    route = _route_template(request)
    started = perf_counter()
    with structlog.contextvars.bound_contextvars(request_id=request_id):
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
    response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as RFC 9457 problem+json; unexpected ones are logged with their traceback."""
    request_id = request[REQUEST_ID]
    try:
        return await handler(request)
    except Problem as problem:
        log.info("http.refused", problem=problem.kind, pointer=problem.pointer)
        return problem_response(request, request_id, problem)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        kind = re.sub(r"[^a-z]+", "-", e.reason.lower()).strip("-")
        return problem_response(request, request_id, Problem(e.status, kind, e.text or e.reason))
    except Exception as e:
        mapping = mapping_for(e)
        if mapping is None:
            log.exception("http.unexpected_error", error_type=type(e).__name__)
            return problem_response(
                request, request_id, Problem(500, "internal-error", "unexpected error; quote the request id")
            )
        field = getattr(e, "field", None)
        log.info("http.refused", problem=mapping.problem, error_type=type(e).__name__, field=field)
        return problem_response(
            request,
            request_id,
            Problem(mapping.http_status, mapping.problem, str(e), pointer=f"/{field}" if field else None),
        )
