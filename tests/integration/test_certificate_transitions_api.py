"""Certificate transitions by the law and signed verification answers over REST, on both stores, with the
node's clock fixed (2025-09-24 09:00 China time).

- 注销 after 撤销, 吊销, a recorded expiry and a lapse by date (行政许可法 第70条);
- 迁入 only of a certificate transferred out to this province, of its type and holder, checked and recorded at
  the origin (a Jiangsu node on its own store), after which the origin cannot undo its transfer-out and its
  answers name the destination;
- each answer's validity, national status code, successor and destination.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from aiohttp import web

from aggregates.certificate import ANSWER_DETAILS, Certificate, Link
from aggregates.certificate_types import CERTIFICATE_TYPES, holder_kind
from aggregates.identifiers import CertificateIdentifier
from aggregates.responsibility import Actor
from node.auth import Role
from node.services import Services
from node.store.application import AlreadyExists
from tests.builders import ACTOR, CONSENT, FakeClock, issue_fields
from tests.conftest import Keys
from tests.integration.rest_client import Api, run
from tests.integration.two_provinces import InProcessOrigins, another_province, with_origins

SH, JS, ZJ = "310000", "320000", "330000"
ISSUED_ON = date(2025, 9, 1)  # before the clock's day
JIANGSU_ACTOR = Actor(JS, "OFFICE32", "op-320")
USE = {"purpose": "核验", "consent_reference": CONSENT}  # every verification is a use, with consent


def body(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A POST /v1/certificates body of Shanghai's sample certificate ``n``, with fixed dates."""
    fields = issue_fields(n, ISSUED_ON, **overrides)
    return {name: value for name, value in fields.items() if value is not None}


def events(services: Services) -> int:
    return services.app.recorder.max_notification_id() or 0


def test_cancel_follows_annul_revoke_expiry_and_a_lapse_by_date(node: Services, keys: Keys) -> None:
    """行政许可法 第70条: a licence annulled, revoked or lapsed is then cancelled (注销)."""

    async def scenario(api: Api, _app: web.Application) -> None:
        for n, first in enumerate(("annul", "revoke", "expire")):
            _, created, _ = await api.call("POST", "/v1/certificates", body=body(n))
            identifier = created["identifier"]
            status, ended, _ = await api.call(
                "POST", f"/v1/certificates/{identifier}/{first}", body={"reason": "依法处理"}
            )
            assert status == 200, ended
            status, cancelled, _ = await api.call(
                "POST", f"/v1/certificates/{identifier}/cancel", body={"reason": "依法注销"}
            )
            assert (status, cancelled["status"]) == (200, "CANCELLED"), cancelled
        lapsed = body(3, issue_date="2020-01-02", valid_from="2020-01-02", valid_to="2024-12-31")
        _, created, _ = await api.call("POST", "/v1/certificates", body=lapsed)
        identifier = created["identifier"]
        before = events(node)
        status, problem, _ = await api.call(
            "POST", f"/v1/certificates/{identifier}/suspend", body={"reason": "暂扣 <script>"}
        )
        assert (status, problem["type"].rsplit("/", 1)[1]) == (409, "illegal-transition")
        assert problem["detail"] == f"cannot suspend {identifier}: it is EXPIRED"  # never the reason sent
        assert events(node) == before
        status, cancelled, _ = await api.call(
            "POST", f"/v1/certificates/{identifier}/cancel", body={"reason": "有效期届满"}
        )
        assert (status, cancelled["status"]) == (200, "CANCELLED")
        status, problem, _ = await api.call(
            "POST", f"/v1/certificates/{identifier}/cancel", body={"reason": "again"}
        )
        assert (status, problem["detail"]) == (409, f"cannot cancel {identifier}: it is CANCELLED")

    run(node, keys, scenario)


def jiangsu_certificate(jiangsu: Services, n: int = 0) -> Certificate:
    return jiangsu.certificates.issue(JIANGSU_ACTOR, **issue_fields(n, ISSUED_ON, province=JS))


# What a transfer-in keeps of the origin's certificate: its type and its holder.
TRANSFERRED_FIELDS = ("type_code", "type_name", "definer", "holder_name", "holder_id_type", "holder_id")


def another_type(of: Certificate) -> dict[str, str]:
    """The catalogue's fields of a type other than ``of``'s that is issued to the same kind of holder."""
    kind = holder_kind(of.content.holder_id_type)
    other = next(t for t in CERTIFICATE_TYPES if t.code != of.content.type_code and kind in t.holder_kinds)
    return {"type_code": other.code, "type_name": other.name, "definer": other.definer}


