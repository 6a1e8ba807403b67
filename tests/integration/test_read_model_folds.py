"""Hypothesis properties on SQLite and PostgreSQL: after random sequences of commands, the holder's use log
(用证记录) and the mutual recognition registry (证照互认) equal a plain fold over the same events or the
aggregates they built. (The board, case view and statistics have theirs in ``test_case_board``.)"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

from eventsourcing.utils import get_topic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregates.case import OPEN_STATES, Case
from aggregates.certificate import Certificate, holder_digest
from aggregates.consent import UseChannel
from aggregates.errors import DomainError
from aggregates.identifiers import CertificateIdentifier
from node.services import Services
from node.usecases.case_commands import ATTACH_MATERIAL, REFUSE
from node.usecases.certificates import Use
from projections.certificate_uses import CertificateUses, UsesQuery, uses_of
from projections.recognition_registry import RecognitionRegistry, registry
from simulators.sample_data import credit_code
from tests.builders import REFUSAL, FakeClock, node_issue_body
from tests.integration.test_case_board import ID_CARD, SH_HANDLER, SH_PLATFORM
from tests.integration.test_case_service import APPLICANT, SH_WINDOW, id_card

SH = "310000"
PEERS = ("320000", "330000", "340000")
EXAMPLES = settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@EXAMPLES
@given(data=st.data())
def test_the_use_log_equals_a_plain_fold_of_the_certificates_events(
    node: Services, clock: FakeClock, data: st.DataObject
) -> None:
    """Certificates of two holders, verified by peers for cases and in the province for no case, some
    suspended meanwhile: each holder's use log must be exactly the ``Used`` events of that holder's
    certificates."""
    identifiers = [
        node.certificates.issue(SH_WINDOW, **{"service_item_code": None, **node_issue_body(n)}).identifier
        for n in data.draw(st.lists(st.integers(0, 1), min_size=1, max_size=3))
    ]
    for _ in range(data.draw(st.integers(0, 10))):
        identifier = data.draw(st.sampled_from(identifiers))
        clock.advance(minutes=data.draw(st.integers(0, 90)))
        consent = f"310000:20200101:C-{data.draw(st.integers(0, 99))}"
        kind = data.draw(st.sampled_from(("peer", "here", "status")))
        if kind == "peer":
            node.certificates.verify_for_peer(
                identifier,
                data.draw(st.sampled_from(PEERS)),
                f"{data.draw(st.integers(10**19, 10**20 - 1))}",
                data.draw(st.sampled_from(("新生儿入户", "户口迁移"))),
                consent,
            )
        elif kind == "here":  # a use inside the issuing province, for no case
            node.certificates.verify_for_use(
                identifier, Use(SH_WINDOW, UseChannel.REST, "酒店入住登记", consent)
            )
        else:
            with contextlib.suppress(DomainError):  # an illegal transition records nothing
                node.certificates.change_status(identifier, "suspend", SH_WINDOW, reason="暂扣")
    node.projections[CertificateUses.name].tick()

    holders: dict[str, str] = {}
    folded: dict[str, Counter[tuple[str | None, ...]]] = {}
    for notification in node.app.recorder.select_notifications(start=1, limit=1_000_000):
        event = node.app.mapper.to_domain_event(notification)
        if isinstance(event, Certificate.Issued):
            holders[str(event.originator_id)] = holder_digest(event.holder_id_type, event.holder_id)
        elif isinstance(event, Certificate.Used):
            digest = holders[str(event.originator_id)]
            use = (event.requester_province, event.case_reference, event.purpose, event.consent_reference)
            folded.setdefault(digest, Counter())[(*use, event.timestamp.isoformat())] += 1
    with node.views.transaction() as tx:
        for digest in set(holders.values()):
            shown, _more = uses_of(tx, UsesQuery(digest, limit=10_000))
            assert [u["used_at"] for u in shown] == sorted((u["used_at"] for u in shown), reverse=True)
            keys = ("requester_province", "case_reference", "purpose", "consent_reference", "used_at")
            assert Counter(tuple(u[k] for k in keys) for u in shown) == folded.get(digest, Counter())


def foreign_identifier(province: str, serial: int) -> str:
    return str(CertificateIdentifier.build(ID_CARD, credit_code(province, 1000 + serial), f"S{serial}"))


@EXAMPLES
@given(data=st.data())
def test_the_registry_equals_a_plain_fold_of_the_cases_and_certificates(
    node: Services, clock: FakeClock, data: st.DataObject
) -> None:
    """Cases filed online here recognise or refuse peers' certificates, attach this node's own ID cards,
    and some are refused; the own certificates change status. The registry's decisions must count every
    case's recognitions, and its relied-on list must be the certificates open cases hold, with each one's
    status now."""
    cases: list[str] = []
    own = [id_card(node)]
    for _ in range(data.draw(st.integers(1, 14))):
        step = data.draw(st.sampled_from(("file", "decide", "attach", "status", "refuse", "issue")))
        clock.advance(minutes=5)
        with contextlib.suppress(DomainError):  # a refused command records nothing
            _step(node, data, step, cases, own)
    node.projections[RecognitionRegistry.name].tick()
    with node.views.transaction() as tx:
        shown = registry(tx)

    decisions: dict[tuple[str, str, str], dict[str, Any]] = {}
    relied: dict[str, set[str]] = {}
    for case_id in every_case(node):  # the node holds earlier examples' cases too
        case = node.cases.case(case_id)
        for decision in case.recognitions:
            type_code = CertificateIdentifier.parse(decision["certificate_identifier"]).type_code
            entry = decisions.setdefault(
                (type_code, decision["issuing_province"], SH),
                {"recognised": 0, "refused": 0, "refusal_reasons": Counter()},
            )
            entry["recognised" if decision["recognised"] else "refused"] += 1
            if not decision["recognised"]:
                entry["refusal_reasons"][decision["reason"]] += 1
        if case.state in OPEN_STATES:
            for material in case.materials.values():
                if material["certificate_identifier"] is not None:
                    relied.setdefault(material["certificate_identifier"], set()).add(case_id)
    assert {
        (d["type_code"], d["issuing_province"], d["recognising_province"]): {
            "recognised": d["recognised"],
            "refused": d["refused"],
            "refusal_reasons": Counter(d["refusal_reasons"]),
        }
        for d in shown["decisions"]
    } == decisions
    assert {r["identifier"]: (r["status"], r["open_cases"]) for r in shown["relied_on"]} == {
        identifier: (node.certificates.certificate(identifier).status.value, len(case_ids))
        for identifier, case_ids in relied.items()
    }


def every_case(node: Services) -> list[str]:
    notifications = node.app.recorder.select_notifications(
        start=1, limit=1_000_000, topics=[get_topic(Case.Submitted)]
    )
    return [str(n.originator_id) for n in notifications]


def _step(node: Services, data: st.DataObject, step: str, cases: list[str], own: list[str]) -> None:
    if step == "file" or not cases:
        filed = node.cases.submit(
            SH_PLATFORM, item_province=SH, item_code="YM-0001", mode="FULL_ONLINE", applicant=APPLICANT
        )
        cases.append(str(filed.id))
    elif step == "decide":
        case: Case = node.cases.case(data.draw(st.sampled_from(cases)))
        province = data.draw(st.sampled_from(PEERS))
        identifier = foreign_identifier(province, data.draw(st.integers(1, 3)))
        refusal = data.draw(st.sampled_from((None, "status SUSPENDED", "holder is not the applicant")))
        verification = {"authentic": True, "status": "VALID"} if refusal is None else None
        case.decide_recognition(
            "M01", identifier, province, verification, refusal, SH_PLATFORM, node.cases.now()
        )
        node.app.save(case)  # as the node does after verifying at the issuer (no federation in this test)
    elif step == "attach":
        node.cases.run(
            ATTACH_MATERIAL,
            data.draw(st.sampled_from(cases)),
            SH_PLATFORM,
            material_code="M01",
            certificate_identifier=data.draw(st.sampled_from(own)),
        )
    elif step == "status":
        operation = data.draw(st.sampled_from(("suspend", "resume", "revoke")))
        node.certificates.change_status(data.draw(st.sampled_from(own)), operation, SH_WINDOW, reason="核查")
    elif step == "refuse":
        node.cases.run(REFUSE, data.draw(st.sampled_from(cases)), SH_HANDLER, **REFUSAL)
    else:
        own.append(id_card(node))
