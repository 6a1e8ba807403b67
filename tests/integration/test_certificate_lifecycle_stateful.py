"""Random command sequences against a simple model of the certificate rules, on SQLite AND PostgreSQL at once.

After every step: each store agrees with the model (status, successor, holder list), and the two stores agree
with each other, including on which commands they refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from aggregates.certificate import TRANSITIONS, CertificateContent, Link, Status
from aggregates.errors import DomainError
from node.signing import Ed25519Signer
from node.store.application import AlreadyExists
from node.usecases.certificates import CertificateService
from tests.builders import ACTOR, issue_body
from tests.integration.both_stores import BothStores, require_both_stores

SUPERSEDABLE = {Link.RENEWED: {Status.VALID, Status.EXPIRED}, Link.CHANGED: {Status.VALID}}
HOLDERS = [issue_body(n)["holder_id"] for n in range(3)]


@dataclass
class Model:
    status: dict[str, Status] = field(default_factory=dict)
    successor: dict[str, str] = field(default_factory=dict)
    by_holder: dict[str, list[str]] = field(default_factory=dict)


class CertificateLifecycle(RuleBasedStateMachine):
    identifiers = Bundle("identifiers")

    def __init__(self) -> None:
        super().__init__()
        signer = Ed25519Signer.generate()
        self.stores_under_test = BothStores()
        self.apps = self.stores_under_test.apps
        self.stores = {
            name: CertificateService(app, signer=signer, public_keys=[signer.public_key()], province="310000")
            for name, app in self.apps.items()
        }
        self.model = Model()

    def teardown(self) -> None:
        self.stores_under_test.close()

    def _on_every_store(self, command: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Run one command on every store; they must all accept it, or all refuse it with the same error."""
        outcomes = []
        for registry in self.stores.values():
            try:
                outcomes.append(getattr(registry, command)(*args, **kwargs))
            except (DomainError, AlreadyExists) as e:
                outcomes.append(type(e))
        kinds = {o if isinstance(o, type) else "accepted" for o in outcomes}
        assert len(kinds) == 1, f"stores disagree on {command}: {outcomes}"
        return outcomes

    @rule(target=identifiers, holder=st.sampled_from(range(len(HOLDERS))), serial=st.integers(1, 10**9))
    def issue(self, holder: int, serial: int) -> str:
        body = {"service_item_code": None, **issue_body(holder), "serial": str(serial)}
        results = self._on_every_store("issue", ACTOR, **body)
        if results[0] is AlreadyExists:
            identifier = CertificateContent.create(**body).identifier
            assert identifier in self.model.status
            return identifier
        identifier = str(results[0].identifier)
        self.model.status[identifier] = Status.VALID
        self.model.by_holder.setdefault(HOLDERS[holder], []).append(identifier)
        return identifier

    @rule(identifier=identifiers, operation=st.sampled_from(list(TRANSITIONS)))
    def change_status(self, identifier: str, operation: str) -> None:
        allowed_from, to = TRANSITIONS[operation]
        destination = "320000" if operation == "transfer_out" else None
        results = self._on_every_store(
            "change_status", identifier, operation, ACTOR, reason="随机", destination_province=destination
        )
        if self.model.status[identifier] in allowed_from:
            assert not isinstance(results[0], type), results
            self.model.status[identifier] = to
        else:
            assert isinstance(results[0], type), f"{operation} should be refused"

    @rule(target=identifiers, identifier=identifiers, link=st.sampled_from([Link.RENEWED, Link.CHANGED]))
    def reissue(self, identifier: str, link: Link) -> str:
        results = self._on_every_store(
            "reissue", identifier, link, ACTOR, file_digest="sha256:" + uuid.uuid4().hex * 2
        )
        allowed = (
            identifier not in self.model.successor and self.model.status[identifier] in SUPERSEDABLE[link]
        )
        if not allowed:
            assert isinstance(results[0], type), f"{link} of {identifier} should be refused"
            return identifier
        successor: str = results[0].identifier
        self.model.successor[identifier] = successor
        if self.model.status[identifier] is Status.VALID:
            self.model.status[identifier] = Status.EXPIRED
        self.model.status[successor] = Status.VALID
        holder = next(h for h, ids in self.model.by_holder.items() if identifier in ids)
        self.model.by_holder[holder].append(successor)
        return successor

    @invariant()
    def stores_match_the_model(self) -> None:
        for registry in self.stores.values():
            for identifier, status in self.model.status.items():
                certificate = registry.certificate(identifier)
                assert certificate.status is status
                assert certificate.successor_identifier == self.model.successor.get(identifier)
            for holder, identifiers in self.model.by_holder.items():
                listed = [c.identifier for c in registry.holder_certificates("111", holder)]
                assert listed == identifiers

    @invariant()
    def stores_hold_the_same_event_count(self) -> None:
        self.stores_under_test.assert_same_event_count()


def test_certificate_lifecycle_against_the_model_on_both_stores() -> None:
    require_both_stores()
    run_state_machine_as_test(
        CertificateLifecycle,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
