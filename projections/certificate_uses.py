"""用证记录: every use of a holder's certificates verified here (核验), by another province or this one, over
any channel: by whom, when, for which case (if any) and purpose, with which consent.

The holder is kept as a digest of ID type and number (``holder_digest``), never the number: the read model is
asked for one holder's uses by that digest, computed from what the holder's platform sends. Once the holder
is forgotten (an ``Erasure``), their certificates' rows keep the uses but no digest: nobody can ask for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.utils import get_topic

from aggregates.certificate import Certificate, holder_digest
from aggregates.erasure import ERASED, Erasure
from infra.view_store import Transaction

DDL = (
    """CREATE TABLE IF NOT EXISTS view_certificate_holders (
        certificate_id TEXT PRIMARY KEY,
        identifier TEXT NOT NULL,
        type_name TEXT NOT NULL,
        holder_digest TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS view_certificate_uses (
        certificate_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        identifier TEXT NOT NULL,
        type_name TEXT NOT NULL,
        holder_digest TEXT NOT NULL,
        requester_province TEXT NOT NULL,
        case_reference TEXT NOT NULL,
        purpose TEXT NOT NULL,
        consent_reference TEXT NOT NULL,
        used_at TEXT NOT NULL,
        PRIMARY KEY (certificate_id, version)
    )""",
    "CREATE INDEX IF NOT EXISTS view_certificate_uses_holder "
    "ON view_certificate_uses (holder_digest, used_at)",
    # the other holders of a certificate of several (结婚证): their uses are the certificate's uses
    """CREATE TABLE IF NOT EXISTS view_certificate_other_holders (
        certificate_id TEXT NOT NULL,
        holder_digest TEXT NOT NULL,
        PRIMARY KEY (holder_digest, certificate_id)
    )""",
)
ALL_USE_COLUMNS = (
    "certificate_id",
    "version",
    "identifier",
    "type_name",
    "holder_digest",
    "requester_province",
    "case_reference",
    "purpose",
    "consent_reference",
    "used_at",
)
USE_COLUMNS = (
    "identifier",
    "type_name",
    "requester_province",
    "case_reference",
    "purpose",
    "consent_reference",
    "used_at",
)


# A use for no case (e.g. a REST verification at a road check): the column predates such uses, NOT NULL.
NO_CASE = ""


class CertificateUses:
    name = "certificate_uses"
    tables = ("view_certificate_holders", "view_certificate_uses", "view_certificate_other_holders")

    def __init__(self) -> None:
        self.topics: Sequence[str] = sorted(
            get_topic(cls) for cls in (Certificate.Issued, Certificate.Used, Erasure.Recorded)
        )
        self._holders: dict[str, tuple[str, str, str]] = {}  # this batch's new certificates
        self._uses: list[tuple[Any, ...]] = []
        self._others: list[tuple[str, str]] = []  # this batch's (certificate_id, digest) of other holders
        self._batch_of: Transaction | None = None

    def create(self, tx: Transaction) -> None:
        for statement in DDL:
            tx.execute(statement)

    def apply(self, tx: Transaction, event: Any) -> None:
        if tx is not self._batch_of:
            self._holders, self._uses, self._others, self._batch_of = {}, [], [], tx
        certificate_id = str(event.originator_id)
        if isinstance(event, Certificate.Issued):
            erased = event.holder_id == ERASED
            digest = "" if erased else holder_digest(event.holder_id_type, event.holder_id)
            self._holders[certificate_id] = (event.identifier, event.type_name, digest)
            self._others += [
                (certificate_id, holder_digest(other["id_type"], other["id"]))
                for other in event.other_holders
                if other["id"] != ERASED
            ]
            return
        if isinstance(event, Erasure.Recorded):
            self._forget(tx, set(event.certificate_ids))
            return
        identifier, type_name, digest = self._holder(tx, certificate_id)
        self._uses.append((
            certificate_id, event.originator_version, identifier, type_name, digest,
            event.requester_province, event.case_reference or NO_CASE, event.purpose, event.consent_reference,
            event.timestamp.isoformat(),
        ))  # fmt: skip

    def flush(self, tx: Transaction) -> None:
        tx.insert_many(
            "view_certificate_holders",
            ("certificate_id", "identifier", "type_name", "holder_digest"),
            [(certificate_id, *holder) for certificate_id, holder in self._holders.items()],
        )
        tx.insert_many("view_certificate_uses", ALL_USE_COLUMNS, self._uses)
        tx.insert_many("view_certificate_other_holders", ("certificate_id", "holder_digest"), self._others)
        self._holders, self._uses, self._others, self._batch_of = {}, [], [], None

    def _forget(self, tx: Transaction, certificate_ids: set[str]) -> None:
        """A holder was forgotten: no digest on their certificates' rows, written or still in this batch.

        The erasure names the certificates, not which of their holders was forgotten: for a certificate of
        several holders, none of them can read its uses any more (the safe side).
        """
        if not certificate_ids:
            return
        self._others = [other for other in self._others if other[0] not in certificate_ids]
        for certificate_id in certificate_ids & self._holders.keys():
            identifier, type_name, _ = self._holders[certificate_id]
            self._holders[certificate_id] = (identifier, type_name, "")
        self._uses = [(*use[:4], "", *use[5:]) if use[0] in certificate_ids else use for use in self._uses]
        marks = ", ".join("?" for _ in certificate_ids)
        tx.execute(
            f"DELETE FROM view_certificate_other_holders WHERE certificate_id IN ({marks})",  # noqa: S608
            sorted(certificate_ids),
        )
        for table in ("view_certificate_holders", "view_certificate_uses"):
            tx.execute(
                f"UPDATE {table} SET holder_digest = '' WHERE certificate_id IN ({marks})",  # noqa: S608
                sorted(certificate_ids),
            )

    def _holder(self, tx: Transaction, certificate_id: str) -> tuple[str, str, str]:
        known = self._holders.get(certificate_id)
        if known is not None:
            return known
        [row] = tx.fetchall(
            "SELECT identifier, type_name, holder_digest FROM view_certificate_holders "
            "WHERE certificate_id = ?",
            (certificate_id,),
        )
        return str(row[0]), str(row[1]), str(row[2])


@dataclass(frozen=True)
class UsesQuery:
    digest: str
    requester_province: str | None = None
    limit: int = 100
    before: tuple[str, str, int] | None = (
        None  # (used_at, certificate_id, version) of the previous page's last
    )


def uses_of(tx: Transaction, query: UsesQuery) -> tuple[list[dict[str, Any]], tuple[str, str, int] | None]:
    """One page of a holder's uses, newest first, and the position after it (None: no more)."""
    where = [
        "(holder_digest = ? OR certificate_id IN "
        "(SELECT certificate_id FROM view_certificate_other_holders WHERE holder_digest = ?))"
    ]
    params = list[Any]([query.digest, query.digest])
    if query.requester_province is not None:
        where.append("requester_province = ?")
        params.append(query.requester_province)
    if query.before is not None:
        where.append("(used_at, certificate_id, version) < (?, ?, ?)")
        params.extend(query.before)
    rows = tx.fetchall(
        f"SELECT {', '.join(USE_COLUMNS)}, certificate_id, version FROM view_certificate_uses "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY used_at DESC, certificate_id DESC, version DESC LIMIT ?",
        (*params, query.limit),
    )
    uses = [dict(zip(USE_COLUMNS, row, strict=False)) for row in rows]
    for use in uses:
        use["case_reference"] = use["case_reference"] or None
    last = rows[-1] if len(rows) == query.limit else None
    return uses, (str(last[6]), str(last[7]), int(last[8])) if last else None
