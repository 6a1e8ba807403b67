"""ONE table: every named error → HTTP status, problem type and gRPC status code."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from aggregates.calendar import DateOutsideCalendar
from aggregates.errors import IllegalTransition, InvalidField
from federation.errors import (
    PeerBusy,
    PeerUnavailable,
    RemoteConflict,
    RemoteForbidden,
    RemoteInvalid,
    RemoteNotFound,
)
from node.auth import Forbidden, Unauthenticated
from node.store.application import AlreadyExists, NotFound
from node.store.idempotency import IdempotencyKeyReused, InvalidIdempotencyKey

PROBLEM_BASE = "https://tongban.example/problems/"


@dataclass(frozen=True, slots=True)
class ErrorMapping:
    http_status: int
    problem: str  # the last part of the problem type URI, and its title
    grpc_code: grpc.StatusCode


ERROR_TABLE: dict[type[Exception], ErrorMapping] = {
    InvalidField: ErrorMapping(422, "invalid-field", grpc.StatusCode.INVALID_ARGUMENT),
    IllegalTransition: ErrorMapping(409, "illegal-transition", grpc.StatusCode.FAILED_PRECONDITION),
    NotFound: ErrorMapping(404, "not-found", grpc.StatusCode.NOT_FOUND),
    AlreadyExists: ErrorMapping(409, "already-exists", grpc.StatusCode.ALREADY_EXISTS),
    Unauthenticated: ErrorMapping(401, "unauthenticated", grpc.StatusCode.UNAUTHENTICATED),
    Forbidden: ErrorMapping(403, "forbidden", grpc.StatusCode.PERMISSION_DENIED),
    IdempotencyKeyReused: ErrorMapping(422, "idempotency-key-reused", grpc.StatusCode.INVALID_ARGUMENT),
    InvalidIdempotencyKey: ErrorMapping(400, "invalid-idempotency-key", grpc.StatusCode.INVALID_ARGUMENT),
    # A due date would fall outside every calendar, official or provisional (before 2004 or after 2100,
    # docs/calendar.md): nothing was recorded. A year without the State Council's notice is provisional.
    DateOutsideCalendar: ErrorMapping(422, "date-outside-calendar", grpc.StatusCode.FAILED_PRECONDITION),
    # Another province's node: down or cut off (retry later; nothing was recorded), or its answer.
    PeerUnavailable: ErrorMapping(503, "peer-unavailable", grpc.StatusCode.UNAVAILABLE),
    # ... or over its limit, so it shed the call (REST adds the Retry-After it asked for)
    PeerBusy: ErrorMapping(503, "peer-overloaded", grpc.StatusCode.UNAVAILABLE),
    RemoteInvalid: ErrorMapping(422, "invalid-field", grpc.StatusCode.INVALID_ARGUMENT),
    RemoteConflict: ErrorMapping(409, "illegal-transition", grpc.StatusCode.FAILED_PRECONDITION),
    RemoteNotFound: ErrorMapping(404, "not-found", grpc.StatusCode.NOT_FOUND),
    RemoteForbidden: ErrorMapping(403, "forbidden", grpc.StatusCode.PERMISSION_DENIED),
}


def mapping_for(error: Exception) -> ErrorMapping | None:
    for cls in type(error).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return None
