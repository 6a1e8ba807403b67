"""Sheds unary calls past a gRPC port's limit of calls in flight (node/overload.py): RESOURCE_EXHAUSTED, with
the wait in trailing metadata, both as ``retry-after`` (seconds) and as gRPC's own ``grpc-retry-pushback-ms``,
which a client's retry policy honours.

Streams pass: a peer's following PullEvents stays open for as long as the peers are connected, and each peer's
streams are bounded by ``federation_peer_concurrency``. The health service is never shed: a load balancer
that cannot reach it under load would take a node that is only busy out of service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import grpc

from node.overload import Admission

NEVER_SHED_PREFIX = "/grpc.health.v1.Health/"
Behaviour = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


class ShedOverload(grpc.aio.ServerInterceptor):
    def __init__(self, admission: Admission) -> None:
        self._admission = admission

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or handler.unary_unary is None or method.startswith(NEVER_SHED_PREFIX):
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self._bounded(cast(Behaviour, handler.unary_unary), method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _bounded(self, behaviour: Behaviour, method: str) -> Behaviour:
        admission = self._admission

        async def bounded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            if not admission.enter(method):
                wait = admission.retry_after_s
                await context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    admission.detail(),
                    trailing_metadata=(
                        ("retry-after", str(wait)),
                        ("grpc-retry-pushback-ms", str(wait * 1000)),
                    ),
                )
            try:
                return await behaviour(request, context)
            finally:
                admission.leave()

        return bounded
