"""A forget travels to the peers that received the person's data, on SQLite and PostgreSQL: Shanghai forwards
a case (and its applicant) to Jiangsu, then forgets the applicant; the next batch Jiangsu pulls carries the
notice, and Jiangsu destroys the keys of ITS COPY. Jiangsu's own data about the same person stays, and no
other province's notice can erase a copy that came from Shanghai."""

from __future__ import annotations

from typing import Any

from eventsourcing.utils import get_topic

from aggregates.erasure import ERASED, Erasure
from aggregates.responsibility import Actor
from federation.inbox import Inbox
from federation.outbox import Outbox
from node.services import Services
from node.usecases.case_commands import ATTACH_MATERIAL, FORWARD, RECEIVE
from tests.builders import node_issue_body
from tests.integration.test_federation_inbox import JS, SH, ZJ, jiangsu  # noqa: F401 - the fixture
from tests.people import Person, people

WINDOW = Actor(SH, "SH-WINDOW", "window-1")
ADMIN = Actor(SH, "SH-ADMIN", "admin-1")
JS_ISSUER = Actor(JS, "JS-ISSUER", "issuer-1")


def forwarded(node: Services, person: Person) -> str:
    case = node.cases.submit(
        WINDOW, item_province=JS, item_code="GA-0003", mode="PROXY", applicant=person.applicant()
    )
    case_id = str(case.id)
    for material in case.missing_materials():
        node.cases.run(
            ATTACH_MATERIAL, case_id, WINDOW, material_code=material, file_digest="sha256:" + "ab" * 32
        )
    node.cases.run(RECEIVE, case_id, WINDOW)
    node.cases.run(FORWARD, case_id, WINDOW)
    return case_id


def test_a_peer_destroys_its_copy_on_the_notice_and_keeps_its_own_data(
    node: Services,
    jiangsu: Services,  # noqa: F811 - the fixture imported above
) -> None:
    forgotten, kept = people(2)
    cases = {p.id_number: forwarded(node, p) for p in (forgotten, kept)}
    # Jiangsu's own certificate for the same person: Jiangsu's data, not Shanghai's copy
    body = {**node_issue_body(0, province=JS), **forgotten.holder()}
    own = jiangsu.certificates.issue(JS_ISSUER, **body).identifier
    outbox, inbox = (
        Outbox(node.app, SH),
        Inbox(jiangsu.app, JS, jiangsu.cases.now, personal_data=jiangsu.erasure),
    )
    position = inbox.apply(SH, outbox.batch(JS, 0, 500)).position
    assert jiangsu.cases.applicant(cases[forgotten.id_number]).name == forgotten.name

    node.erasure.forget(forgotten.id_type, forgotten.id_number, ADMIN)
    batch = outbox.batch(JS, position, 500)
    [notice] = batch.erasure_notices
    # another province naming Shanghai's applicant erases nothing: the copy came from Shanghai
    assert jiangsu.erasure.erase_copies(ZJ, list(notice.applicant_ids)) is None
    assert jiangsu.cases.applicant(cases[forgotten.id_number]).name == forgotten.name

    inbox.apply(SH, batch)
    copy = jiangsu.cases.applicant(cases[forgotten.id_number])
    assert (copy.name, copy.id_number) == (ERASED, ERASED)
    assert jiangsu.cases.applicant(cases[kept.id_number]).name == kept.name
    assert jiangsu.certificates.certificate(own).content.holder_name == forgotten.name
    [recorded] = jiangsu.app.recorder.select_notifications(
        start=1, limit=10_000, topics=[get_topic(Erasure.Recorded)]
    )
    erasure: Any = jiangsu.app.mapper.to_domain_event(recorded)
    assert (erasure.origin, erasure.applicant_ids) == (SH, list(notice.applicant_ids))
    # a redelivered batch (its position passed already) changes nothing
    inbox.apply(SH, batch)
    assert jiangsu.cases.applicant(cases[forgotten.id_number]).name == ERASED


def test_forgetting_at_the_peer_erases_its_own_data_and_every_copy(
    node: Services,
    jiangsu: Services,  # noqa: F811 - the fixture imported above
) -> None:
    [person] = people(1)
    case_id = forwarded(node, person)
    body = {**node_issue_body(0, province=JS), **person.holder()}
    own = jiangsu.certificates.issue(JS_ISSUER, **body).identifier
    Inbox(jiangsu.app, JS, jiangsu.cases.now, personal_data=jiangsu.erasure).apply(
        SH, Outbox(node.app, SH).batch(JS, 0, 500)
    )

    erasures = jiangsu.erasure.forget(person.id_type, person.id_number, Actor(JS, "JS-ADMIN", "admin-1"))
    # one for Jiangsu's own data (its key), one for the copy of Shanghai's (that copy's key)
    assert [(e.origin, len(e.key_ids)) for e in erasures] == [(SH, 1), (JS, 1)]
    assert jiangsu.cases.applicant(case_id).name == ERASED
    assert jiangsu.certificates.certificate(own).content.holder_id == ERASED
    assert node.cases.applicant(case_id).name == person.name  # Shanghai decides about its own data
    # Jiangsu tells its peers only of its own data (which it never sent to Shanghai): no notice names the copy
    assert not Outbox(jiangsu.app, JS).batch(SH, 0, 500).erasure_notices
