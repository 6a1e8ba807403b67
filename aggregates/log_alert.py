"""A witness's evidence that another province's transparency log was rewritten (a fork, a rollback, or a head
that its key did not sign), kept in this node's own history so that no one can quietly forget it.

The alert holds both heads: the one refused, with its signature, and the last one of that province accepted
before it. One alert per refused head: the same head seen again on the next round raises nothing new.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.errors import InvalidField

LOG_ALERT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:tongban:log-alert")
KINDS = ("BAD_SIGNATURE", "ROLLBACK", "FORK")


class LogAlert(Aggregate):
    class Raised(Aggregate.Created):
        province: str
        kind: str
        detail: str
        tree_size: int
        root_hash: str
        signed_at: str
        signature: str  # base64, as the province sent it
        accepted_tree_size: int  # 0: no head of the province had been accepted yet
        accepted_root_hash: str
        observed_at: datetime

    @staticmethod
    def id_for(province: str, kind: str, tree_size: int, root_hash: str, signed_at: str) -> UUID:
        return uuid5(LOG_ALERT_NAMESPACE, f"{province}:{kind}:{tree_size}:{root_hash}:{signed_at}")

    @classmethod
    def raise_alert(
        cls,
        *,
        province: str,
        kind: str,
        detail: str,
        tree_size: int,
        root_hash: str,
        signed_at: str,
        signature: str,
        accepted_tree_size: int,
        accepted_root_hash: str,
        observed_at: datetime,
    ) -> LogAlert:
        if kind not in KINDS:
            raise InvalidField("kind", f"must be one of {', '.join(KINDS)}")
        if not (province.isascii() and province.isdigit() and len(province) == 6):
            raise InvalidField("province", "must be a six-digit province code")
        if tree_size < 0 or accepted_tree_size < 0:
            raise InvalidField("tree_size", "must not be negative")
        return cls._create(
            cls.Raised,
            id=cls.id_for(province, kind, tree_size, root_hash, signed_at),
            province=province,
            kind=kind,
            detail=detail,
            tree_size=tree_size,
            root_hash=root_hash,
            signed_at=signed_at,
            signature=signature,
            accepted_tree_size=accepted_tree_size,
            accepted_root_hash=accepted_root_hash,
            observed_at=observed_at,
        )

    @event(Raised)
    def __init__(
        self,
        province: str,
        kind: str,
        detail: str,
        tree_size: int,
        root_hash: str,
        signed_at: str,
        signature: str,
        accepted_tree_size: int,
        accepted_root_hash: str,
        observed_at: datetime,
    ) -> None:
        self.province = province
        self.kind = kind
        self.detail = detail
        self.tree_size = tree_size
        self.root_hash = root_hash
        self.signed_at = signed_at
        self.signature = signature
        self.accepted_tree_size = accepted_tree_size
        self.accepted_root_hash = accepted_root_hash
        self.observed_at = observed_at
