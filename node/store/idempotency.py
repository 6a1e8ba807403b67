"""Idempotency-Key handling for creating requests (POST /v1/certificates, POST /v1/cases)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from aggregates.idempotency import IdempotentRequest
from aggregates.responsibility import Actor
from node.store.application import NodeApplication

_KEY = re.compile(r"[0-9A-Za-z_.:-]{8,128}")


class IdempotencyKeyReused(Exception):
    """The key was used before for a different request (HTTP 422): nothing was written."""


class InvalidIdempotencyKey(Exception):
    """The Idempotency-Key header is malformed (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class Idempotency:
    scope: str
    key: str
    digest: str

    @classmethod
    def for_request(
        cls, operation: str, actor: Actor, key: str | None, body: dict[str, Any]
    ) -> Idempotency | None:
        """None without a key; the scope is the caller (province, office, operator) and the operation."""
        if key is None:
            return None
        if not _KEY.fullmatch(key):
            raise InvalidIdempotencyKey("Idempotency-Key must be 8-128 characters from A-Z a-z 0-9 _ . : -")
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        scope = f"{operation}:{actor.province}:{actor.office_code}:{actor.operator_id}"
        return cls(scope, key, hashlib.sha256(canonical).hexdigest())

    def replayed(self, app: NodeApplication) -> str | None:
        """The resource id an earlier try with this key created, or None; refuses a different request."""
        try:
            earlier: IdempotentRequest = app.repository.get(IdempotentRequest.id_for(self.scope, self.key))
        except AggregateNotFoundError:
            return None
        if earlier.request_digest != self.digest:
            raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
        return earlier.resource_id

    def record(self, resource_id: str, at: datetime) -> IdempotentRequest:
        return IdempotentRequest.record(self.scope, self.key, resource_id, self.digest, at)
