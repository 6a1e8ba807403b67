"""Forgetting a person (PIPL right to deletion) by crypto-shredding: destroy their data keys, record it.

The stored events stay as they are, so the workflow history and the transparency tree stay whole and
verifiable; the person's sealed fields read as erased from then on, everywhere they are read from the store.
The keys are destroyed first, then the ``Erasure`` event is recorded: a forget cut short between the two is
asked again (it names the keys destroyed before), and the event tells the read models and the peers.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

import structlog

from aggregates.certificate import validate_holder_id
from aggregates.erasure import Erasure
from aggregates.responsibility import Actor
from node.store.application import Clock, NodeApplication, NotFound
from node.store.data_keys import Destroyed
from node.store.personal_mapper import data_from

log = structlog.get_logger("tongban.erasure")


class ErasureService:
    def __init__(self, app: NodeApplication, province: str, clock: Clock) -> None:
        self._app, self._province, self._clock = app, province, clock

    def forget(self, id_type: str, id_number: str, actor: Actor) -> list[Erasure]:
        """Destroy every data key of the person on this node and record it: one erasure for its own data
        (its peers are told), one for each peer's copy (that peer decides about its own data).

        Raises :class:`NotFound` when this node holds no personal data of that person.
        """
        keys = self._app.data_keys
        by_origin = keys.destroy(keys.persons(id_type, validate_holder_id(id_type, id_number)))
        if not by_origin:
            raise NotFound("no personal data of this person on this node")
        erasures = []
        for origin, destroyed in sorted(by_origin.items()):
            self._app.evict(destroyed.subject_ids)
            erasures.append(self._erasure(origin, destroyed, actor))
        self._app.save(*erasures)
        for erasure in erasures:
            log.info("erasure.recorded", erasure_id=str(erasure.id), keys=len(erasure.key_ids))
        return erasures

    def data_from(self, peer: str) -> AbstractContextManager[None]:
        return data_from(peer)

    def erase_copies(self, peer: str, applicant_ids: Sequence[str]) -> Erasure | None:
        """A peer's notice: destroy the keys of the copies it sent of these applicants (never this node's
        own data about the same people). Returns the erasure to store with the peer's batch, or None."""
        keys = self._app.data_keys
        destroyed = keys.destroy(keys.persons_of(applicant_ids, origin=peer)).get(peer)
        if destroyed is None:
            return None
        self._app.evict(destroyed.subject_ids)
        return self._erasure(peer, destroyed, Actor(self._province, "FEDERATION", peer))

    def _erasure(self, origin: str, destroyed: Destroyed, actor: Actor) -> Erasure:
        return Erasure.record(
            origin=origin,
            key_ids=destroyed.key_ids,
            applicant_ids=destroyed.applicant_ids,
            certificate_ids=destroyed.certificate_ids,
            actor=actor,
            at=self._clock(),
        )
