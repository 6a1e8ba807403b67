"""The replication path without the network: Shanghai's outbox for Jiangsu, applied by Jiangsu's inbox, on
SQLite and PostgreSQL. A batch applies with the position, exactly once; an event the inbox refuses holds back
its own stream in the quarantine, and the other streams apply; a fault of the batch itself applies nothing."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from tongban.common.v1 import certificate_status_pb2 as common_pb
from tongban.federation.v1 import federation_pb2 as pb

from aggregates.case import Case, Limit, deadline_inputs
from aggregates.foreign_certificate import ForeignCertificate
from aggregates.identifiers import CertificateIdentifier
from aggregates.responsibility import Actor
from federation.errors import BatchRejected
from federation.inbox import Applied, Inbox, stream_key
from federation.outbox import Outbox
from federation.quarantine import QuarantineStore
from node.bootstrap import build_services, close_services
from node.cli import main as cli
from node.cli.master_key import rotate_master_key
from node.http.operations import quarantine_check
from node.services import Services
from node.settings import Settings
from node.signing import Ed25519Signer, load_public_key, unb64
from node.store.master_key import MasterKeyring
from node.usecases.case_commands import ACCEPT, ATTACH_MATERIAL, EXTEND, FORWARD, RECEIVE, REFUSE
from simulators.sample_data import credit_code, sample_catalogue
from tests.builders import EXTENSION_APPROVAL, REFUSAL, FakeClock, node_issue_body
from tests.conftest import drop_schema

SH, JS, ZJ = "310000", "320000", "330000"
WINDOW = Actor(SH, "SH-WINDOW", "window-1")
APPLICANT = {"name": "张伟", "id_type": "111", "id_number": "310101199001011234"}


@pytest.fixture
def jiangsu(settings: Settings, clock: FakeClock) -> Iterator[Services]:
    """A second node, Jiangsu, on the same kind of store as ``node`` (Shanghai), and on its clock: a case
    Shanghai received is accepted from the day of its receipt (行政许可法 第32条), on one calendar."""
    Ed25519Signer.generate().write_key_pair(
        settings.data_dir / JS / "signing.key", settings.data_dir / JS / "signing.pub"
    )
    schema = f"test_{uuid.uuid4().hex[:12]}" if settings.postgres_url else ""
    built = build_services(
        dataclasses.replace(
            settings, province=JS, postgres_schema=schema, signing_key=settings.data_dir / JS / "signing.key"
        ),
        clock=clock,
    )
    built.catalogue.load(sample_catalogue(), JS, Actor(JS, "CAT", "loader"))
    yield built
    close_services(built)
    if schema:
        drop_schema(schema)


def forwarded_case(node: Services) -> Case:
    """A PROXY case Shanghai received for Jiangsu and forwarded: Jiangsu must get it and its applicant."""
    case = node.cases.submit(WINDOW, item_province=JS, item_code="GA-0003", mode="PROXY", applicant=APPLICANT)
    case_id = str(case.id)
    for material in case.missing_materials():
        node.cases.run(
            ATTACH_MATERIAL, case_id, WINDOW, material_code=material, file_digest="sha256:" + "ab" * 32
        )
    node.cases.run(RECEIVE, case_id, WINDOW)
    return node.cases.run(FORWARD, case_id, WINDOW)


def applied_state(services: Services) -> tuple[int, int]:
    return services.app.recorder.max_notification_id() or 0, Inbox(
        services.app, JS, services.cases.now
    ).position(SH)


def test_a_batch_applies_once_with_its_position(node: Services, jiangsu: Services) -> None:
    case = forwarded_case(node)
    outbox, inbox = Outbox(node.app, SH), Inbox(jiangsu.app, JS, jiangsu.cases.now)
    batch = outbox.batch(JS, 0, 500)
    topics = [e.topic.rsplit(".", 1)[1] for e in batch.events]
    assert topics[-2:] == ["Registered", "Forwarded"]  # the applicant crosses when the case does
    applied = inbox.apply(SH, batch)
    assert (applied.stored, applied.skipped, applied.position) == (len(batch.events), 0, batch.next_position)
    replica = jiangsu.cases.case(str(case.id))
    assert (replica.version, replica.state) == (case.version, case.state)
    assert jiangsu.cases.applicant(str(case.id)).id_number == APPLICANT["id_number"]
    before = applied_state(jiangsu)
    again = inbox.apply(SH, batch)  # redelivered after a lost acknowledgement: nothing happens
    assert (again.stored, applied_state(jiangsu)) == (0, before)
    overlapping = outbox.batch(JS, 0, 500)  # from the start again: every event is held, all are skipped
    assert overlapping.next_position == batch.next_position


def tampered(batch: pb.PullEventsResponse, index: int, **changes: object) -> pb.PullEventsResponse:
    copy = pb.PullEventsResponse()
    copy.CopyFrom(batch)
    for name, value in changes.items():
        setattr(copy.events[index], name, value)
    return copy


@pytest.mark.parametrize(
    "breakage",
    [
        "unknown topic",
        "not json",
        "extra field",
        "gap",
        "applicant without its case",
        "sender not holding the case",
        "next beyond head",
        "unknown certificate status",
        "unspecified certificate status",
        "never-recorded certificate status",
        "certificate of another province",
    ],
)
def test_a_refused_event_holds_back_its_stream_and_a_bad_batch_applies_nothing(
    node: Services, jiangsu: Services, breakage: str
) -> None:
    forwarded_case(node)
    batch = Outbox(node.app, SH).batch(JS, 0, 500)
    sender = SH
    if breakage == "unknown topic":
        batch = tampered(batch, 0, topic="os:system")
    elif breakage == "not json":
        batch = tampered(batch, 1, state=b"{not json")
    elif breakage == "extra field":
        state = json.loads(batch.events[1].state)
        batch = tampered(batch, 1, state=json.dumps({**state, "smuggled": 1}).encode())
    elif breakage == "gap":
        del batch.events[1]
    elif breakage == "applicant without its case":
        del batch.events[-1]
    elif breakage == "sender not holding the case":
        sender = ZJ
    elif breakage == "next beyond head":
        batch.next_position = batch.head_position + 1
    elif breakage == "unknown certificate status":
        batch.certificate_notices.add(position=1, identifier=issued_identifier(node), status=99)
    elif breakage == "unspecified certificate status":
        batch.certificate_notices.add(
            position=1, identifier=issued_identifier(node), status=common_pb.CERTIFICATE_STATUS_UNSPECIFIED
        )
    elif breakage == "never-recorded certificate status":  # read at an instant, never announced
        batch.certificate_notices.add(
            position=1, identifier=issued_identifier(node), status=common_pb.CERTIFICATE_STATUS_NOT_YET_VALID
        )
    elif breakage == "certificate of another province":
        batch.certificate_notices.add(
            position=1, identifier=issued_identifier(node), status=common_pb.CERTIFICATE_STATUS_REVOKED
        )
        sender = JS if sender == ZJ else ZJ
        batch.ClearField("events")
    if breakage == "next beyond head":  # a fault of the batch itself, not of one stream: nothing applies
        before = applied_state(jiangsu)
        with pytest.raises(BatchRejected):
            Inbox(jiangsu.app, JS, jiangsu.cases.now).apply(sender, batch)
        assert applied_state(jiangsu) == before
    else:
        quarantined(jiangsu, sender, batch)


def issued_identifier(node: Services) -> str:
    return str(node.certificates.issue(WINDOW, **node_issue_body()).identifier)


def test_a_notice_of_a_central_bodys_certificate_is_applied_from_the_node_that_issued_it(
    node: Services, jiangsu: Services
) -> None:
    """A central body (division 100000) issues through a province (its extra_issuers): the identifier names
    no province, and the peer's inbox records the announcing node's notice instead of raising."""
    ministry = credit_code("100000", 5)
    identifier = str(CertificateIdentifier.build("11100000000013338W032", ministry, "88", 1))
    batch = Outbox(node.app, SH).batch(JS, 0, 500)
    batch.certificate_notices.add(
        position=1, identifier=identifier, status=common_pb.CERTIFICATE_STATUS_SUSPENDED
    )
    Inbox(jiangsu.app, JS, jiangsu.cases.now).apply(SH, batch)
    foreign: ForeignCertificate = jiangsu.app.repository.get(ForeignCertificate.id_for(identifier))
    assert (foreign.issuing_province, foreign.status) == (SH, "SUSPENDED")


class Redelivery(RuleBasedStateMachine):
    """Batches cut from any position at or before Jiangsu's, redelivered in any order: Jiangsu ends with
    exactly Shanghai's streams, each event once (the model is Shanghai's own store)."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[pb.PullEventsResponse] = []

    source: Services
    target: Services

    @rule()
    def shanghai_forwards_a_case(self) -> None:
        forwarded_case(self.source)

    @rule(data=st.data())
    def jiangsu_pulls(self, data: st.DataObject) -> None:
        position = Inbox(self.target.app, JS, self.target.cases.now).position(SH)
        # a share of the position, not a number drawn up to it: what is drawn must not depend on the store
        after = position * data.draw(st.integers(0, 100)) // 100
        batch = Outbox(self.source.app, SH).batch(JS, after, data.draw(st.integers(1, 12)))
        self.batches.append(batch)
        Inbox(self.target.app, JS, self.target.cases.now).apply(
            SH, batch
        )  # from before the position: overlaps what is held

    @precondition(lambda self: bool(self.batches))
    @rule(data=st.data())
    def an_old_batch_arrives_again(self, data: st.DataObject) -> None:
        Inbox(self.target.app, JS, self.target.cases.now).apply(SH, data.draw(st.sampled_from(self.batches)))

    @invariant()
    def every_replicated_stream_is_a_prefix_of_the_source(self) -> None:
        for case_id in self.case_ids():
            replica = [(e.originator_version, type(e).__name__) for e in self.target.app.events.get(case_id)]
            source = [(e.originator_version, type(e).__name__) for e in self.source.app.events.get(case_id)]
            assert replica == source[: len(replica)]

    def case_ids(self) -> list[uuid.UUID]:
        return case_ids(self.target)


