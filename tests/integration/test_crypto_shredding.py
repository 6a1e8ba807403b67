"""Forgetting people by crypto-shredding, on SQLite and PostgreSQL: 200 people each hold a certificate and
filed a case; 50 are forgotten. The 50 read as erased everywhere (REST, replay, the read models live and
rebuilt, a dump of the event table taken BEFORE the forget and read after it), the 150 others are intact, no
dump ever held a name or ID number in clear, and the audit still verifies every leaf and head."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from aiohttp import web
from eventsourcing.persistence import Mapper, StoredEvent

from aggregates.applicant import Applicant
from aggregates.certificate import holder_digest
from aggregates.erasure import ERASED
from aggregates.responsibility import Actor
from node.audit.evidence import export_case
from node.audit.replay import replay_case, replay_certificate
from node.audit.verify import verify
from node.auth import Role
from node.services import Services
from projections.certificate_uses import UsesQuery, uses_of
from tests.builders import CONSENT, FakeClock, node_issue_body
from tests.conftest import Keys
from tests.integration.rest_client import Api, run
from tests.people import Person, people

SH = "310000"
ISSUER = Actor(SH, "SH-ISSUER", "issuer-1")
WINDOW = Actor(SH, "SH-WINDOW", "window-1")
ADMIN = Actor(SH, "SH-ADMIN", "admin-1")
JS, ZJ = "320000", "330000"


def raw_events(node: Services) -> list[tuple[str, int, str, bytes]]:
    """The event table as an intruder's dump sees it: (originator id, version, topic, stored bytes)."""
    table = node.app.recorder.events_table_name  # type: ignore[attr-defined]
    settings = node.settings
    if settings.postgres_url:
        schema = settings.eventsourcing_env()["POSTGRES_SCHEMA"]
        with psycopg.connect(settings.postgres_url) as pg:
            rows = pg.execute(
                f'SELECT originator_id::text, originator_version, topic, state FROM "{schema}".{table} '  # noqa: S608
                "ORDER BY notification_id"
            ).fetchall()
        return [(r[0], r[1], r[2], bytes(r[3])) for r in rows]
    with closing(sqlite3.connect(settings.sqlite_path)) as lite:
        rows = lite.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {table} ORDER BY rowid"  # noqa: S608
        ).fetchall()
    return [(str(UUID(r[0])), r[1], r[2], bytes(r[3])) for r in rows]


def whole_database(node: Services) -> bytes:
    """Every byte the store keeps: the SQLite file (after a checkpoint), or every table of the schema."""
    settings = node.settings
    if settings.postgres_url:
        schema = settings.eventsourcing_env()["POSTGRES_SCHEMA"]
        with psycopg.connect(settings.postgres_url) as pg:
            tables = pg.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
            ).fetchall()
            dump = b""
            for (table,) in tables:
                for row in pg.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall():  # noqa: S608
                    dump += repr(row).encode() + b"".join(bytes(v) for v in row if isinstance(v, bytes))
        return dump
    files = sorted(settings.node_dir.glob("*.sqlite3*"))  # the stores, their write-ahead logs included
    assert {f.name for f in files} >= {"events.sqlite3", "views.sqlite3"}
    return b"".join(f.read_bytes() for f in files)


def leaked(dump: bytes, persons: list[Person]) -> list[str]:
    return [p.name for p in persons if any(form in dump for form in p.forms())]


def record(node: Services, persons: list[Person], clock: FakeClock) -> dict[str, tuple[str, str]]:
    """Each person: a certificate issued here, and a case filed here with them as its applicant."""
    held = {}
    for n, person in enumerate(persons):
        body = {**node_issue_body(n % 4), **person.holder(), "service_item_code": None}
        certificate = node.certificates.issue(ISSUER, **body)
        case = node.cases.submit(
            WINDOW, item_province=JS, item_code="GA-0003", mode="PROXY", applicant=person.applicant()
        )
        held[person.id_number] = (certificate.identifier, str(case.id))
        clock.advance(minutes=1)
    return held


def exported(node: Services, case_id: str) -> list[tuple[Any, ...]]:
    """The stored records an evidence bundle of the case holds (its proofs grow with the tree)."""
    return [(e["leaf_index"], e["topic"], e["state"]) for e in export_case(node, case_id)["events"]]


