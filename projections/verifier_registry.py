"""The registered verifiers of the whole federation: this node's own and those its peers replicated, as the
wallets and verifier kits need them (id, organisation, province, scenarios, public key; withdrawn ones
left out of what is served but kept here)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from eventsourcing.utils import get_topic

from aggregates.verifier import VerifierRegistration
from infra.view_store import Transaction

DDL = (
    """CREATE TABLE IF NOT EXISTS view_verifiers (
        verifier_id TEXT PRIMARY KEY,
        registration_id TEXT NOT NULL,
        organisation TEXT NOT NULL,
        province TEXT NOT NULL,
        scenarios TEXT NOT NULL,
        public_key_x TEXT NOT NULL,
        withdrawn INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS view_verifiers_registration ON view_verifiers (registration_id)",
)


class VerifierRegistry:
    name = "verifier_registry"
    tables = ("view_verifiers",)

    def __init__(self) -> None:
        self.topics: Sequence[str] = sorted(
            get_topic(cls)
            for cls in (
                VerifierRegistration.Registered,
                VerifierRegistration.Changed,
                VerifierRegistration.Withdrawn,
            )
        )

    def create(self, tx: Transaction) -> None:
        for statement in DDL:
            tx.execute(statement)

    def apply(self, tx: Transaction, event: Any) -> None:
        registration_id = str(event.originator_id)
        if isinstance(event, VerifierRegistration.Registered):
            tx.insert_many(
                "view_verifiers",
                (
                    "verifier_id",
                    "registration_id",
                    "organisation",
                    "province",
                    "scenarios",
                    "public_key_x",
                    "withdrawn",
                ),
                [
                    (
                        event.verifier_id,
                        registration_id,
                        event.organisation,
                        event.province,
                        json.dumps(event.scenarios),
                        event.public_key_x,
                        0,
                    )
                ],
            )
        elif isinstance(event, VerifierRegistration.Changed):
            tx.execute(
                "UPDATE view_verifiers SET scenarios = ?, public_key_x = ? WHERE registration_id = ?",
                (json.dumps(event.scenarios), event.public_key_x, registration_id),
            )
        else:
            tx.execute(
                "UPDATE view_verifiers SET withdrawn = 1 WHERE registration_id = ?", (registration_id,)
            )

    def flush(self, tx: Transaction) -> None:
        """Each event is written as it is applied: registrations are few."""


def registered_verifiers(tx: Transaction) -> list[dict[str, Any]]:
    """Every verifier not withdrawn, by id: what wallets and kits check requests with."""
    rows = tx.fetchall(
        "SELECT verifier_id, organisation, province, scenarios, public_key_x FROM view_verifiers "
        "WHERE withdrawn = 0 ORDER BY verifier_id"
    )
    return [
        {
            "verifier_id": str(row[0]),
            "organisation": str(row[1]),
            "province": str(row[2]),
            "scenarios": json.loads(row[3]),
            "jwk": {"crv": "Ed25519", "kty": "OKP", "x": str(row[4])},
        }
        for row in rows
    ]
