"""Fuzzing every REST body over real HTTP on 127.0.0.1: 5,000 inputs per request body schema
(``fuzz_inputs.EXAMPLES``), near-valid and structurally random, sent by a caller whose role may call the
endpoint, at seeded certificates, cases and a bundle. Each answer is either a success or a clear 4xx
problem+json that repeats no submitted value; never a 5xx, never a hang (every call has a timeout), and a
refusal writes nothing (the node's event log does not grow). Endpoints that share a schema share its 5,000
inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from node.auth import Role
from node.http.app import ENDPOINTS
from simulators.sample_data import sample_catalogue
from tests.builders import CONSENT, EXTENSION_APPROVAL, issue_body
from tests.integration.fuzz_inputs import FUZZ, MARKER, batches, bodies
from tests.integration.served_node import JS, SH, ServedNode, served_node

APPLICANT = {"name": "赵敏", "id_type": "111", "id_number": "11010519491231002X"}
DIGEST = "sha256:" + "ab" * 32
ISSUE = issue_body(0, issue_date="2025-01-02", valid_from="2025-01-02")


@dataclass(frozen=True)
class Seeded:
    certificate: str  # a certificate of this province
    online_case: str  # FULL_ONLINE, filed and handled here
    proxy_case: str  # PROXY, filed here for Jiangsu
    bundle: str


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    # Info lines for 150,000 requests cost more than the requests; warnings and errors still show.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        with served_node(tmp_path_factory.mktemp("fuzz-rest")) as served:
            yield served
    finally:
        structlog.reset_defaults()


@pytest.fixture(scope="module")
def seeded(node: ServedNode) -> Seeded:
    def created(path: str, role: Role, body: dict[str, Any], key: str) -> str:
        answer = node.call("POST", path, role=role, body=body)
        assert answer.status == 201, answer.body
        return str(answer.body[key])

    certificate = created("/v1/certificates", Role.ISSUER, ISSUE, "identifier")
    online = {"item_province": SH, "item_code": "RS-0001", "mode": "FULL_ONLINE", "applicant": APPLICANT}
    proxy = {"item_province": JS, "item_code": "GA-0003", "mode": "PROXY", "applicant": APPLICANT}
    bundle = {
        "bundle_province": SH,
        "bundle_code": "YJS-BIRTH",
        "mode": "FULL_ONLINE",
        "applicant": APPLICANT,
    }
    return Seeded(
        certificate,
        created("/v1/cases", Role.PLATFORM, online, "case_id"),
        created("/v1/cases", Role.WINDOW, proxy, "case_id"),
        created("/v1/bundle-cases", Role.PLATFORM, bundle, "bundle_id"),
    )


def _item_definition() -> dict[str, Any]:
    item = next(i for i in sample_catalogue()["items"] if i["code"] == "RS-0001")
    return {k: v for k, v in item.items() if k not in ("code", "illustrative")}


FUZZ_DESK = f"{SH}.fuzz-desk"
DESK_KEY = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}

# One body schema: the endpoints that take it (method, path template, caller's role) and one valid body.
# {certificate}, {case} and friends are filled from what the module seeded.
SCHEMAS: dict[str, tuple[list[tuple[str, str, Role]], dict[str, Any]]] = {
    "issue": ([("POST", "/v1/certificates", Role.ISSUER)], ISSUE),
    "transfer-in": (
        [("POST", "/v1/certificates/transfer-in", Role.ISSUER)],
        {**ISSUE, "previous_identifier": "1.2.156.3005.2.11100000000013338W001.11320000000001331J.77.001.F"},
    ),
    "renew": (
        [("POST", "/v1/certificates/{certificate}/renew", Role.ISSUER)],
        {
            "issue_date": "2025-09-01",
            "valid_from": "2025-09-01",
            "valid_to": "2035-09-01",
            "file_digest": DIGEST,
        },
    ),
    "change": ([("POST", "/v1/certificates/{certificate}/change", Role.ISSUER)], {"file_digest": DIGEST}),
    "status": (
        [
            ("POST", f"/v1/certificates/{{certificate}}/{operation}", Role.ISSUER)
            for operation in (
                "suspend",
                "release",
                "cancel",
                "annul",
                "revoke",
                "expire",
                "undo-transfer-out",
            )
        ],
        {"reason": "暂扣"},
    ),
    "transfer-out": (
        [("POST", "/v1/certificates/{certificate}/transfer-out", Role.ISSUER)],
        {"reason": "迁出", "destination_province": JS},
    ),
    "verify": (
        [("POST", "/v1/verifications", Role.HANDLER)],
        {"identifier": "{certificate}", "purpose": "核验", "consent_reference": CONSENT},
    ),
    "holder-certificates": (
        [("POST", "/v1/holder-certificates", Role.AUDITOR)],
        {"holder_id_type": ISSUE["holder_id_type"], "holder_id": ISSUE["holder_id"]},
    ),
    "holder-uses": (
        [("POST", "/v1/holder-uses", Role.PLATFORM)],
        {"id_type": "111", "id_number": APPLICANT["id_number"], "limit": 10},
    ),
    "catalogue-item": ([("PUT", "/v1/catalogue/310000/items/FZ-0001", Role.ADMIN)], _item_definition()),
    "case": (
        [("POST", "/v1/cases", Role.WINDOW)],
        {"item_province": JS, "item_code": "GA-0003", "mode": "PROXY", "applicant": APPLICANT},
    ),
    "bundle-case": (
        [("POST", "/v1/bundle-cases", Role.PLATFORM)],
        {"bundle_province": SH, "bundle_code": "YJS-BIRTH", "mode": "FULL_ONLINE", "applicant": APPLICANT},
    ),
    "number": (
        [("POST", "{proxy}/receive", Role.WINDOW), ("POST", "{online}/accept", Role.HANDLER)],
        {"number": "SJ-0001"},
    ),
    "empty": (
        [
            ("POST", "{proxy}/forward", Role.WINDOW),
            ("POST", "{online}/supplement", Role.PLATFORM),
            ("POST", "{online}/archive", Role.HANDLER),
            ("POST", "/v1/admin/calendar/reload", Role.ADMIN),
        ],
        {},
    ),
    "materials": (
        [("POST", "{online}/materials", Role.PLATFORM), ("POST", "{proxy}/materials", Role.WINDOW)],
        {"material_code": "M04", "file_digest": DIGEST},
    ),
    "reason": (
        [
            ("POST", "{online}/refuse", Role.HANDLER),
            ("POST", "{online}/rating/appeal", Role.HANDLER),
            ("POST", "{proxy}/withdraw", Role.WINDOW),
        ],
        {"reason": "材料不全"},
    ),
    "supplement-request": (
        [("POST", "{online}/supplement-request", Role.HANDLER)],
        {"missing": ["M04"], "reason": "补正"},
    ),
    "review": ([("POST", "{online}/review", Role.HANDLER)], {"step": "UNDERTAKE", "opinion": "同意"}),
    "special-start": (
        [("POST", "{online}/special-procedure/start", Role.HANDLER)],
        {"kind": "HEARING", "reason": "听证"},
    ),
    "special-end": ([("POST", "{online}/special-procedure/end", Role.HANDLER)], {"outcome": "结束"}),
    "extend": (
        [("POST", "{online}/extend", Role.HANDLER)],
        {"days": 3, "reason": "延期", **EXTENSION_APPROVAL},
    ),
    "conclude": (
        [("POST", "{online}/conclude", Role.HANDLER), ("POST", "{online}/parts/P1/conclude", Role.HANDLER)],
        {"result": "ISSUED"},
    ),
    "deliver": (
        [("POST", "{online}/deliver", Role.WINDOW), ("POST", "{bundle}/deliver", Role.WINDOW)],
        {"method": "ELECTRONIC", "reference": "EMS-1"},
    ),
    "rating": (
        [("POST", "{online}/rating", Role.PLATFORM)],
        {"score": 2, "channel": "ONLINE", "comment": "慢"},
    ),
    "rectification": ([("POST", "{online}/rating/rectification", Role.HANDLER)], {"response": "已整改"}),
    "appeal-decision": (
        [("POST", "{online}/rating/appeal/decision", Role.ADMIN)],
        {"outcome": "UPHELD", "reason": "申诉成立"},
    ),
    "erasure": (
        [("POST", "/v1/erasures", Role.ADMIN)],
        {"id_type": "111", "id_number": "310101198001010014"},
    ),
    "bundle-materials": (
        [("POST", "{bundle}/materials", Role.PLATFORM)],
        {"material_key": "居民身份证", "file_digest": DIGEST},
    ),
    "verifier": (
        [("POST", "/v1/verifiers", Role.ADMIN)],
        {
            "verifier_id": FUZZ_DESK,
            "organisation": "某宾馆",
            "scenarios": ["HOTEL_CHECK_IN"],
            "jwk": DESK_KEY,
        },
    ),
    "verifier-change": (
        [("POST", f"/v1/verifiers/{FUZZ_DESK}/change", Role.ADMIN)],
        {"scenarios": ["HOTEL_CHECK_IN", "COUNTER_IDENTITY"], "jwk": DESK_KEY},
    ),
    "verifier-withdraw": ([("POST", f"/v1/verifiers/{FUZZ_DESK}/withdraw", Role.ADMIN)], {}),
    "quarantine-retry": ([("POST", "/v1/admin/federation/quarantine/retry", Role.ADMIN)], {"peer": JS}),
    "credential": (
        [("POST", "/v1/credentials", Role.PLATFORM)],
        {
            "identifier": "{certificate}",
            "holder": {"id_type": ISSUE["holder_id_type"], "id_number": ISSUE["holder_id"]},
            "proof": "eyJhbGciOiJFZERTQSJ9.e30.c2ln",
        },
    ),
    "credential-revoke": (
        [("POST", "/v1/credentials/revoke", Role.PLATFORM)],
        {"identifier": "{certificate}", "credential_id": "A" * 22, "reason": "手机丢失"},
    ),
    "verification-records": (
        [("POST", "/v1/verification-records", Role.VERIFIER)],
        {
            "records": [
                {
                    "record_id": "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e",
                    "verifier_id": FUZZ_DESK,
                    "scenario": "HOTEL_CHECK_IN",
                    "at": "2025-09-24T09:00:00+08:00",
                    "verdict": "ACCEPT",
                    "reason": "OK",
                    "issuer": "310000.node.tongban",
                    "credential_id": "A" * 22,
                }
            ]
        },
    ),
}


def _filled(template: str, seeded: Seeded) -> str:
    return template.format(
        certificate=seeded.certificate,
        online=f"/v1/cases/{seeded.online_case}",
        proxy=f"/v1/cases/{seeded.proxy_case}",
        bundle=f"/v1/bundle-cases/{seeded.bundle}",
    )


def _valid(body: dict[str, Any], seeded: Seeded) -> dict[str, Any]:
    return {k: _filled(v, seeded) if isinstance(v, str) and "{" in v else v for k, v in body.items()}


def test_every_body_endpoint_is_fuzzed() -> None:
    """A new endpoint with a body must join the fuzzers."""
    fuzzed = {
        (method, template.replace("{certificate}", "{identifier}"))
        for targets, _ in SCHEMAS.values()
        for method, template, _ in targets
    }
    fuzzed = {
        (m, p.replace("{online}", "/v1/cases/{case_id}").replace("{proxy}", "/v1/cases/{case_id}"))
        for m, p in fuzzed
    }
    fuzzed = {
        (m, p.replace("{bundle}", "/v1/bundle-cases/{bundle_id}").replace("/P1/", "/{part_code}/"))
        for m, p in fuzzed
    }
    fuzzed = {(m, p.replace("310000/items/FZ-0001", "{province}/items/{code}")) for m, p in fuzzed}
    fuzzed = {(m, p.replace(FUZZ_DESK, "{verifier_id}")) for m, p in fuzzed}
    with_body = {(ep.method, ep.path) for ep in ENDPOINTS if ep.request is not None}
    assert with_body - fuzzed == set()


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_no_body_crashes_the_node_or_writes_when_refused(
    node: ServedNode, seeded: Seeded, schema: str
) -> None:
    targets, valid = SCHEMAS[schema]

    @FUZZ
    @given(inputs=batches(st.tuples(st.sampled_from(targets), bodies(_valid(valid, seeded)), st.booleans())))
    def fuzz(inputs: list[tuple[tuple[str, str, Role], bytes, bool]]) -> None:
        for (method, template, role), raw, json_type in inputs:
            headers = {} if json_type or len(raw) % 7 else {"Content-Type": "text/plain"}
            before = node.events()
            answer = node.call(method, _filled(template, seeded), role=role, raw=raw, headers=headers)
            assert answer.status < 500, (answer.status, answer.body)
            if answer.status >= 400:
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.body["status"] == answer.status
                assert answer.body["detail"]
                assert MARKER not in str(answer.body)
                assert node.events() == before, f"a refused body ({answer.status}) wrote events"

    fuzz()
