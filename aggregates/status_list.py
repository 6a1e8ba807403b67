"""A province's published status list (IETF Token Status List): every signed list it published, in order.

The node signs its credentials' statuses as one compressed list and publishes it when a status changes and
before the last one's time to live runs out; each publication is recorded here, and the federation carries it
to every peer, so that a verifier syncs every province's current list from its own node. The token is kept
exactly as signed: a peer or a verifier checks it again with the key the federation's manifest lists.
"""

from __future__ import annotations

import re
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.errors import InvalidField
from aggregates.identifiers import InvalidIdentifier, validate_province

STATUS_LIST_NAMESPACE = uuid5(NAMESPACE_URL, "urn:tongban:status-list")
MAX_TOKEN_CHARS = 4 * 1024 * 1024  # a list of 16M entries, compressed: far beyond what a province issues
_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


class StatusListPublication(Aggregate):
    class Started(Aggregate.Created):
        province: str

    class Published(Aggregate.Event):
        token: str
        issued_at: int  # the token's iat, in Unix seconds
        entries_changed: int  # how many entries changed since the previous publication

    @staticmethod
    def id_for(province: str) -> UUID:
        return uuid5(STATUS_LIST_NAMESPACE, province)

    @classmethod
    def start(cls, province: str, at: datetime) -> StatusListPublication:
        try:
            province = validate_province(province)
        except InvalidIdentifier as e:
            raise InvalidField("province", e.message) from None
        return cls._create(cls.Started, id=cls.id_for(province), province=province, timestamp=at)

    @event(Started)
    def __init__(self, province: str) -> None:
        self.province = province
        self.token = ""
        self.issued_at = 0

    def publish(self, token: str, issued_at: int, entries_changed: int, at: datetime) -> None:
        """Record a newly signed list; never one older than the last."""
        if not _COMPACT_JWS.fullmatch(token) or len(token) > MAX_TOKEN_CHARS:
            raise InvalidField("token", "must be a compact JWS within the size limit")
        if issued_at < self.issued_at:
            raise InvalidField("issued_at", "must not be before the last publication's")
        if entries_changed < 0:
            raise InvalidField("entries_changed", "must not be negative")
        self._published(token=token, issued_at=issued_at, entries_changed=entries_changed, timestamp=at)

    @event(Published)
    def _published(self, token: str, issued_at: int, entries_changed: int, timestamp: datetime) -> None:
        self.token = token
        self.issued_at = issued_at


class StatusIndexClaim(Aggregate):
    """One entry of a province's status list, taken by one credential: saved with the certificate's
    ``CredentialIssued``, so that no two credentials ever share an entry, whatever the concurrency."""

    class Claimed(Aggregate.Created):
        province: str
        status_index: int
        certificate_id: str

    @staticmethod
    def id_for(province: str, status_index: int) -> UUID:
        return uuid5(STATUS_LIST_NAMESPACE, f"{province}:{status_index}")

    @classmethod
    def claim(cls, province: str, status_index: int, certificate_id: str, at: datetime) -> StatusIndexClaim:
        return cls._create(
            cls.Claimed,
            id=cls.id_for(province, status_index),
            province=province,
            status_index=status_index,
            certificate_id=certificate_id,
            timestamp=at,
        )

    @event(Claimed)
    def __init__(self, province: str, status_index: int, certificate_id: str) -> None:
        self.province = province
        self.status_index = status_index
        self.certificate_id = certificate_id
