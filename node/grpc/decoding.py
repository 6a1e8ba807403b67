"""Request bytes that are no message of the method's type get INVALID_ARGUMENT with a message.

grpcio answers a deserializer's exception with UNKNOWN ("Unexpected [DecodeError]") and logs a traceback, as
if the node had crashed. Here the deserializer keeps the failure instead, and the handler refuses the call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import grpc
from google.protobuf.message import DecodeError

Unary = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
Streaming = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]


class _Undecodable:
    """Stands for request bytes that did not decode."""


_UNDECODABLE = _Undecodable()
_REFUSAL = "the request is not a valid protobuf message of this method's type"


class RefuseUndecodableRequests(grpc.aio.ServerInterceptor):
    """Put it last among a server's interceptors, so that its deserializer is the one grpcio calls."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        decode = _tolerant(handler.request_deserializer)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _unary(cast(Unary, handler.unary_unary)),
                request_deserializer=decode,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _streaming(cast(Streaming, handler.unary_stream)),
                request_deserializer=decode,
                response_serializer=handler.response_serializer,
            )
        return handler  # client streams (reflection, health watch) decode message by message themselves


def _tolerant(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def decode(data: bytes) -> Any:
        try:
            return deserialize(data)
        except DecodeError:
            return _UNDECODABLE

    return decode


def _unary(behaviour: Unary) -> Unary:
    async def checked(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        if request is _UNDECODABLE:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _REFUSAL)
        return await behaviour(request, context)

    return checked


def _streaming(behaviour: Streaming) -> Streaming:
    async def checked(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        if request is _UNDECODABLE:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _REFUSAL)
        async for response in behaviour(request, context):
            yield response

    return checked
