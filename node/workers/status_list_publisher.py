"""Publishes this province's status list: signs the credentials' statuses (the ``credential_statuses`` read
model) as one IETF Token Status List and records it (``StatusListPublication``), which the federation carries
to every peer and every verifier kit syncs.

It signs again when a status changed since the last list, and before the last list is half its time to live
old, so a verifier that syncs in time never holds one past its ``ttl``. A list is the same size whatever is in
it (``status_list_entries``, at least 131,072), and credentials take random entries (``CredentialService``):
what a verifier fetches says nothing of whose credential it checks.
"""

from __future__ import annotations

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from aggregates.status_list import StatusListPublication
from credentials.jose import JwsSigner, unverified_payload
from credentials.status_list import CredentialStatus, StatusList, StatusListToken
from infra.view_store import ViewStore
from node.store.application import Clock, NodeApplication
from node.usecases.credentials import status_list_uri
from projections.credential_statuses import entries

log = structlog.get_logger("tongban.status_list")


class StatusListPublisher:
    def __init__(
        self,
        app: NodeApplication,
        views: ViewStore,
        signer: JwsSigner,
        province: str,
        size: int,
        ttl_s: int,
        clock: Clock,
    ) -> None:
        self._app = app
        self._views = views
        self._signer = signer
        self._province = province
        self._size = size
        self._ttl_s = ttl_s
        self._clock = clock
        self._signed: dict[int, int] | None = None  # the entries not VALID in the last list signed

    def tick(self) -> bool:
        """Sign and record a new list when one is due; True when it did."""
        now = self._clock()
        with self._views.transaction() as tx:
            changed = dict(entries(tx))
        publication = self._publication()
        if self._signed is None and publication.token:  # after a restart: what the last list says
            self._signed = {i: int(s) for i, s in _entries_of(publication.token).items()}
        fresh = publication.token and int(now.timestamp()) - publication.issued_at < self._ttl_s // 2
        if fresh and changed == self._signed:
            return False
        listed = StatusList(self._size)
        for index, status in changed.items():
            listed[index] = CredentialStatus(status)
        uri, at = status_list_uri(self._province), int(now.timestamp())
        token = StatusListToken.sign(uri, listed, at=at, ttl=self._ttl_s, signer=self._signer)
        before = self._signed or {}
        since = sum(1 for index in changed.keys() | before.keys() if changed.get(index) != before.get(index))
        publication.publish(token.token, token.issued_at, since, now)
        try:
            self._app.save(publication)
        except IntegrityError:  # another process published meanwhile: look again next tick
            return False
        self._signed = changed
        log.info("status_list.published", entries=self._size, not_valid=len(changed), issued_at=at)
        return True

    def _publication(self) -> StatusListPublication:
        publication_id = StatusListPublication.id_for(self._province)
        try:
            found: StatusListPublication = self._app.repository.get(publication_id)
        except AggregateNotFoundError:
            return StatusListPublication.start(self._province, self._clock())
        return found


def _entries_of(token: str) -> dict[int, CredentialStatus]:
    """The entries not VALID of a list this node signed (read from its own record: no signature to check)."""
    listed = unverified_payload(token)["status_list"]
    return StatusList.decode(listed["bits"], listed["lst"]).not_valid()