def case_ids(services: Services) -> list[uuid.UUID]:
    notifications = services.app.recorder.select_notifications(start=1, limit=10_000)
    return sorted(
        {uuid.UUID(str(n.originator_id)) for n in notifications if n.topic.startswith("aggregates.case:")}
    )


def test_redelivered_and_overlapping_batches_apply_each_event_once(node: Services, jiangsu: Services) -> None:
    Redelivery.source = node
    Redelivery.target = jiangsu
    machine = Redelivery.TestCase
    machine.settings = hypothesis_settings(
        max_examples=8,
        stateful_step_count=12,
        deadline=None,
        database=None,  # the stores outlive an example: a replayed example would meet another state
        suppress_health_check=list(HealthCheck),
    )
    machine().runTest()
    inbox = Inbox(jiangsu.app, JS, jiangsu.cases.now)
    while True:  # catch up: the replica then equals the source exactly
        batch = Outbox(node.app, SH).batch(JS, inbox.position(SH), 500)
        inbox.apply(SH, batch)
        if batch.next_position >= batch.head_position:
            break
    for case_id in case_ids(node):
        assert [e.originator_version for e in jiangsu.app.events.get(case_id)] == [
            e.originator_version for e in node.app.events.get(case_id)
        ]


def quarantined(jiangsu: Services, sender: str, batch: pb.PullEventsResponse) -> str:
    """The batch applies and the position moves, but the refused event's stream is held: no event of a held
    stream is stored from its first held version on. Returns why the batch's first held event was refused."""
    before = jiangsu.app.recorder.max_notification_id() or 0
    inbox = Inbox(jiangsu.app, JS, jiangsu.cases.now)
    inbox.apply(sender, batch)
    assert inbox.position(sender) == batch.next_position
    sent = {(stream_key(e.originator_id), e.originator_version) for e in batch.events}
    sent |= {
        (h.stream_id, n.position) for n in batch.certificate_notices for h in inbox.quarantine.held(sender)
    }
    held = [h for h in inbox.quarantine.held(sender) if (h.stream_id, h.version) in sent]
    assert held
    stored = jiangsu.app.recorder.select_notifications(start=before + 1, limit=10_000)
    first_held = {h.stream_id: min(g.version for g in held if g.stream_id == h.stream_id) for h in held}
    assert not [n for n in stored if n.originator_version >= first_held.get(str(n.originator_id), 1 << 62)]
    return held[0].reason


