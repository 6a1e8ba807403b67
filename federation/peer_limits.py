"""A bound on the calls one peer province may have in flight on the federation port.

A peer is known by the province in its client certificate, which TLS has already checked against the
federation CA; whether the manifest lists it is the servicer's business. One misbehaving or compromised peer
then cannot take every handler of this node: its excess calls are refused with RESOURCE_EXHAUSTED, and the
other provinces keep being served.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import grpc

from federation.pki import province_of_certificate

Unary = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
Streaming = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]


class PeerConcurrencyLimit(grpc.aio.ServerInterceptor):
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._in_flight: Counter[str] = Counter()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(cast(Unary, handler.unary_unary)),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(cast(Streaming, handler.unary_stream)),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # the federation service has no client-streaming calls

    def _unary(self, behaviour: Unary) -> Unary:
        async def limited(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            province = await self._enter(context)
            try:
                return await behaviour(request, context)
            finally:
                self._in_flight[province] -= 1

        return limited

    def _streaming(self, behaviour: Streaming) -> Streaming:
        async def limited(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            province = await self._enter(context)
            try:
                async for response in behaviour(request, context):
                    yield response
            finally:
                self._in_flight[province] -= 1

        return limited

    async def _enter(self, context: grpc.aio.ServicerContext[Any, Any]) -> str:
        """Count the call against its peer, or refuse it when that peer is at its limit."""
        certificates = list(context.auth_context().get("x509_pem_cert") or [])
        province = (province_of_certificate(certificates[0]) if certificates else None) or ""
        if self._in_flight[province] >= self._limit:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"province {province or '(none)'} has {self._limit} federation calls in flight: "
                "retry when one has finished",
            )
        self._in_flight[province] += 1
        return province
