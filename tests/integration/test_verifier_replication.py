"""Verifier registrations travel from the registering province to every peer, by the outbox and the inbox,
on both stores: a peer keeps a copy it never forwards, and only the owner's own records are accepted."""

from __future__ import annotations

from uuid import UUID

from tongban.federation.v1 import federation_pb2 as pb

from aggregates.responsibility import Actor
from aggregates.verifier import VerifierRegistration
from credentials.jose import DeviceKey
from federation.inbox import Inbox, stream_key
from federation.outbox import Outbox
from node.services import Services
from tests.integration.test_federation_inbox import JS, SH, ZJ, jiangsu  # noqa: F401 - the fixture

SH_ADMIN = Actor(SH, "SH-GA", "admin-1")
JS_ADMIN = Actor(JS, "JS-GA", "admin-1")


def registered(node: Services, actor: Actor, name: str) -> VerifierRegistration:
    return node.verifiers.register(
        actor, f"{actor.province}.{name}", "某单位", ["ROAD_CHECK"], DeviceKey.generate().jwk
    )


def test_a_registration_and_its_changes_reach_a_peer_which_never_forwards_them(
    node: Services,
    jiangsu: Services,  # noqa: F811
) -> None:
    registration = registered(node, SH_ADMIN, "police-0001")
    node.verifiers.change(
        SH_ADMIN, registration.verifier_id, ["ROAD_CHECK", "TRAFFIC_VIOLATION"], DeviceKey.generate().jwk
    )
    node.verifiers.withdraw(SH_ADMIN, registration.verifier_id)
    batch = Outbox(node.app, SH).batch(JS, 0, 500)
    assert [e.topic.rsplit(".", 1)[1] for e in batch.events] == ["Registered", "Changed", "Withdrawn"]
    assert Outbox(node.app, SH).batch(ZJ, 0, 500).events  # every peer gets them
    applied = Inbox(jiangsu.app, JS, jiangsu.cases.now).apply(SH, batch)
    assert applied.stored == 3
    copy: VerifierRegistration = jiangsu.app.repository.get(registration.id)
    assert (copy.province, copy.scenarios, copy.withdrawn) == (SH, ["ROAD_CHECK", "TRAFFIC_VIOLATION"], True)
    # Jiangsu's outbox carries its own registrations only, never its copy of Shanghai's
    own = registered(jiangsu, JS_ADMIN, "hotel-0001")
    to_zhejiang = Outbox(jiangsu.app, JS).batch(ZJ, 0, 500)
    assert {e.originator_id for e in to_zhejiang.events} == {str(own.id)}


def test_a_province_cannot_send_another_provinces_registration(node: Services, jiangsu: Services) -> None:  # noqa: F811
    registration = registered(node, SH_ADMIN, "police-0002")
    batch = Outbox(node.app, SH).batch(JS, 0, 500)
    inbox = Inbox(jiangsu.app, JS, jiangsu.cases.now)
    inbox.apply(ZJ, batch)  # Zhejiang relays Shanghai's record
    [held] = inbox.quarantine.streams()
    assert (held.peer, held.stream_id, held.reason) == (
        ZJ,
        stream_key(str(registration.id)),
        "a province's own record sent by another province",
    )
    assert list(jiangsu.app.recorder.select_events(registration.id)) == []


def test_a_change_for_a_stream_of_another_kind_is_refused(node: Services, jiangsu: Services) -> None:  # noqa: F811
    registration = registered(node, SH_ADMIN, "police-0003")
    node.verifiers.withdraw(SH_ADMIN, registration.verifier_id)
    batch = Outbox(node.app, SH).batch(JS, 0, 500)
    inbox = Inbox(jiangsu.app, JS, jiangsu.cases.now)
    inbox.apply(SH, batch)
    catalogue_stream = jiangsu.app.recorder.select_notifications(start=1, limit=1)[0].originator_id
    withdrawn = batch.events[-1]
    onto = pb.PullEventsResponse(next_position=batch.next_position + 1, head_position=batch.next_position + 1)
    onto.events.add(
        position=batch.next_position + 1,
        originator_id=str(catalogue_stream),
        originator_version=jiangsu.app.repository.get(UUID(str(catalogue_stream))).version + 1,
        topic=withdrawn.topic,
        state=withdrawn.state,
    )
    inbox.apply(SH, onto)
    assert [s.reason for s in inbox.quarantine.streams()] == ["an event of another kind than its stream"]