def test_a_peer_cannot_write_into_a_stream_that_is_not_its_case(node: Services, jiangsu: Services) -> None:
    forwarded_case(node)
    batch = Outbox(node.app, SH).batch(JS, 0, 500)
    received = next(e for e in batch.events if e.topic.endswith("Case.Received"))
    catalogue_stream = jiangsu.app.recorder.select_notifications(start=1, limit=1)[0].originator_id
    held: int = jiangsu.app.repository.get(uuid.UUID(str(catalogue_stream))).version
    onto_catalogue = pb.PullEventsResponse(
        next_position=batch.next_position, head_position=batch.head_position
    )
    onto_catalogue.events.add(
        position=received.position,
        originator_id=str(catalogue_stream),
        originator_version=held + 1,
        topic=received.topic,
        state=received.state,
    )
    assert "not a case held here" in quarantined(jiangsu, SH, onto_catalogue)
    filed = batch.events[0]
    for topic, state in (
        ("aggregates.case:Case.Created", filed.state),  # the library's generic class: never replicated
        (
            filed.topic,
            json.dumps(
                {**json.loads(filed.state), "originator_topic": "eventsourcing.domain:Aggregate"}
            ).encode(),
        ),
        (filed.topic, json.dumps({**json.loads(filed.state), "receiving_province": ["310000"]}).encode()),
    ):
        bad = pb.PullEventsResponse()
        bad.CopyFrom(batch)
        bad.events[0].topic, bad.events[0].state = topic, state
        bad.next_position = bad.head_position = bad.next_position + 1  # a batch not dealt with yet
        quarantined(jiangsu, SH, bad)


