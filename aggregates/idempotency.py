"""Idempotent creation: a client's retry with the same Idempotency-Key gets the resource the first try made.

The record is saved in the same transaction as the resource it names, so a request is recorded exactly when
its resource is, and two concurrent tries with one key cannot both create.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

IDEMPOTENCY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:tongban:idempotency")


class IdempotentRequest(Aggregate):
    class Recorded(Aggregate.Created):
        resource_id: str
        request_digest: str

    @staticmethod
    def id_for(scope: str, key: str) -> UUID:
        """``scope`` names the caller and the operation, so one key means one thing per caller."""
        return uuid5(IDEMPOTENCY_NAMESPACE, f"{scope}\x00{key}")

    @classmethod
    def record(
        cls, scope: str, key: str, resource_id: str, request_digest: str, at: datetime
    ) -> IdempotentRequest:
        return cls._create(
            cls.Recorded,
            id=cls.id_for(scope, key),
            resource_id=resource_id,
            request_digest=request_digest,
            timestamp=at,
        )

    @event(Recorded)
    def __init__(self, resource_id: str, request_digest: str) -> None:
        self.resource_id = resource_id
        self.request_digest = request_digest
