"""Registered verifiers (核验方): an admin of this province registers its police units' handhelds and hotel
desks, replaces a lost device's key or withdraws one; the federation carries the registrations to every node.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from aggregates.responsibility import Actor
from aggregates.verifier import VerifierRegistration
from node.store.application import AlreadyExists, Clock, NodeApplication, NotFound, utc_now


class VerifierService:
    def __init__(self, app: NodeApplication, clock: Clock = utc_now) -> None:
        self._app = app
        self._clock = clock

    def register(
        self, actor: Actor, verifier_id: str, organisation: str, scenarios: list[str], jwk: Any
    ) -> VerifierRegistration:
        registration = VerifierRegistration.register(
            verifier_id, organisation, scenarios, jwk, actor, self._clock()
        )
        try:
            self._app.save(registration)
        except IntegrityError:
            raise AlreadyExists("a verifier with that id is registered") from None
        return registration

    def change(self, actor: Actor, verifier_id: str, scenarios: list[str], jwk: Any) -> VerifierRegistration:
        registration = self._own(actor, verifier_id)
        registration.change(scenarios, jwk, actor, self._clock())
        self._save(registration)
        return registration

    def withdraw(self, actor: Actor, verifier_id: str) -> VerifierRegistration:
        registration = self._own(actor, verifier_id)
        registration.withdraw(actor, self._clock())
        self._save(registration)
        return registration

    def _own(self, actor: Actor, verifier_id: str) -> VerifierRegistration:
        """A registration this province made: another province's is that province's to change."""
        try:
            registration: VerifierRegistration = self._app.repository.get(
                VerifierRegistration.id_for(verifier_id)
            )
        except AggregateNotFoundError:
            raise NotFound("no verifier with that id is registered") from None
        if registration.province != actor.province:
            raise NotFound("no verifier with that id is registered here")
        return registration

    def _save(self, registration: VerifierRegistration) -> None:
        try:
            self._app.save(registration)
        except IntegrityError:
            raise AlreadyExists("the registration changed meanwhile; read it and try again") from None