def uses_digest(node: Services, person: Person) -> list[dict[str, Any]]:
    with node.views.transaction() as tx:
        uses, _ = uses_of(tx, UsesQuery(holder_digest(person.id_type, person.id_number)))
    return uses


def check_each_person(
    node: Services,
    held: dict[str, tuple[str, str]],
    forgotten: list[Person],
    everyone: list[Person],
    at: datetime,
) -> None:
    """Services, a replay as of ``at``, the use log and 核验: erased or intact, person by person."""
    for person in everyone:
        identifier, case_id = held[person.id_number]
        erased = person in forgotten
        applicant = node.cases.applicant(case_id)
        content = node.certificates.certificate(identifier).content
        shown = (applicant.name, applicant.id_number, content.holder_name, content.holder_id)
        assert shown == ((ERASED,) * 4 if erased else (person.name, person.id_number) * 2)
        replayed = replay_certificate(node, identifier, at)["certificate"]["holder"]
        expected = (ERASED, ERASED) if erased else (person.name, person.id_number)
        assert (replayed["name"], replayed["id"]) == expected
        assert replay_case(node, case_id, at)["case"]["case_id"] == case_id  # the workflow stays
        assert bool(uses_digest(node, person)) is not erased  # the use log no longer finds a forgotten holder
        assert (node.certificates.verify(identifier).assertion["problem"] == "HOLDER_ERASED") is erased


def read_dump(node: Services, dump: list[tuple[str, int, str, bytes]]) -> dict[str, list[Any]]:
    """The personal events of a dump, decoded now with the node's keys, by the ID number they show."""
    read: dict[str, list[Any]] = {}
    for originator_id, version, topic, state in dump:
        if topic.endswith(("Applicant.Registered", "Certificate.Issued")):
            stored = StoredEvent(UUID(originator_id), version, topic, state)
            event: Any = node.app.mapper.to_domain_event(stored)
            read.setdefault(getattr(event, "id_number", None) or event.holder_id, []).append(event)
    return read


def test_forgetting_50_of_200_people_erases_them_everywhere_and_keeps_history_verifiable(
    node: Services, keys: Keys, clock: FakeClock
) -> None:
    everyone = people(200)
    forgotten, kept = everyone[::4], [p for n, p in enumerate(everyone) if n % 4]
    held = record(node, everyone, clock)
    for person in everyone:  # 用证记录: another province verified each certificate
        node.certificates.verify_for_peer(held[person.id_number][0], ZJ, "C-1", "核验", CONSENT)
    for follower in node.projections.values():
        follower.tick()
    assert node.transparency.publish_head() is not None
    dump_before = raw_events(node)
    database_before = whole_database(node)
    exported_before = [exported(node, held[p.id_number][1]) for p in forgotten[:5]]
    # the control: the same search finds what IS stored in clear (a certificate type name) in these dumps
    assert "居民身份证".encode() in database_before
    assert not leaked(database_before, everyone)

    erasures = [e for p in forgotten for e in node.erasure.forget(p.id_type, p.id_number, ADMIN)]
    assert {(len(e.applicant_ids), len(e.certificate_ids)) for e in erasures} == {(1, 1)}
    for follower in node.projections.values():
        follower.tick()
    assert node.transparency.publish_head() is not None

    check_each_person(node, held, forgotten, everyone, clock() + timedelta(days=1))

    # the read models rebuilt from the log: the same erasures, the same intact people
    live = {name: rows(node, name) for name in ("certificate_uses",)}
    for follower in node.projections.values():
        follower.rebuild()
    assert {name: rows(node, name) for name in live} == live
    assert all(not uses_digest(node, p) for p in forgotten)
    assert all(uses_digest(node, p) for p in kept)

    # the dump taken before the forget: never any clear text, and read now, the forgotten are erased
    assert not leaked(b"".join(state for *_, state in dump_before), everyone)
    read = read_dump(node, dump_before)
    assert len(read.pop(ERASED)) == 2 * len(forgotten)
    assert sorted(read) == sorted(p.id_number for p in kept)

    # the history: every stored record is as it was, and the audit verifies every leaf and head
    assert raw_events(node)[: len(dump_before)] == dump_before
    assert [exported(node, held[p.id_number][1]) for p in forgotten[:5]] == exported_before
    report = verify(node.app.recorder, node.transparency.log, SH, node.certificates.public_keys(), {})
    assert report.clean, report
    assert report.heads_checked == 2
    assert not leaked(whole_database(node), everyone)

    # the API, as an officer and the platform see it
    async def scenario(api: Api, _app: web.Application) -> None:
        for person in (forgotten[0], kept[0]):
            identifier, case_id = held[person.id_number]
            status, shown, _ = await api.call("GET", f"/v1/cases/{case_id}/applicant", role=Role.WINDOW)
            assert status == 200
            assert (shown["name"], shown["id_number"]) == (
                (ERASED, ERASED) if person in forgotten else (person.name, person.id_number)
            )
            status, certificate, _ = await api.call("GET", f"/v1/certificates/{identifier}")
            assert status == 200
            assert certificate["holder"]["id"] == (ERASED if person in forgotten else person.id_number)

    run(node, keys, scenario)


