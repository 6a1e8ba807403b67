"""Who calls: the bearer token checked once per request, the principal kept on the request, the caller's rate
limit taken. Every handler and the parameter check start here; nothing else reads the Authorization header."""

from __future__ import annotations

import structlog
from aiohttp import web

from node.auth import Principal
from node.http.keys import PRINCIPAL, RATE_LIMITS, SERVICES
from node.http.problems import Problem


def authenticate(request: web.Request) -> Principal:
    """The caller's principal, within its rate limit; from here on every log line of the request names the
    acting office."""
    if PRINCIPAL in request:  # authenticated already (before the parameters were checked)
        return request[PRINCIPAL]
    principal = request.app[SERVICES].tokens.verify(request.headers.get("Authorization"))
    request[PRINCIPAL] = principal
    structlog.contextvars.bind_contextvars(**principal.log_context())
    retry_after = request.app[RATE_LIMITS].take(principal)
    if retry_after is not None:
        raise Problem(
            429,
            "too-many-requests",
            f"this token's rate limit is spent: retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
    return principal