def transfer_body(origin: Certificate, **overrides: Any) -> dict[str, Any]:
    """Shanghai's certificate for ``origin``: Shanghai's issuer, the origin's type and holder."""
    c = origin.content
    kept = (*TRANSFERRED_FIELDS, "issue_date", "valid_from", "valid_to")
    same = {name: getattr(c, name) for name in kept if getattr(c, name) is not None}
    return {**body(5), **same, "previous_identifier": origin.identifier, **overrides}


def test_transfer_in_only_of_a_certificate_transferred_out_here_of_its_type_and_holder(
    node: Services, keys: Keys, clock: FakeClock
) -> None:
    with another_province(node, JS, clock) as jiangsu:
        origins = InProcessOrigins(SH, {JS: jiangsu})
        shanghai = with_origins(node, origins)
        kept = jiangsu_certificate(jiangsu, 0)
        to_zhejiang = jiangsu_certificate(jiangsu, 1)
        jiangsu.certificates.change_status(
            to_zhejiang.identifier, "transfer_out", JIANGSU_ACTOR, reason="迁出", destination_province=ZJ
        )
        to_shanghai = jiangsu_certificate(jiangsu, 2)
        jiangsu.certificates.change_status(
            to_shanghai.identifier, "transfer_out", JIANGSU_ACTOR, reason="迁出", destination_province=SH
        )
        other_holder = jiangsu_certificate(jiangsu, 3)
        origin_events = events(jiangsu)

        async def scenario(api: Api, _app: web.Application) -> None:
            before = events(shanghai)
            refusals = [
                (transfer_body(kept), 409, "it is VALID"),
                (transfer_body(to_zhejiang), 409, "TRANSFERRED_OUT to another province"),
                (transfer_body(to_shanghai, **another_type(to_shanghai)), 422, "type_code:"),
                (
                    transfer_body(
                        to_shanghai,
                        holder_id=other_holder.content.holder_id,
                        holder_name=other_holder.content.holder_name,
                    ),
                    422,
                    "holder_id:",
                ),
            ]
            for sent, expected, words in refusals:
                status, problem, _ = await api.call("POST", "/v1/certificates/transfer-in", body=sent)
                assert status == expected, problem
                assert words in problem["detail"], problem
                assert sent["holder_id"] not in problem["detail"]
                assert sent["holder_name"] not in problem["detail"]
            assert events(shanghai) == before
            assert events(jiangsu) == origin_events
            assert origins.calls == len(refusals)

        run(shanghai, keys, scenario)


def test_a_node_without_federation_refuses_any_transfer_in(node: Services, keys: Keys) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        before = events(node)
        elsewhere = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
        sent = {**body(5), "previous_identifier": elsewhere}
        status, problem, _ = await api.call("POST", "/v1/certificates/transfer-in", body=sent)
        assert (status, problem["pointer"]) == (422, "/previous_identifier"), problem
        assert "checked at the origin province" in problem["detail"]
        assert events(node) == before

    run(node, keys, scenario)


def test_the_origin_learns_of_the_transfer_in_points_to_it_and_cannot_undo(
    node: Services, keys: Keys, clock: FakeClock
) -> None:
    with another_province(node, JS, clock) as jiangsu:
        shanghai = with_origins(node, InProcessOrigins(SH, {JS: jiangsu}))
        origin = jiangsu_certificate(jiangsu, 0)
        jiangsu.certificates.change_status(
            origin.identifier, "transfer_out", JIANGSU_ACTOR, reason="迁出", destination_province=SH
        )
        moved_at = clock.now
        clock.advance(hours=1)
        arrived: dict[str, Any] = {}

        async def at_destination(api: Api, _app: web.Application) -> None:
            status, created, _ = await api.call(
                "POST", "/v1/certificates/transfer-in", body=transfer_body(origin)
            )
            assert status == 201, created
            assert (created["previous_identifier"], created["link"]) == (origin.identifier, "TRANSFERRED_IN")
            arrived.update(created)
            before = events(shanghai)
            status, problem, _ = await api.call(
                "POST", "/v1/certificates/transfer-in", body=transfer_body(origin)
            )
            assert (status, problem["type"].rsplit("/", 1)[1]) == (409, "already-exists"), problem
            assert events(shanghai) == before

        run(shanghai, keys, at_destination)
        destination = arrived["identifier"]

        async def at_origin(api: Api, _app: web.Application) -> None:
            path = f"/v1/certificates/{origin.identifier}"
            status, problem, _ = await api.call(
                "POST", f"{path}/undo-transfer-out", province=JS, body={"reason": "撤回迁出"}
            )
            assert status == 409, problem
            assert problem["detail"] == (
                f"cannot undo_transfer_out {origin.identifier}: "
                f"it is TRANSFERRED_OUT and transferred in as {destination}"
            )
            status, answer, _ = await api.call(
                "POST",
                "/v1/verifications",
                role=Role.HANDLER,
                province=SH,
                body={"identifier": origin.identifier, **USE},
            )
            assert status == 200
            a = answer["assertion"]
            assert (a["status"], a["national_status_code"]) == ("TRANSFERRED_OUT", "07")
            assert (a["destination_province"], a["destination_identifier"]) == (SH, destination)
            assert (a["successor_identifier"], a["successor_link"]) == (None, None)
            status, earlier, _ = await api.call(
                "POST",
                "/v1/verifications",
                role=Role.HANDLER,
                body={"identifier": origin.identifier, "as_of": moved_at.isoformat(), **USE},
            )
            e = earlier["assertion"]
            assert (e["destination_province"], e["destination_identifier"]) == (SH, None)
            status, read, _ = await api.call("GET", path, province=JS)
            assert (read["status"], read["destination_province"]) == ("TRANSFERRED_OUT", SH)
            assert read["destination_identifier"] == destination
            status, history, _ = await api.call("GET", f"{path}/history", province=JS)
            # after it, the verifications above are uses (用证记录)
            [accepted] = [e for e in history["entries"] if e["event"] == "TransferAccepted"]
            assert (accepted["office_code"], accepted["operator_id"]) == ("FEDERATION", SH)
            assert accepted["detail"] == {"destination_province": SH, "destination_identifier": destination}

        run(jiangsu, keys, at_origin)


