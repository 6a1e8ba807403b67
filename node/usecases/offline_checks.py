"""Offline checks (亮证核验) that verifier kits upload to their own node, and their arrival at the issuer.

A kit of this province uploads its records; each is recorded once (its id is the kit's record id: an upload
repeated after a lost answer adds nothing) and the federation carries it to the issuing province. There, and
for this province's own credentials here, each record becomes a use of the certificate (用证记录, channel
OFFLINE), once: the use is saved with a claim on the record's id, so a record applied twice is refused by the
store, whatever crashes or redeliveries happen. The use names the scenario as its purpose and, as its consent
reference, the checking province, the day and the record: the holder consented by showing the credential.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from aggregates.certificate import Certificate
from aggregates.clock import china_date
from aggregates.consent import UseChannel
from aggregates.errors import InvalidField
from aggregates.offline_check import OfflineCheck, UseRecordClaim
from aggregates.responsibility import Actor
from infra.view_store import ViewStore
from node.store.application import Clock, NodeApplication
from projections.credential_statuses import certificate_of

_SAVE_ATTEMPTS = 5


class OfflineCheckService:
    def __init__(self, app: NodeApplication, views: ViewStore, province: str, clock: Clock) -> None:
        self._app = app
        self._views = views
        self._province = province
        self._clock = clock

    def record(self, actor: Actor, records: list[dict[str, Any]]) -> list[str]:
        """Record a kit's upload; the ids this node now holds (new, or held already). The kit's token names
        the verifier (its operator id): a kit uploads its own records only."""
        now = self._clock()
        checks = []
        for record in records:
            if record["verifier_id"] != actor.operator_id:
                raise InvalidField("verifier_id", "must be the uploading verifier's own")
            try:
                record_id, checked_at = UUID(record["record_id"]), datetime.fromisoformat(record["at"])
            except ValueError:
                raise InvalidField("records", "a record_id is not a UUID or an at not a time") from None
            checks.append(
                OfflineCheck.record(
                    record_id,
                    self._province,
                    record["verifier_id"],
                    record["scenario"],
                    checked_at,
                    record["verdict"],
                    record["reason"],
                    record["issuer"],
                    record["credential_id"],
                    now,
                )
            )  # every record checked before any is recorded: a bad upload records nothing
        held = []
        for check in checks:
            with contextlib.suppress(IntegrityError):  # recorded by an earlier upload of the same record
                self._app.save(check)
            held.append(check.record_id)
        return held

    def apply_use(self, check: OfflineCheck.Recorded) -> bool:
        """Add a record of one of this node's credentials to its certificate's use log, once; False when
        there is nothing to add (another province's credential, an unknown one, or applied already)."""
        if check.issuer_province != self._province or not check.credential_id:
            return False
        with self._views.transaction() as tx:
            certificate_id = certificate_of(tx, check.credential_id)
        if certificate_id is None:
            return False  # no credential of ours: a forged or mistyped reference, never an error
        claim_id = UseRecordClaim.id_for(check.record_id)
        for _ in range(_SAVE_ATTEMPTS):
            if self._app.recorder.select_events(claim_id, limit=1):
                return False  # applied already
            certificate: Certificate = self._app.repository.get(UUID(certificate_id))
            now = self._clock()
            certificate.record_use(
                Actor(check.province, "VERIFIER", check.verifier_id),
                UseChannel.OFFLINE,
                case_reference=None,
                purpose=check.scenario,
                consent_reference=f"{check.province}:{china_date(check.checked_at):%Y%m%d}:{check.record_id}",
                at=now,
            )
            try:
                self._app.save(certificate, UseRecordClaim.claim(check.record_id, now))
            except IntegrityError:
                continue  # applied meanwhile, or the certificate changed: look again
            return True
        raise RuntimeError("the certificate kept changing: the use is applied on a later pass")