def test_a_peer_cannot_append_to_a_case_this_node_writes(node: Services, jiangsu: Services) -> None:
    case = forwarded_case(node)
    outbox, inbox = Outbox(node.app, SH), Inbox(jiangsu.app, JS, jiangsu.cases.now)
    first = outbox.batch(JS, 0, 500)
    inbox.apply(SH, first)
    assert jiangsu.cases.case(str(case.id)).writer() == JS
    # Shanghai's standalone node lets any actor act: it appends what only Jiangsu may write now
    node.cases.run(ACCEPT, str(case.id), Actor(JS, "JS-HANDLER", "handler-1"))
    second = outbox.batch(JS, first.next_position, 500)
    assert [e.topic.rsplit(".", 1)[1] for e in second.events] == ["NoticeIssued", "Accepted"]
    assert "a case this node writes" in quarantined(jiangsu, SH, second)


def test_a_held_version_that_differs_is_a_divergence_not_a_skip(node: Services, jiangsu: Services) -> None:
    forwarded_case(node)
    batch = Outbox(node.app, SH).batch(JS, 0, 500)
    Inbox(jiangsu.app, JS, jiangsu.cases.now).apply(SH, batch)
    received = next(e for e in batch.events if e.topic.endswith("Case.Received"))
    forged = pb.PullEventsResponse(
        next_position=batch.next_position + 1, head_position=batch.next_position + 1
    )
    forged.events.add(
        position=batch.next_position + 1,
        originator_id=received.originator_id,
        originator_version=2,  # held as MaterialAttached
        topic=received.topic,
        state=received.state,
    )
    assert "differs" in quarantined(jiangsu, SH, forged)


def test_notices_count_towards_the_batch_limit(node: Services) -> None:
    for n in range(3):
        identifier = str(node.certificates.issue(WINDOW, **node_issue_body(n)).identifier)
        node.certificates.change_status(identifier, "suspend", WINDOW, reason="test")
    batch = Outbox(node.app, SH).batch(JS, 0, 2)
    assert len(batch.certificate_notices) == 2
    assert batch.next_position < batch.head_position


