"""证照互认: how often each certificate type of each issuing province was recognised or refused, where and
why; and the status now of every certificate that an open case relies on.

Recognition decisions come from ``Case.RecognitionDecided``. The status of a relied-on certificate comes from
this node's own certificates' events, or, for another province's, from what its issuer announced
(``ForeignCertificate``); none announced means it is as it was verified: VALID.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.utils import get_topic

from aggregates.case import Case
from aggregates.certificate import Certificate, Status
from aggregates.foreign_certificate import ForeignCertificate
from aggregates.identifiers import CertificateIdentifier, InvalidIdentifier
from infra.view_store import Transaction

DDL = (
    """CREATE TABLE IF NOT EXISTS view_recognitions (
        case_id TEXT NOT NULL, version INTEGER NOT NULL, type_code TEXT NOT NULL,
        issuing_province TEXT NOT NULL, recognising_province TEXT NOT NULL, recognised INTEGER NOT NULL,
        reason TEXT NOT NULL, decided_at TEXT NOT NULL, PRIMARY KEY (case_id, version))""",
    """CREATE TABLE IF NOT EXISTS view_relied (
        case_id TEXT NOT NULL, material_code TEXT NOT NULL, identifier TEXT NOT NULL,
        PRIMARY KEY (case_id, material_code))""",
    "CREATE TABLE IF NOT EXISTS view_open_cases (case_id TEXT PRIMARY KEY, open INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS view_certificate_status (
        aggregate_id TEXT PRIMARY KEY, identifier TEXT NOT NULL, status TEXT)""",
)
CLOSING = (Case.Concluded, Case.Refused)
RECOGNITION_COLUMNS = (
    "case_id",
    "version",
    "type_code",
    "issuing_province",
    "recognising_province",
    "recognised",
    "reason",
    "decided_at",
)


class RecognitionRegistry:
    name = "recognition_registry"
    tables = ("view_recognitions", "view_relied", "view_open_cases", "view_certificate_status")

    def __init__(self) -> None:
        read: list[type[Any]] = [
            Case.Submitted,
            *CLOSING,
            Case.MaterialAttached,
            Case.RecognitionDecided,
            Certificate.Issued,
            Certificate.StatusChanged,
            Certificate.Superseded,
            ForeignCertificate.Observed,
            ForeignCertificate.StatusAnnounced,
        ]
        self.topics: Sequence[str] = sorted(get_topic(cls) for cls in read)
        self._reset(None)

    def create(self, tx: Transaction) -> None:
        for statement in DDL:
            tx.execute(statement)

    def apply(self, tx: Transaction, event: Any) -> None:
        """Change the batch's pending rows; :meth:`flush` writes them with one statement per kind."""
        if tx is not self._batch_of:  # a new batch (after a crash too): nothing of an earlier one is kept
            self._reset(tx)
        key = str(event.originator_id)
        if isinstance(event, (Case.Submitted, *CLOSING)):
            self._open[key] = int(isinstance(event, Case.Submitted))
            if isinstance(event, Case.Submitted):
                self._new_cases.add(key)
        elif isinstance(event, Case.MaterialAttached):
            self._relied[(key, event.material_code)] = event.certificate_identifier
        elif isinstance(event, Case.RecognitionDecided):
            type_code = _type_code(event.certificate_identifier)
            decision = (event.issuing_province, event.province, int(event.recognised), event.reason)
            self._decisions.append(
                (key, event.originator_version, type_code, *decision, event.timestamp.isoformat())
            )
        elif isinstance(event, Certificate.Issued | ForeignCertificate.Observed):
            # None: nothing announced yet
            status = Status.VALID.value if isinstance(event, Certificate.Issued) else None
            self._new_certificates[key] = [event.identifier, status]
        elif key in self._new_certificates:  # a status change of a certificate this batch saw appear
            self._new_certificates[key][1] = event.status
        else:  # a status change of one of this node's certificates, or one another province announced
            self._statuses[key] = event.status

    def flush(self, tx: Transaction) -> None:
        tx.executemany(
            "INSERT INTO view_open_cases (case_id, open) VALUES (?, ?) "
            "ON CONFLICT (case_id) DO UPDATE SET open = excluded.open",
            list(self._open.items()),
        )
        tx.executemany(  # a case new in this batch has no earlier rows to delete
            "DELETE FROM view_relied WHERE case_id = ? AND material_code = ?",
            [key for key in self._relied if key[0] not in self._new_cases],
        )
        tx.insert_many(
            "view_relied",
            ("case_id", "material_code", "identifier"),
            [(*key, identifier) for key, identifier in self._relied.items() if identifier is not None],
        )
        tx.insert_many("view_recognitions", RECOGNITION_COLUMNS, self._decisions)
        tx.insert_many(
            "view_certificate_status",
            ("aggregate_id", "identifier", "status"),
            [(key, *row) for key, row in self._new_certificates.items()],
        )
        tx.executemany(
            "UPDATE view_certificate_status SET status = ? WHERE aggregate_id = ?",
            [(status, key) for key, status in self._statuses.items()],
        )
        self._reset(None)

    def _reset(self, tx: Transaction | None) -> None:
        self._open: dict[str, int] = {}  # case id -> open (1) or closed (0)
        self._new_cases: set[str] = set()
        self._relied: dict[tuple[str, str], str | None] = {}  # (case id, material) -> certificate or None
        self._decisions: list[tuple[Any, ...]] = []
        self._new_certificates: dict[str, list[str | None]] = {}  # aggregate id -> [identifier, status]
        self._statuses: dict[str, str] = {}  # aggregate id -> status, of certificates seen in earlier batches
        self._batch_of = tx


