"""The status of every credential this node issued, by its status list entry: what the status list publisher
signs. A follower of the log, so each transition applies exactly once, with its tracking row:

- a credential issued: VALID;
- its certificate suspended: SUSPENDED, released (or a transfer-out undone): VALID again;
- its certificate annulled, revoked, cancelled, expired, transferred out, or superseded by a renewal or a
  change: INVALID, for good;
- the credential revoked on its own (a lost device): INVALID, whatever its certificate does later.

Only this node's own certificates issue credentials, so only their events count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.utils import get_topic

from aggregates.certificate import Certificate, Status
from credentials.status_list import CredentialStatus
from infra.view_store import Transaction

DDL = (
    """CREATE TABLE IF NOT EXISTS view_credential_statuses (
        status_index BIGINT PRIMARY KEY,
        certificate_id TEXT NOT NULL,
        credential_id TEXT NOT NULL,
        revoked INTEGER NOT NULL,
        status INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS view_credential_statuses_certificate "
    "ON view_credential_statuses (certificate_id)",
    "CREATE INDEX IF NOT EXISTS view_credential_statuses_credential "
    "ON view_credential_statuses (credential_id)",
)


def credential_status(status: Status) -> CredentialStatus:
    """A certificate's recorded status as its credentials' entries show it."""
    if status is Status.VALID:
        return CredentialStatus.VALID
    if status is Status.SUSPENDED:
        return CredentialStatus.SUSPENDED
    return CredentialStatus.INVALID


class CredentialStatuses:
    name = "credential_statuses"
    tables = ("view_credential_statuses",)

    def __init__(self) -> None:
        self.topics: Sequence[str] = sorted(
            get_topic(cls)
            for cls in (
                Certificate.CredentialIssued,
                Certificate.CredentialRevoked,
                Certificate.StatusChanged,
                Certificate.Superseded,
            )
        )

    def create(self, tx: Transaction) -> None:
        for statement in DDL:
            tx.execute(statement)

    def apply(self, tx: Transaction, event: Any) -> None:
        certificate_id = str(event.originator_id)
        if isinstance(event, Certificate.CredentialIssued):
            tx.insert_many(
                "view_credential_statuses",
                ("status_index", "certificate_id", "credential_id", "revoked", "status"),
                [(event.status_index, certificate_id, event.credential_id, 0, int(CredentialStatus.VALID))],
            )
        elif isinstance(event, Certificate.CredentialRevoked):
            tx.execute(
                "UPDATE view_credential_statuses SET revoked = 1, status = ? WHERE credential_id = ?",
                (int(CredentialStatus.INVALID), event.credential_id),
            )
        else:
            # an entry once INVALID stays so: a certificate that ended never comes back to VALID
            tx.execute(
                "UPDATE view_credential_statuses SET status = ? "
                "WHERE certificate_id = ? AND revoked = 0 AND status <> ?",
                (int(credential_status(Status(event.status))), certificate_id, int(CredentialStatus.INVALID)),
            )

    def flush(self, tx: Transaction) -> None:
        """Each event is written as it is applied."""


def entries(tx: Transaction) -> list[tuple[int, int]]:
    """(status list entry, status) of each credential whose entry is not VALID, in entry order; the other
    entries are VALID."""
    rows = tx.fetchall(
        "SELECT status_index, status FROM view_credential_statuses WHERE status <> ? ORDER BY status_index",
        (int(CredentialStatus.VALID),),
    )
    return [(int(index), int(status)) for index, status in rows]


def certificate_of(tx: Transaction, credential_id: str) -> str | None:
    """The id of the certificate a credential of this node belongs to, or None."""
    rows = tx.fetchall(
        "SELECT certificate_id FROM view_credential_statuses WHERE credential_id = ?", (credential_id,)
    )
    return str(rows[0][0]) if rows else None