def test_the_receiving_province_gets_its_own_events_back_with_the_handling_provinces_next(
    node: Services, jiangsu: Services
) -> None:
    """Jiangsu serves the whole stream, Shanghai's own versions first: those are skipped, the rest applied."""
    case = forwarded_case(node)
    Inbox(jiangsu.app, JS, jiangsu.cases.now).apply(SH, Outbox(node.app, SH).batch(JS, 0, 500))
    jiangsu.cases.run(ACCEPT, str(case.id), Actor(JS, "JS-HANDLER", "handler-1"))
    back = Outbox(jiangsu.app, JS).batch(SH, 0, 500)
    assert back.events[0].originator_version == 1  # held at Shanghai already
    applied = Inbox(node.app, SH, node.cases.now).apply(JS, back)
    # the 受理通知书 and the acceptance it documents
    assert (applied.stored, node.cases.case(str(case.id)).state.value) == (2, "ACCEPTED")


def test_article_42_an_extension_of_version_2_replicates_and_one_of_version_1_reads_as_it_was_meant(
    node: Services, jiangsu: Services
) -> None:
    """行政许可法第42条: the handling province's extension (version 2: the statutory limit only, with the
    approver and the notice) passes the receiving province's inbox, which checks every field against the
    event class, and its replica counts it alike. An extension as a round 1 peer sends it (version 1: no
    limits, approver or notice) passes too, upcast on read to both limits, as it was meant."""
    case = forwarded_case(node)
    case_id = str(case.id)
    Inbox(jiangsu.app, JS, jiangsu.cases.now).apply(SH, Outbox(node.app, SH).batch(JS, 0, 500))
    handler = Actor(JS, "JS-HANDLER", "handler-1")
    jiangsu.cases.run(ACCEPT, case_id, handler)
    written = jiangsu.cases.run(EXTEND, case_id, handler, days=10, reason="需调取档案", **EXTENSION_APPROVAL)
    back = Outbox(jiangsu.app, JS).batch(SH, 0, 500)
    extended = next(i for i, e in enumerate(back.events) if e.topic.endswith(".Extended"))
    assert json.loads(back.events[extended].state)["class_version"] == 2

    # a round 1 peer's extension: the same event without the fields version 2 added
    old_state = json.loads(back.events[extended].state)
    for added in ("class_version", "limits", "approver_id", "approver_title", "approver_office"):
        del old_state[added]
    for added in ("notice_method", "notice_reference", "notified_on"):
        del old_state[added]
    old = tampered(back, extended, state=json.dumps(old_state).encode())
    Inbox(node.app, SH, node.cases.now).apply(JS, old)
    replica = node.cases.case(case_id)
    assert (replica.version, replica.extended_limits) == (written.version, ["PROMISED", "STATUTORY"])
    assert replica.extension is not None
    assert replica.extension["approver_id"] is None


def test_article_42_a_version_2_extension_replicates_with_its_approval(
    node: Services, jiangsu: Services
) -> None:
    case = forwarded_case(node)
    case_id = str(case.id)
    Inbox(jiangsu.app, JS, jiangsu.cases.now).apply(SH, Outbox(node.app, SH).batch(JS, 0, 500))
    handler = Actor(JS, "JS-HANDLER", "handler-1")
    jiangsu.cases.run(ACCEPT, case_id, handler)
    written = jiangsu.cases.run(EXTEND, case_id, handler, days=10, reason="需调取档案", **EXTENSION_APPROVAL)
    applied = Inbox(node.app, SH, node.cases.now).apply(JS, Outbox(jiangsu.app, JS).batch(SH, 0, 500))
    assert applied.stored == 4  # Accepted and Extended, each after its notice
    replica = node.cases.case(case_id)
    assert (replica.version, replica.extended_limits, replica.extension) == (
        written.version,
        ["STATUTORY"],
        written.extension,
    )
    for limit in Limit:  # both nodes count the replica's limits alike
        assert deadline_inputs(replica.counting_facts, limit, 20) == deadline_inputs(
            written.counting_facts, limit, 20
        )


