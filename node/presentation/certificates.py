"""The JSON shapes of a certificate (电子证照), its signed verification answer (核验) and its history
(责任追溯): what REST answers and the audit tools print."""

from __future__ import annotations

from datetime import date
from typing import Any

from aggregates.certificate import DECLARED_FIELDS, Certificate
from node.signing import b64
from node.usecases.certificates import HistoryEntry, SignedAssertion

# The holder's declared fields travel as one object: holder_name as holder.name, and so on.
HOLDER_PREFIX = "holder_"


def certificate_json(certificate: Certificate, on: date) -> dict[str, Any]:
    """Every declared field (``aggregates.certificate.CertificateFields``) under its own name and in its
    order, the holder's grouped; the status right after the identifier; then what the node recorded.

    ``status`` is the effective status on ``on`` (a date in China): a reader never sees VALID for a
    certificate that has lapsed by date or is not yet in force. ``recorded_status`` is what its events
    recorded."""
    content = certificate.content
    document: dict[str, Any] = {
        "identifier": content.identifier,
        "status": certificate.effective_status(on).value,
        "recorded_status": certificate.status.value,
    }
    holder: dict[str, Any] = {}
    for name in DECLARED_FIELDS:
        value = getattr(content, name)
        if name.startswith(HOLDER_PREFIX):
            holder[name.removeprefix(HOLDER_PREFIX)] = value
            document["holder"] = holder  # in the place of the first holder field; the others fill it
        else:
            document[name] = value  # the identifier keeps its first place
    return {
        **document,
        "successor_identifier": certificate.successor_identifier,
        "destination_province": certificate.destination_province,
        "destination_identifier": certificate.destination_identifier,
        "province": certificate.province,
        # 关联事项 and 同步发放 (一网通办决定 第七条): the case it was issued for; the paper counterpart
        "case_reference": certificate.case_reference,
        "paper_counterpart": (
            None
            if certificate.paper_counterpart_digest is None
            else {"issued": True, "content_digest": certificate.paper_counterpart_digest}
        ),
        "signature": {
            "algorithm": certificate.signature_algorithm,
            "key_id": certificate.signing_key_id,
            "value": certificate.signature,
        },
        "version": certificate.version,
        "issued_at": certificate.created_on.isoformat(),
        "updated_at": certificate.modified_on.isoformat(),
    }


def assertion_json(signed: SignedAssertion) -> dict[str, Any]:
    return {
        "assertion": signed.assertion,
        "signature": {
            "algorithm": signed.algorithm,
            "key_id": signed.key_id,
            "payload": b64(signed.payload),
            "value": b64(signed.signature),
        },
    }


def history_entry_json(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "version": entry.version,
        "at": entry.at.isoformat(),
        "event": entry.event,
        "status": entry.status.value,
        "office_code": entry.office_code,
        "operator_id": entry.operator_id,
        "detail": entry.detail,
    }
