"""Every role against every REST endpoint, with a token of this node's province and of another one, over real
HTTP on 127.0.0.1. The expected table below is written from the documented rules (docs/api.md, docs/cases.md,
"Read models" and the OpenAPI `Allowed:` lines), not from what the code answers.

A cell the rules allow must pass authorisation: 2xx, or a domain 4xx other than 401/403 (the body is `{}`,
so a 422 is expected). Every other cell is 403; without a token, 401. The case, the bundle and the certificate
are this province's (Shanghai receives and handles them); the other province (Anhui) is no party to any.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from node.auth import Role
from node.http.app import ENDPOINTS
from tests.builders import issue_body
from tests.integration.served_node import AH, JS, SH, ServedNode, served_node

ALL = frozenset(Role)
W, H, ISS, A, D, P = Role.WINDOW, Role.HANDLER, Role.ISSUER, Role.AUDITOR, Role.ADMIN, Role.PLATFORM
NOBODY: frozenset[Role] = frozenset()
APPLICANT = {"name": "赵敏", "id_type": "111", "id_number": "11010519491231002X"}


@dataclass(frozen=True)
class Rule:
    own: frozenset[Role]  # roles of this node's province (a party to the seeded case and bundle) allowed
    other: frozenset[Role]  # roles of another province (no party to anything seeded) allowed
    public: bool = False  # no token needed


def rule(own: set[Role] | frozenset[Role], other: set[Role] | frozenset[Role] = NOBODY) -> Rule:
    return Rule(frozenset(own), frozenset(other))


PUBLIC = Rule(ALL, ALL, public=True)
ANY_CALLER = rule(ALL, ALL)
ISSUER_HERE = rule({ISS})
CASE_READERS = rule({W, H, P, A, D}, {A})  # officers (and admins) of a party province; auditors of any
HANDLER_HERE = rule({H})
CERTIFICATE = "/v1/certificates/{identifier}"
CASE = "/v1/cases/{case_id}"
BUNDLE = "/v1/bundle-cases/{bundle_id}"

EXPECTED: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/v1/keys"): PUBLIC,
    # certificates: issuers of this province manage; the holder's record is read by officers here
    ("POST", "/v1/certificates"): ISSUER_HERE,
    ("POST", "/v1/certificates/transfer-in"): ISSUER_HERE,
    ("GET", CERTIFICATE): rule({ISS, W, H, A, D}),
    ("GET", CERTIFICATE + "/history"): rule({ISS, A, D}),
    **{
        ("POST", f"{CERTIFICATE}/{operation}"): ISSUER_HERE
        for operation in (
            "renew",
            "change",
            "suspend",
            "release",
            "cancel",
            "annul",
            "revoke",
            "expire",
            "transfer-out",
            "undo-transfer-out",
        )
    },
    ("POST", "/v1/verifications"): ANY_CALLER,
    # a window officer lists the applicant's certificates (一网通办决定 第七条); a platform does not
    ("POST", "/v1/holder-certificates"): rule({ISS, W, A, D}),
    # catalogue: anyone authenticated reads; this province's admins publish
    ("GET", "/v1/catalogue/{province}/items"): ANY_CALLER,
    ("GET", "/v1/catalogue/{province}/items/{code}"): ANY_CALLER,
    ("GET", "/v1/catalogue/{province}/bundles"): ANY_CALLER,
    ("PUT", "/v1/catalogue/{province}/items/{code}"): rule({D}),
    # cases
    ("POST", "/v1/cases"): rule({W, P}),
    ("GET", CASE): CASE_READERS,
    ("GET", CASE + "/timeline"): CASE_READERS,
    ("GET", CASE + "/as-of"): CASE_READERS,
    ("GET", CASE + "/applicant"): rule({W, H, A}),  # personal data: party provinces only, auditors too
    # the written notices are addressed to the applicant: party provinces only, auditors too
    ("GET", CASE + "/notices"): rule({W, H, P, A, D}),
    ("GET", CASE + "/notices/{notice_no}"): rule({W, H, P, A, D}),
    ("POST", CASE + "/receive"): rule({W}),
    ("POST", CASE + "/forward"): rule({W}),
    ("POST", CASE + "/materials"): rule({W, P, H}),
    **{
        ("POST", CASE + suffix): HANDLER_HERE
        for suffix in (
            "/accept",
            "/refuse",
            "/review",
            "/special-procedure/start",
            "/special-procedure/end",
            "/extend",
            "/parts/{part_code}/conclude",
            "/conclude",
            "/archive",
        )
    },
    # 好差评: the office whose service was rated (a window's or a handler's) answers and appeals a 差评; the
    # province's 政务服务管理机构 (admin) reviews the appeal (复核)
    ("POST", CASE + "/rating/rectification"): rule({W, H}),
    ("POST", CASE + "/rating/appeal"): rule({W, H}),
    ("POST", CASE + "/rating/appeal/decision"): rule({D}),
    # 补正告知 (行政许可法 第32条): the handling province, or the receiving window while it holds a PROXY case
    ("POST", CASE + "/supplement-request"): rule({W, H}),
    ("POST", CASE + "/supplement"): rule({W, P}),
    ("POST", CASE + "/withdraw"): rule({W, P}),
    ("POST", CASE + "/deliver"): rule({W, H}),
    ("POST", CASE + "/rating"): rule({P}),
    ("POST", "/v1/bundle-cases"): rule({W, P}),
    ("GET", BUNDLE): rule({W, H, P, A, D}),  # its parties only, auditors included
    ("POST", BUNDLE + "/materials"): rule({W, P, H}),
    ("POST", BUNDLE + "/deliver"): rule({W, H}),
    # read models
    ("GET", "/v1/board"): rule({W, H, A, D}),
    ("GET", "/v1/case-views/{case_id}"): CASE_READERS,
    ("POST", "/v1/holder-uses"): rule({P, A}),
    ("GET", "/v1/recognition-registry"): rule({W, H, A, D}),
    ("GET", "/v1/statistics"): rule({W, H, A, D, P}),
    ("GET", "/v1/statistics.csv"): rule({W, H, A, D, P}),
    # the transparency log holds hashes only
    ("GET", "/v1/transparency/head"): ANY_CALLER,
    ("GET", "/v1/transparency/inclusion"): ANY_CALLER,
    ("GET", "/v1/transparency/consistency"): ANY_CALLER,
    ("GET", "/v1/transparency/witnessed/{province}"): ANY_CALLER,
    ("GET", "/v1/transparency/alerts"): ANY_CALLER,
    # crypto-shredding: forgetting a person is an admin's act here
    ("POST", "/v1/erasures"): rule({D}),
    # reading the calendar files again: an operator's act
    ("POST", "/v1/admin/calendar/reload"): rule({D}),
    # the federation quarantine: what peers' feeds hold back, and an operator's retry
    ("GET", "/v1/admin/federation/quarantine"): rule({D}),
    ("POST", "/v1/admin/federation/quarantine/retry"): rule({D}),
    # verifiers (亮证): an admin here registers its own; wallets' platforms and kits of any province read them
    ("POST", "/v1/verifiers"): rule({D}),
    ("POST", "/v1/verifiers/{verifier_id}/change"): rule({D}),
    ("POST", "/v1/verifiers/{verifier_id}/withdraw"): rule({D}),
    ("GET", "/v1/verifiers"): rule({Role.VERIFIER, P, D, A}, {Role.VERIFIER, P, D, A}),
    ("GET", "/v1/verifier-kit/bundle"): rule({Role.VERIFIER, P}),
    ("POST", "/v1/verification-records"): rule({Role.VERIFIER}),
    # holder credentials: the holder's platform here asks; it or an issuer here revokes one
    ("POST", "/v1/credentials"): rule({P}),
    ("POST", "/v1/credentials/revoke"): rule({P, ISS}),
}


@dataclass(frozen=True)
class Seeded:
    identifier: str
    case_id: str
    bundle_id: str


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    with served_node(tmp_path_factory.mktemp("authorisation")) as served:
        yield served


@pytest.fixture(scope="module")
def seeded(node: ServedNode) -> Seeded:
    issued = node.call(
        "POST", "/v1/certificates", body=issue_body(0, issue_date="2025-01-02", valid_from="2025-01-02")
    )
    case = node.call(
        "POST",
        "/v1/cases",
        role=Role.PLATFORM,
        body={"item_province": SH, "item_code": "RS-0001", "mode": "FULL_ONLINE", "applicant": APPLICANT},
    )
    bundle = node.call(
        "POST",
        "/v1/bundle-cases",
        role=Role.PLATFORM,
        body={
            "bundle_province": SH,
            "bundle_code": "YJS-BIRTH",
            "mode": "FULL_ONLINE",
            "applicant": APPLICANT,
        },
    )
    assert (issued.status, case.status, bundle.status) == (201, 201, 201)
    for projection in node.services.projections.values():  # the case view reads its read model
        projection.tick()
    return Seeded(issued.body["identifier"], case.body["case_id"], bundle.body["bundle_id"])


def _path(template: str, seeded: Seeded) -> str:
    values = {
        "identifier": seeded.identifier,
        "case_id": seeded.case_id,
        "bundle_id": seeded.bundle_id,
        "province": SH if "/catalogue/" in template else JS,
        "code": "RS-0001",
        "part_code": "P1",
        "notice_no": "NO-SUCH-1",
        "verifier_id": f"{SH}.no-such-desk",
    }
    path = re.sub(r"{(\w+)}", lambda m: values[m[1]], template)
    query = {"/as-of": "?at=2025-09-24T10:00:00%2B08:00", "/inclusion": "?leaf_index=0&tree_size=1"}
    return path + next((q for suffix, q in query.items() if path.endswith(suffix)), "")


def test_the_table_covers_every_served_route() -> None:
    served = {(ep.method, ep.path) for ep in ENDPOINTS}
    assert served == set(EXPECTED), "a route was added or removed: give it a row"


CELLS = [
    (method, template, role, province)
    for (method, template) in EXPECTED
    for role in Role
    for province in (SH, AH)
]


@pytest.mark.parametrize(("method", "template", "role", "province"), CELLS)
def test_only_the_allowed_cells_pass(
    node: ServedNode, seeded: Seeded, method: str, template: str, role: Role, province: str
) -> None:
    expected = EXPECTED[(method, template)]
    allowed = role in (expected.own if province == SH else expected.other)
    body: dict[str, Any] | None = {} if method in ("POST", "PUT") else None
    answer = node.call(method, _path(template, seeded), role=role, province=province, body=body)
    if allowed:
        assert answer.status not in (401, 403), (answer.status, answer.body)
        assert answer.status < 500, (answer.status, answer.body)
    else:
        assert answer.status == 403, (answer.status, answer.body)
        assert answer.body["type"].endswith("/forbidden")


@pytest.mark.parametrize(("method", "template"), sorted(EXPECTED))
def test_without_a_token_only_public_endpoints_answer(
    node: ServedNode, seeded: Seeded, method: str, template: str
) -> None:
    body: dict[str, Any] | None = {} if method in ("POST", "PUT") else None
    answer = node.call(method, _path(template, seeded), role=None, body=body)
    if EXPECTED[(method, template)].public:
        assert answer.status == 200
    else:
        assert answer.status == 401, (answer.status, answer.body)
        assert answer.headers["www-authenticate"].startswith("Bearer")