def test_article_38_a_refusals_notice_replicates_with_it_and_reads_alike_at_the_receiving_province(
    node: Services, jiangsu: Services, settings: Settings
) -> None:
    """行政许可法 第38条: the handling province's 不予受理决定书 is recorded just before the refusal, which
    hands the case back to the receiving province; a batch cut between the two still applies (the
    handling province writes the case until the refusal arrives), and the receiving province serves the
    same bytes, which verify with the handling node's key."""
    case = forwarded_case(node)
    case_id = str(case.id)
    Inbox(jiangsu.app, JS, jiangsu.cases.now).apply(SH, Outbox(node.app, SH).batch(JS, 0, 500))
    jiangsu.cases.run(REFUSE, case_id, Actor(JS, "JS-HANDLER", "handler-1"), **REFUSAL)
    outbox, inbox = Outbox(jiangsu.app, JS), Inbox(node.app, SH, node.cases.now)
    position = inbox.position(JS)
    while position < outbox.head():  # one event a batch: the notice arrives before the refusal
        position = inbox.apply(JS, outbox.batch(SH, position, 1)).position
    replica = node.cases.case(case_id)
    assert (replica.state.value, replica.writer()) == ("REFUSED", SH)
    [listed] = node.cases.notices(case_id)
    served = node.cases.notice(case_id, listed["notice_no"])
    written = jiangsu.cases.notice(case_id, listed["notice_no"])
    assert (served.content, served.sha256, served.signature) == (
        written.content,
        written.sha256,
        written.signature,
    )
    handling_key = load_public_key(settings.data_dir / JS / "signing.pub")
    assert served.key_id == handling_key.key_id
    assert handling_key.verify(served.content.encode("utf-8"), unb64(served.signature))


def pull_all(inbox: Inbox, node: Services, batch_events: int) -> list[Applied]:
    """Jiangsu pulls Shanghai's feed to its head in batches of ``batch_events``, as the puller does."""
    applied = []
    while True:
        batch = Outbox(node.app, SH).batch(JS, inbox.position(SH), batch_events)
        applied.append(inbox.apply(SH, batch))
        if batch.next_position >= batch.head_position:
            return applied


def stream_of(services: Services, stream_id: uuid.UUID) -> list[tuple[int, str]]:
    return [(e.originator_version, type(e).__qualname__) for e in services.app.events.get(stream_id)]


