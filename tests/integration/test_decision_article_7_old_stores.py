"""上海市"一网通办"决定 第七条 on the stores older code wrote (tests/fixtures/stores/round1 and round2,
SQLite and PostgreSQL): the service items and the items cases were filed under were recorded before items
named the certificate they issue, so they issue none, and read back as recorded; the old certificates (round
1's; round 2's store holds none) show no case link and no paper counterpart; the exemption from paper reads
the old holders' certificates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from uuid import UUID

import pytest

from aggregates.case import Case, State
from aggregates.catalogue import ServiceItem
from aggregates.certificate import Certificate, Status
from aggregates.clock import china_date
from aggregates.responsibility import Actor
from node.bootstrap import build_services, close_services
from node.http.catalogue import item_json
from node.presentation.certificates import certificate_json
from node.services import Services
from node.settings import load_settings
from node.store.application import NotFound
from node.usecases.case_commands import ACCEPT, CONCLUDE, RECORD_REVIEW
from tests.builders import FakeClock, review_calls
from tests.integration.old_stores import copy_fixture, restored_database

STORES = Path(__file__).parents[1] / "fixtures" / "stores"
SH = "310000"
NOW = datetime.fromisoformat("2026-04-14T10:00:00+08:00")  # after the last event of either store
HANDLER = Actor(SH, "31-HANDLER-01", "handler-1")


@pytest.fixture(
    params=[
        ("round1", "sqlite"),
        pytest.param(("round1", "postgres"), marks=pytest.mark.postgres),
        ("round2", "sqlite"),
        pytest.param(("round2", "postgres"), marks=pytest.mark.postgres),
    ],
    ids=["round1-sqlite", "round1-postgres", "round2-sqlite", "round2-postgres"],
)
def old_node(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Services, dict[str, str]]]:
    round_, kind = request.param
    directory = tmp_path / round_
    expected = copy_fixture(STORES / round_ / kind, directory)
    assert datetime.fromisoformat(expected["last_event_at"]) < NOW
    environ = {"TONGBAN_DATA_DIR": str(directory), "TONGBAN_HTTP_PORT": "0", "TONGBAN_GRPC_PORT": "0"}
    if round_ == "round1":  # round 1 wrote a node of a federation (its README)
        environ["TONGBAN_FEDERATION_DIR"] = str(directory)

    def opened(env: dict[str, str]) -> Iterator[tuple[str, Services, dict[str, str]]]:
        services = build_services(load_settings(province=SH, environ=env), clock=FakeClock(NOW))
        try:
            yield round_, services, expected["cases"]
        finally:
            close_services(services)

    if kind == "sqlite":
        yield from opened(environ)
        return
    server: str = request.getfixturevalue("postgres_url")
    schema = f"old_{round_}_310000"
    with restored_database(server, STORES / round_ / kind / f"{schema}.sql.gz") as url:
        yield from opened(environ | {"TONGBAN_POSTGRES_URL": url, "TONGBAN_POSTGRES_SCHEMA": schema})


def aggregates(node: Services) -> Iterator[object]:
    """Every aggregate of the store, loaded through today's classes (upcasting what changed)."""
    recorder, position = node.app.recorder, 0
    while batch := recorder.select_notifications(start=position + 1, limit=200):
        for notification in batch:
            if notification.originator_version == 1:
                yield node.app.repository.get(UUID(str(notification.originator_id)))
        position = batch[-1].id


def test_old_items_issue_no_certificate_and_old_certificates_show_no_case_link(
    old_node: tuple[str, Services, dict[str, str]],
) -> None:
    round_, node, _marks = old_node
    seen = {"items": 0, "cases": 0, "certificates": 0}
    for aggregate in aggregates(node):
        if isinstance(aggregate, ServiceItem):
            seen["items"] += 1
            assert aggregate.definition.certificate is None
            assert "certificate" not in item_json(aggregate)["definition"]  # as recorded
        elif isinstance(aggregate, Case):
            seen["cases"] += 1
            assert aggregate.item.certificate is None
        elif isinstance(aggregate, Certificate):
            seen["certificates"] += 1
            document = certificate_json(aggregate, node.certificates.today())
            assert (document["case_reference"], document["paper_counterpart"]) == (None, None)
            events = [entry.event for entry in node.certificates.history(aggregate.identifier)]
            assert "IssuedForCase" not in events
    assert (seen["items"] > 0, seen["cases"] > 0, seen["certificates"] > 0) == (
        True,
        True,
        round_ == "round1",
    )


def test_the_exemption_from_paper_names_only_valid_certificates_the_old_applicants_hold(
    old_node: tuple[str, Services, dict[str, str]],
) -> None:
    round_, node, _marks = old_node
    on = china_date(NOW)
    exemptions = 0
    for aggregate in aggregates(node):
        if not isinstance(aggregate, Case):
            continue
        exempt = node.cases.paper_exemptions(aggregate, SH, NOW)
        try:
            person = node.cases.applicant(str(aggregate.id))
        except NotFound:
            assert exempt == {}
            continue
        for material_code, identifier in exempt.items():
            certificate = node.certificates.certificate(identifier)
            assert certificate.effective_status(on) is Status.VALID
            assert (certificate.content.holder_id_type, certificate.content.holder_id) == (
                person.id_type,
                person.id_number,
            )
            material = aggregate.item.material(material_code)
            assert material is not None
            assert certificate.content.type_code in material.substitutes
            exemptions += 1
    assert (exemptions > 0) == (round_ == "round1")  # round 1's applicants hold valid ID cards


def test_an_old_case_concluded_issued_today_issues_no_certificate(
    old_node: tuple[str, Services, dict[str, str]],
) -> None:
    round_, node, marks = old_node
    before = sum(isinstance(a, Certificate) for a in aggregates(node))
    if round_ == "round1":
        case_id = marks["accepted_open"][0]  # a Shanghai case the old code accepted
    else:
        case_id = marks["online"]  # a Shanghai case filed online, not yet accepted
        node.cases.run(ACCEPT, case_id, HANDLER)
    for step, officer, extra in review_calls(HANDLER):
        node.cases.run(RECORD_REVIEW, case_id, officer, step=step, opinion="同意", **extra)
    case = node.cases.run(CONCLUDE, case_id, HANDLER, result="ISSUED")
    assert (case.state, case.result) == (State.CONCLUDED, "ISSUED")
    assert sum(isinstance(a, Certificate) for a in aggregates(node)) == before
