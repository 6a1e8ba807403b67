"""Request id, access log and metrics for every RPC; domain errors become gRPC status codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any, cast

import grpc
import structlog

from node.errors import mapping_for
from node.log_config import error_location
from node.metrics import NodeMetrics
from node.request_ids import accept_request_id

log = structlog.get_logger("tongban.grpc")
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
        supplied = metadata.get("x-request-id")
        request_id = accept_request_id(supplied if isinstance(supplied, str) else None)
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(cast(Behaviour, handler.unary_unary), method, request_id),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap(self, behaviour: Behaviour, method: str, request_id: str) -> Behaviour:
        async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started = perf_counter()
            code = grpc.StatusCode.OK
            # Authentication binds the acting office too; whatever the RPC bound is dropped when it ends.
            outer = structlog.contextvars.get_contextvars()
            structlog.contextvars.bind_contextvars(request_id=request_id)
            try:
                return await behaviour(request, context)
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN  # the status the servicer chose, for the log
                raise
            except Exception as e:
                mapping = mapping_for(e)
                if mapping is None:
                    code = grpc.StatusCode.INTERNAL
                    # Type and location only: an exception's message often quotes the input behind it.
                    log.error(  # noqa: TRY400 - no traceback text: error_location() says where
                        "grpc.unexpected_error",
                        method=method,
                        error_type=type(e).__name__,
                        where=error_location(e),
                    )
                    await context.abort(code, f"unexpected error; quote the request id {request_id}")
                code = mapping.grpc_code
                await context.abort(code, str(e))
            finally:
                elapsed = perf_counter() - started
                self._metrics.grpc_requests.labels(method, code.name).inc()
                self._metrics.grpc_latency.labels(method).observe(elapsed)
                log.info("grpc.request", method=method, code=code.name, ms=round(elapsed * 1000, 1))
                structlog.contextvars.clear_contextvars()
                structlog.contextvars.bind_contextvars(**outer)

        return observed