def test_a_poisoned_event_holds_back_its_own_stream_and_the_busy_feed_flows_then_a_retry_applies_it_once(
    node: Services, jiangsu: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One event Jiangsu cannot apply (here a fault of its own, like a certificate code it could not read)
    holds back its case and the applicant the case hands over, from that event on; the other cases of a busy
    feed, pulled in several batches, apply each event once and in order, and the position reaches the head.
    After the fix, the operator's retry applies the held events once (行政许可法 第42条: a case's time runs
    at the province handling it, so no other case may wait on one bad event)."""
    cases = [forwarded_case(node) for _ in range(6)]
    poisoned = cases[2]
    authorise = Inbox._authorise

    def faulty(self: Inbox, peer: str, event: object, current: object) -> None:
        if getattr(event, "originator_id", None) == poisoned.id and event.originator_version == 3:  # type: ignore[attr-defined]
            raise RuntimeError("a fault of this node")
        authorise(self, peer, event, current)  # type: ignore[arg-type]

    monkeypatch.setattr(Inbox, "_authorise", faulty)
    inbox = Inbox(jiangsu.app, JS, jiangsu.cases.now)
    applied = pull_all(inbox, node, batch_events=7)
    assert len(applied) > 3  # several batches, the poisoned event in the middle of them
    head = Outbox(node.app, SH).batch(JS, 0, 1).head_position
    assert inbox.position(SH) == head  # the feed kept flowing past the poisoned event
    for case in cases:
        if case is not poisoned:
            assert stream_of(jiangsu, case.id) == stream_of(node, case.id)
    assert stream_of(jiangsu, poisoned.id) == stream_of(node, poisoned.id)[:2]  # held from version 3 on
    held = {s.stream_id: s for s in inbox.quarantine.streams()}
    assert set(held) == {str(poisoned.id), poisoned.applicant_id}
    assert held[str(poisoned.id)].from_version == 3
    assert held[str(poisoned.id)].events == poisoned.version - 2
    assert held[str(poisoned.id)].reason == "an event does not apply (RuntimeError)"
    assert "a fault" not in str(held)  # the error's text is never kept
    jiangsu.metrics.quarantine_status([SH, ZJ], inbox.quarantine.streams())
    for batch_applied in applied:
        jiangsu.metrics.replication_applied(SH, batch_applied)
    exposed = jiangsu.metrics.exposition().decode()
    assert 'tongban_federation_quarantined_streams{peer="310000"} 2.0' in exposed
    assert 'tongban_federation_quarantined_streams{peer="330000"} 0.0' in exposed
    assert (
        f'tongban_federation_quarantined_events_total{{peer="310000"}} {poisoned.version - 2 + 1}.0'
        in exposed
    )
    ready = quarantine_check(inbox.quarantine.streams())
    assert ready["status"] == "degraded"
    assert {s["stream_id"] for s in ready["streams"][SH]} == set(held)  # type: ignore[index]

    again = pull_all(Inbox(jiangsu.app, JS, jiangsu.cases.now), node, batch_events=500)  # after a restart
    assert sum(a.stored for a in again) == 0
    assert len(inbox.quarantine.held(SH)) == poisoned.version - 2 + 1  # held once, not twice

    monkeypatch.setattr(Inbox, "_authorise", authorise)  # the fix
    retried = inbox.retry(SH)
    assert (retried.released, retried.still_held) == (poisoned.version - 2 + 1, 0)
    assert stream_of(jiangsu, poisoned.id) == stream_of(node, poisoned.id)
    assert jiangsu.cases.applicant(str(poisoned.id)).id_number == APPLICANT["id_number"]
    assert inbox.quarantine.streams() == []
    assert quarantine_check([])["status"] == "ok"
    assert inbox.retry(SH).released == 0  # nothing left: a second retry applies nothing twice
    assert stream_of(jiangsu, poisoned.id) == stream_of(node, poisoned.id)


def quarantine_rows(services: Services) -> list[tuple[object, ...]]:
    """The quarantine table as its database holds it, every column, read directly."""
    schema = services.settings.postgres_schema
    table = f'"{schema}".federation_quarantine' if services.settings.postgres_url else "federation_quarantine"
    with services.app.factory.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
        rows = cursor.fetchall()
    return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows]


def test_a_held_applicants_identity_is_sealed_at_rest_and_a_rotation_seals_it_again(
    node: Services, jiangsu: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Personal data is never stored unsealed: the quarantine keeps a held applicant event's wire bytes sealed
    with the master key, so its table holds neither the name nor the ID number; a master key rotation seals
    them again with the new key (the retired one is not needed to open them), and a retry still applies."""
    case = forwarded_case(node)
    authorise = Inbox._authorise

    def faulty(self: Inbox, peer: str, event: object, current: object) -> None:
        if getattr(event, "originator_id", None) == case.id and event.originator_version == 2:  # type: ignore[attr-defined]
            raise RuntimeError("a fault of this node")
        authorise(self, peer, event, current)  # type: ignore[arg-type]

    monkeypatch.setattr(Inbox, "_authorise", faulty)
    inbox = Inbox(jiangsu.app, JS, jiangsu.cases.now)
    inbox.apply(SH, Outbox(node.app, SH).batch(JS, 0, 500))
    held = inbox.quarantine.held(SH, [case.applicant_id])
    assert any(APPLICANT["id_number"].encode() in h.state for h in held)  # the wire bytes carry it
    rows = quarantine_rows(jiangsu)
    assert {row[1] for row in rows} == {str(case.id), case.applicant_id}
    personal = [
        APPLICANT["name"].encode(),
        APPLICANT["id_number"].encode(),
        APPLICANT["name"].encode("unicode_escape"),
    ]
    for row in rows:
        stored = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row)
        assert not any(p in stored for p in personal), row
    old_key_ids = inbox.quarantine.master_key_ids()
    assert old_key_ids == {jiangsu.app.data_keys.keyring.newest.key_id}

    _retired, successor, _rewrapped, resealed = rotate_master_key(jiangsu.app.data_keys)
    assert resealed == len(rows)
    fresh = QuarantineStore(jiangsu.app.data_keys.datastore, MasterKeyring(jiangsu.settings.master_key))
    assert fresh.master_key_ids() == {successor.key_id}  # only the new key, read afresh, opens every row
    assert [h.state for h in fresh.held(SH)] == [h.state for h in inbox.quarantine.held(SH)]

    monkeypatch.setattr(Inbox, "_authorise", authorise)  # the fix
    retried = inbox.retry(SH)
    assert (retried.released, retried.still_held) == (len(rows), 0)
    assert stream_of(jiangsu, case.id) == stream_of(node, case.id)
    assert jiangsu.cases.applicant(str(case.id)).id_number == APPLICANT["id_number"]
    assert quarantine_rows(jiangsu) == []


