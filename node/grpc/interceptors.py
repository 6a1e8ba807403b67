"""Request id, access log and metrics for every RPC; domain errors become gRPC status codes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any, cast

import grpc
import structlog

from node.errors import mapping_for
from node.metrics import NodeMetrics

log = structlog.get_logger("tongban.grpc")
_REQUEST_ID = re.compile(r"^[0-9A-Za-z._-]{8,64}$")
Behaviour = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


class ObservingInterceptor(grpc.aio.ServerInterceptor):
    """Wraps unary-unary handlers: binds a request id, maps named errors, counts and times the call."""

    def __init__(self, metrics: NodeMetrics) -> None:
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler  # streaming RPCs (reflection, health watch) pass through untouched
        method = handler_call_details.method
        metadata = dict(handler_call_details.invocation_metadata or ())
        supplied = str(metadata.get("x-request-id", ""))
        request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(cast(Behaviour, handler.unary_unary), method, request_id),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap(self, behaviour: Behaviour, method: str, request_id: str) -> Behaviour:
        async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started = perf_counter()
            code = grpc.StatusCode.OK
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                try:
                    return await behaviour(request, context)
                except Exception as e:
                    mapping = mapping_for(e)
                    if mapping is None:
                        code = grpc.StatusCode.INTERNAL
                        log.exception("grpc.unexpected_error", method=method, error_type=type(e).__name__)
                        raise
                    code = mapping.grpc_code
                    await context.abort(code, str(e))
                finally:
                    elapsed = perf_counter() - started
                    self._metrics.grpc_requests.labels(method, code.name).inc()
                    self._metrics.grpc_latency.labels(method).observe(elapsed)
                    log.info("grpc.request", method=method, code=code.name, ms=round(elapsed * 1000, 1))

        return observed