def rows(node: Services, name: str) -> dict[str, list[tuple[Any, ...]]]:
    with node.views.transaction() as tx:
        return {
            table: sorted(tx.fetchall(f"SELECT * FROM {table}"))  # noqa: S608
            for table in node.projections[name].projection.tables
        }


def test_the_forget_endpoint_is_for_admins_and_names_no_one_back(
    node: Services, keys: Keys, clock: FakeClock
) -> None:
    [person, stranger] = people(2)
    held = record(node, [person], clock)

    async def scenario(api: Api, _app: web.Application) -> None:
        body = {"id_type": person.id_type, "id_number": person.id_number}
        for role in (Role.ISSUER, Role.WINDOW, Role.AUDITOR):
            status, _, _ = await api.call("POST", "/v1/erasures", role=role, body=body)
            assert status == 403
        status, _, _ = await api.call("POST", "/v1/erasures", role=Role.ADMIN, province=JS, body=body)
        assert status == 403
        status, answer, _ = await api.call("POST", "/v1/erasures", role=Role.ADMIN, body=body)
        assert status == 201
        assert (answer["applicants"], answer["certificates"]) == (1, 1)
        assert person.id_number not in str(answer)
        status, problem, _ = await api.call(
            "POST", "/v1/erasures", role=Role.ADMIN, body={**body, "id_number": stranger.id_number}
        )
        assert status == 404
        assert stranger.id_number not in str(problem)
        bad = {**body, "id_number": person.id_number[:-1] + ("X" if person.id_number[-1] != "X" else "0")}
        status, problem, _ = await api.call("POST", "/v1/erasures", role=Role.ADMIN, body=bad)
        assert status == 422
        assert bad["id_number"] not in str(problem)

    run(node, keys, scenario)
    assert node.cases.applicant(held[person.id_number][1]).name == ERASED


def test_a_person_forgotten_and_seen_again_gets_a_new_key(node: Services, clock: FakeClock) -> None:
    [person] = people(1)
    first = record(node, [person], clock)[person.id_number]
    node.erasure.forget(person.id_type, person.id_number, ADMIN)
    second = record(node, [person], clock)[person.id_number]
    assert node.cases.applicant(first[1]).name == ERASED
    assert node.cases.applicant(second[1]).name == person.name
    node.erasure.forget(person.id_type, person.id_number, ADMIN)
    assert node.cases.applicant(second[1]).name == ERASED


def test_records_stored_in_clear_before_sealing_existed_still_read(node: Services) -> None:
    """A stored event is a schema forever: an Applicant registered in clear (as before issue 8) reads."""
    [person] = people(1)
    registered = Applicant.register(person.name, person.id_type, person.id_number, datetime.now(UTC))
    [event] = registered.collect_events()
    plain = Mapper[UUID](transcoder=node.app.mapper.transcoder).to_stored_event(event)  # no sealing
    assert person.id_number.encode() in plain.state
    node.app.recorder.insert_events([plain])
    read: Applicant = node.app.repository.get(registered.id)
    assert (read.name, read.id_number) == (person.name, person.id_number)