def test_a_retry_that_fails_again_keeps_the_stream_with_the_new_reason(
    node: Services, jiangsu: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event whose fields do not decode stays held however often it is retried; the other case applies
    (行政许可法 第42条: its time keeps running at the handling province, its events must arrive)."""
    first, second = forwarded_case(node), forwarded_case(node)
    batch = Outbox(node.app, SH).batch(JS, 0, 500)
    index = next(
        i
        for i, e in enumerate(batch.events)
        if e.originator_id == str(first.id) and e.originator_version == 2
    )
    batch = tampered(batch, index, state=b"{not json")
    inbox = Inbox(jiangsu.app, JS, jiangsu.cases.now)
    applied = inbox.apply(SH, batch)
    assert applied.position == batch.next_position
    assert stream_of(jiangsu, second.id) == stream_of(node, second.id)
    assert stream_of(jiangsu, first.id) == stream_of(node, first.id)[:1]
    [held, _applicant] = sorted(inbox.quarantine.streams(), key=lambda s: s.stream_id != str(first.id))
    assert (held.from_version, held.reason) == (2, "an event whose fields do not decode")
    retried = inbox.retry(SH, [str(first.id)])
    assert (retried.released, retried.still_held) == (0, first.version - 1)
    assert retried.reasons == {str(first.id): "an event whose fields do not decode"}
    assert stream_of(jiangsu, first.id) == stream_of(node, first.id)[:1]
    capsys.readouterr()
    config = cli_config(jiangsu.settings)
    assert cli.main(["federation", "quarantine", "--province", JS, *config]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(s["peer"], s["stream_id"]) for s in listed} == {(SH, str(first.id)), (SH, first.applicant_id)}
    assert (
        cli.main(["federation", "retry", "--province", JS, *config, "--peer", SH, "--stream", str(first.id)])
        == 1
    )
    assert json.loads(capsys.readouterr().out)["still_held"] == first.version - 1
    assert (
        cli.main(["federation", "retry", "--province", JS, *config, "--peer", SH, "--stream", "nothing"]) == 1
    )
    assert stream_of(jiangsu, first.id) == stream_of(node, first.id)[:1]


def cli_config(settings: Settings) -> list[str]:
    """The CLI reads the node's settings from a TOML file, as an operator's would."""
    path = Path(settings.data_dir) / f"{settings.province}.toml"
    lines = [
        f'data_dir = "{settings.data_dir}"',
        f'signing_key = "{settings.signing_key}"',
        f'master_key = "{settings.master_key}"',
    ]
    if settings.postgres_url:
        lines += [
            f'postgres_url = "{settings.postgres_url}"',
            f'postgres_schema = "{settings.postgres_schema}"',
        ]
    path.write_text("\n".join(lines) + "\n")
    return ["--config", str(path)]