def _type_code(identifier: str) -> str:
    try:
        return CertificateIdentifier.parse(identifier).type_code
    except InvalidIdentifier:
        return "UNKNOWN"


@dataclass(frozen=True)
class RegistryQuery:
    """Filters, each optional: decisions and relied-on certificates of one type or issuing province;
    decisions of one recognising province; relied-on certificates in one status. Relied-on certificates come
    in pages of ``limit`` by identifier, from after ``after``."""

    type_code: str | None = None
    issuing_province: str | None = None
    recognising_province: str | None = None
    status: str | None = None
    limit: int = 100
    after: str | None = None


def _decision(type_code: str, issuing: str, recognising: str) -> dict[str, Any]:
    return {
        "type_code": type_code,
        "issuing_province": issuing,
        "recognising_province": recognising,
        "recognised": 0,
        "refused": 0,
        "refusal_reasons": {},
    }


def registry(tx: Transaction, query: RegistryQuery = RegistryQuery()) -> dict[str, Any]:
    """Decisions by type, issuing and recognising province; and one page of the relied-on certificates of
    open cases, with each one's status now."""
    where, params = ["1 = 1"], []
    for column, wanted in (
        ("type_code", query.type_code),
        ("issuing_province", query.issuing_province),
        ("recognising_province", query.recognising_province),
    ):
        if wanted is not None:
            where.append(f"{column} = ?")
            params.append(wanted)
    decisions: dict[tuple[str, str, str], dict[str, Any]] = {}
    for type_code, issuing, recognising, recognised, reason in tx.fetchall(
        "SELECT type_code, issuing_province, recognising_province, recognised, reason FROM view_recognitions "  # noqa: S608 - our own columns
        f"WHERE {' AND '.join(where)} ORDER BY type_code, issuing_province, recognising_province",
        params,
    ):
        entry = decisions.setdefault(
            (type_code, issuing, recognising), _decision(type_code, issuing, recognising)
        )
        if recognised:
            entry["recognised"] += 1
        else:
            entry["refused"] += 1
            entry["refusal_reasons"][reason] = entry["refusal_reasons"].get(reason, 0) + 1
    relied = []
    for identifier, status, count in tx.fetchall(
        "SELECT r.identifier, s.status, COUNT(DISTINCT r.case_id) FROM view_relied r "
        "JOIN view_open_cases o ON o.case_id = r.case_id AND o.open = 1 "
        "LEFT JOIN view_certificate_status s ON s.identifier = r.identifier "
        "WHERE r.identifier > ? GROUP BY r.identifier, s.status ORDER BY r.identifier",
        (query.after or "",),
    ):
        # verified VALID when attached: no status recorded or announced since means still VALID
        entry = {
            "identifier": identifier,
            "status": status or Status.VALID.value,
            "status_source": "recorded" if status is not None else "unchanged since verified",
            "open_cases": count,
        }
        if _selected(entry, query):
            relied.append(entry)
            if len(relied) == query.limit:
                break
    return {"decisions": list(decisions.values()), "relied_on": relied}


def _selected(relied: dict[str, Any], query: RegistryQuery) -> bool:
    if query.status is not None and relied["status"] != query.status:
        return False
    if query.type_code is None and query.issuing_province is None:
        return True
    try:
        parsed = CertificateIdentifier.parse(relied["identifier"])
    except InvalidIdentifier:
        return False
    return query.type_code in (None, parsed.type_code) and query.issuing_province in (
        None,
        parsed.issuing_province,
    )
