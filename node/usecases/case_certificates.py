"""上海市人大常委会关于进一步促进和保障"一网通办"改革的决定, 第七条, in cases: a material that a valid
electronic certificate of this province proves is not demanded on paper, and a case concluded ISSUED for an
item that defines a certificate type issues that certificate (with its paper counterpart, where the type has
one, bearing the same information).

The certificate is issued in the same record as the conclusion (``CaseService._change``), as the written
notices of a decision are: the conclusion and its certificate are stored together or not at all, so a crash
leaves neither and the retried conclusion issues it then. Its identifier derives from the case number (the
serial) and the item's type and issuer, so it has one aggregate id: a second write of it conflicts and is
never a second certificate. A follower of the log (``node/workers``) would add a lease, a position and a
window in which a concluded case has no certificate, for nothing the one record does not already give.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from eventsourcing.domain import Aggregate

from aggregates.applicant import Applicant
from aggregates.case import Case, Result
from aggregates.catalogue import IssuedCertificateType
from aggregates.certificate import CertificateContent, Status, canonical_json
from aggregates.clock import china_date
from aggregates.erasure import ERASED
from aggregates.responsibility import Actor
from node.usecases.certificates import CertificateService


def paper_exemptions(
    case: Case, applicant: Applicant | None, certificates: CertificateService, at: datetime
) -> dict[str, str]:
    """Each material of the case's item that a certificate of this node satisfies, with its identifier: one
    the applicant holds, effectively VALID on the day in China at ``at``, of a type the item says replaces
    the material, unless a law the item names requires the paper original (``paper_required_by``). None of
    them for an applicant this node does not hold, or one forgotten."""
    if applicant is None or applicant.id_number == ERASED:
        return {}
    on = china_date(at)
    valid = [
        certificate
        for certificate in certificates.holder_certificates(applicant.id_type, applicant.id_number)
        if certificate.effective_status(on) is Status.VALID
    ]
    exempt: dict[str, str] = {}
    for material in case.item.materials:
        if material.paper_required_by is not None:  # a law requires the paper original all the same
            continue
        found = next((c for c in valid if c.content.type_code in material.substitutes), None)
        if found is not None:
            exempt[material.code] = found.identifier
    return exempt


def concluded_issued(case: Case) -> Actor | None:
    """Who concluded the case ISSUED in the events it has yet to save; None when it did not."""
    for pending in case.pending_events:
        if isinstance(pending, Case.Concluded) and pending.result == Result.ISSUED:
            return Actor(pending.province, pending.office_code, pending.operator_id)
    return None


def certificate_on_conclusion(
    case: Case,
    applicant: Applicant,
    certificates: CertificateService,
    actor: Actor,
    at: datetime,
) -> list[Aggregate]:
    """The certificate the item defines, issued to the applicant on the conclusion's day, with the aggregates
    to save with it; none for an item that defines none or an applicant forgotten meanwhile."""
    kind = case.item.certificate
    if kind is None or case.concluded_on is None or applicant.id_number == ERASED:
        return []
    content = _content(case, applicant, kind, date.fromisoformat(case.concluded_on))
    return certificates.issued_for_case(
        content,
        case_reference=case.case_no,
        paper_counterpart=kind.paper_counterpart,
        actor=actor,
        at=at,
    )


def _content(
    case: Case, applicant: Applicant, kind: IssuedCertificateType, issued_on: date
) -> CertificateContent:
    fields: dict[str, Any] = {
        "type_code": kind.type_code,
        "type_name": kind.type_name,
        "name": kind.type_name,
        # the case number: unique on this node, so one 证照编号 per type and issuer
        "number": case.case_no,
        "issuer_name": kind.issuer_name,
        "issuer_code": kind.issuer_code,
        "definer": kind.definer,
        "issue_date": issued_on.isoformat(),
        "valid_from": issued_on.isoformat(),
        "valid_to": None
        if kind.validity_years is None
        else _years_after(issued_on, kind.validity_years).isoformat(),
        "jurisdiction_code": case.handling_province,
        "holder_name": applicant.name,
        "holder_id_type": applicant.id_type,
        "holder_id": applicant.id_number,
        "service_item_code": case.item.code,
    }
    # The node keeps no file of its own: the certificate's document is its metadata, and its digest that.
    fields["file_digest"] = "sha256:" + hashlib.sha256(canonical_json(fields)).hexdigest()
    return CertificateContent.create(serial=case.case_no, **fields)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)