def test_answers_carry_validity_national_code_and_successor(node: Services, keys: Keys) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        _, created, _ = await api.call("POST", "/v1/certificates", body=body(0))
        identifier = created["identifier"]

        async def answer(of: str) -> dict[str, Any]:
            status, signed, _ = await api.call(
                "POST", "/v1/verifications", role=Role.HANDLER, province=JS, body={"identifier": of, **USE}
            )
            assert status == 200
            assertion: dict[str, Any] = signed["assertion"]
            return assertion

        a = await answer(identifier)
        assert (a["valid_from"], a["valid_to"], a["valid_until"]) == (
            created["valid_from"],
            created["valid_to"],
            created["valid_to"],
        )
        assert (a["status"], a["national_status_code"]) == ("VALID", "01")
        assert (a["destination_province"], a["destination_identifier"]) == (None, None)
        await api.call("POST", f"/v1/certificates/{identifier}/suspend", body={"reason": "暂扣"})
        assert (await answer(identifier))["national_status_code"] == "02"
        await api.call("POST", f"/v1/certificates/{identifier}/release", body={"reason": "解除"})
        status, renewed, _ = await api.call(
            "POST",
            f"/v1/certificates/{identifier}/renew",
            body={
                "issue_date": "2025-09-20",
                "valid_from": "2025-09-20",
                "valid_to": "2035-09-19",
                "file_digest": "sha256:" + "a" * 64,
            },
        )
        assert status == 201, renewed
        old = await answer(identifier)
        assert (old["status"], old["national_status_code"]) == ("EXPIRED", "05")
        assert (old["successor_identifier"], old["successor_link"]) == (renewed["identifier"], "RENEWED")
        never_issued = str(CertificateIdentifier.parse(renewed["identifier"]).next_version())
        unknown = await answer(never_issued)
        assert (unknown["problem"], unknown["status"]) == ("NOT_FOUND", None)
        assert [unknown[name] for name in ANSWER_DETAILS] == [None] * len(ANSWER_DETAILS)

    run(node, keys, scenario)


def test_a_transfer_in_is_a_new_issue_here_and_takes_an_unused_number(
    node: Services, clock: FakeClock
) -> None:
    """The destination's issuer issues its own certificate: the number is this issuer's, and must be free; a
    taken one is refused before the origin is asked."""
    with another_province(node, JS, clock) as jiangsu:
        origins = InProcessOrigins(SH, {JS: jiangsu})
        shanghai = with_origins(node, origins)
        moving = jiangsu_certificate(jiangsu, 0)
        jiangsu.certificates.change_status(
            moving.identifier, "transfer_out", JIANGSU_ACTOR, reason="迁出", destination_province=SH
        )
        taken = {"service_item_code": None, **transfer_body(moving, number="SH-DL-9")}
        # a certificate of Shanghai's issuer and the same type already holds that number
        holding = issue_fields(0, ISSUED_ON, number="SH-DL-9")
        assert (holding["type_code"], holding["issuer_code"]) == (taken["type_code"], taken["issuer_code"])
        shanghai.certificates.issue(ACTOR, **holding)
        before = events(shanghai)
        with pytest.raises(AlreadyExists):
            shanghai.certificates.transfer_in(ACTOR, **taken)
        assert (events(shanghai), origins.calls) == (before, 0)
        moved = shanghai.certificates.transfer_in(ACTOR, **{**taken, "number": "SH-DL-10"})
        assert (moved.content.link, moved.content.number) == (Link.TRANSFERRED_IN, "SH-DL-10")
