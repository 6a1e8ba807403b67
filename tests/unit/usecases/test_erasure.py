"""ErasureService over an in-memory store: forgetting a person destroys their data keys and records it; a
peer's notice destroys only the copy that peer sent."""

from __future__ import annotations

from datetime import date

import pytest

from aggregates.applicant import Applicant
from aggregates.erasure import ERASED, Erasure
from aggregates.responsibility import Actor
from node.services import Services
from node.store.application import NotFound
from tests.builders import ACTOR, FakeClock, issue_fields
from tests.people import Person, people

SH_WINDOW = Actor("310000", "SH-WIN-01", "w-001")
DPO = Actor("310000", "SH-DPO", "dpo-1")  # the officer who handles the request to be forgotten


def file_case(node: Services, person: Person) -> str:
    case = node.cases.submit(
        SH_WINDOW, item_province="320000", item_code="GA-0003", mode="PROXY", applicant=person.applicant()
    )
    return str(case.id)


def test_forgetting_erases_the_persons_certificates_and_applications_and_records_it(
    node: Services, clock: FakeClock
) -> None:
    person, other = people(2)
    certificate = node.certificates.issue(ACTOR, **issue_fields(0, date(2025, 9, 1), **person.holder()))
    case_id = file_case(node, person)
    others_case = file_case(node, other)
    [erasure] = node.erasure.forget(person.id_type, person.id_number, DPO)
    assert erasure.origin == "310000"
    assert erasure.certificate_ids == [str(certificate.id)]
    assert erasure.applicant_ids == [node.cases.case(case_id).applicant_id]
    assert erasure.key_ids
    assert erasure.created_on == clock.now
    [recorded] = node.app.events.get(erasure.id)
    assert isinstance(recorded, Erasure.Recorded)
    assert (recorded.office_code, recorded.operator_id, recorded.key_ids) == (
        "SH-DPO",
        "dpo-1",
        erasure.key_ids,
    )
    forgotten = node.certificates.certificate(certificate.identifier).content
    assert (forgotten.holder_name, forgotten.holder_id) == (ERASED, ERASED)
    assert node.cases.applicant(case_id).name == ERASED
    assert node.cases.applicant(others_case).name == other.name  # nobody else's data
    verified = node.certificates.verify(certificate.identifier)
    assert (verified.assertion["authentic"], verified.assertion["problem"]) == (False, "HOLDER_ERASED")
    assert node.cases.case(case_id).state.value == "SUBMITTED"  # the workflow history stays whole


def test_a_person_unknown_here_is_not_found_and_a_repeated_forget_names_the_same_keys(node: Services) -> None:
    [person] = people(1)
    before = node.app.recorder.max_notification_id()
    with pytest.raises(NotFound):
        node.erasure.forget(person.id_type, person.id_number, DPO)
    assert node.app.recorder.max_notification_id() == before
    case_id = file_case(node, person)
    [first] = node.erasure.forget(person.id_type, person.id_number, DPO)
    # a forget cut short after destroying the keys is asked again: it records the same keys once more
    [again] = node.erasure.forget(person.id_type, person.id_number, DPO)
    assert (again.key_ids, again.applicant_ids) == (first.key_ids, first.applicant_ids)
    assert again.id != first.id
    assert node.cases.applicant(case_id).name == ERASED


def test_a_peers_notice_destroys_only_the_copy_that_peer_sent(node: Services) -> None:
    [person] = people(1)
    with node.erasure.data_from("320000"):
        copy = Applicant.register(person.name, person.id_type, person.id_number, node.cases.now())
        node.app.save(copy)
    own_case = file_case(node, person)  # this node's own data about the same person
    assert node.erasure.erase_copies("330000", [str(copy.id)]) is None  # 330000 sent no copy of them
    erasure = node.erasure.erase_copies("320000", [str(copy.id)])
    assert erasure is not None
    assert (erasure.origin, erasure.applicant_ids) == ("320000", [str(copy.id)])
    node.app.save(erasure)  # the inbox stores it with the peer's batch
    [recorded] = node.app.events.get(erasure.id)
    assert isinstance(recorded, Erasure.Recorded)
    assert (recorded.province, recorded.office_code, recorded.operator_id) == (
        "310000",
        "FEDERATION",
        "320000",
    )
    held: Applicant = node.app.repository.get(copy.id)
    assert held.name == ERASED
    assert node.cases.applicant(own_case).name == person.name
